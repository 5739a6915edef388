/**
 * The Jinja2 and Ansible filters and tests operators use in playbooks, over plain JSON-like values.
 * Each throws PyTypeError with a Python-like message on bad input; the Templar turns that into a TemplateError.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import YAML from 'yaml';
import { compareVersions, pyCompare, pyContains, pyEquals, pyTypeName } from './pyvalues.js';
import { PyTypeError, Undef, isMapping, pyJsonDumps, pyStr, pyTruthy } from '../compat/python.js';
import { boolFilter } from '../compat/boolean.js';

export type Kwargs = Record<string, unknown>;
export type FilterFn = (value: unknown, args: unknown[], kw: Kwargs) => unknown;
export type TestFn = (value: unknown, args: unknown[], kw: Kwargs) => boolean;

/** nunjucks passes keyword arguments as a trailing object marked `__keywords`. */
export function splitKwargs(args: unknown[]): { args: unknown[]; kw: Kwargs } {
  const last = args[args.length - 1];
  if (isMapping(last) && last['__keywords'] === true) {
    const kw: Kwargs = { ...last };
    delete kw['__keywords'];
    return { args: args.slice(0, -1), kw };
  }
  return { args, kw: {} };
}

function arg(args: unknown[], kw: Kwargs, i: number, name: string, dflt?: unknown): unknown {
  if (name in kw) return kw[name];
  return i < args.length ? args[i] : dflt;
}

function toList(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isMapping(v)) return Object.keys(v);
  if (v === null || v === undefined) throw new PyTypeError(`${what}: 'NoneType' object is not iterable`);
  throw new PyTypeError(`${what}: '${pyTypeName(v)}' object is not iterable`);
}

function toStr(v: unknown): string {
  return pyStr(v);
}

/** Python regex syntax to JavaScript: named groups, \A, \Z, inline flags at the start. */
export function pyRegex(pattern: string, flags: { ignorecase?: boolean; multiline?: boolean; global?: boolean } = {}): RegExp {
  let p = pattern;
  let f = '';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(p);
  if (inline) {
    p = p.slice(inline[0].length);
    if (inline[1]!.includes('i')) f += 'i';
    if (inline[1]!.includes('m')) f += 'm';
    if (inline[1]!.includes('s')) f += 's';
  }
  if (flags.ignorecase && !f.includes('i')) f += 'i';
  if (flags.multiline && !f.includes('m')) f += 'm';
  if (flags.global) f += 'g';
  p = p
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  try {
    return new RegExp(p, f + 'u');
  } catch {
    try {
      return new RegExp(p, f);
    } catch (e) {
      throw new PyTypeError(`invalid regular expression '${pattern}': ${(e as Error).message}`);
    }
  }
}

/** Python replacement string (\1, \g<1>, \g<name>) to JavaScript ($1, $<name>). */
function pyReplacement(r: string): string {
  return r
    .replace(/\$/g, '$$$$')
    .replace(/\\g<(\d+)>/g, '$$$1')
    .replace(/\\g<(\w+)>/g, '$$<$1>')
    .replace(/\\(\d+)/g, '$$$1');
}

function attrGetter(attr: string): (v: unknown) => unknown {
  const path = attr.split('.');
  return (v) => {
    let cur: unknown = v;
    for (const p of path) {
      if (Array.isArray(cur) && /^-?\d+$/.test(p)) cur = cur[Number(p)];
      else if (isMapping(cur) && Object.hasOwn(cur, p)) cur = cur[p];
      else return new Undef(`'${pyTypeName(cur)} object' has no attribute '${p}'`);
    }
    return cur;
  };
}

function toInt(v: unknown, dflt: unknown = 0, base = 10): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (base === 10 ? /^[+-]?\d+$/.test(s) : s.length > 0) {
      const n = parseInt(s.replace(/^0[xob]/i, ''), base);
      if (!Number.isNaN(n)) return n;
    }
    if (base === 10 && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Math.trunc(parseFloat(s));
  }
  return dflt;
}

function toFloat(v: unknown, dflt: unknown = 0): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v)) return parseFloat(v);
  return dflt;
}

