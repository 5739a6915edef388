/**
 * `ansible-inventory --list` and `--graph` output, shaped exactly as ansible-core 2.14's cli/inventory.py
 * prints them (keys sorted like json.dumps(sort_keys=True); empty groups and keys left out).
 */
import { applyLimit } from './patterns.js';
import type { SelectOptions } from './patterns.js';
import { groupHosts } from './model.js';
import { pyStr } from '../compat/python.js';
import type { Inventory } from './types.js';
import { groupVars, hostVars } from './vars.js';

/** Vars that ansible-inventory removes from what it prints. */
export const INTERNAL_VARS: ReadonlySet<string> = new Set([
  'ansible_diff_mode',
  'ansible_config_file',
  'ansible_facts',
  'ansible_forks',
  'ansible_inventory_sources',
  'ansible_limit',
  'ansible_playbook_python',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_verbosity',
  'ansible_version',
  'inventory_dir',
  'inventory_file',
  'inventory_hostname',
  'inventory_hostname_short',
  'groups',
  'group_names',
  'omit',
  'playbook_dir',
]);

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

function removeInternal(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) if (!INTERNAL_VARS.has(k)) out[k] = v;
  return out;
}

/** The host's vars as `ansible-inventory --list` prints them under `_meta.hostvars`. */
export function listHostVars(inv: Inventory, host: string): Record<string, unknown> {
  return removeInternal(hostVars(inv, host));
}

/**
 * The object `ansible-inventory -i ... --list` prints. With `limit`, only the hosts it selects appear (as
 * later ansible-inventory versions do with --limit); group `children` lists stay complete.
 */
export function inventoryListJson(inv: Inventory, limit?: string, opts: SelectOptions = {}): Record<string, unknown> {
  const everyHost = groupHosts(inv, 'all');
  const available = new Set(limit === undefined ? everyHost : applyLimit(inv, everyHost, limit, opts));
  const results: Record<string, unknown> = {};
  const seen = new Set<string>();
  const formatGroup = (name: string): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: Record<string, unknown> = {};
    results[name] = entry;
    if (name !== 'all') {
      const hosts = g.hosts.filter((h) => available.has(h));
      if (hosts.length) entry['hosts'] = hosts;
    }
    const children: string[] = [];
    for (const c of g.children) {
      children.push(c);
      if (!seen.has(c)) {
        formatGroup(c);
        seen.add(c);
      }
    }
    // Python builds the dict before recursing; keep `children` even if a child reassigned nothing.
    if (children.length) entry['children'] = children;
    if (!Object.keys(entry).length) delete results[name];
  };
  formatGroup('all');
  const hostvars: Record<string, unknown> = {};
  for (const h of everyHost) {
    if (!available.has(h)) continue;
    const v = listHostVars(inv, h);
    if (Object.keys(v).length) hostvars[h] = v;
  }
  results['_meta'] = { hostvars };
  return sortKeys(results) as Record<string, unknown>;
}

function graphName(name: string, depth: number): string {
  return depth ? '  |'.repeat(depth) + '--' + name : name;
}

function showVars(vars: Record<string, unknown>, depth: number): string[] {
  return Object.keys(vars)
    .sort()
    .map((k) => graphName(`{${k} = ${pyStr(vars[k])}}`, depth));
}

/**
 * The text `ansible-inventory -i ... --graph [group] [--vars]` prints (without the trailing newline).
 * Throws a plain Error when `group` is not a group, as Ansible refuses it.
 */
export function inventoryGraph(inv: Inventory, group = 'all', opts: { vars?: boolean } = {}): string {
  if (!inv.groups.has(group)) throw new Error(`Pattern must be valid group name when using --graph: ${group}`);
  const lines: string[] = [];
  const walk = (name: string, depth: number): void => {
    const g = inv.groups.get(name)!;
    lines.push(graphName(`@${name}:`, depth));
    const d = depth + 1;
    for (const c of g.children) walk(c, d);
    if (name !== 'all') {
      for (const h of g.hosts) {
        lines.push(graphName(h, d));
        if (opts.vars) lines.push(...showVars(listHostVars(inv, h), d + 1));
      }
    }
    if (opts.vars) lines.push(...showVars(removeInternal(groupVars(inv, name)), d));
  };
  walk(group, 0);
  return lines.join('\n');
}
