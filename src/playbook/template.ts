/**
 * Jinja2 templating with Ansible semantics, on top of nunjucks.
 *
 * nunjucks compiles templates to JavaScript with JavaScript semantics (`[]` is true, `x.y` of a missing
 * variable is silently undefined, `[1] + [2]` is a string). To get Jinja2 semantics without forking it,
 * every template is wrapped in a private tag whose parser rewrites the nunjucks AST: variable lookups go
 * through strict helpers (undefined -> TemplateError, except under `is defined` / `default`), and
 * truthiness, comparisons, `in`, `+`, `*`, `~` and output go through Python-semantics helpers.
 */
import nunjucks from 'nunjucks';
import { buildFilters, lookupPlugin, pyAdd, pyMul, pySplit, splitKwargs, TESTS } from './filters.js';
import type { Kwargs } from './filters.js';
import { pyCompare, pyContains, pyEquals, pyTypeName } from './pyvalues.js';
import { PyTypeError, Undef, isMapping, pyStr, pyTruthy } from '../compat/python.js';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Ansible's `omit` placeholder: a parameter whose value renders to this is removed. */
export const OMIT = '__omit_place_holder__nodesweep__';

const TAG = 'nsjinja';
const BOX = '__ns_box';
/** Filters whose first argument may be undefined. */
const SOFT_FILTERS = new Set(['default', 'd', 'mandatory']);
/** Tests whose subject may be undefined. */
const SOFT_TESTS = new Set(['defined', 'undefined']);
const CONSTANTS: Record<string, unknown> = { True: true, False: false, None: null, true: true, false: false, none: null };

interface Box {
  set: boolean;
  value: unknown;
  error?: TemplateError;
}

