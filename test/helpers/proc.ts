/** Process state from /proc, for tests that check a command was killed. */
import { readFileSync } from 'node:fs';

/** Gone, or a zombie (this container's init may never reap it). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the state follows the command name, which may contain spaces and parentheses: parse after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
