/**
 * Playbook loader: YAML text -> the validated model of types.ts. Everything is checked here, before any
 * host is contacted (keywords, types, module names, module parameters), and every error names
 * file:line:column and what was expected.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YNode, Pair, YAMLMap } from 'yaml';
import type { z } from 'zod';
import { PlaybookError } from '../errors.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { BlockTask, Condition, Loc, ModuleTask, Play, Playbook, TaskCommon, TaskNode } from './types.js';
import { Templar } from './template.js';
import { ansibleBoolean } from '../compat/boolean.js';

export interface LoadOptions {
  modules: ModuleRegistry;
}

const PLAY_KEYS = [
  'name', 'hosts', 'vars', 'gather_facts', 'gather_subset', 'gather_timeout', 'become', 'become_user', 'become_method',
  'serial', 'max_fail_percentage', 'any_errors_fatal', 'tags', 'check_mode', 'tasks', 'pre_tasks', 'post_tasks',
  'handlers', 'environment', 'ignore_errors', 'timeout', 'collections', 'strategy', 'order', 'no_log',
];
const COMMON_KEYS = ['name', 'when', 'tags', 'become', 'become_user', 'become_method', 'ignore_errors', 'no_log', 'check_mode', 'timeout', 'vars', 'environment'];
const TASK_KEYS = [
  ...COMMON_KEYS, 'args', 'register', 'loop', 'with_items', 'with_list', 'with_dict', 'loop_control', 'changed_when',
  'failed_when', 'until', 'retries', 'delay', 'notify',
];
const HANDLER_KEYS = [...TASK_KEYS, 'listen'];
const BLOCK_KEYS = [...COMMON_KEYS, 'block', 'rescue', 'always'];
/** Ansible keywords nodesweep deliberately does not implement: a clear error beats silently ignoring them. */
const UNSUPPORTED = new Set([
  'delegate_to', 'delegate_facts', 'run_once', 'local_action', 'action', 'async', 'poll', 'throttle', 'include',
  'include_tasks', 'import_tasks', 'include_role', 'import_role', 'roles', 'vars_files', 'vars_prompt', 'remote_user',
  'connection', 'debugger', 'module_defaults', 'ignore_unreachable', 'with_fileglob', 'with_nested', 'with_together',
  'with_subelements', 'with_sequence', 'with_indexed_items', 'with_first_found', 'with_lines', 'with_random_choice',
  'diff', 'port', 'force_handlers', 'fact_path', 'max_fail_percentage_per_task',
]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Parameters Ansible extracts from a free-form command string (`shell: ls chdir=/tmp`). */
const RAW_PARAMS = ['creates', 'removes', 'chdir', 'executable', 'stdin', 'stdin_add_newline', 'strip_empty_ends'];

// ---------- small helpers ----------

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Closest candidates, best first (edit distance within a third of the word, or a prefix). */
export function closeMatches(word: string, candidates: Iterable<string>, max = 3): string[] {
  const w = word.toLowerCase();
  const scored: Array<[number, number, string]> = [];
  for (const c of new Set(candidates)) {
    const lc = c.toLowerCase();
    const d = levenshtein(w, lc);
    // Tie-break on letters of the word missing from the candidate ('taks' -> 'tasks', not 'tags').
    const missing = [...w].filter((ch) => !lc.includes(ch)).length;
    const limit = Math.max(1, Math.floor(Math.max(w.length, c.length) / 3));
    if (d <= limit) scored.push([d, missing, c]);
    else if (w.length >= 3 && (lc.startsWith(w) || w.startsWith(lc))) scored.push([limit + 1, missing, c]);
  }
  return scored
    .sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2].localeCompare(y[2]))
    .slice(0, max)
    .map((x) => x[2]);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return String(v);
  }
}