// nunjucks' AST is untyped; these are its node objects.
type N = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Rewrites a parsed template body (see file comment). `nodes` is nunjucks' node module. */
function rewrite(body: N, nodes: N): N {
  const sym = (ref: N, name: string) => new nodes.Symbol(ref.lineno, ref.colno, name);
  const call = (ref: N, name: string, args: N[]) => new nodes.Filter(ref.lineno, ref.colno, sym(ref, name), new nodes.NodeList(ref.lineno, ref.colno, args));
  const lit = (ref: N, v: unknown) => new nodes.Literal(ref.lineno, ref.colno, v);

  /** A lookup whose undefinedness is tolerated: returns an Undef instead of throwing. */
  const soft = (n: N): N => {
    if (n.typename === 'Symbol') {
      if (Object.hasOwn(CONSTANTS, n.value)) return lit(n, CONSTANTS[n.value]);
      return call(n, '__ns_sym', [n, lit(n, n.value)]);
    }
    if (n.typename === 'LookupVal') return call(n, '__ns_get', [soft(n.target), expr(n.val)]);
    return expr(n);
  };

  /** An expression used as a value: undefined lookups throw. */
  const expr = (n: N): N => {
    if (n === null || n === undefined) return n;
    switch (n.typename) {
      case 'Symbol':
        if (Object.hasOwn(CONSTANTS, n.value)) return lit(n, CONSTANTS[n.value]);
        return call(n, '__ns_need', [n, lit(n, n.value)]);
      case 'LookupVal':
        return call(n, '__ns_need', [soft(n)]);
      case 'Filter': {
        const name: string = n.name.value;
        const args: N[] = n.args.children;
        n.args.children = args.map((a: N, i: number) => (i === 0 && SOFT_FILTERS.has(name) ? soft(a) : expr(a)));
        return n;
      }
      case 'FunCall':
        n.name = expr(n.name);
        n.args.children = n.args.children.map(expr);
        return n;
      case 'Is': {
        // nunjucks emits multi-argument tests without commas; call our own test dispatcher instead.
        const right = n.right;
        const raw: unknown = right.typename === 'FunCall' ? right.name.value : right.value;
        // `none`, `true` and `false` lex as literals, not names.
        const name = raw === null ? 'none' : String(raw);
        const args: N[] = right.typename === 'FunCall' ? right.args.children.map(expr) : [];
        return call(n, '__ns_test', [lit(n, name), SOFT_TESTS.has(name) ? soft(n.left) : expr(n.left), ...args]);
      }
      case 'KeywordArgs':
      case 'Dict':
        for (const pair of n.children) pair.value = expr(pair.value);
        return n;
      case 'Array':
      case 'Group':
      case 'NodeList':
        n.children = n.children.map(expr);
        return n;
      case 'Compare': {
        const args = [expr(n.expr)];
        for (const op of n.ops) args.push(lit(op, op.type), expr(op.expr));
        return call(n, '__ns_cmp', args);
      }
      case 'In':
        return call(n, '__ns_in', [expr(n.left), expr(n.right)]);
      case 'Not':
        return call(n, '__ns_not', [expr(n.target)]);
      case 'And':
      case 'Or':
        // JS && / || short-circuit like Python once the left side has Python truthiness.
        n.left = call(n, '__ns_jsb', [expr(n.left)]);
        n.right = expr(n.right);
        return n;
      case 'Add':
        return call(n, '__ns_add', [expr(n.left), expr(n.right)]);
      case 'Mul':
        return call(n, '__ns_mul', [expr(n.left), expr(n.right)]);
      case 'Concat':
        return call(n, '__ns_concat', [expr(n.left), expr(n.right)]);
      case 'InlineIf':
        n.cond = call(n, '__ns_truthy', [expr(n.cond)]);
        n.body = expr(n.body);
        n.else_ = expr(n.else_);
        return n;
      default:
        return stmt(n);
    }
  };

  /** Statements and other nodes: rewrite the expressions they hold. */
  const stmt = (n: N): N => {
    if (n === null || n === undefined || typeof n !== 'object') return n;
    switch (n.typename) {
      case 'Output':
        n.children = n.children.map((c: N) => (c.typename === 'TemplateData' ? c : call(c, '__ns_str', [expr(c)])));
        return n;
      case 'If':
      case 'IfAsync':
        n.cond = call(n, '__ns_truthy', [expr(n.cond)]);
        n.body = stmt(n.body);
        n.else_ = stmt(n.else_);
        return n;
      case 'For':
      case 'AsyncEach':
      case 'AsyncAll':
        // Python iterates a dict's keys; nunjucks yields nothing for `for k in dict`.
        n.arr = call(n, n.name?.typename === 'Symbol' ? '__ns_iter_keys' : '__ns_iter', [expr(n.arr)]);
        n.body = stmt(n.body);
        n.else_ = stmt(n.else_);
        return n;
      case 'Set':
        if (n.value) n.value = expr(n.value);
        if (n.body) n.body = stmt(n.body);
        return n;
      case 'Macro':
      case 'Caller':
        n.body = stmt(n.body);
        return n;
      case 'NodeList':
      case 'Root':
        n.children = n.children.map(stmt);
        return n;
      case 'Symbol':
      case 'LookupVal':
      case 'Filter':
      case 'FunCall':
      case 'Is':
      case 'Compare':
      case 'In':
      case 'Not':
      case 'And':
      case 'Or':
      case 'Add':
      case 'Mul':
      case 'Concat':
      case 'InlineIf':
      case 'Array':
      case 'Dict':
      case 'Group':
        return expr(n);
      default:
        for (const f of n.fields ?? []) {
          const v = n[f];
          if (v && typeof v === 'object' && typeof v.typename === 'string') n[f] = stmt(v);
        }
        return n;
    }
  };

  const out = stmt(body);
  // A template that is exactly one `{{ expr }}` also captures the native value (lists stay lists).
  const kids: N[] = out.children;
  if (kids.length === 1 && kids[0].typename === 'Output' && kids[0].children.length === 1) {
    const only = kids[0].children[0];
    if (only.typename === 'Filter' && only.name.value === '__ns_str') only.name.value = '__ns_ret';
  }
  return out;
}

function strictExtension(): nunjucks.Extension {
  return {
    tags: [TAG],
    parse(parser: N, nodes: N) {
      const tok = parser.nextToken();
      parser.advanceAfterBlockEnd(tok.value);
      const body = parser.parseUntilBlocks('end' + TAG);
      parser.advanceAfterBlockEnd();
      return rewrite(body, nodes);
    },
  };
}

