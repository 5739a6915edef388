/**
 * Python's json.dumps(obj, sort_keys=True, ensure_ascii=False[, indent=N]) and repr of loop items, so
 * result dumps read byte-for-byte like ansible-playbook's.
 */

function normalize(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return Object.fromEntries(v);
  if (v instanceof Set) return [...v];
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return v;
}

/** json.dumps with sort_keys; separators (', ', ': ') without indent, (',', ': ') with it. */
export function pyJsonDumps(value: unknown, indent?: number): string {
  const seen = new Set<unknown>();
  const rec = (raw: unknown, level: number): string => {
    const v = normalize(raw);
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'NaN';
      if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
      return String(v);
    }
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v !== 'object') return JSON.stringify(String(v));
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
      const keys = Object.keys(v as object)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort(pyKeyCompare);
      if (keys.length === 0) return '{}';
      return '{' + keys.map((k) => pad + JSON.stringify(k) + ': ' + rec((v as Record<string, unknown>)[k], level + 1)).join(sep) + end + '}';
    } finally {
      seen.delete(v);
    }
  };
  return rec(value, 0);
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

/** Python's str() of a loop item as `(item=%s)` shows it: strings bare, containers as repr. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? (Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : '-inf') : String(v);
  if (typeof v === 'string') return pyStrRepr(v);
  if (Array.isArray(v)) return '[' + v.map(pyRepr).join(', ') + ']';
  if (typeof v === 'object') {
    return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ') + '}';
  }
  return String(v);
}

function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === q || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.codePointAt(0)! < 0x20 || ch.codePointAt(0) === 0x7f) out += '\\x' + ch.codePointAt(0)!.toString(16).padStart(2, '0');
    else out += ch;
  }
  return q + out + q;
}
