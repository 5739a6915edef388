/** The inventory model, as Ansible builds it from INI/YAML sources plus group_vars/ and host_vars/. */

export interface InventoryHost {
  name: string;
  /** Vars set on the host itself (inline INI values, YAML host vars); host_vars/ files are in Inventory.varsLayers. */
  vars: Record<string, unknown>;
  /** The inventory source (absolute path, or the `a,b,` list) where the host was first seen: `inventory_file`. */
  source?: string;
}

export interface InventoryGroup {
  name: string;
  /** Direct member hosts, in the order first seen. */
  hosts: string[];
  /** Direct child groups, in the order first seen. */
  children: string[];
  /** Vars set on the group ([g:vars], YAML vars); group_vars/ files are in Inventory.varsLayers. */
  vars: Record<string, unknown>;
  /** `ansible_group_priority` (Ansible keeps it out of vars); 1 when absent. */
  priority?: number;
}

/**
 * Vars read from `group_vars/` and `host_vars/` beside one inventory source. Ansible merges these above all
 * inline group vars (see vars.ts), so they are kept apart from `InventoryGroup.vars` / `InventoryHost.vars`.
 */
export interface InventoryVarsLayer {
  /** The directory holding group_vars/ and host_vars/. */
  dir: string;
  groups: Map<string, Record<string, unknown>>;
  hosts: Map<string, Record<string, unknown>>;
}

export interface Inventory {
  /** Hosts in the order first seen across sources. */
  hosts: Map<string, InventoryHost>;
  /** Always contains `all` and `ungrouped`. */
  groups: Map<string, InventoryGroup>;
  /** Files that were read, for messages. */
  sources: string[];
  /** group_vars/host_vars per inventory source, in source order (loadInventory fills it). */
  varsLayers?: InventoryVarsLayer[];
  /** Things Ansible would warn about (unknown YAML keys, ...), each starting with file:line. */
  warnings?: string[];
}
