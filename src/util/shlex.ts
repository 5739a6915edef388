/** Shell-like word splitting, as Python's shlex does it (Ansible's reference behaviour). Pure. */

export class ShlexError extends Error {}

/**
 * Python's `shlex.split(s, comments=comments, posix=True)`: the one splitter for INI host lines, `command`
 * lines, `-e key=value` arguments and ssh argument strings. Throws ShlexError with Python's messages.
 */
export function shlexSplit(s: string, comments = false): string[] {
  const out: string[] = [];
  const WS = ' \t\r\n';
  let state: ' ' | 'a' | '"' | "'" | '\\' = ' ';
  let escapedState: ' ' | 'a' | '"' | "'" = ' ';
  let token = '';
  let quoted = false;
  const emit = (): void => {
    if (token !== '' || quoted) out.push(token);
    token = '';
    quoted = false;
  };
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s[i]! : '';
    if (state === ' ' || state === 'a') {
      if (c === '') {
        emit();
        return out;
      }
      if (WS.includes(c)) {
        if (state === 'a' || token !== '' || quoted) emit();
        state = ' ';
      } else if (comments && c === '#') {
        // shlex reads the rest of the line as a comment (we split one line at a time).
        const nl = s.indexOf('\n', i);
        if (state === 'a') emit();
        state = ' ';
        if (nl < 0) return out;
        i = nl;
      } else if (c === '\\') {
        escapedState = 'a';
        state = '\\';
      } else if (c === '"' || c === "'") {
        state = c;
      } else {
        token += c;
        state = 'a';
      }
    } else if (state === '"' || state === "'") {
      quoted = true;
      if (c === '') throw new ShlexError('No closing quotation');
      if (c === state) {
        state = 'a';
      } else if (c === '\\' && state === '"') {
        escapedState = state;
        state = '\\';
      } else {
        token += c;
      }
    } else {
      // escape state
      if (c === '') throw new ShlexError('No escaped character');
      const es: string = escapedState;
      if ((es === '"' || es === "'") && c !== '\\' && c !== es) token += '\\';
      token += c;
      state = escapedState;
    }
  }
  return out;
}
