/**
 * Host variables merged the way Ansible 2.14's VariableManager does for inventory data (default
 * VARIABLE_PRECEDENCE, hash_behaviour=replace), low to high:
 *   1. inline vars of `all`
 *   2. inline vars of the host's other groups, sorted by (depth, ansible_group_priority, name)
 *   3. group_vars/all of each inventory source, in source order
 *   4. group_vars/<group> of each source (source by source; groups sorted as in 2)
 *   5. the host's inline vars, then the magic vars inventory_hostname(_short) and group_names
 *   6. host_vars/<host> of each source
 * Note the consequence (real Ansible behaviour): any group_vars/ file beats any inline [g:vars] value.
 */
import { isIpAddress } from './hostpattern.js';
import { groupHosts, inventoryIndex } from './model.js';
import type { Inventory } from './types.js';

export type Vars = Record<string, unknown>;

/** The host's groups other than `all`, in the order their vars are applied. */
export function sortedHostGroups(inv: Inventory, host: string): string[] {
  const idx = inventoryIndex(inv);
  const mine = [...(idx.hostGroups.get(host) ?? [])].filter((g) => g !== 'all');
  const key = (g: string): [number, number] => [idx.depth.get(g) ?? 0, inv.groups.get(g)?.priority ?? 1];
  return mine.sort((a, b) => {
    const [da, pa] = key(a);
    const [db, pb] = key(b);
    return da - db || pa - pb || (a < b ? -1 : a > b ? 1 : 0);
  });
}

/** The magic vars Ansible derives from the inventory for one host. */
export function magicVars(inv: Inventory, host: string): Vars {
  const idx = inventoryIndex(inv);
  const groups = [...(idx.hostGroups.get(host) ?? [])].filter((g) => g !== 'all').sort();
  const h = inv.hosts.get(host);
  const out: Vars = {
    inventory_hostname: host,
    inventory_hostname_short: isIpAddress(host) ? host : host.split('.')[0],
    // Ansible 2.14 keeps `ungrouped` here (only `all` is dropped).
    group_names: groups,
  };
  if (h?.source !== undefined && !h.source.includes(',')) {
    out['inventory_file'] = h.source;
    out['inventory_dir'] = h.source.replace(/\/[^/]*$/, '') || '/';
  }
  return out;
}

/** All variables of `host` as Ansible computes them from the inventory (no play/extra vars, no facts). */
export function hostVars(inv: Inventory, host: string): Vars {
  const h = inv.hosts.get(host);
  const out: Vars = {};
  const groups = sortedHostGroups(inv, host);
  Object.assign(out, inv.groups.get('all')?.vars ?? {});
  for (const g of groups) Object.assign(out, inv.groups.get(g)?.vars ?? {});
  const layers = inv.varsLayers ?? [];
  for (const l of layers) Object.assign(out, l.groups.get('all') ?? {});
  for (const l of layers) for (const g of groups) Object.assign(out, l.groups.get(g) ?? {});
  Object.assign(out, h?.vars ?? {});
  Object.assign(out, magicVars(inv, host));
  for (const l of layers) Object.assign(out, l.hosts.get(host) ?? {});
  return out;
}

/** The vars of one group as `ansible-inventory --graph --vars` shows them: inline, then group_vars/ files. */
export function groupVars(inv: Inventory, group: string): Vars {
  const g = inv.groups.get(group);
  const out: Vars = { ...(g?.vars ?? {}) };
  for (const l of inv.varsLayers ?? []) Object.assign(out, l.groups.get(group) ?? {});
  if (g?.priority !== undefined && g.priority !== 1) out['ansible_group_priority'] = g.priority;
  return out;
}

/** The `groups` magic var: every group with all the hosts under it, in inventory order. */
export function groupsMap(inv: Inventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of inv.groups.keys()) out[name] = groupHosts(inv, name);
  return out;
}
