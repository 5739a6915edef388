/**
 * YAML as Ansible (PyYAML, YAML 1.1) reads it: `yes`/`on` are booleans, `08` and `1e3` are strings, `010` is 8,
 * `1:20` is 80, dates stay strings. JSON text is read as JSON, the way Ansible's loader tries json first.
 * Pure helpers shared by the YAML inventory parser and group_vars/host_vars loading.
 */
import { Document, LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node, ScalarTag, Tags } from 'yaml';
import { InventoryError } from '../errors.js';

const num = (s: string): string => s.replace(/_/g, '');

function sexagesimal(s: string): number {
  let sign = 1;
  let t = num(s);
  if (t[0] === '-' || t[0] === '+') {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  return sign * t.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

const BOOL = 'tag:yaml.org,2002:bool';
const INT = 'tag:yaml.org,2002:int';
const FLOAT = 'tag:yaml.org,2002:float';

/** PyYAML's implicit resolvers (yaml/resolver.py) for bool, int and float. */
const PY_TAGS: ScalarTag[] = [
  { tag: BOOL, default: true, test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/, resolve: () => true, identify: (v) => v === true },
  { tag: BOOL, default: true, test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/, resolve: () => false, identify: (v) => v === false },
  {
    tag: INT,
    default: true,
    test: /^[-+]?0b[01_]+$/,
    resolve: (s) => {
      const neg = s.startsWith('-');
      const v = parseInt(num(s).replace(/^[-+]?0b/, ''), 2);
      return neg ? -v : v;
    },
  },
  {
    tag: INT,
    default: true,
    test: /^[-+]?0x[0-9a-fA-F_]+$/,
    resolve: (s) => {
      const neg = s.startsWith('-');
      const v = parseInt(num(s).replace(/^[-+]?0x/, ''), 16);
      return neg ? -v : v;
    },
  },
  {
    tag: INT,
    default: true,
    test: /^[-+]?0[0-7_]+$/,
    resolve: (s) => {
      const neg = s.startsWith('-');
      const v = parseInt(num(s).replace(/^[-+]?0/, '') || '0', 8);
      return neg ? -v : v;
    },
  },
  { tag: INT, default: true, test: /^[-+]?(?:0|[1-9][0-9_]*)$/, resolve: (s) => Number(num(s)), identify: (v) => typeof v === 'number' && Number.isInteger(v) },
  { tag: INT, default: true, test: /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/, resolve: sexagesimal },
  {
    tag: FLOAT,
    default: true,
    test: /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$/,
    resolve: (s) => Number(num(s)),
    identify: (v) => typeof v === 'number',
  },
  { tag: FLOAT, default: true, test: /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/, resolve: sexagesimal },
  { tag: FLOAT, default: true, test: /^[-+]?\.(?:inf|Inf|INF)$/, resolve: (s) => (s.startsWith('-') ? -Infinity : Infinity) },
  { tag: FLOAT, default: true, test: /^\.(?:nan|NaN|NAN)$/, resolve: () => NaN },
];

/** Ansible's own tags: `!unsafe` keeps the string; `!vault` we cannot decrypt, so it is refused with its position. */
const ANSIBLE_TAGS: ScalarTag[] = [
  { tag: '!unsafe', resolve: (s) => s },
  {
    tag: '!vault',
    resolve: (_s, onError) => {
      onError('vault-encrypted values (!vault) are not supported by nodesweep; decrypt them or pass them with -e');
      return null;
    },
  },
];

function pyTags(tags: Tags): Tags {
  const kept = tags.filter((t) => {
    const tag = typeof t === 'string' ? t : t.tag;
    return tag !== BOOL && tag !== INT && tag !== FLOAT && tag !== 'tag:yaml.org,2002:timestamp';
  });
  return [...kept, ...PY_TAGS, ...ANSIBLE_TAGS];
}

export interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
  fileName: string;
}

export function isJsonText(text: string): boolean {
  const t = text.trimStart();
  if (t[0] !== '{' && t[0] !== '[') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses YAML (or JSON) text; syntax errors become InventoryError at file:line:column with code
 * INVENTORY_NOT_YAML so that callers can fall back to INI as Ansible does.
 */
export function parseYamlText(text: string, fileName: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const json = isJsonText(text);
  const doc = json
    ? parseDocument(text, { lineCounter, schema: 'json', uniqueKeys: false, prettyErrors: false })
    : parseDocument(text, { lineCounter, version: '1.1', customTags: pyTags, uniqueKeys: false, merge: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const lp = lineCounter.linePos(first.pos[0]);
    const msg = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new InventoryError({ file: fileName, line: lp.line, column: lp.col }, `YAML syntax error: ${msg}`, { code: 'INVENTORY_NOT_YAML' });
  }
  return { doc, lineCounter, fileName };
}

export function nodePos(p: ParsedYaml, node: unknown): { file: string; line: number; column: number } {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  const lp = p.lineCounter.linePos(range ? range[0] : 0);
  return { file: p.fileName, line: lp.line, column: lp.col };
}

/** Follows an alias to the node it names. */
export function deref(p: ParsedYaml, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 100 && isAlias(n); i++) n = n.resolve(p.doc);
  return n;
}

export function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && (node.value === null || node.value === undefined));
}

