/**
 * Building and walking the inventory model the way ansible/inventory/data.py and group.py do.
 * Pure: operations mutate the Inventory they are given and throw plain Errors (parsers add file:line).
 */
import type { Inventory, InventoryGroup, InventoryHost } from './types.js';

/** Fast membership for group.hosts / group.children (arrays in the model; 100k-host groups must stay linear). */
const hostSets = new WeakMap<InventoryGroup, { n: number; set: Set<string> }>();

function memberSet(g: InventoryGroup): Set<string> {
  let e = hostSets.get(g);
  if (!e || e.n !== g.hosts.length) {
    e = { n: g.hosts.length, set: new Set(g.hosts) };
    hostSets.set(g, e);
  }
  return e.set;
}

export function emptyInventory(): Inventory {
  const inv: Inventory = { hosts: new Map(), groups: new Map(), sources: [] };
  addGroup(inv, 'all');
  addGroup(inv, 'ungrouped');
  addChild(inv, 'all', 'ungrouped');
  return inv;
}

export function addGroup(inv: Inventory, name: string): InventoryGroup {
  if (!name) throw new Error(`Invalid empty/false group name provided: ${name}`);
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, hosts: [], children: [], vars: {} };
    inv.groups.set(name, g);
  }
  return g;
}

/** InventoryData.add_host: the port is only used when the host is new (as in Ansible). */
export function addHost(inv: Inventory, name: string, group?: string, port?: number, source?: string): InventoryHost {
  if (!name) throw new Error(`Invalid empty host name provided: ${name}`);
  let g: InventoryGroup | undefined;
  if (group !== undefined) {
    g = inv.groups.get(group);
    if (!g) throw new Error(`Could not find group ${group} in inventory`);
  }
  let h = inv.hosts.get(name);
  if (!h) {
    h = { name, vars: {} };
    if (source !== undefined) h.source = source;
    if (port !== undefined) h.vars['ansible_port'] = port;
    inv.hosts.set(name, h);
  }
  if (g) addHostToGroup(g, name);
  return h;
}

export function addHostToGroup(g: InventoryGroup, host: string): void {
  const set = memberSet(g);
  if (!set.has(host)) {
    g.hosts.push(host);
    set.add(host);
    hostSets.set(g, { n: g.hosts.length, set });
  }
}

export function parentsIndex(inv: Inventory): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const g of inv.groups.values()) {
    for (const c of g.children) {
      let l = parents.get(c);
      if (!l) parents.set(c, (l = []));
      if (!l.includes(g.name)) l.push(g.name);
    }
  }
  return parents;
}

function ancestorsOf(inv: Inventory, name: string, parents?: Map<string, string[]>): Set<string> {
  const p = parents ?? parentsIndex(inv);
  const seen = new Set<string>();
  const stack = [...(p.get(name) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(p.get(n) ?? []));
  }
  return seen;
}

/** InventoryData.add_child for a group child (Group.add_child_group), with Ansible's loop checks. */
export function addChild(inv: Inventory, parent: string, child: string): void {
  const g = inv.groups.get(parent);
  if (!g) throw new Error(`${parent} is not a known group`);
  const c = inv.groups.get(child);
  if (!c) {
    if (inv.hosts.has(child)) {
      addHostToGroup(g, child);
      return;
    }
    throw new Error(`${child} is not a known host nor group`);
  }
  if (parent === child) throw new Error(`can't add group to itself: ${child}`);
  if (g.children.includes(child)) return;
  if (ancestorsOf(inv, parent).has(child)) {
    throw new Error(`Adding group '${child}' as child to '${parent}' creates a recursive dependency loop.`);
  }
  g.children.push(child);
}

export function setGroupVar(inv: Inventory, group: string, key: string, value: unknown): void {
  const g = inv.groups.get(group);
  if (!g) throw new Error(`Could not identify group or host named ${group}`);
  if (key === 'ansible_group_priority') {
    const n = typeof value === 'number' ? Math.trunc(value) : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? parseInt(value, 10) : NaN;
    if (!Number.isFinite(n)) throw new Error(`ansible_group_priority must be an integer, got: ${JSON.stringify(value)}`);
    g.priority = n;
    return;
  }
  g.vars[key] = value;
}

