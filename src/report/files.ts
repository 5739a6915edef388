/** Report files are written whole, via a temporary file and rename, so a reader never sees half a report. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `mode`: 0600 by default (reports may name hosts and paths); metrics use 0644 so node_exporter can read them. */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}
