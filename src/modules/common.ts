/** Helpers shared by the built-in modules: Ansible-style timestamps, shlex splitting, output lines, script files. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

/** `2024-05-01 10:00:00.123456` (local time), as Python's str(datetime.now()). */
export function ansibleTimestamp(d: Date, micros = d.getMilliseconds() * 1000): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(micros, 6)}`
  );
}

/** `0:00:00.123456`, as Python's str(timedelta) for a duration in ms (fractional ms kept to the microsecond). */
export function ansibleDelta(ms: number): string {
  const totalMicros = Math.max(0, Math.round(ms * 1000));
  const micros = totalMicros % 1_000_000;
  let secs = Math.floor(totalMicros / 1_000_000);
  const days = Math.floor(secs / 86_400);
  secs -= days * 86_400;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  const core = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(micros).padStart(6, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${core}` : core;
}

/** Python's str.splitlines() for the `_lines` fields (no trailing empty element). */
export function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}


/**
 * Load a remote sh script shipped in src/modules/scripts/.
 *
 * Why two candidates: tsc does not copy .sh files. From src/modules/x.ts (tsx) and from dist/modules/x.js
 * alike, `../../src/modules/scripts/NAME` resolves to the repository's src/modules/scripts/, so one path
 * serves both. A build that copies scripts next to the compiled modules (dist/modules/scripts/) is tried first.
 */
export function loadScript(name: string, importMetaUrl: string): string {
  const candidates = [new URL(`./scripts/${name}`, importMetaUrl), new URL(`../../src/modules/scripts/${name}`, importMetaUrl)];
  for (const u of candidates) {
    try {
      return readFileSync(fileURLToPath(u), 'utf8');
    } catch {
      /* try the next place */
    }
  }
  throw new Error(`module script ${name} not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`);
}

/** A marker no command output can guess, so a script's own status lines are told apart from the command's. */
export function newMarker(): string {
  return `__NODESWEEP_${randomBytes(8).toString('hex')}__`;
}

/** `NAME='value'` lines that prefix a static script with its parameters (no reliance on SSH AcceptEnv). */
export function shAssignments(vars: Record<string, string>, quote: (s: string) => string): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join('\n');
}
