/** The inventory model, as Ansible builds it from INI/YAML sources plus group_vars/ and host_vars/. */

export interface InventoryHost {
  name: string;
  /** Vars set on the host itself (inline INI values, YAML host vars, host_vars/ files). */
  vars: Record<string, unknown>;
}

export interface InventoryGroup {
  name: string;
  /** Direct member hosts, in the order first seen. */
  hosts: string[];
  /** Direct child groups, in the order first seen. */
  children: string[];
  /** Vars set on the group ([g:vars], YAML vars, group_vars/ files). */
  vars: Record<string, unknown>;
}

export interface Inventory {
  /** Hosts in the order first seen across sources. */
  hosts: Map<string, InventoryHost>;
  /** Always contains `all` and `ungrouped`. */
  groups: Map<string, InventoryGroup>;
  /** Files that were read, for messages. */
  sources: string[];
}
