/**
 * Writing report files, and checking before a run that they can be written. Reports are written whole, via a
 * temporary file and rename, so a reader never sees half a report.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../errors.js';

/** An output file that could not be written: its path and the system's reason. */
export class OutputWriteError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`${path}: ${ioReason(cause)}`, { cause });
    this.name = 'OutputWriteError';
  }
}

/**
 * The system's reason without the syscall and the path it names ("ENOSPC: no space left on device, write" ->
 * "ENOSPC: no space left on device"): the caller names the output, and a probe's or temp file's name would mislead.
 */
export function ioReason(e: unknown): string {
  if (e instanceof OutputWriteError) return ioReason(e.cause);
  const msg = errorMessage(e);
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && msg.startsWith(`${code}: `)) return msg.replace(/, \w+( '.*')?$/s, '');
  return msg;
}

/** `mode`: 0600 by default (reports may name hosts and paths); metrics use 0644 so node_exporter can read them. */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, content, { mode });
    await rename(tmp, path);
  } catch (e) {
    // A full disk must not also leave a half-written temp file behind.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new OutputWriteError(path, e);
  }
}

function errno(code: string, description: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${description}`), { code });
}

/** The path's stat, or null when it does not exist (ENOENT) or cannot (ENOTDIR: a file where a directory should be). */
async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Throws what writing `path` would meet (ENOENT under /proc, EROFS, EACCES, ENOTDIR, EISDIR, ...), before a run
 * touches any host. Checks the write nodesweep will do: a new file in its directory (then renamed over it), or,
 * `inPlace` (the log, the history database), an existing file opened for writing. Leaves nothing behind: missing
 * directories are probed, not created; an existing file is opened without truncating; the probe is removed.
 */
export async function checkWritable(path: string, opts: { inPlace?: boolean } = {}): Promise<void> {
  const existing = await statOrNull(path);
  if (existing?.isDirectory()) throw errno('EISDIR', 'is a directory');
  if (existing && opts.inPlace) {
    await (await open(path, fsConstants.O_WRONLY)).close();
    return;
  }
  // The nearest directory that exists: the write creates the rest (mkdir -p), so it must be able to create there.
  const dir = dirname(path);
  let base = dir;
  let st = await statOrNull(base);
  while (st === null && dirname(base) !== base) {
    base = dirname(base);
    st = await statOrNull(base);
  }
  if (!st?.isDirectory()) throw errno('ENOTDIR', `${base} is not a directory`);
  const probe = join(base, `.${basename(path)}.nodesweep-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  if (base === dir) {
    await (await open(probe, 'wx', 0o600)).close();
    await unlink(probe);
  } else {
    await mkdir(probe, { mode: 0o700 });
    await rmdir(probe);
  }
}
