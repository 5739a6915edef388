/**
 * YAML (and JSON) inventories, read as ansible-core 2.14's plugins/inventory/yaml.py reads them:
 * top-level keys are groups (usually just `all:`), each with `hosts:`, `vars:` and `children:`.
 * Pure: (text, fileName) in, Inventory out; errors are InventoryError with file:line:column.
 * Where Ansible only warns (unknown keys in a group, a group body that is not a mapping), we warn too,
 * with the position and a suggestion, in `inventory.warnings`.
 */
import { InventoryError, errorMessage } from '../errors.js';
import { expandHostPattern } from './hostpattern.js';
import { addChild, addGroup, addHost, emptyInventory, finalizeInventory, setGroupVar } from './model.js';
import type { Inventory } from './types.js';
import {
  deref,
  isNullNode,
  keyString,
  mapEntries,
  nodePos,
  parseYamlText,
  toValue,
  typeName,
  aTypeName,
  type MapEntry,
  type ParsedYaml,
} from './yamlload.js';
import { isMap, isScalar } from 'yaml';
import { pyTruthy } from '../compat/python.js';

const SECTIONS = ['hosts', 'vars', 'children'] as const;

/** Parses one YAML/JSON inventory into a fresh, reconciled Inventory. */
export function parseYaml(text: string, fileName: string): Inventory {
  const inv = emptyInventory();
  inv.sources.push(fileName);
  parseYamlInto(inv, text, fileName);
  return finalizeInventory(inv);
}

/** Adds one YAML source to `inv`; the caller runs finalizeInventory() once after the last source. */
export function parseYamlInto(inv: Inventory, text: string, fileName: string, source: string = fileName): void {
  const p = parseYamlText(text, fileName);
  const root = deref(p, p.doc.contents);
  if (isNullNode(root)) {
    throw new InventoryError({ file: fileName, line: 1 }, 'Parsed empty YAML file', { code: 'INVENTORY_NOT_YAML' });
  }
  if (!isMap(root)) {
    throw new InventoryError(nodePos(p, root), `YAML inventory has invalid structure, it should be a dictionary, got: ${typeName(root)}`, {
      code: 'INVENTORY_NOT_YAML',
    });
  }
  const entries = mapEntries(p, root, (e) => warnDuplicate(inv, p, e));
  const plugin = entries.find((e) => e.key === 'plugin');
  if (plugin && !isNullNode(deref(p, plugin.valueNode))) {
    throw new InventoryError(
      nodePos(p, plugin.keyNode),
      `this is an inventory plugin configuration (plugin: ${keyString(toValue(p, plugin.valueNode))}), not a YAML inventory; nodesweep reads only INI and YAML inventories`,
      { code: 'INVENTORY_NOT_YAML' },
    );
  }
  const ctx: Ctx = { inv, p, source };
  for (const e of entries) parseGroup(ctx, e, false);
}

interface Ctx {
  inv: Inventory;
  p: ParsedYaml;
  source: string;
}

function warn(inv: Inventory, pos: { file: string; line: number; column: number }, msg: string): void {
  (inv.warnings ??= []).push(`${pos.file}:${pos.line}:${pos.column}: ${msg}`);
}

function warnDuplicate(inv: Inventory, p: ParsedYaml, e: MapEntry): void {
  warn(inv, nodePos(p, e.keyNode), `duplicate key '${keyString(e.key)}': the last value is used`);
}

function closest(word: string, options: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const dd = dist(word.toLowerCase(), o);
    if (dd < bestD) {
      bestD = dd;
      best = o;
    }
  }
  return best;
}