function typeWord(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function isTemplateString(v: unknown): v is string {
  return typeof v === 'string' && Templar.isTemplated(v);
}

/** Parsing state for one file. */
class Ctx {
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
    readonly doc: Document,
    readonly modules: ModuleRegistry,
  ) {}

  loc(node: YNode | Pair | null | undefined): Loc {
    const n = node && 'range' in node ? node : node && 'key' in node ? (node.key as YNode | null) : null;
    const offset = n?.range?.[0] ?? 0;
    const p = this.lc.linePos(offset);
    return { file: this.file, line: p.line, column: p.col };
  }

  fail(node: YNode | Pair | null | undefined, message: string): never {
    throw new PlaybookError(this.loc(node), message);
  }

  js(node: YNode | null | undefined): unknown {
    if (node === null || node === undefined) return null;
    try {
      return node.toJS(this.doc, { maxAliasCount: 1000 });
    } catch (e) {
      // e.g. "Excessive alias count" (a billion-laughs file): user input, not a bug.
      return this.fail(node, `YAML could not be read: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** Resolves aliases so the structure checks see the real node. */
  deref(node: unknown): YNode | null {
    let n = node as YNode | null;
    for (let i = 0; i < 10 && n && isAlias(n); i++) n = n.resolve(this.doc) ?? null;
    return n;
  }

  /** The pairs of a mapping, `<<` merge keys expanded (explicit keys win). */
  pairs(map: YAMLMap): Array<{ key: string; keyNode: YNode; value: YNode | null }> {
    const out: Array<{ key: string; keyNode: YNode; value: YNode | null }> = [];
    const seen = new Set<string>();
    const merged: Array<{ key: string; keyNode: YNode; value: YNode | null }> = [];
    for (const pair of map.items) {
      const keyNode = pair.key as YNode;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(this.js(keyNode));
      if (key === '<<' && isScalar(keyNode) && keyNode.value === '<<') {
        const src = this.deref(pair.value);
        const maps = isSeq(src) ? src.items.map((x) => this.deref(x)) : [src];
        for (const m of maps) if (isMap(m)) merged.push(...this.pairs(m));
        continue;
      }
      seen.add(key);
      out.push({ key, keyNode, value: this.deref(pair.value) });
    }
    for (const m of merged) if (!seen.has(m.key)) out.push(m);
    return out;
  }
}

type Entry = { key: string; keyNode: YNode; value: YNode | null };

// ---------- keyword value parsers ----------

function asString(c: Ctx, e: Entry, what: string): string {
  const v = c.js(e.value);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a string, got ${describe(v)}`);
}

function asBool(c: Ctx, e: Entry, what: string): boolean {
  const v = c.js(e.value);
  if (typeof v === 'boolean') return v;
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a boolean (true/false, yes/no), got ${describe(v)}`);
}

/** A boolean, or a condition string evaluated per host (ignore_errors, no_log). */
function asBoolOrTemplate(c: Ctx, e: Entry, what: string): Condition {
  const v = c.js(e.value);
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a boolean or a template string, got ${describe(v)}`);
}

function asConditions(c: Ctx, e: Entry, what: string): Condition[] {
  const v = c.js(e.value);
  const bad = () => c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a string, a boolean or a list of them, got ${describe(v)}`);
  if (typeof v === 'string' || typeof v === 'boolean') return [v];
  if (Array.isArray(v)) {
    for (const x of v) if (typeof x !== 'string' && typeof x !== 'boolean') bad();
    return v as Condition[];
  }
  return bad();
}

function asStringList(c: Ctx, e: Entry, what: string, commaSplit: boolean): string[] {
  const v = c.js(e.value);
  if (v === null) return [];
  if (typeof v === 'string') return commaSplit ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : [v];
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a string or a list of strings, got ${describe(v)}`);
}

function asNumberOrTemplate(c: Ctx, e: Entry, what: string, min: number): number | string {
  const v = c.js(e.value);
  if (typeof v === 'number' && Number.isFinite(v) && v >= min) return v;
  if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) && Number(v) >= min) return Number(v);
  if (isTemplateString(v)) return v;
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a number >= ${min} or a template, got ${describe(v)}`);
}

function asSeconds(c: Ctx, e: Entry, what: string): number {
  const v = c.js(e.value);
  const n = typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n) && n > 0) return n;
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a number of seconds > 0, got ${describe(v)}`);
}

function asVars(c: Ctx, e: Entry, what: string): Record<string, unknown> {
  const v = c.js(e.value);
  if (v === null) return {};
  const maps = Array.isArray(v) ? v : [v];
  const out: Record<string, unknown> = {};
  for (const m of maps) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a mapping of variable names to values, got ${describe(v)}`);
    }
    for (const [k, x] of Object.entries(m)) {
      if (!IDENT.test(k)) c.fail(e.value ?? e.keyNode, `${what}: invalid variable name '${k}' in ${e.key} (letters, digits and _ only, not starting with a digit)`);
      out[k] = x;
    }
  }
  return out;
}

function asEnvironment(c: Ctx, e: Entry, what: string): Record<string, unknown> | string {
  const v = c.js(e.value);
  if (v === null) return {};
  if (isTemplateString(v)) return v;
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  return c.fail(e.value ?? e.keyNode, `${what}: environment must be a mapping or a template, got ${describe(v)}`);
}

function asIdent(c: Ctx, e: Entry, what: string): string {
  const v = c.js(e.value);
  if (typeof v === 'string' && IDENT.test(v)) return v;
  return c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a variable name (letters, digits and _), got ${describe(v)}`);
}

function unknownKeyword(c: Ctx, e: Entry, what: string, allowed: string[], extra = ''): never {
  if (UNSUPPORTED.has(e.key)) c.fail(e.keyNode, `${what}: '${e.key}' is not supported by nodesweep`);
  const close = closeMatches(e.key, allowed);
  const hint = close.length ? ` (did you mean '${close[0]}'?)` : '';
  return c.fail(e.keyNode, `${what}: unknown keyword '${e.key}'${hint}${extra}`);
}

// ---------- module arguments ----------