export function typeName(node: unknown): string {
  if (isMap(node)) return 'mapping';
  if (isSeq(node)) return 'list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
    if (typeof v === 'boolean') return 'boolean';
    return 'string';
  }
  return 'value';
}

/** typeName() with its article: "a list", "an integer". */
export function aTypeName(node: unknown): string {
  const t = typeName(node);
  return (/^[aeiou]/.test(t) ? 'an ' : 'a ') + t;
}

export interface MapEntry {
  keyNode: unknown;
  key: unknown;
  valueNode: unknown;
}

/**
 * The entries of a mapping node, `<<` merges applied the PyYAML way (merged keys first, explicit keys win,
 * a repeated key keeps its first position and its last value). Duplicate keys are reported through `onDuplicate`.
 */
export function mapEntries(p: ParsedYaml, node: unknown, onDuplicate?: (e: MapEntry) => void): MapEntry[] {
  const m = deref(p, node);
  if (!isMap(m)) return [];
  const merged: MapEntry[] = [];
  const explicit: MapEntry[] = [];
  for (const pair of m.items) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? keyNode.value : keyNode;
    if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
      const v = deref(p, pair.value);
      const sources = isSeq(v) ? v.items.map((x) => deref(p, x)) : [v];
      for (const s of sources) merged.push(...mapEntries(p, s));
      continue;
    }
    explicit.push({ keyNode, key, valueNode: pair.value });
  }
  const out: MapEntry[] = [];
  const index = new Map<unknown, number>();
  const seenExplicit = new Set<unknown>();
  for (const e of [...merged, ...explicit]) {
    const fromExplicit = explicit.includes(e);
    if (fromExplicit) {
      if (seenExplicit.has(e.key) && onDuplicate) onDuplicate(e);
      seenExplicit.add(e.key);
    }
    const at = index.get(e.key);
    if (at === undefined) {
      index.set(e.key, out.length);
      out.push(e);
    } else {
      out[at] = { ...out[at]!, valueNode: e.valueNode };
    }
  }
  return out;
}

/** A node's plain JS value (aliases and merges resolved). */
export function toValue(p: ParsedYaml, node: unknown): unknown {
  if (node === null || node === undefined) return null;
  const n = node as Node;
  if (typeof (n as { toJS?: unknown }).toJS !== 'function') return n as unknown;
  const v = n.toJS(p.doc, { maxAliasCount: 10000 }) as unknown;
  return normalise(v);
}

/** Maps and sets from YAML become plain objects/arrays, as json.dumps would print them. */
function normalise(v: unknown): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = normalise(x);
    return o;
  }
  if (v instanceof Set) return [...v].map(normalise);
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = normalise(x);
    return o;
  }
  return v;
}

export function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key === null || key === undefined) return 'null';
  if (key === true) return 'true';
  if (key === false) return 'false';
  if (key instanceof Scalar) return String(key.value);
  return String(key);
}

export { Scalar };