/** Returns the group name, or undefined when the entry was skipped (Ansible's warning case). */
function parseGroup(ctx: Ctx, entry: MapEntry, asChild: boolean): string | undefined {
  const { inv, p } = ctx;
  const keyPos = nodePos(p, entry.keyNode);
  if (typeof entry.key !== 'string' || entry.key === '') {
    throw new InventoryError(keyPos, `Invalid group name supplied, expected a non-empty string but got ${typeName(entry.keyNode)}: ${keyString(entry.key)}`);
  }
  const group = entry.key;
  const body = deref(p, entry.valueNode);
  if (!isNullNode(body) && !isMap(body)) {
    if (asChild && inv.groups.has(group)) {
      warn(inv, nodePos(p, body), `group '${group}' should be a mapping (hosts/vars/children) or empty, got ${aTypeName(body)}; its body is ignored`);
      return group;
    }
    if (asChild) {
      throw new InventoryError(nodePos(p, body), `group '${group}' must be a mapping with hosts/vars/children or empty, got ${aTypeName(body)}`);
    }
    warn(inv, nodePos(p, body), `Skipping '${group}' as this is not a valid group definition (expected a mapping with hosts/vars/children, got ${aTypeName(body)})`);
    return undefined;
  }
  addGroup(inv, group);
  if (isNullNode(body)) return group;

  const entries = mapEntries(p, body, (e) => warnDuplicate(inv, p, e));
  // Each section must be a mapping (a bare string means one key with no value), checked before anything is added.
  for (const e of entries) {
    if (typeof e.key !== 'string' || !(SECTIONS as readonly string[]).includes(e.key)) continue;
    const v = deref(p, e.valueNode);
    if (isNullNode(v) || isMap(v) || (isScalar(v) && typeof v.value === 'string')) continue;
    throw new InventoryError(
      nodePos(p, v),
      `Invalid "${e.key}" entry for "${group}" group, requires a dictionary, found "${typeName(v)}" instead.` +
        (e.key === 'hosts' ? ' Write each host as a key with an optional mapping of vars ("web1:" on its own line).' : ''),
    );
  }

  for (const e of entries) {
    const key = typeof e.key === 'string' ? e.key : keyString(e.key);
    const v = deref(p, e.valueNode);
    if (!(SECTIONS as readonly string[]).includes(key)) {
      const hint = closest(key, SECTIONS);
      if (!isNullNode(v) && !isMap(v)) {
        warn(inv, nodePos(p, e.keyNode), `Skipping key (${key}) in group (${group}) as it is not a mapping, it is ${aTypeName(v)}${hint ? ` (did you mean '${hint}'?)` : ''}`);
      } else {
        warn(
          inv,
          nodePos(p, e.keyNode),
          `Skipping unexpected key (${key}) in group (${group}), only "vars", "children" and "hosts" are valid${hint ? ` (did you mean '${hint}'?)` : ''}`,
        );
      }
      continue;
    }
    if (isNullNode(v)) continue;
    // A bare string is shorthand for a single key with no value.
    const items: MapEntry[] = isScalar(v) && typeof v.value === 'string' ? [{ keyNode: v, key: v.value, valueNode: null }] : mapEntries(p, v, (d) => warnDuplicate(inv, p, d));
    if (key === 'vars') {
      for (const it of items) {
        const name = keyString(it.key);
        const value = toValue(p, deref(p, it.valueNode));
        try {
          setGroupVar(inv, group, name, value);
        } catch (err) {
          throw new InventoryError(nodePos(p, it.valueNode ?? it.keyNode), errorMessage(err));
        }
      }
    } else if (key === 'children') {
      for (const it of items) {
        const child = parseGroup(ctx, it, true);
        if (child === undefined) continue;
        try {
          addChild(inv, group, child);
        } catch (err) {
          throw new InventoryError(nodePos(p, it.keyNode), errorMessage(err));
        }
      }
    } else {
      for (const it of items) parseHost(ctx, group, it);
    }
  }
  return group;
}

function parseHost(ctx: Ctx, group: string, it: MapEntry): void {
  const { inv, p } = ctx;
  const pos = nodePos(p, it.keyNode);
  if (typeof it.key !== 'string') {
    throw new InventoryError(pos, `Host pattern ${keyString(it.key)} must be a string. Enclose integers/floats in quotation marks.`);
  }
  let expanded: { hosts: string[]; port: number | undefined };
  try {
    expanded = expandHostPattern(it.key);
  } catch (err) {
    throw new InventoryError(pos, errorMessage(err));
  }
  const data = deref(p, it.valueNode);
  let vars: Record<string, unknown> = {};
  const value = toValue(p, data);
  // Ansible uses `value or {}`: any falsy Python value ([], '', 0, False, None) means "no vars".
  if (pyTruthy(value) && !(typeof value === 'object' && !Array.isArray(value))) {
    throw new InventoryError(nodePos(p, data), `Invalid data from file, expected dictionary and got: ${JSON.stringify(value)} (host '${it.key}' must map to its vars or be empty)`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) vars = value as Record<string, unknown>;
  try {
    for (const h of expanded.hosts) {
      const host = addHost(inv, h, group, expanded.port, ctx.source);
      for (const [k, v] of Object.entries(vars)) host.vars[k] = v;
    }
  } catch (err) {
    throw new InventoryError(pos, errorMessage(err));
  }
}
