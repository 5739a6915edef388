/** What a playbook asks of the cluster, read before its plays: whether it needs the API and which lock namespaces. */
import type { Playbook } from '../playbook/types.js';
import type { ModuleRegistry } from '../modules/registry.js';
import { moduleBase, moduleTasks } from '../playbook/walk.js';
import { DEFAULT_LOCK_NAMESPACE } from '../kube/recovery.js';

/** Does the playbook use a module that works on the cluster (ModuleDefinition.usesCluster)? */
export function usesCluster(playbook: Playbook, modules: ModuleRegistry): boolean {
  for (const t of moduleTasks(playbook)) if (modules.get(t.module)?.usesCluster) return true;
  return false;
}

/** The namespaces of the playbook's kube_lock tasks (literal ones; a templated one may be any: the default too). */
export function lockNamespacesOf(playbook: Playbook): string[] {
  const out = new Set([DEFAULT_LOCK_NAMESPACE]);
  for (const t of moduleTasks(playbook)) {
    const ns = t.args.namespace;
    if (moduleBase(t.module) === 'kube_lock' && typeof ns === 'string' && !ns.includes('{')) out.add(ns);
  }
  return [...out];
}