/** Splits Ansible's `k=v k2="v 2"` inline form. Returns undefined if the string is not entirely in that form. */
export function parseKeyValue(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && /\s/.test(s[i]!)) i++;
    if (i >= n) break;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(s.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    let value = '';
    while (i < n && !/\s/.test(s[i]!)) {
      const ch = s[i]!;
      if (ch === '"' || ch === "'") {
        const end = s.indexOf(ch, i + 1);
        if (end < 0) return undefined;
        value += s.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '{' && (s[i + 1] === '{' || s[i + 1] === '%')) {
        // Keep a template together even if it contains spaces.
        const close = s.indexOf(s[i + 1] === '{' ? '}}' : '%}', i + 2);
        if (close < 0) return undefined;
        value += s.slice(i, close + 2);
        i = close + 2;
      } else {
        value += ch;
        i++;
      }
    }
    out[m[1]!] = value;
  }
  return out;
}

function schemaKeys(def: ModuleDefinition): string[] | undefined {
  const shape = (def.schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

/** Moves `chdir=/tmp`-style tokens of a free-form command into parameters, as Ansible does. */
function extractRawParams(cmd: string, def: ModuleDefinition): { cmd: string; params: Record<string, string> } {
  const known = new Set(schemaKeys(def) ?? []);
  const params: Record<string, string> = {};
  const rest = cmd.replace(/(^|\s)([a-z_]+)=("[^"]*"|'[^']*'|\S+)(?=\s|$)/g, (all, pre: string, k: string, v: string) => {
    if (!RAW_PARAMS.includes(k) || !known.has(k)) return all;
    params[k] = /^["']/.test(v) ? v.slice(1, -1) : v;
    return pre;
  });
  return { cmd: Object.keys(params).length ? rest.trim() : cmd, params };
}

function getAt(v: unknown, path: ReadonlyArray<PropertyKey>): { hitTemplate: boolean } {
  let cur: unknown = v;
  for (const p of path) {
    if (isTemplateString(cur)) return { hitTemplate: true };
    if (cur === null || typeof cur !== 'object') return { hitTemplate: false };
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return { hitTemplate: isTemplateString(cur) };
}

function setAt(v: unknown, path: ReadonlyArray<PropertyKey>, value: unknown): void {
  let cur = v as Record<PropertyKey, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p as string] as Record<PropertyKey, unknown>;
  cur[path[path.length - 1] as string] = value;
}

function readAt(v: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

/** Ansible's argument-spec conversions: "yes" -> true for booleans, "5" -> 5 for numbers, 5 -> "5" for strings. */
function coerce(value: unknown, expected: string): { ok: boolean; value?: unknown } {
  if (expected === 'boolean') {
    // check_type_bool: strings and numbers through Ansible's strict boolean
    if (typeof value === 'string' || typeof value === 'number') {
      try {
        return { ok: true, value: ansibleBoolean(value) };
      } catch {
        return { ok: false };
      }
    }
  }
  if (expected === 'number' || expected === 'int') {
    if (typeof value === 'string' && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(value)) return { ok: true, value: Number(value) };
  }
  if (expected === 'string') {
    if (typeof value === 'number') return { ok: true, value: String(value) };
    if (typeof value === 'boolean') return { ok: true, value: value ? 'True' : 'False' };
  }
  return { ok: false };
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function issueMessage(def: ModuleDefinition, issue: z.core.$ZodIssue, args: Record<string, unknown>): string {
  const where = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const known = schemaKeys(def) ?? [];
    const parts = keys.map((k) => {
      const close = closeMatches(k, known);
      return close.length ? `'${k}' (did you mean '${close[0]}'?)` : `'${k}'`;
    });
    const list = known.length ? `; supported: ${known.join(', ')}` : '';
    return `unsupported parameter${keys.length > 1 ? 's' : ''} ${parts.join(', ')}${list}`;
  }
  if (issue.code === 'invalid_type') {
    const got = readAt(args, issue.path);
    if (got === undefined) return `missing required parameter '${where}'`;
    return `parameter '${where}' must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}, got ${describe(got)}`;
  }
  if (issue.code === 'invalid_value') {
    return `parameter '${where}' must be one of ${issue.values.map((v) => describe(v)).join(', ')}, got ${describe(readAt(args, issue.path))}`;
  }
  return where ? `parameter '${where}': ${issue.message}` : issue.message;
}

export interface ValidateOptions {
  /**
   * Load time: values holding `{{ }}` cannot be checked before templating, so issues about them are
   * ignored. The executor validates again after templating with this false.
   */
  allowTemplates?: boolean;
  /** Maps a parameter path to its position in the file (the loader points at the offending value). */
  locate?: (path: ReadonlyArray<PropertyKey>, isKey: boolean) => Loc | undefined;
}

/**
 * Checks a module's parameters against its zod schema, with Ansible's type conversions.
 * Returns the parsed parameters (defaults applied); throws PlaybookError at `loc` naming the problem.
 */
export function validateModuleArgs(def: ModuleDefinition, args: Record<string, unknown>, loc: Loc, opts: ValidateOptions = {}): unknown {
  const first = def.schema.safeParse(args);
  if (first.success) return first.data;
  // Copy only when conversions may be needed; the common valid case stays cheap (10k tasks).
  const work = structuredCloneSafe(args);
  for (let round = 0; round < 20; round++) {
    const r = def.schema.safeParse(work);
    if (r.success) return r.data;
    const issues = r.error.issues.filter((i) => !(opts.allowTemplates && getAt(work, i.path).hitTemplate));
    if (issues.length === 0) return work;
    let fixed = false;
    for (const i of issues) {
      if (i.code !== 'invalid_type') continue;
      const cur = readAt(work, i.path);
      const c = coerce(cur, i.expected);
      if (c.ok && i.path.length > 0) {
        setAt(work, i.path, c.value);
        fixed = true;
      }
    }
    if (!fixed) {
      const issue = issues[0]!;
      const at =
        issue.code === 'unrecognized_keys' ? opts.locate?.([...issue.path, issue.keys[0]!], true) : opts.locate?.(issue.path, false);
      throw new PlaybookError(at ?? loc, `module '${def.name}': ${issueMessage(def, issue, work)}`);
    }
  }
  throw new PlaybookError(loc, `module '${def.name}': parameters could not be validated`);
}

function structuredCloneSafe<T>(v: T): T {
  try {
    return structuredClone(v);
  } catch {
    return JSON.parse(JSON.stringify(v)) as T;
  }
}

// ---------- tasks ----------

interface TaskParseOpts {
  handler: boolean;
}

function parseCommon(c: Ctx, e: Entry, t: Partial<TaskCommon>, what: string): boolean {
  switch (e.key) {
    case 'name':
      t.name = asString(c, e, what);
      return true;
    case 'when':
      t.when = asConditions(c, e, what);
      return true;
    case 'tags':
      t.tags = asStringList(c, e, what, true);
      return true;
    case 'become':
      t.become = asBool(c, e, what);
      return true;
    case 'become_user':
      t.becomeUser = asString(c, e, what);
      return true;
    case 'become_method': {
      const m = asString(c, e, what);
      if (m !== 'sudo') c.fail(e.value, `${what}: become_method '${m}' is not supported (only sudo)`);
      return true;
    }
    case 'ignore_errors':
      t.ignoreErrors = asBoolOrTemplate(c, e, what);
      return true;
    case 'no_log':
      t.noLog = asBoolOrTemplate(c, e, what);
      return true;
    case 'check_mode':
      t.checkMode = asBool(c, e, what);
      return true;
    case 'timeout':
      t.timeout = asSeconds(c, e, what);
      return true;
    case 'vars':
      t.vars = asVars(c, e, what);
      return true;
    case 'environment':
      t.environment = asEnvironment(c, e, what);
      return true;
    default:
      return false;
  }
}

function label(name: string | undefined, kind: string): string {
  return name !== undefined ? `${kind} '${name}'` : kind;
}

function parseTaskList(c: Ctx, node: YNode | null, what: string, opts: TaskParseOpts): TaskNode[] {
  const n = c.deref(node);
  if (n === null || (isScalar(n) && n.value === null)) return [];
  if (!isSeq(n)) return c.fail(n, `${what} must be a list of tasks, got ${typeWord(c.js(n))}`);
  const out: TaskNode[] = [];
  for (const item of n.items) out.push(parseTask(c, c.deref(item), opts));
  return out;
}

function parseTask(c: Ctx, node: YNode | null, opts: TaskParseOpts): TaskNode {
  const kindWord = opts.handler ? 'handler' : 'task';
  if (!isMap(node)) return c.fail(node, `a ${kindWord} must be a mapping (name:, a module, ...), got ${typeWord(c.js(node))}`);
  const entries = c.pairs(node);
  const nameEntry = entries.find((e) => e.key === 'name');
  const nameVal = nameEntry ? c.js(nameEntry.value) : undefined;
  const what = label(typeof nameVal === 'string' || typeof nameVal === 'number' ? String(nameVal) : undefined, kindWord);

  if (entries.some((e) => e.key === 'block' || e.key === 'rescue' || e.key === 'always')) {
    if (opts.handler) c.fail(node, `${what}: blocks are not supported in handlers`);
    return parseBlock(c, node, entries, what, opts);
  }

  const t: Partial<ModuleTask> & { when: Condition[]; tags: string[]; vars: Record<string, unknown> } = {
    kind: 'module',
    when: [],
    tags: [],
    vars: {},
    loopVar: 'item',
    notify: [],
    listen: [],
    loc: c.loc(node),
  };
  const allowed = opts.handler ? HANDLER_KEYS : TASK_KEYS;
  let moduleEntry: Entry | undefined;
  let def: ModuleDefinition | undefined;
  let argsEntry: Entry | undefined;
  let loopEntry: Entry | undefined;

  for (const e of entries) {
    checkUnquotedTemplate(c, e.value, what);
    if (parseCommon(c, e, t, what)) continue;
    switch (e.key) {
      case 'args':
        argsEntry = e;
        continue;
      case 'register':
        t.register = asIdent(c, e, what);
        continue;
      case 'loop':
      case 'with_items':
      case 'with_list':
      case 'with_dict':
        if (loopEntry) c.fail(e.keyNode, `${what}: both '${loopEntry.key}' and '${e.key}' given; use one loop`);
        loopEntry = e;
        continue;
      case 'loop_control':
        parseLoopControl(c, e, t, what);
        continue;
      case 'changed_when':
        t.changedWhen = asConditions(c, e, what);
        continue;
      case 'failed_when':
        t.failedWhen = asConditions(c, e, what);
        continue;
      case 'until':
        t.until = asConditions(c, e, what);
        continue;
      case 'retries':
        t.retries = asNumberOrTemplate(c, e, what, 0);
        continue;
      case 'delay':
        t.delay = asNumberOrTemplate(c, e, what, 0);
        continue;
      case 'notify':
        t.notify = asStringList(c, e, what, false);
        continue;
      case 'listen':
        if (!opts.handler) c.fail(e.keyNode, `${what}: 'listen' is only valid in handlers`);
        t.listen = asStringList(c, e, what, false);
        continue;
    }
    const found = c.modules.get(e.key);
    if (found) {
      if (moduleEntry) c.fail(e.keyNode, `${what}: two modules given ('${moduleEntry.key}' and '${e.key}'); a task runs exactly one module`);
      moduleEntry = e;
      def = found;
      continue;
    }
    // Neither a keyword nor a module: say which it most likely was meant to be.
    const kw = closeMatches(e.key, allowed);
    if (UNSUPPORTED.has(e.key) || kw.length) unknownKeyword(c, e, what, allowed);
    const mods = closeMatches(e.key.replace(/^ansible\.(builtin|legacy)\./, ''), c.modules.names());
    if (mods.length) c.fail(e.keyNode, `${what}: unknown module '${e.key}' (did you mean ${mods.map((m) => `'${m}'`).join(' or ')}?)`);
    c.fail(e.keyNode, `${what}: unknown keyword or module '${e.key}' (modules: ${c.modules.names().join(', ')})`);
  }

  if (!moduleEntry || !def) {
    return c.fail(node, `${what}: no module given (expected exactly one of: ${c.modules.names().join(', ')})`);
  }
  t.module = def.name;
  t.args = buildArgs(c, def, moduleEntry, argsEntry, what);
  if (loopEntry) t.loop = parseLoop(c, loopEntry, what);
  if (opts.handler && t.name === undefined && (t.listen ?? []).length === 0) c.fail(node, `handler: needs a name or listen: to be notified`);
  const locate = (path: ReadonlyArray<PropertyKey>, isKey: boolean): Loc | undefined => {
    for (const root of [moduleEntry.value, argsEntry?.value]) {
      const n = findNode(c, root ?? null, path, isKey);
      if (n) return c.loc(n);
    }
    return undefined;
  };
  validateModuleArgs(def, t.args, c.loc(moduleEntry.keyNode), { allowTemplates: true, locate });
  return t as ModuleTask;
}

/** `loop: {{ items }}` is a YAML flow mapping, not a template; say so instead of a confusing type error. */
function checkUnquotedTemplate(c: Ctx, node: YNode | null, what: string, depth = 0): void {
  if (isMap(node)) {
    if (node.flow && node.items.length === 1 && isMap(node.items[0]!.key) && (node.items[0]!.key as YAMLMap).flow) {
      const innerMap = node.items[0]!.key as YAMLMap;
      const inner = innerMap.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')).join(' ');
      c.fail(node, `${what}: a value starting with {{ must be quoted, e.g. "{{ ${inner || 'var'} }}" (YAML reads an unquoted {{ as a mapping)`);
    }
    if (depth < 1) for (const p of node.items) checkUnquotedTemplate(c, c.deref(p.value), what, depth + 1);
  } else if (isSeq(node) && depth < 1) {
    for (const x of node.items) checkUnquotedTemplate(c, c.deref(x), what, depth + 1);
  }
}

/** The YAML node at a parameter path (the key node itself when isKey), if the parameter was written as a mapping. */
function findNode(c: Ctx, root: YNode | null, path: ReadonlyArray<PropertyKey>, isKey: boolean): YNode | undefined {
  let cur: YNode | null = c.deref(root);
  if (path.length === 0) return undefined;
  for (let i = 0; i < path.length; i++) {
    const p = path[i]!;
    const last = i === path.length - 1;
    if (isMap(cur)) {
      const e = c.pairs(cur).find((x) => x.key === String(p));
      if (!e) return undefined;
      if (last) return isKey ? e.keyNode : (e.value ?? e.keyNode);
      cur = e.value;
    } else if (isSeq(cur) && typeof p === 'number') {
      cur = c.deref(cur.items[p]);
      if (last) return cur ?? undefined;
    } else return undefined;
  }
  return undefined;
}

function parseLoopControl(c: Ctx, e: Entry, t: Partial<ModuleTask>, what: string): void {
  const n = e.value;
  if (!isMap(n)) c.fail(n ?? e.keyNode, `${what}: loop_control must be a mapping (loop_var:, index_var:, label:, pause:), got ${describe(c.js(n))}`);
  for (const x of c.pairs(n)) {
    switch (x.key) {
      case 'loop_var':
        t.loopVar = asIdent(c, x, what);
        break;
      case 'index_var':
        t.indexVar = asIdent(c, x, what);
        break;
      case 'label':
        t.loopLabel = asString(c, x, what);
        break;
      case 'pause':
        t.loopPause = asSeconds(c, x, what);
        break;
      case 'extended':
      case 'extended_allitems':
        asBool(c, x, what);
        break;
      default:
        unknownKeyword(c, x, `${what}: loop_control`, ['loop_var', 'index_var', 'label', 'pause', 'extended']);
    }
  }
}

/** The expression inside a string that is exactly one `{{ expr }}`, if it is. */
function singleExpression(s: string): string | undefined {
  const m = /^\s*\{\{([\s\S]*)\}\}\s*$/.exec(s);
  if (!m || m[1]!.includes('{{') || m[1]!.includes('}}')) return undefined;
  return m[1]!.trim();
}

function parseLoop(c: Ctx, e: Entry, what: string): unknown {
  const v = c.js(e.value);
  const bad = () => c.fail(e.value ?? e.keyNode, `${what}: ${e.key} must be a list or a template that gives one, got ${describe(v)}`);
  if (e.key === 'with_dict') {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return Object.entries(v).map(([key, value]) => ({ key, value }));
    if (typeof v === 'string') {
      const ex = singleExpression(v);
      return ex !== undefined ? `{{ (${ex}) | dict2items }}` : bad();
    }
    return bad();
  }
  if (Array.isArray(v)) {
    // with_items flattens one level (Ansible's historical behaviour); loop and with_list do not.
    return e.key === 'with_items' ? v.flatMap((x) => (Array.isArray(x) ? x : [x])) : v;
  }
  if (typeof v === 'string') {
    if (e.key === 'with_items') {
      const ex = singleExpression(v);
      if (ex !== undefined) return `{{ (${ex}) | flatten(levels=1) }}`;
    }
    return v;
  }
  return bad();
}

function buildArgs(c: Ctx, def: ModuleDefinition, moduleEntry: Entry, argsEntry: Entry | undefined, what: string): Record<string, unknown> {
  let extra: Record<string, unknown> = {};
  if (argsEntry) {
    const a = c.js(argsEntry.value);
    if (a !== null && (typeof a !== 'object' || Array.isArray(a))) c.fail(argsEntry.value ?? argsEntry.keyNode, `${what}: args must be a mapping of parameters, got ${describe(a)}`);
    extra = (a ?? {}) as Record<string, unknown>;
  }
  const v = c.js(moduleEntry.value);
  let inline: Record<string, unknown>;
  if (v === null) inline = {};
  else if (typeof v === 'object' && !Array.isArray(v)) inline = v as Record<string, unknown>;
  else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    const s = String(v);
    if (def.freeForm) {
      const { cmd, params } = extractRawParams(s, def);
      inline = { ...params, [def.freeForm]: cmd };
    } else {
      const kv = parseKeyValue(s);
      if (!kv) {
        return c.fail(
          moduleEntry.value ?? moduleEntry.keyNode,
          `${what}: module '${def.name}' takes parameters as a mapping or key=value pairs, got ${describe(v)}`,
        );
      }
      inline = kv;
    }
  } else {
    return c.fail(moduleEntry.value ?? moduleEntry.keyNode, `${what}: parameters of module '${def.name}' must be a mapping, got ${describe(v)}`);
  }
  return { ...extra, ...inline };
}

function parseBlock(c: Ctx, node: YAMLMap, entries: Entry[], what: string, opts: TaskParseOpts): BlockTask {
  const b: BlockTask = { kind: 'block', block: [], rescue: [], always: [], when: [], tags: [], vars: {}, loc: c.loc(node) };
  const bwhat = what.replace(/^task/, 'block');
  let hasBlock = false;
  for (const e of entries) {
    if (parseCommon(c, e, b, bwhat)) continue;
    if (e.key === 'block' || e.key === 'rescue' || e.key === 'always') {
      if (e.key === 'block') hasBlock = true;
      b[e.key] = parseTaskList(c, e.value, `${bwhat}: ${e.key}`, opts);
      continue;
    }
    if (c.modules.has(e.key)) c.fail(e.keyNode, `${bwhat}: a block cannot also run a module ('${e.key}'); put it in a task inside block:`);
    unknownKeyword(c, e, bwhat, BLOCK_KEYS);
  }
  if (!hasBlock) c.fail(node, `${bwhat}: rescue/always need a block: list`);
  return b;
}

// ---------- plays ----------

const SERIAL_MSG = "serial must be a number, a percentage like '30%' or a list of them";

function parseSerial(c: Ctx, e: Entry): Array<number | string> {
  const v = c.js(e.value);
  const one = (x: unknown): number | string | undefined => {
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
    if (typeof x === 'string') {
      const s = x.trim();
      if (/^\d+$/.test(s)) return Number(s);
      if (/^\d+(\.\d+)?%$/.test(s) && parseFloat(s) <= 100) return s;
    }
    return undefined;
  };
  if (v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) return [];
  const out = list.map(one);
  if (out.some((x) => x === undefined)) c.fail(e.value ?? e.keyNode, `${SERIAL_MSG}, got ${describe(v)}`);
  return out as Array<number | string>;
}

function parseHosts(c: Ctx, e: Entry): string {
  const v = c.js(e.value);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String).join(',');
  return c.fail(e.value ?? e.keyNode, `play: hosts must be a host pattern (e.g. 'workers' or 'all:!db'), got ${describe(v)}`);
}

function parsePercentage(c: Ctx, e: Entry): number {
  const v = c.js(e.value);
  const n = typeof v === 'string' && /^\s*\d+(\.\d+)?%?\s*$/.test(v) ? parseFloat(v) : v;
  if (typeof n === 'number' && n >= 0 && n <= 100) return n;
  return c.fail(e.value ?? e.keyNode, `play: max_fail_percentage must be a number from 0 to 100, got ${describe(v)}`);
}

function parsePlay(c: Ctx, node: YNode | null): Play {
  if (!isMap(node)) return c.fail(node, `a play must be a mapping with hosts: and tasks:, got ${typeWord(c.js(node))}`);
  const entries = c.pairs(node);
  for (const e of entries) {
    if (e.key === 'import_playbook' || e.key === 'include_playbook' || e.key === 'include') {
      c.fail(e.keyNode, `${e.key} is not supported by nodesweep; run the playbooks one after the other`);
    }
  }
  const nameEntry = entries.find((e) => e.key === 'name');
  const nameVal = nameEntry ? c.js(nameEntry.value) : undefined;
  const what = typeof nameVal === 'string' ? `play '${nameVal}'` : 'play';
  const p: Partial<Play> & { tags: string[]; vars: Record<string, unknown> } = {
    vars: {},
    gatherFacts: true,
    serial: [],
    anyErrorsFatal: false,
    tags: [],
    tasks: [],
    handlers: [],
    loc: c.loc(node),
  };
  const sections: Record<string, TaskNode[]> = { pre_tasks: [], tasks: [], post_tasks: [] };
  for (const e of entries) {
    switch (e.key) {
      case 'name':
        p.name = asString(c, e, what);
        break;
      case 'hosts':
        p.hosts = parseHosts(c, e);
        break;
      case 'vars':
        p.vars = asVars(c, e, what);
        break;
      case 'gather_facts':
        p.gatherFacts = asBool(c, e, what);
        break;
      case 'become':
        p.become = asBool(c, e, what);
        break;
      case 'become_user':
        p.becomeUser = asString(c, e, what);
        break;
      case 'become_method': {
        const m = asString(c, e, what);
        if (m !== 'sudo') c.fail(e.value, `${what}: become_method '${m}' is not supported (only sudo)`);
        break;
      }
      case 'serial':
        p.serial = parseSerial(c, e);
        break;
      case 'max_fail_percentage':
        p.maxFailPercentage = parsePercentage(c, e);
        break;
      case 'any_errors_fatal':
        p.anyErrorsFatal = asBool(c, e, what);
        break;
      case 'tags':
        p.tags = asStringList(c, e, what, true);
        break;
      case 'check_mode':
        p.checkMode = asBool(c, e, what);
        break;
      case 'environment':
        p.environment = asEnvironment(c, e, what);
        break;
      case 'ignore_errors':
        p.ignoreErrors = asBoolOrTemplate(c, e, what);
        break;
      case 'timeout':
        p.timeout = asSeconds(c, e, what);
        break;
      case 'no_log':
        p.noLog = asBoolOrTemplate(c, e, what);
        break;
      case 'pre_tasks':
      case 'tasks':
      case 'post_tasks':
        sections[e.key] = parseTaskList(c, e.value, `${what}: ${e.key}`, { handler: false });
        break;
      case 'handlers':
        p.handlers = parseTaskList(c, e.value, `${what}: handlers`, { handler: true }) as ModuleTask[];
        break;
      case 'gather_subset':
      case 'gather_timeout':
      case 'collections':
        break; // accepted for compatibility; nodesweep gathers no facts and has no collections
      case 'strategy':
        if (c.js(e.value) !== 'linear' && c.js(e.value) !== 'free') c.fail(e.value, `${what}: strategy must be 'linear' or 'free'`);
        break;
      case 'order':
        if (c.js(e.value) !== 'inventory' && c.js(e.value) !== 'sorted') c.fail(e.value, `${what}: order '${String(c.js(e.value))}' is not supported (inventory or sorted)`);
        break;
      default:
        unknownKeyword(c, e, what, PLAY_KEYS, c.modules.has(e.key) ? ` ('${e.key}' is a module: put it under tasks:)` : '');
    }
  }
  if (p.hosts === undefined) c.fail(node, `${what}: hosts is required (the host pattern to run on, e.g. 'workers')`);
  p.tasks = [...sections['pre_tasks']!, ...sections['tasks']!, ...sections['post_tasks']!];
  p.name ??= p.hosts;
  // Play-level environment/ignore_errors/timeout/no_log become task defaults, so the executor sees them per task
  // (handlers too); a block's or task's own value wins, as in Ansible (no_log: false under a no_log play shows).
  for (const t of p.tasks) inheritPlayDefaults(t, p);
  for (const h of p.handlers ?? []) inheritPlayDefaults(h, p);
  return p as Play;
}

function inheritPlayDefaults(t: TaskNode, p: Partial<Play>): void {
  if (p.environment !== undefined && t.environment === undefined) t.environment = p.environment;
  if (p.ignoreErrors !== undefined && t.ignoreErrors === undefined) t.ignoreErrors = p.ignoreErrors;
  if (p.timeout !== undefined && t.timeout === undefined) t.timeout = p.timeout;
  if (p.noLog !== undefined && t.noLog === undefined) t.noLog = p.noLog;
}

// ---------- entry points ----------

/** YAML 1.1 booleans as PyYAML reads them (yes/no/on/off), but not the single letters y/n. */
function yamlOptions(lineCounter: LineCounter) {
  return {
    lineCounter,
    prettyErrors: false,
    version: '1.1' as const,
    merge: true,
    uniqueKeys: true,
    customTags: (tags: unknown[]) =>
      tags.map((t) => {
        const tag = t as { tag?: string; test?: RegExp };
        if (tag.tag === 'tag:yaml.org,2002:bool' && tag.test && tag.test.test('y')) {
          return { ...tag, test: tag.test.test('yes') ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/ : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/ };
        }
        if (tag.tag === 'tag:yaml.org,2002:bool' && tag.test && tag.test.test('n')) {
          return { ...tag, test: /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/ };
        }
        return t;
      }) as never,
  };
}

function checkText(text: string, file: string): void {
  const bad = /[\x00-\x08\x0e-\x1f\x7f\ufffd]/.exec(text);
  if (bad) {
    const before = text.slice(0, bad.index);
    const line = before.split('\n').length;
    const column = bad.index - before.lastIndexOf('\n');
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase();
    throw new PlaybookError({ file, line, column }, `not a YAML text file: control character U+${code} (binary data?)`);
  }
}

function tabIndentation(text: string, file: string, upToLine: number): PlaybookError | undefined {
  const lines = text.split('\n');
  for (let i = 0; i < Math.min(lines.length, upToLine); i++) {
    const m = /^( *)\t/.exec(lines[i]!);
    if (m) return new PlaybookError({ file, line: i + 1, column: m[1]!.length + 1 }, 'tab character used for indentation; YAML allows only spaces');
  }
  return undefined;
}

/** Parses and validates a playbook. Pure: no file system access. Throws PlaybookError. */
export function parsePlaybook(text: string, file: string, opts: LoadOptions): Playbook {
  checkText(text, file);
  const lc = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, yamlOptions(lc)) as Document;
  } catch (e) {
    throw new PlaybookError({ file, line: 1, column: 1 }, `YAML could not be parsed: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const p = lc.linePos(err.pos[0]);
    const tab = tabIndentation(text, file, p.line);
    if (tab) throw tab;
    const msg = err.code === 'DUPLICATE_KEY' ? `duplicate key (${err.message})` : err.message.split('\n')[0];
    throw new PlaybookError({ file, line: p.line, column: p.col }, `YAML syntax error: ${msg}`);
  }
  const c = new Ctx(file, lc, doc, opts.modules);
  const root = c.deref(doc.contents);
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    throw new PlaybookError({ file, line: 1, column: 1 }, 'playbook is empty: expected a list of plays (- hosts: ... tasks: ...)');
  }
  if (!isSeq(root)) {
    return c.fail(root, `a playbook must be a list of plays (- hosts: ... tasks: ...), got ${typeWord(c.js(root))}`);
  }
  if (root.items.length === 0) c.fail(root, 'playbook is empty: expected a list of plays (- hosts: ... tasks: ...)');
  const plays = root.items.map((item) => parsePlay(c, c.deref(item)));
  return { file, plays };
}

/** Reads and parses a playbook file. Throws PlaybookError (also for unreadable or non-UTF-8 files). */
export async function loadPlaybook(path: string, opts: LoadOptions): Promise<Playbook> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new PlaybookError({ file: path }, `cannot read playbook: ${why}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new PlaybookError({ file: path, line: 1, column: 1 }, 'not a UTF-8 text file (binary data?)');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parsePlaybook(text, path, opts);
}
