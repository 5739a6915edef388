/**
 * The parts of Python that Ansible's INI inventory leans on: `shlex.split(line, comments=True)` for host lines,
 * `ast.literal_eval` for `key=value` values (their `str()`/`repr()` are compat/python.ts's). Pure functions, no I/O.
 */
import { pyFloatRepr } from '../compat/python.js';

/** Thrown (without a stack, which would cost more than the parse) when the text is not a literal we keep. */
const NOT_LITERAL = Symbol('not a literal');

/**
 * Python's `ast.literal_eval(v)` as Ansible's INI plugin uses it: on failure the original string is returned.
 * Tuples and sets become arrays; dict keys become strings the way `json.dumps` writes them.
 */
export function parsePythonValue(v: string): unknown {
  // Fast path: a bare word (host name, path, IP, ...) is never a literal except True/False/None and numbers.
  if (/^[A-Za-z_/][\w.\-/:@]*$/.test(v) && v !== 'True' && v !== 'False' && v !== 'None' && !v.startsWith('set')) return v;
  try {
    return new LiteralParser(v).parseTop();
  } catch (e) {
    if (e === NOT_LITERAL) return v;
    throw e;
  }
}

const IDENT_START = /[\p{L}_]/u;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;

class LiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseTop(): unknown {
    // literal_eval strips leading spaces and tabs only.
    while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++;
    this.skipWs(false);
    const v = this.parseExpr(false);
    this.skipWs(false);
    if (this.i < this.s.length) throw NOT_LITERAL;
    return v;
  }

  private fail(): never {
    throw NOT_LITERAL;
  }

  /** Skips blanks and comments; newlines only inside brackets (implicit line joining). */
  private skipWs(inBrackets: boolean): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\f') this.i++;
      else if (inBrackets && (c === '\n' || c === '\r')) this.i++;
      else if (c === '\\' && (this.s[this.i + 1] === '\n' || this.s[this.i + 1] === '\r')) this.i += 2;
      else if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n' && this.s[this.i] !== '\r') this.i++;
      } else return;
    }
  }

  private parseExpr(inBrackets: boolean): unknown {
    this.skipWs(inBrackets);
    const c = this.s[this.i];
    if (c === undefined) this.fail();
    if (c === '+' || c === '-') {
      // literal_eval allows one sign on a numeric constant (not on an expression).
      this.i++;
      this.skipWs(inBrackets);
      const n = this.parseNumber();
      if (n === undefined) this.fail();
      const v = c === '-' ? -n : n;
      this.rejectComplexTail(inBrackets);
      return v;
    }
    if (c === '[') return this.parseSeq(']');
    if (c === '(') return this.parseParen();
    if (c === '{') return this.parseBrace();
    if (c === '"' || c === "'") return this.parseStrings(inBrackets);
    if (/[0-9.]/.test(c)) {
      const n = this.parseNumber();
      if (n === undefined) this.fail();
      this.rejectComplexTail(inBrackets);
      return n;
    }
    if (IDENT_START.test(c)) {
      const start = this.i;
      while (this.i < this.s.length && IDENT_CHAR.test(this.s[this.i]!)) this.i++;
      const word = this.s.slice(start, this.i);
      // String prefixes: r, u, b, rb, br (any case).
      if (/^(?:[rRuUbB]|[rR][bB]|[bB][rR])$/.test(word) && (this.s[this.i] === '"' || this.s[this.i] === "'")) {
        this.i = start;
        return this.parseStrings(inBrackets);
      }
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      if (word === 'set') {
        // literal_eval accepts `set()` for the empty set.
        this.skipWs(inBrackets);
        if (this.s[this.i] === '(') {
          this.i++;
          this.skipWs(true);
          if (this.s[this.i] === ')') {
            this.i++;
            return [];
          }
        }
      }
      this.fail();
    }
    this.fail();
  }

  /** `1+2j` is a valid literal (complex); Ansible then fails to serialise it. We keep the raw string. */
  private rejectComplexTail(inBrackets: boolean): void {
    const save = this.i;
    this.skipWs(inBrackets);
    const c = this.s[this.i];
    if (c === '+' || c === '-') this.fail();
    this.i = save;
  }

  private parseNumber(): number | undefined {
    const rest = this.s.slice(this.i);
    const m =
      /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?)[jJ]?/.exec(
        rest,
      );
    if (!m) return undefined;
    const tok = m[0];
    const next = rest[tok.length];
    if (next !== undefined && IDENT_CHAR.test(next)) this.fail();
    this.i += tok.length;
    if (/[jJ]$/.test(tok)) this.fail(); // complex
    const t = tok.replace(/_/g, '');
    if (/^0[xX]/.test(t)) return parseInt(t.slice(2), 16);
    if (/^0[oO]/.test(t)) return parseInt(t.slice(2), 8);
    if (/^0[bB]/.test(t)) return parseInt(t.slice(2), 2);
    if (/^\d+$/.test(t)) {
      // Python 3 rejects leading zeros in a decimal integer ("07"), except for all zeros.
      if (t.length > 1 && t[0] === '0' && /[1-9]/.test(t)) this.fail();
      return Number(t);
    }
    return Number(t);
  }

  private parseSeq(close: string): unknown[] {
    this.i++; // opening bracket
    const items: unknown[] = [];
    for (;;) {
      this.skipWs(true);
      if (this.s[this.i] === close) {
        this.i++;
        return items;
      }
      items.push(this.parseExpr(true));
      this.skipWs(true);
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === close) {
        this.i++;
        return items;
      } else this.fail();
    }
  }

  private parseParen(): unknown {
    this.i++;
    this.skipWs(true);
    if (this.s[this.i] === ')') {
      this.i++;
      return [];
    }
    const first = this.parseExpr(true);
    this.skipWs(true);
    if (this.s[this.i] === ')') {
      this.i++;
      return first; // parenthesised expression
    }
    if (this.s[this.i] !== ',') this.fail();
    this.i++;
    const items = [first];
    for (;;) {
      this.skipWs(true);
      if (this.s[this.i] === ')') {
        this.i++;
        return items;
      }
      items.push(this.parseExpr(true));
      this.skipWs(true);
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === ')') {
        this.i++;
        return items;
      } else this.fail();
    }
  }

  private parseBrace(): unknown {
    this.i++;
    this.skipWs(true);
    if (this.s[this.i] === '}') {
      this.i++;
      return {};
    }
    const first = this.parseExpr(true);
    this.skipWs(true);
    if (this.s[this.i] === ':') {
      const obj: Record<string, unknown> = {};
      this.i++;
      obj[jsonKey(first)] = this.parseExpr(true);
      for (;;) {
        this.skipWs(true);
        const c = this.s[this.i];
        if (c === '}') {
          this.i++;
          return obj;
        }
        if (c !== ',') this.fail();
        this.i++;
        this.skipWs(true);
        if (this.s[this.i] === '}') {
          this.i++;
          return obj;
        }
        const k = this.parseExpr(true);
        this.skipWs(true);
        if (this.s[this.i] !== ':') this.fail();
        this.i++;
        obj[jsonKey(k)] = this.parseExpr(true);
      }
    }
    // A set literal: kept as a list (Ansible cannot serialise sets at all).
    const items = [first];
    for (;;) {
      this.skipWs(true);
      const c = this.s[this.i];
      if (c === '}') {
        this.i++;
        return items;
      }
      if (c !== ',') this.fail();
      this.i++;
      this.skipWs(true);
      if (this.s[this.i] === '}') {
        this.i++;
        return items;
      }
      items.push(this.parseExpr(true));
    }
  }

  /** One or more adjacent string literals (implicit concatenation). */
  private parseStrings(inBrackets: boolean): string {
    let out = '';
    let kind: 'str' | 'bytes' | undefined;
    for (;;) {
      const m = /^([rRuUbB]{0,2})(['"])/.exec(this.s.slice(this.i));
      if (!m) break;
      const prefix = m[1]!.toLowerCase();
      const thisKind = prefix.includes('b') ? 'bytes' : 'str';
      if (kind !== undefined && kind !== thisKind) this.fail(); // cannot mix bytes and str
      kind = thisKind;
      this.i += prefix.length;
      out += this.parseOneString(prefix.includes('r'), thisKind === 'bytes');
      const save = this.i;
      this.skipWs(inBrackets);
      if (!/^[rRuUbB]{0,2}['"]/.test(this.s.slice(this.i))) {
        this.i = save;
        break;
      }
    }
    return out;
  }

  private parseOneString(raw: boolean, bytes: boolean): string {
    const q = this.s[this.i]!;
    const triple = this.s.startsWith(q + q + q, this.i);
    const delim = triple ? q + q + q : q;
    this.i += delim.length;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail();
      if (this.s.startsWith(delim, this.i)) {
        this.i += delim.length;
        return out;
      }
      const c = this.s[this.i]!;
      if (!triple && (c === '\n' || c === '\r')) this.fail();
      if (c === '\\') {
        const n = this.s[this.i + 1];
        if (n === undefined) this.fail();
        if (raw) {
          out += c + n;
          this.i += 2;
          continue;
        }
        this.i += 2;
        switch (n) {
          case '\n':
            break;
          case '\\':
          case "'":
          case '"':
            out += n;
            break;
          case 'a':
            out += '\x07';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'v':
            out += '\v';
            break;
          case 'x': {
            const h = /^[0-9a-fA-F]{2}/.exec(this.s.slice(this.i));
            if (!h) this.fail();
            out += String.fromCharCode(parseInt(h[0], 16));
            this.i += 2;
            break;
          }
          case 'u':
          case 'U': {
            if (bytes) {
              out += '\\' + n;
              break;
            }
            const len = n === 'u' ? 4 : 8;
            const h = new RegExp(`^[0-9a-fA-F]{${len}}`).exec(this.s.slice(this.i));
            if (!h) this.fail();
            const cp = parseInt(h[0], 16);
            if (cp > 0x10ffff) this.fail();
            out += String.fromCodePoint(cp);
            this.i += len;
            break;
          }
          default:
            if (/[0-7]/.test(n)) {
              const o = /^[0-7]{0,2}/.exec(this.s.slice(this.i))![0];
              out += String.fromCharCode(parseInt(n + o, 8));
              this.i += o.length;
            } else {
              out += '\\' + n; // unknown escapes keep the backslash
            }
        }
        continue;
      }
      out += c;
      this.i++;
    }
  }
}

/** How `json.dumps` turns a Python dict key into a JSON key. */
function jsonKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k === true) return 'true';
  if (k === false) return 'false';
  if (k === null) return 'null';
  if (typeof k === 'number') return Number.isInteger(k) ? String(k) : pyFloatRepr(k);
  throw NOT_LITERAL; // tuple keys etc.: Ansible cannot serialise them either
}
