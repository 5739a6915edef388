/** Process state from /proc, for tests that check a command was killed. */
import { readFileSync } from 'node:fs';

/** The state letter and start time (clock ticks after boot) of `pid`, or undefined when there is no such process. */
function stat(pid: number): { state: string; start: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces and parentheses: the fields after the last ')' start with the state (3)
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, start: rest[19]! };
  } catch {
    return undefined;
  }
}

/**
 * Gone, or a zombie (this container's init may never reap it). With `start` (the process's start time, as the
 * shell snippet `startOfSelf` records it), a PID reused by a newer process counts as gone too: PIDs wrap at 32768
 * here, and a busy machine reuses them within seconds.
 */
export function processGone(pid: number, start?: string): boolean {
  const st = stat(pid);
  return st === undefined || st.state === 'Z' || (start !== undefined && st.start !== start);
}

/** Shell: `PID START` of the shell itself, for a pid file that processGone() can check without fearing PID reuse. */
export const startOfSelf = `"$$ $(cut -d' ' -f22 /proc/$$/stat)"`;

/** PID and start time from a file written with `echo ${startOfSelf} > FILE`, once it is complete. */
export function readPidFile(file: string): { pid: number; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^(\d+) (\d+)\n$/.exec(text);
  return m ? { pid: Number(m[1]), start: m[2]! } : undefined;
}

/** The process that wrote `file` has ended (killed: a SIGKILLed process still has to be scheduled to die). */
export function endedProcessOf(file: string): boolean {
  const p = readPidFile(file);
  if (!p) throw new Error(`${file}: no pid written`);
  return processGone(p.pid, p.start);
}