function boxOf(ctx: unknown): Box | undefined {
  const c = (ctx as { ctx?: Record<string, unknown> } | undefined)?.ctx;
  return c?.[BOX] as Box | undefined;
}

/** Python methods authors call on values (`s.split(',')`, `d.get('k', 1)`, `s.startswith('x')`). */
function pyMethod(obj: unknown, name: string): ((...a: unknown[]) => unknown) | undefined {
  if (typeof obj === 'string') {
    const m: Record<string, (...a: unknown[]) => unknown> = {
      startswith: (p) => (Array.isArray(p) ? p.some((x) => obj.startsWith(String(x))) : obj.startsWith(String(p))),
      endswith: (p) => (Array.isArray(p) ? p.some((x) => obj.endsWith(String(x))) : obj.endsWith(String(p))),
      split: (sep, max) => pySplit(obj, sep ?? null, max ?? -1),
      strip: (c) => (c === undefined || c === null ? obj.trim() : obj.replace(new RegExp(`^[${escapeClass(String(c))}]+|[${escapeClass(String(c))}]+$`, 'g'), '')),
      lstrip: (c) => (c === undefined ? obj.trimStart() : obj.replace(new RegExp(`^[${escapeClass(String(c))}]+`), '')),
      rstrip: (c) => (c === undefined ? obj.trimEnd() : obj.replace(new RegExp(`[${escapeClass(String(c))}]+$`), '')),
      lower: () => obj.toLowerCase(),
      upper: () => obj.toUpperCase(),
      replace: (a, b) => obj.split(String(a)).join(String(b)),
      find: (s) => obj.indexOf(String(s)),
      splitlines: () => obj.split(/\r?\n/).filter((l, i, arr) => i < arr.length - 1 || l !== ''),
      join: (l) => (Array.isArray(l) ? l.map(pyStr).join(obj) : String(l)),
      isdigit: () => /^\d+$/.test(obj),
      capitalize: () => obj.charAt(0).toUpperCase() + obj.slice(1).toLowerCase(),
      format: (...a) => {
        let i = 0;
        return obj.replace(/\{(\d*)\}/g, (_, n: string) => pyStr(a[n === '' ? i++ : Number(n)]));
      },
    };
    return m[name];
  }
  if (Array.isArray(obj)) {
    const m: Record<string, (...a: unknown[]) => unknown> = {
      index: (x) => obj.findIndex((y) => pyEquals(x, y)),
      count: (x) => obj.filter((y) => pyEquals(x, y)).length,
    };
    return m[name];
  }
  if (isMapping(obj)) {
    const m: Record<string, (...a: unknown[]) => unknown> = {
      keys: () => Object.keys(obj),
      values: () => Object.values(obj),
      items: () => Object.entries(obj),
      get: (k, d) => (Object.hasOwn(obj, String(k)) ? obj[String(k)] : (d ?? null)),
    };
    return m[name];
  }
  return undefined;
}

function escapeClass(s: string): string {
  return s.replace(/[\]\\^-]/g, '\\$&');
}

function getAttr(obj: unknown, key: unknown): unknown {
  if (obj instanceof Undef) return obj;
  if (obj === null || obj === undefined) return new Undef(`'None' has no attribute '${pyStr(key)}'`);
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof key === 'number' && Number.isInteger(key)) {
      const i = key < 0 ? obj.length + key : key;
      if (i >= 0 && i < obj.length) return obj[i];
      return new Undef(`${pyTypeName(obj)} index out of range: ${key}`);
    }
    const m = typeof key === 'string' ? pyMethod(obj, key) : undefined;
    return m ?? new Undef(`'${pyTypeName(obj)} object' has no attribute '${pyStr(key)}'`);
  }
  if (typeof obj === 'object') {
    const k = String(key);
    const plain = Object.getPrototypeOf(obj) === Object.prototype || Object.getPrototypeOf(obj) === null;
    if (Object.hasOwn(obj, k) || (!plain && k in obj)) {
      const v = (obj as Record<string, unknown>)[k];
      return typeof v === 'function' && !plain ? (v as (...a: unknown[]) => unknown).bind(obj) : v;
    }
    const m = pyMethod(obj, k);
    return m ?? new Undef(`'dict object' has no attribute '${k}'`);
  }
  return new Undef(`'${pyTypeName(obj)} object' has no attribute '${pyStr(key)}'`);
}

