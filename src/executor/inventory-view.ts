/**
 * The executor's view of an inventory: host list, merged vars, groups, host patterns.
 * Built from the inventory model; the inventory layer's own resolvers are plugged in by run.ts.
 */
import type { Inventory } from '../inventory/types.js';
import type { InventoryView } from './play-runner.js';
import type { Vars } from './host-state.js';

export interface InventoryResolvers {
  hostVars(inv: Inventory, host: string): Vars;
  groupsMap(inv: Inventory): Record<string, string[]>;
  selectHosts(inv: Inventory, pattern: string): string[];
}

export function inventoryView(inv: Inventory, r: InventoryResolvers): InventoryView {
  const varsCache = new Map<string, Vars>();
  let groups: Record<string, string[]> | undefined;
  return {
    hosts: () => [...inv.hosts.keys()],
    hostVars: (host) => {
      let v = varsCache.get(host);
      if (!v) varsCache.set(host, (v = r.hostVars(inv, host)));
      return v;
    },
    groups: () => (groups ??= r.groupsMap(inv)),
    select: (pattern) => r.selectHosts(inv, pattern),
  };
}