function length(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isMapping(v)) return Object.keys(v).length;
  throw new PyTypeError(`object of type '${pyTypeName(v)}' has no len()`);
}

function sortKey(caseSensitive: boolean, attr: unknown) {
  const get = typeof attr === 'string' ? attrGetter(attr) : (v: unknown) => v;
  return (v: unknown) => {
    const x = get(v);
    if (x instanceof Undef) throw new PyTypeError(x.message);
    return !caseSensitive && typeof x === 'string' ? x.toLowerCase() : x;
  };
}

function uniqueList(list: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const x of list) if (!out.some((y) => pyEquals(x, y))) out.push(x);
  return out;
}

function flatten(v: unknown[], levels: number | undefined, skipNulls: boolean): unknown[] {
  const out: unknown[] = [];
  for (const x of v) {
    if (Array.isArray(x) && (levels === undefined || levels > 0)) out.push(...flatten(x, levels === undefined ? undefined : levels - 1, skipNulls));
    else if (!(skipNulls && (x === null || x === undefined || x === 'None'))) out.push(x);
  }
  return out;
}

function combine(dicts: unknown[], recursive: boolean, listMerge: string): Record<string, unknown> {
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a };
    for (const [k, bv] of Object.entries(b)) {
      const av = out[k];
      if (recursive && isMapping(av) && isMapping(bv)) out[k] = merge(av, bv);
      else if (Array.isArray(av) && Array.isArray(bv) && listMerge !== 'replace') {
        if (listMerge === 'append') out[k] = [...av, ...bv];
        else if (listMerge === 'prepend') out[k] = [...bv, ...av];
        else if (listMerge === 'append_rp') out[k] = [...av.filter((x) => !bv.some((y) => pyEquals(x, y))), ...bv];
        else if (listMerge === 'prepend_rp') out[k] = [...bv, ...av.filter((x) => !bv.some((y) => pyEquals(x, y)))];
        else if (listMerge === 'keep') out[k] = av;
        else throw new PyTypeError(`combine: unknown list_merge '${listMerge}'`);
      } else out[k] = bv;
    }
    return out;
  };
  let acc: Record<string, unknown> = {};
  for (const d of dicts.flat()) {
    if (!isMapping(d)) throw new PyTypeError(`combine: expected dicts, got ${pyTypeName(d)}`);
    acc = merge(acc, d);
  }
  return acc;
}

function humanReadable(v: unknown, isbits: boolean, unit: unknown): string {
  const n = Number(v);
  if (Number.isNaN(n)) throw new PyTypeError(`human_readable: '${toStr(v)}' is not a number`);
  const units = ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
  const suffix = isbits ? 'b' : 'B';
  let idx = 0;
  if (typeof unit === 'string' && unit !== '') idx = Math.max(0, units.indexOf(unit[0]!.toUpperCase()));
  else while (idx < units.length - 1 && Math.abs(n) >= 1024 ** (idx + 1)) idx++;
  const value = n / 1024 ** idx;
  return idx === 0 ? `${value.toFixed(2)} ${isbits ? 'Bits' : 'Bytes'}` : `${value.toFixed(2)} ${units[idx]}${suffix}`;
}

