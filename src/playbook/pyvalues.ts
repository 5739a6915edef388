/**
 * Python/Jinja2 value semantics for templated values: truthiness, equality, ordering, str() and repr().
 * Playbook authors write Jinja2, so `[] ` is false, `[1] == [1]` is true and `{{ list }}` prints `['a', 'b']`.
 */

import { PyTypeError, Undef, isMapping } from '../compat/python.js';

/** Python type name, for error messages ("'<' not supported between instances of 'str' and 'int'"). */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Undef) return 'AnsibleUndefined';
  if (typeof v === 'function') return 'function';
  return 'dict';
}

function isNumberLike(v: unknown): v is number | boolean {
  return typeof v === 'number' || typeof v === 'boolean';
}

export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (isNumberLike(a) && isNumberLike(b)) return Number(a) === Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && pyEquals(a[k], b[k]));
  }
  return false;
}

/** Python ordering; throws PyTypeError for types Python cannot order. Returns <0, 0, >0. */
export function pyCompare(a: unknown, b: unknown, op: string): number {
  if (isNumberLike(a) && isNumberLike(b)) return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i], op);
    }
    return a.length - b.length;
  }
  throw new PyTypeError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

export function pyContains(container: unknown, item: unknown): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new PyTypeError(`'in <string>' requires string as left operand, not ${pyTypeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => pyEquals(x, item));
  if (isMapping(container)) return typeof item === 'string' || typeof item === 'number' ? Object.hasOwn(container, String(item)) : false;
  throw new PyTypeError(`argument of type '${pyTypeName(container)}' is not iterable`);
}

/** LooseVersion-like comparison: numeric parts numerically, others as strings; a leading "v" is ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (s: string) => (s.trim().replace(/^v(?=\d)/i, '').match(/\d+|[a-z]+/gi) ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    // A number sorts after a pre-release word ("1.0.0" > "1.0.rc1").
    if (typeof x === 'number') return 1;
    if (typeof y === 'number') return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}