/** Compiles and renders Jinja2 templates; caches compiled templates by source. One per run. */
export class Templar {
  private readonly env: nunjucks.Environment;
  private readonly cache = new Map<string, nunjucks.Template>();
  private readonly maxCache: number;
  private compiles = 0;

  constructor(opts: { maxCache?: number } = {}) {
    this.maxCache = opts.maxCache ?? 20_000;
    this.env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false, trimBlocks: true });
    this.env.addExtension('NodesweepStrict', strictExtension());
    this.installHelpers();
    this.installFilters();
    this.env.addFilter('__ns_test', function (this: unknown, name: unknown, v: unknown, ...rest: unknown[]) {
      const { args, kw } = splitKwargs(rest);
      return guard(this, () => {
        const fn = TESTS[String(name)];
        if (!fn) throw new PyTypeError(`no test named '${String(name)}'`);
        if (!SOFT_TESTS.has(String(name)) && v instanceof Undef) throw new PyTypeError(v.message);
        for (const a of args) if (a instanceof Undef) throw new PyTypeError(a.message);
        return fn(v, args, kw) === true;
      });
    });
    this.env.addGlobal('omit', OMIT);
    this.env.addGlobal('lookup', function (this: unknown, name: unknown, ...rest: unknown[]) {
      const { args, kw } = splitKwargs(rest);
      return guard(this, () => lookupPlugin(String(name), args, kw, false));
    });
    const query = function (this: unknown, name: unknown, ...rest: unknown[]) {
      const { args, kw } = splitKwargs(rest);
      return guard(this, () => lookupPlugin(String(name), args, kw, true));
    };
    this.env.addGlobal('query', query);
    this.env.addGlobal('q', query);
    this.env.addGlobal('dict', function (this: unknown, ...rest: unknown[]) {
      const { args, kw } = splitKwargs(rest);
      return guard(this, () => {
        const out: Record<string, unknown> = {};
        const first = args[0];
        if (Array.isArray(first)) {
          for (const pair of first) {
            if (!Array.isArray(pair) || pair.length !== 2) throw new PyTypeError('dict(): expected a list of pairs');
            out[pyStr(pair[0])] = pair[1];
          }
        } else if (isMapping(first)) Object.assign(out, first);
        return Object.assign(out, kw);
      });
    });
  }

  private installHelpers(): void {
    const env = this.env;
    const helpers: Record<string, (...a: unknown[]) => unknown> = {
      __ns_need: (v, name) => {
        if (v === undefined) throw new PyTypeError(`'${String(name)}' is undefined`);
        if (v instanceof Undef) throw new PyTypeError(v.message);
        return v;
      },
      __ns_sym: (v, name) => (v === undefined ? new Undef(`'${String(name)}' is undefined`) : v),
      __ns_get: (obj, key) => getAttr(obj, key),
      __ns_truthy: (v) => pyTruthy(v),
      __ns_not: (v) => !pyTruthy(v),
      __ns_jsb: (v) => (pyTruthy(v) ? v : v && typeof v === 'object' ? false : v),
      __ns_cmp: (...a) => {
        let left = a[0];
        for (let i = 1; i + 1 < a.length; i += 2) {
          const op = a[i] as string;
          const right = a[i + 1];
          let ok: boolean;
          if (op === '==' || op === '===') ok = pyEquals(left, right);
          else if (op === '!=' || op === '!==') ok = !pyEquals(left, right);
          else {
            const c = pyCompare(left, right, op);
            ok = op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
          }
          if (!ok) return false;
          left = right;
        }
        return true;
      },
      __ns_in: (item, container) => pyContains(container, item),
      __ns_add: (a, b) => pyAdd(a, b),
      __ns_mul: (a, b) => pyMul(a, b),
      __ns_concat: (a, b) => pyStr(a) + pyStr(b),
      __ns_iter: (v) => {
        if (v === null || v === undefined) throw new PyTypeError("'NoneType' object is not iterable");
        if (typeof v === 'string') return [...v];
        if (Array.isArray(v) || isMapping(v)) return v;
        throw new PyTypeError(`'${pyTypeName(v)}' object is not iterable`);
      },
      __ns_iter_keys: (v) => (isMapping(v) ? Object.keys(v) : helpers['__ns_iter']!(v)),
      __ns_str: (v) => pyStr(v),
    };
    for (const [name, fn] of Object.entries(helpers)) {
      env.addFilter(name, function (this: unknown, ...a: unknown[]) {
        return guard(this, () => fn(...a));
      });
    }
    env.addFilter('__ns_ret', function (this: unknown, v: unknown) {
      return guard(this, () => {
        const s = pyStr(v); // throws for Undef
        const box = boxOf(this);
        if (box) {
          box.set = true;
          box.value = v;
        }
        return s;
      });
    });
  }

  private installFilters(): void {
    const filters = buildFilters();
    for (const [name, fn] of Object.entries(filters)) {
      this.env.addFilter(name, function (this: unknown, v: unknown, ...rest: unknown[]) {
        const { args, kw } = splitKwargs(rest);
        return guard(this, () => {
          if (!SOFT_FILTERS.has(name) && v instanceof Undef) throw new PyTypeError(v.message);
          for (const a of args) if (a instanceof Undef) throw new PyTypeError(a.message);
          return fn(v, args, kw as Kwargs);
        });
      });
    }
  }

  /** How many templates were compiled so far: each source once while the cache holds it. */
  get compiledCount(): number {
    return this.compiles;
  }

  /** True if the string contains template syntax. */
  static isTemplated(s: string): boolean {
    return s.includes('{{') || s.includes('{%') || s.includes('{#');
  }

  private compile(src: string): nunjucks.Template {
    let t = this.cache.get(src);
    if (t) return t;
    try {
      t = new nunjucks.Template(`{% ${TAG} %}\n${jinjaPreprocess(src)}{% end${TAG} %}`, this.env, undefined, true);
      this.compiles++;
    } catch (e) {
      throw new TemplateError(`template error while templating '${src}': ${cleanNunjucksMessage(e)}`);
    }
    if (this.cache.size >= this.maxCache) this.cache.clear();
    this.cache.set(src, t);
    return t;
  }

  private run(src: string, vars: Record<string, unknown>): { text: string; box: Box } {
    const t = this.compile(src);
    const box: Box = { set: false, value: undefined };
    try {
      const text = t.render({ ...vars, [BOX]: box });
      return { text, box };
    } catch (e) {
      if (box.error) throw new TemplateError(`${box.error.message} (while templating '${src}')`);
      throw new TemplateError(`template error while templating '${src}': ${cleanNunjucksMessage(e)}`);
    }
  }

  renderString(s: string, vars: Record<string, unknown>): string {
    if (!Templar.isTemplated(s)) return s;
    return this.run(s, vars).text;
  }

  /** Deep-render; a string that is exactly one `{{ expr }}` keeps its native type. Keys equal to `omit` are dropped. */
  render(value: unknown, vars: Record<string, unknown>): unknown {
    if (typeof value === 'string') {
      if (!Templar.isTemplated(value)) return value;
      const { text, box } = this.run(value, vars);
      return box.set ? box.value : text;
    }
    if (Array.isArray(value)) return value.map((v) => this.render(v, vars)).filter((v) => v !== OMIT);
    if (isMapping(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const r = this.render(v, vars);
        if (r === OMIT) continue;
        out[Templar.isTemplated(k) ? this.renderString(k, vars) : k] = r;
      }
      return out;
    }
    return value;
  }

  /** Evaluate a bare expression to its native value; `"{{ x }}"` strings are rendered first. */
  evalExpression(expr: string, vars: Record<string, unknown>): unknown {
    const s = expr.trim();
    if (Templar.isTemplated(s)) return this.render(s, vars);
    if (s === '') throw new TemplateError('empty expression');
    const { box } = this.run(`{{ ${s} }}`, vars);
    return box.value;
  }

  /** Evaluate a `when:`-style condition with Jinja2 truthiness; a literal boolean passes through. */
  evalCondition(cond: string | boolean, vars: Record<string, unknown>): boolean {
    if (typeof cond === 'boolean') return cond;
    let s = String(cond).trim();
    if (Templar.isTemplated(s)) {
      // Ansible warns but accepts `when: "{{ x }} == 1"`: template first, then evaluate the result.
      const r = this.render(s, vars);
      if (typeof r !== 'string') return truthy(r);
      s = r.trim();
      if (s === '') return false;
    }
    return truthy(this.evalExpression(s, vars));
  }
}