function shellQuote(s: string): string {
  if (s === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

export function pySplit(s: string, sep: unknown, max: unknown): string[] {
  const limit = typeof max === 'number' && max >= 0 ? max : -1;
  if (sep === null || sep === undefined) {
    const parts = s.trim().split(/\s+/).filter((x) => x !== '');
    if (limit < 0 || parts.length <= limit + 1) return parts;
    // Keep the remainder unsplit, like Python.
    const out: string[] = [];
    let rest = s.trimStart();
    for (let i = 0; i < limit; i++) {
      const m = /^(\S+)\s+/.exec(rest);
      if (!m) break;
      out.push(m[1]!);
      rest = rest.slice(m[0].length);
    }
    out.push(rest);
    return out;
  }
  const sp = String(sep);
  if (sp === '') throw new PyTypeError('empty separator');
  const parts = s.split(sp);
  if (limit < 0 || parts.length <= limit + 1) return parts;
  return [...parts.slice(0, limit), parts.slice(limit).join(sp)];
}

function b64decode(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

function checkResult(v: unknown, test: string): Record<string, unknown> {
  if (!isMapping(v)) throw new PyTypeError(`The '${test}' test expects a dictionary, got ${pyTypeName(v)}`);
  return v;
}

const resultFailed = (v: unknown, t: string) => {
  const r = checkResult(v, t);
  return r['failed'] === true || r['status'] === 'failed' || r['status'] === 'unreachable';
};
const resultChanged = (v: unknown, t: string) => {
  const r = checkResult(v, t);
  return r['changed'] === true || r['status'] === 'changed';
};
const resultSkipped = (v: unknown, t: string) => {
  const r = checkResult(v, t);
  return r['skipped'] === true || r['status'] === 'skipped';
};

function versionTest(v: unknown, args: unknown[], kw: Kwargs): boolean {
  const other = arg(args, kw, 0, 'version');
  const op = String(arg(args, kw, 1, 'operator', 'eq'));
  if (v === null || v === undefined || other === null || other === undefined) {
    throw new PyTypeError('version test: both versions are required');
  }
  const c = compareVersions(toStr(v), toStr(other));
  switch (op) {
    case '<':
    case 'lt':
      return c < 0;
    case '<=':
    case 'le':
      return c <= 0;
    case '>':
    case 'gt':
      return c > 0;
    case '>=':
    case 'ge':
      return c >= 0;
    case '==':
    case '=':
    case 'eq':
      return c === 0;
    case '!=':
    case '<>':
    case 'ne':
      return c !== 0;
    default:
      throw new PyTypeError(`version test: invalid operator '${op}'`);
  }
}

function regexTest(mode: 'match' | 'search') {
  return (v: unknown, args: unknown[], kw: Kwargs): boolean => {
    if (typeof v !== 'string') return false;
    const re = pyRegex(String(arg(args, kw, 0, 'pattern', '')), {
      ignorecase: Boolean(arg(args, kw, 1, 'ignorecase', false)),
      multiline: Boolean(arg(args, kw, 2, 'multiline', false)),
    });
    const m = re.exec(v);
    return m !== null && (mode === 'search' || m.index === 0);
  };
}

export const TESTS: Record<string, TestFn> = {
  defined: (v) => !(v instanceof Undef) && v !== undefined,
  undefined: (v) => v instanceof Undef || v === undefined,
  none: (v) => v === null,
  true: (v) => v === true,
  false: (v) => v === false,
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  float: (v) => typeof v === 'number' && !Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  mapping: (v) => isMapping(v),
  sequence: (v) => Array.isArray(v) || typeof v === 'string',
  iterable: (v) => Array.isArray(v) || typeof v === 'string' || isMapping(v),
  truthy: (v) => pyTruthy(v),
  falsy: (v) => !pyTruthy(v),
  lower: (v) => typeof v === 'string' && v === v.toLowerCase(),
  upper: (v) => typeof v === 'string' && v === v.toUpperCase(),
  even: (v) => Number(v) % 2 === 0,
  odd: (v) => Math.abs(Number(v) % 2) === 1,
  divisibleby: (v, a) => Number(v) % Number(a[0]) === 0,
  eq: (v, a) => pyEquals(v, a[0]),
  equalto: (v, a) => pyEquals(v, a[0]),
  '==': (v, a) => pyEquals(v, a[0]),
  ne: (v, a) => !pyEquals(v, a[0]),
  '!=': (v, a) => !pyEquals(v, a[0]),
  lt: (v, a) => pyCompare(v, a[0], '<') < 0,
  '<': (v, a) => pyCompare(v, a[0], '<') < 0,
  le: (v, a) => pyCompare(v, a[0], '<=') <= 0,
  '<=': (v, a) => pyCompare(v, a[0], '<=') <= 0,
  gt: (v, a) => pyCompare(v, a[0], '>') > 0,
  '>': (v, a) => pyCompare(v, a[0], '>') > 0,
  ge: (v, a) => pyCompare(v, a[0], '>=') >= 0,
  '>=': (v, a) => pyCompare(v, a[0], '>=') >= 0,
  sameas: (v, a) => v === a[0],
  in: (v, a) => pyContains(a[0], v),
  contains: (v, a) => pyContains(v, a[0]),
  subset: (v, a) => toList(v, 'subset').every((x) => pyContains(a[0], x)),
  superset: (v, a) => toList(a[0], 'superset').every((x) => pyContains(v, x)),
  match: regexTest('match'),
  search: regexTest('search'),
  regex: (v, a, kw) => (String(arg(a, kw, 3, 'match_type', 'search')) === 'match' ? regexTest('match') : regexTest('search'))(v, a, kw),
  succeeded: (v) => !resultFailed(v, 'succeeded'),
  success: (v) => !resultFailed(v, 'success'),
  failed: (v) => resultFailed(v, 'failed'),
  failure: (v) => resultFailed(v, 'failure'),
  changed: (v) => resultChanged(v, 'changed'),
  change: (v) => resultChanged(v, 'change'),
  skipped: (v) => resultSkipped(v, 'skipped'),
  skip: (v) => resultSkipped(v, 'skip'),
  version: versionTest,
  version_compare: versionTest,
  abs: (v) => typeof v === 'string' && v.startsWith('/'),
};

/** select/reject: with no test name the item's truthiness decides. */
function selectWith(list: unknown[], args: unknown[], kw: Kwargs, keep: boolean, attr?: (v: unknown) => unknown): unknown[] {
  const [name, ...rest] = args;
  const test = name === undefined ? (v: unknown) => pyTruthy(v) : lookupTest(String(name));
  const tolerant = name === 'defined' || name === 'undefined';
  return list.filter((item) => {
    const v = attr ? attr(item) : item;
    // Like Ansible's StrictUndefined: only the defined/undefined tests may look at a missing attribute.
    if (v instanceof Undef && !tolerant) throw new PyTypeError(v.message);
    const ok = name === undefined ? pyTruthy(v) : (test as TestFn)(v, rest, kw);
    return ok === keep;
  });
}

function lookupTest(name: string): TestFn {
  const t = TESTS[name];
  if (!t) throw new PyTypeError(`no test named '${name}'`);
  return t;
}

function needStr(v: unknown, filter: string): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) throw new PyTypeError(`${filter}: expected a string, got None`);
  return toStr(v);
}

function minMax(v: unknown, args: unknown[], kw: Kwargs, sign: 1 | -1): unknown {
  const list = toList(v, sign === 1 ? 'max' : 'min');
  if (list.length === 0) return new Undef(`No aggregated item, sequence was empty.`);
  const key = sortKey(Boolean(arg(args, kw, 0, 'case_sensitive', false)), arg(args, kw, 1, 'attribute'));
  let best = list[0];
  for (const x of list.slice(1)) if (sign * pyCompare(key(x), key(best), sign === 1 ? '>' : '<') > 0) best = x;
  return best;
}

/** Filters keyed by name. `map` needs the filter table itself, so it is built by a function. */
export function buildFilters(): Record<string, FilterFn> {
  const F: Record<string, FilterFn> = {
    bool: (v) => boolFilter(v),
    int: (v, a, kw) => toInt(v, arg(a, kw, 0, 'default', 0), Number(arg(a, kw, 1, 'base', 10))),
    float: (v, a, kw) => toFloat(v, arg(a, kw, 0, 'default', 0)),
    string: (v) => toStr(v),
    lower: (v) => toStr(v).toLowerCase(),
    upper: (v) => toStr(v).toUpperCase(),
    capitalize: (v) => {
      const s = toStr(v);
      return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
    },
    title: (v) => toStr(v).replace(/\w\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
    trim: (v, a) => {
      const s = toStr(v);
      if (a[0] === undefined || a[0] === null) return s.trim();
      const chars = String(a[0]);
      let i = 0;
      let j = s.length;
      while (i < j && chars.includes(s[i]!)) i++;
      while (j > i && chars.includes(s[j - 1]!)) j--;
      return s.slice(i, j);
    },
    length: (v) => length(v),
    count: (v) => length(v),
    default: (v, a, kw) => {
      const dflt = arg(a, kw, 0, 'default_value', '');
      const boolean = Boolean(arg(a, kw, 1, 'boolean', false));
      if (v instanceof Undef || v === undefined) return dflt;
      if (boolean && !pyTruthy(v)) return dflt;
      return v;
    },
    mandatory: (v, a, kw) => {
      if (v instanceof Undef || v === undefined) {
        const msg = arg(a, kw, 0, 'msg');
        throw new PyTypeError(typeof msg === 'string' ? msg : `Mandatory variable not defined: ${v instanceof Undef ? v.message : ''}`);
      }
      return v;
    },
    join: (v, a, kw) => {
      const attr = arg(a, kw, 1, 'attribute');
      const get = typeof attr === 'string' ? attrGetter(attr) : (x: unknown) => x;
      return toList(v, 'join').map((x) => toStr(get(x))).join(toStr(arg(a, kw, 0, 'd', '')));
    },
    first: (v) => {
      const l = toList(v, 'first');
      return l.length ? l[0] : new Undef('No first item, sequence was empty.');
    },
    last: (v) => {
      const l = toList(v, 'last');
      return l.length ? l[l.length - 1] : new Undef('No last item, sequence was empty.');
    },
    list: (v) => [...toList(v, 'list')],
    unique: (v) => uniqueList(toList(v, 'unique')),
    sort: (v, a, kw) => {
      const key = sortKey(Boolean(arg(a, kw, 1, 'case_sensitive', false)), arg(a, kw, 2, 'attribute'));
      const rev = Boolean(arg(a, kw, 0, 'reverse', false));
      const out = [...toList(v, 'sort')].sort((x, y) => pyCompare(key(x), key(y), '<'));
      return rev ? out.reverse() : out;
    },
    reverse: (v) => (typeof v === 'string' ? [...v].reverse().join('') : [...toList(v, 'reverse')].reverse()),
    min: (v, a, kw) => minMax(v, a, kw, -1),
    max: (v, a, kw) => minMax(v, a, kw, 1),
    sum: (v, a, kw) => {
      const attr = arg(a, kw, 0, 'attribute');
      const get = typeof attr === 'string' ? attrGetter(attr) : (x: unknown) => x;
      let acc: unknown = arg(a, kw, 1, 'start', 0);
      for (const x of toList(v, 'sum')) acc = pyAdd(acc, get(x));
      return acc;
    },
    abs: (v) => Math.abs(Number(v)),
    round: (v, a, kw) => {
      const precision = Number(arg(a, kw, 0, 'precision', 0));
      const method = String(arg(a, kw, 1, 'method', 'common'));
      const f = 10 ** precision;
      const n = Number(v) * f;
      const r = method === 'ceil' ? Math.ceil(n) : method === 'floor' ? Math.floor(n) : Math.round(n);
      return r / f;
    },
    map: (v, a, kw) => {
      const list = toList(v, 'map');
      if (a.length === 0 && typeof kw['attribute'] === 'string') {
        const get = attrGetter(kw['attribute']);
        return list.map((x) => {
          const r = get(x);
          if (r instanceof Undef) {
            if ('default' in kw) return kw['default'];
            throw new PyTypeError(r.message);
          }
          return r;
        });
      }
      if (a.length === 0) throw new PyTypeError('map: a filter name or attribute= is required');
      const [name, ...rest] = a;
      const f = F[String(name)];
      if (!f) throw new PyTypeError(`map: no filter named '${String(name)}'`);
      return list.map((x) => f(x, rest, kw));
    },
    select: (v, a, kw) => selectWith(toList(v, 'select'), a, kw, true),
    reject: (v, a, kw) => selectWith(toList(v, 'reject'), a, kw, false),
    selectattr: (v, a, kw) => {
      const [attr, ...rest] = a;
      return selectWith(toList(v, 'selectattr'), rest, kw, true, attrGetter(String(attr)));
    },
    rejectattr: (v, a, kw) => {
      const [attr, ...rest] = a;
      return selectWith(toList(v, 'rejectattr'), rest, kw, false, attrGetter(String(attr)));
    },
    to_json: (v, a, kw) => pyJsonDumps(v, { sortKeys: Boolean(kw['sort_keys']), ...(kw['indent'] !== undefined ? { indent: Number(kw['indent']) } : {}) }),
    to_nice_json: (v, a, kw) => pyJsonDumps(v, { sortKeys: true, indent: Number(arg(a, kw, 0, 'indent', 4)) }),
    from_json: (v) => {
      try {
        return JSON.parse(needStr(v, 'from_json'));
      } catch (e) {
        throw new PyTypeError(`from_json: ${(e as Error).message}`);
      }
    },
    to_yaml: (v) => YAML.stringify(v, { indent: 2 }),
    to_nice_yaml: (v, a, kw) => YAML.stringify(v, { indent: Number(arg(a, kw, 0, 'indent', 4)) }),
    from_yaml: (v) => {
      try {
        return YAML.parse(needStr(v, 'from_yaml'));
      } catch (e) {
        throw new PyTypeError(`from_yaml: ${(e as Error).message.split('\n')[0]}`);
      }
    },
    from_yaml_all: (v) => {
      try {
        return YAML.parseAllDocuments(needStr(v, 'from_yaml_all')).map((d) => d.toJS());
      } catch (e) {
        throw new PyTypeError(`from_yaml_all: ${(e as Error).message.split('\n')[0]}`);
      }
    },
    regex_search: (v, a, kw) => {
      const [pattern, ...groups] = a;
      const re = pyRegex(String(pattern), { ignorecase: Boolean(kw['ignorecase']), multiline: Boolean(kw['multiline']) });
      const m = re.exec(toStr(v));
      if (!m) return null;
      if (groups.length === 0) return m[0];
      return groups.map((g) => {
        const gs = String(g);
        const named = /^\\g<(\w+)>$/.exec(gs);
        if (named) return /^\d+$/.test(named[1]!) ? (m[Number(named[1])] ?? null) : (m.groups?.[named[1]!] ?? null);
        const num = /^\\(\d+)$/.exec(gs);
        if (num) return m[Number(num[1])] ?? null;
        throw new PyTypeError(`regex_search: unknown group argument '${gs}'`);
      });
    },
    regex_replace: (v, a, kw) => {
      const re = pyRegex(String(arg(a, kw, 0, 'pattern', '')), {
        ignorecase: Boolean(arg(a, kw, 2, 'ignorecase', false)),
        multiline: Boolean(arg(a, kw, 3, 'multiline', false)),
        global: true,
      });
      const count = Number(arg(a, kw, 4, 'count', 0));
      const repl = pyReplacement(toStr(arg(a, kw, 1, 'replacement', '')));
      if (!count) return toStr(v).replace(re, repl);
      let n = 0;
      const one = new RegExp(re.source, re.flags.replace('g', ''));
      return toStr(v).replace(re, (m) => (n++ < count ? m.replace(one, repl) : m));
    },
    regex_findall: (v, a, kw) => {
      const re = pyRegex(String(arg(a, kw, 0, 'regex', '')), {
        ignorecase: Boolean(arg(a, kw, 2, 'ignorecase', false)),
        multiline: Boolean(arg(a, kw, 1, 'multiline', false)),
        global: true,
      });
      return [...toStr(v).matchAll(re)].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? (m[1] ?? '') : m.slice(1).map((x) => x ?? '')));
    },
    regex_escape: (v) => toStr(v).replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
    split: (v, a, kw) => pySplit(toStr(v), arg(a, kw, 0, 'sep', null), arg(a, kw, 1, 'maxsplit', -1)),
    replace: (v, a, kw) => {
      const s = toStr(v);
      const old = toStr(arg(a, kw, 0, 'old', ''));
      const neu = toStr(arg(a, kw, 1, 'new', ''));
      const count = arg(a, kw, 2, 'count');
      if (typeof count !== 'number') return s.split(old).join(neu);
      const parts = s.split(old);
      return parts.slice(0, count + 1).join(neu) + (parts.length > count + 1 ? old + parts.slice(count + 1).join(old) : '');
    },
    basename: (v) => posix.basename(needStr(v, 'basename')),
    dirname: (v) => posix.dirname(needStr(v, 'dirname')),
    quote: (v) => shellQuote(v === null || v === undefined ? '' : toStr(v)),
    b64encode: (v) => Buffer.from(toStr(v), 'utf8').toString('base64'),
    b64decode: (v) => b64decode(toStr(v)),
    dict2items: (v, a, kw) => {
      if (!isMapping(v)) throw new PyTypeError(`dict2items requires a dictionary, got ${pyTypeName(v)} instead.`);
      const k = String(arg(a, kw, 0, 'key_name', 'key'));
      const val = String(arg(a, kw, 1, 'value_name', 'value'));
      return Object.entries(v).map(([kk, vv]) => ({ [k]: kk, [val]: vv }));
    },
    items2dict: (v, a, kw) => {
      const k = String(arg(a, kw, 0, 'key_name', 'key'));
      const val = String(arg(a, kw, 1, 'value_name', 'value'));
      const out: Record<string, unknown> = {};
      for (const it of toList(v, 'items2dict')) {
        if (!isMapping(it) || !(k in it) || !(val in it)) throw new PyTypeError(`items2dict requires a list of dictionaries with '${k}' and '${val}' keys`);
        out[toStr(it[k])] = it[val];
      }
      return out;
    },
    dictsort: (v) => {
      if (!isMapping(v)) throw new PyTypeError('dictsort: expected a dictionary');
      return Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    },
    combine: (v, a, kw) => combine([v, ...a], Boolean(kw['recursive']), String(kw['list_merge'] ?? 'replace')),
    difference: (v, a) => toList(v, 'difference').filter((x, i, l) => !pyContains(toList(a[0], 'difference'), x) && l.findIndex((y) => pyEquals(x, y)) === i),
    intersect: (v, a) => uniqueList(toList(v, 'intersect').filter((x) => pyContains(toList(a[0], 'intersect'), x))),
    union: (v, a) => uniqueList([...toList(v, 'union'), ...toList(a[0], 'union')]),
    symmetric_difference: (v, a) => {
      const x = toList(v, 'symmetric_difference');
      const y = toList(a[0], 'symmetric_difference');
      return uniqueList([...x.filter((e) => !pyContains(y, e)), ...y.filter((e) => !pyContains(x, e))]);
    },
    zip: (v, a) => {
      const lists = [toList(v, 'zip'), ...a.map((x) => toList(x, 'zip'))];
      const n = Math.min(...lists.map((l) => l.length));
      return Array.from({ length: n }, (_, i) => lists.map((l) => l[i]));
    },
    zip_longest: (v, a, kw) => {
      const lists = [toList(v, 'zip_longest'), ...a.map((x) => toList(x, 'zip_longest'))];
      const n = Math.max(...lists.map((l) => l.length));
      const fill = kw['fillvalue'] ?? null;
      return Array.from({ length: n }, (_, i) => lists.map((l) => (i < l.length ? l[i] : fill)));
    },
    flatten: (v, a, kw) => {
      const levels = arg(a, kw, 0, 'levels');
      return flatten(toList(v, 'flatten'), typeof levels === 'number' ? levels : undefined, arg(a, kw, 1, 'skip_nulls', true) !== false);
    },
    ternary: (v, a, kw) => {
      const noneVal = arg(a, kw, 2, 'none_val');
      if (v === null && noneVal !== undefined) return noneVal;
      return pyTruthy(v) ? arg(a, kw, 0, 'true_val') : arg(a, kw, 1, 'false_val');
    },
    human_readable: (v, a, kw) => humanReadable(v, Boolean(arg(a, kw, 0, 'isbits', false)), arg(a, kw, 1, 'unit')),
    extract: (v, a) => {
      const container = a[0];
      let cur: unknown = Array.isArray(container) ? container[Number(v)] : isMapping(container) ? container[toStr(v)] : undefined;
      if (cur === undefined) return new Undef(`extract: '${toStr(v)}' not found`);
      const morekeys = a[1];
      for (const k of morekeys === undefined ? [] : Array.isArray(morekeys) ? morekeys : [morekeys]) {
        cur = isMapping(cur) ? cur[toStr(k)] : Array.isArray(cur) ? cur[Number(k)] : undefined;
        if (cur === undefined) return new Undef(`extract: '${toStr(k)}' not found`);
      }
      return cur;
    },
    type_debug: (v) => pyTypeName(v),
    indent: (v, a, kw) => {
      const width = arg(a, kw, 0, 'width', 4);
      const pad = typeof width === 'string' ? width : ' '.repeat(Number(width));
      const first = Boolean(arg(a, kw, 1, 'first', false));
      const blank = Boolean(arg(a, kw, 2, 'blank', false));
      return toStr(v)
        .split('\n')
        .map((line, i) => ((i > 0 || first) && (blank || line !== '') ? pad + line : line))
        .join('\n');
    },
    items: (v) => {
      if (!isMapping(v)) throw new PyTypeError('items: expected a dictionary');
      return Object.entries(v);
    },
    format: (v, a) => pyPercentFormat(toStr(v), a),
    comment: (v) => toStr(v).split('\n').map((l) => `# ${l}`).join('\n'),
  };
  F['d'] = F['default']!;
  return F;
}

