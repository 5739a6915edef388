/**
 * Python's ways of printing a value, in one place for the templates (`{{ list }}`, `to_json`), the inventory
 * (`--graph`'s `{var = value}`), the console's `(item=...)` labels and result dumps, and JUnit: `repr()`, `str()`
 * and `json.dumps`, as CPython 3 prints them (test/compat/python.test.ts compares them with python3 itself).
 * Values are JSON-like; JavaScript has one number type, so a whole float (`2.0`) prints as the int `2`: the
 * loaders do not keep the difference.
 */

/** A value that is not defined (missing variable or attribute). Any use other than `is defined`/`default` fails. */
export class Undef {
  constructor(readonly message: string) {}
}

export class PyTypeError extends Error {}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Undef);
}

/** bool(): empty containers, None, 0 and '' are false; an undefined value fails. */
export function pyTruthy(v: unknown): boolean {
  if (v instanceof Undef) throw new PyTypeError(v.message);
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  if (typeof v === 'number') return v !== 0; // NaN is true in Python
  return Boolean(v);
}

/** float.__repr__: the shortest digits that read back the same; exponent form below 1e-4 and from 1e16 on. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mant, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp < -4 || exp >= 16) {
    body = (digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits) + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  } else if (exp < 0) {
    body = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (digits.length <= exp + 1) {
    body = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
  } else {
    body = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  }
  return (neg ? '-' : '') + body;
}

/** An integral number below 1e16 is taken for an int (digits); any other prints as a float. */
function numberRepr(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e16 ? String(n) : pyFloatRepr(n);
}

// str.isprintable() is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than the space
const NOT_PRINTABLE = /[\p{C}\p{Z}]/u;

/** str.__repr__: single quotes unless the text has ' and no ", non-printables escaped as Python does. */
export function pyStringRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    if (ch === q || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NOT_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out += cp < 0x100 ? '\\x' + cp.toString(16).padStart(2, '0') : cp < 0x10000 ? '\\u' + cp.toString(16).padStart(4, '0') : '\\U' + cp.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + q;
}

function normalize(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Set) return [...v];
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return v;
}

/** repr(): a container shows its items' repr; an undefined value anywhere fails as Jinja2's StrictUndefined does. */
export function pyRepr(raw: unknown): string {
  const v = normalize(raw);
  if (v instanceof Undef) throw new PyTypeError(v.message);
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return numberRepr(v);
  if (typeof v === 'string') return pyStringRepr(v);
  if (Array.isArray(v)) return '[' + v.map(pyRepr).join(', ') + ']';
  if (typeof v === 'object') {
    return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyStringRepr(k)}: ${pyRepr(x)}`).join(', ') + '}';
  }
  return String(v);
}

/** str(): like repr() except that a string prints bare (what `{{ value }}` prints inside a larger string). */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v); // pyRepr fails an undefined value
}

/** Python sorts str keys by code point, not by UTF-16 unit. */
function pyKeyCompare(a: string, b: string): number {
  const ai = [...a];
  const bi = [...b];
  for (let i = 0; i < Math.min(ai.length, bi.length); i++) {
    const d = ai[i]!.codePointAt(0)! - bi[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ai.length - bi.length;
}

export interface JsonDumpsOptions {
  sortKeys?: boolean;
  /** Separators (', ', ': ') without an indent, (',', ': ') with one, as Python 3 picks them. */
  indent?: number;
  /** \uXXXX for everything beyond ASCII (Python's default; Ansible's result dumps turn it off). */
  ensureAscii?: boolean;
}

function jsonString(s: string, ensureAscii: boolean): string {
  const j = JSON.stringify(s);
  return ensureAscii ? j.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : j;
}

/**
 * json.dumps. A key whose value is undefined is left out (it was never set); undefined in a list is null; a value
 * met again inside itself prints "<circular>" instead of failing a report.
 */
export function pyJsonDumps(value: unknown, opts: JsonDumpsOptions = {}): string {
  const { sortKeys = false, indent, ensureAscii = true } = opts;
  const seen = new Set<unknown>();
  const rec = (raw: unknown, level: number): string => {
    const v = normalize(raw);
    if (v instanceof Undef) throw new PyTypeError(v.message);
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'NaN';
      if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
      return numberRepr(v);
    }
    if (typeof v === 'string') return jsonString(v, ensureAscii);
    if (typeof v !== 'object') return jsonString(String(v), ensureAscii);
    if (seen.has(v)) return '"<circular>"';
    seen.add(v);
    try {
      const pad = indent !== undefined ? '\n' + ' '.repeat(indent * (level + 1)) : '';
      const end = indent !== undefined ? '\n' + ' '.repeat(indent * level) : '';
      const sep = indent !== undefined ? ',' : ', ';
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        return '[' + v.map((x) => pad + rec(x, level + 1)).join(sep) + end + ']';
      }
      const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (sortKeys) keys.sort(pyKeyCompare);
      if (keys.length === 0) return '{}';
      return '{' + keys.map((k) => pad + jsonString(k, ensureAscii) + ': ' + rec((v as Record<string, unknown>)[k], level + 1)).join(sep) + end + '}';
    } finally {
      seen.delete(v);
    }
  };
  return rec(value, 0);
}

/** How ansible-playbook's callbacks dump a result (`_dump_results`): sort_keys, ensure_ascii off, indent at -v. */
export function resultDump(value: unknown, indent?: number): string {
  return pyJsonDumps(value, { sortKeys: true, ensureAscii: false, ...(indent !== undefined ? { indent } : {}) });
}