function truthy(v: unknown): boolean {
  try {
    return pyTruthy(v);
  } catch (e) {
    throw new TemplateError((e as Error).message);
  }
}

/** Runs a helper; a Python-level error is recorded in the render's box so the caller sees our message. */
function guard<T>(ctx: unknown, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e instanceof TemplateError ? e : new TemplateError(e instanceof Error ? e.message : String(e));
    const box = boxOf(ctx);
    if (box && !box.error) box.error = err;
    throw err;
  }
}

/**
 * Source fixes for Jinja2 syntax the nunjucks lexer lacks, inside `{{ }}` / `{% %}`:
 * - `item.0` (index by attribute syntax) becomes `item[0]`;
 * - a `}}` that closes a nested dict literal (`{{ {'a': {'b': 1}} }}`) is split so it does not end the expression;
 * - backslashes in string literals are kept as written, as Ansible does (`regex_search('\d+')` means the
 *   regex `\d+`), while nunjucks would drop them; so each is doubled for nunjucks to undo.
 */
export function jinjaPreprocess(src: string): string {
  if (!/\.\d|\}\}|\\/.test(src)) return src;
  let out = '';
  let i = 0;
  while (i < src.length) {
    const open = src.slice(i).search(/\{\{|\{%/);
    if (open < 0) {
      out += src.slice(i);
      break;
    }
    const start = i + open;
    const raw = /^\{%-?\s*raw\s*-?%\}/.exec(src.slice(start));
    if (raw) {
      // {% raw %} content is output as written: copy it untouched.
      const end = src.slice(start + raw[0].length).search(/\{%-?\s*endraw\s*-?%\}/);
      const stop = end < 0 ? src.length : start + raw[0].length + end;
      out += src.slice(i, stop);
      i = stop;
      if (end >= 0) {
        const endTag = /^\{%-?\s*endraw\s*-?%\}/.exec(src.slice(stop))!;
        out += endTag[0];
        i += endTag[0].length;
      }
      continue;
    }
    out += src.slice(i, start + 2);
    const isVar = src[start + 1] === '{';
    const closer = isVar ? '}}' : '%}';
    let j = start + 2;
    let code = '';
    let quote: string | null = null;
    let depth = 0;
    for (; j < src.length; j++) {
      const ch = src[j]!;
      if (quote) {
        if (ch === '\\') {
          // Backslashes pair up as in Jinja's lexer; each pair is kept as written.
          const next = src[j + 1];
          if (next === quote) {
            code += '\\' + quote;
            j++;
          } else if (next === '\\') {
            code += '\\\\\\\\';
            j++;
          } else code += '\\\\';
          continue;
        }
        code += ch;
        if (ch === quote) quote = null;
        continue;
      }
      if (depth === 0 && src.startsWith(closer, j)) break;
      if (ch === '"' || ch === "'") quote = ch;
      if (ch === '{') depth++;
      if (ch === '}' && depth > 0) {
        depth--;
        code += '} ';
        continue;
      }
      if (ch === '.' && /[\w\])]/.test(src[j - 1] ?? '') && /\d/.test(src[j + 1] ?? '') && !/^\d+$/.test(lastWord(code))) {
        const m = /^\d+/.exec(src.slice(j + 1))!;
        code += `[${m[0]}]`;
        j += m[0].length;
        continue;
      }
      code += ch;
    }
    out += code;
    i = j;
  }
  return out;
}

function lastWord(code: string): string {
  const m = /(\w+)$/.exec(code);
  return m ? m[1]! : '';
}

function cleanNunjucksMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .replace(/^Template render error: /, '')
    .replace(/\(unknown path\)\s*/g, '')
    .replace(/\[Line \d+, Column \d+\]\s*/g, '')
    .replace(/^Error: /gm, '')
    .replace(new RegExp(`end${TAG}`, 'g'), 'end of template')
    .replace(/\s+/g, ' ')
    .trim();
}