/** Python's `"%s-%d" % (a, b)`, the common conversions only. */
function pyPercentFormat(fmt: string, args: unknown[]): string {
  let i = 0;
  const next = () => {
    if (i >= args.length) throw new PyTypeError('not enough arguments for format string');
    return args[i++];
  };
  return fmt.replace(/%([-+ 0#]*)(\d*)(?:\.(\d+))?([sdifrx%])/g, (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = next();
    let s: string;
    if (conv === 's') s = toStr(v);
    else if (conv === 'r') s = typeof v === 'string' ? `'${v}'` : toStr(v);
    else if (conv === 'd' || conv === 'i') s = String(Math.trunc(Number(v)));
    else if (conv === 'x') s = Math.trunc(Number(v)).toString(16);
    else s = Number(v).toFixed(prec === undefined ? 6 : Number(prec));
    const w = Number(width || 0);
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
    return s;
  });
}

export function pyAdd(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' || typeof a === 'boolean') {
    if (typeof b === 'number' || typeof b === 'boolean') return Number(a) + Number(b);
  } else if (typeof a === 'string' && typeof b === 'string') return a + b;
  else if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  throw new PyTypeError(`unsupported operand type(s) for +: '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

export function pyMul(a: unknown, b: unknown): unknown {
  if ((typeof a === 'number' || typeof a === 'boolean') && (typeof b === 'number' || typeof b === 'boolean')) return Number(a) * Number(b);
  if (typeof a === 'string' && typeof b === 'number') return a.repeat(Math.max(0, b));
  if (typeof b === 'string' && typeof a === 'number') return b.repeat(Math.max(0, a));
  if (Array.isArray(a) && typeof b === 'number') return Array.from({ length: Math.max(0, b) }, () => a).flat();
  throw new PyTypeError(`unsupported operand type(s) for *: '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

/** lookup('env', ...) and lookup('file', ...); the only lookups that need nothing but the controller. */
export function lookupPlugin(name: string, terms: unknown[], kw: Kwargs, asList: boolean): unknown {
  let values: unknown[];
  if (name === 'env') values = terms.map((t) => process.env[toStr(t)] ?? (kw['default'] !== undefined ? kw['default'] : ''));
  else if (name === 'file') {
    values = terms.map((t) => {
      try {
        const s = readFileSync(toStr(t), 'utf8');
        return kw['rstrip'] === false ? s : s.replace(/\s+$/, '');
      } catch (e) {
        throw new PyTypeError(`lookup('file'): could not read '${toStr(t)}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    });
  } else if (name === 'items' || name === 'list') values = terms.flat();
  else throw new PyTypeError(`lookup plugin '${name}' is not supported (supported: env, file, items, list)`);
  if (asList || kw['wantlist'] === true) return values;
  return values.map((v) => toStr(v)).join(',');
}

export { pyEquals, pyCompare, pyContains, Undef };