/** InventoryData.reconcile_inventory, run once after all sources are parsed. */
export function finalizeInventory(inv: Inventory): Inventory {
  const parents = parentsIndex(inv);
  for (const g of inv.groups.values()) {
    if (g.name !== 'all' && !(parents.get(g.name)?.length)) {
      addChild(inv, 'all', g.name);
      parents.set(g.name, ['all']);
    }
  }
  const ungrouped = inv.groups.get('ungrouped')!;
  // Hosts in a group other than all/ungrouped leave ungrouped; hosts in no group (or only all) join it.
  const grouped = new Set<string>();
  for (const g of inv.groups.values()) {
    if (g.name === 'all' || g.name === 'ungrouped') continue;
    for (const h of g.hosts) grouped.add(h);
  }
  // A host can also be "grouped" through a group nested under ungrouped; Ansible counts ancestors too.
  const inUngrouped = memberSet(ungrouped);
  if (ungrouped.hosts.some((h) => grouped.has(h))) {
    ungrouped.hosts = ungrouped.hosts.filter((h) => !grouped.has(h));
    hostSets.delete(ungrouped);
  }
  for (const h of inv.hosts.keys()) {
    if (!grouped.has(h) && !inUngrouped.has(h)) addHostToGroup(ungrouped, h);
  }
  const warnings: string[] = [];
  for (const name of inv.groups.keys()) {
    if (inv.hosts.has(name)) warnings.push(`Found both group and host with same name: ${name}`);
  }
  if (warnings.length) inv.warnings = [...(inv.warnings ?? []), ...warnings];
  return inv;
}

/**
 * Group.get_descendants(include_self, preserve_ordering): self, its children, then each further level.
 * Ansible walks deeper levels through a Python set; we take them in list order, which is what it does in practice.
 */
export function descendantsOrdered(inv: Inventory, name: string): string[] {
  const g = inv.groups.get(name);
  if (!g) return [];
  const ordered = [name, ...g.children];
  const seen = new Set<string>(ordered);
  let level = [...g.children];
  while (level.length) {
    const next: string[] = [];
    for (const n of level) {
      for (const c of inv.groups.get(n)?.children ?? []) {
        if (!seen.has(c)) {
          seen.add(c);
          ordered.push(c);
          next.push(c);
        }
      }
    }
    level = next;
  }
  return ordered;
}

/** Group.get_hosts(): the hosts of the group and of all its descendants, de-duplicated, in Ansible's order. */
export function groupHosts(inv: Inventory, name: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const d of descendantsOrdered(inv, name)) {
    for (const h of inv.groups.get(d)?.hosts ?? []) {
      if (!seen.has(h)) {
        seen.add(h);
        out.push(h);
      }
    }
  }
  return out;
}

/** Derived data for variable lookups; rebuilt when the inventory's shape changes. */
export interface InventoryIndex {
  /** Every group of each host, ancestors included (Host.get_groups()). */
  hostGroups: Map<string, Set<string>>;
  /** Group.depth: the longest path from `all`. */
  depth: Map<string, number>;
}

const indexCache = new WeakMap<Inventory, { key: string; index: InventoryIndex }>();

function shapeKey(inv: Inventory): string {
  let n = 0;
  for (const g of inv.groups.values()) n = (n * 31 + g.hosts.length * 7 + g.children.length + (g.priority ?? 1)) % 1_000_000_007;
  return `${inv.hosts.size}/${inv.groups.size}/${n}`;
}

export function inventoryIndex(inv: Inventory): InventoryIndex {
  const key = shapeKey(inv);
  const cached = indexCache.get(inv);
  if (cached && cached.key === key) return cached.index;
  const parents = parentsIndex(inv);
  const depth = new Map<string, number>();
  const depthOf = (name: string, stack: Set<string>): number => {
    const d = depth.get(name);
    if (d !== undefined) return d;
    if (stack.has(name)) return 0; // loops are rejected when built; stay safe on hand-made models
    stack.add(name);
    let best = 0;
    for (const p of parents.get(name) ?? []) best = Math.max(best, depthOf(p, stack) + 1);
    stack.delete(name);
    depth.set(name, best);
    return best;
  };
  const ancestorCache = new Map<string, Set<string>>();
  const withAncestors = (g: string): Set<string> => {
    let s = ancestorCache.get(g);
    if (!s) {
      s = ancestorsOf(inv, g, parents);
      s.add(g);
      ancestorCache.set(g, s);
    }
    return s;
  };
  const hostGroups = new Map<string, Set<string>>();
  for (const g of inv.groups.values()) {
    depthOf(g.name, new Set());
    const groups = withAncestors(g.name);
    for (const h of g.hosts) {
      let s = hostGroups.get(h);
      if (!s) hostGroups.set(h, (s = new Set()));
      for (const x of groups) s.add(x);
    }
  }
  const index = { hostGroups, depth };
  indexCache.set(inv, { key, index });
  return index;
}
