/** Walks of the playbook model (pure): every module task, blocks, rescues, always and handlers included. */
import type { ModuleTask, Playbook, TaskNode } from './types.js';

function* tasksIn(nodes: readonly TaskNode[]): Generator<ModuleTask> {
  for (const t of nodes) {
    if (t.kind === 'block') {
      yield* tasksIn(t.block);
      yield* tasksIn(t.rescue);
      yield* tasksIn(t.always);
    } else yield t;
  }
}

/** Every module task of every play, handlers included, in playbook order. */
export function* moduleTasks(playbook: Playbook): Generator<ModuleTask> {
  for (const p of playbook.plays) {
    yield* tasksIn(p.tasks);
    yield* tasksIn(p.handlers);
  }
}

/** `kube_lock`, `nodesweep.kube_lock` -> `kube_lock` */
export function moduleBase(module: string): string {
  const i = module.lastIndexOf('.');
  return i >= 0 ? module.slice(i + 1) : module;
}

/** Does any task or handler (blocks included) use one of `modules` (by base name)? */
export function playbookUses(playbook: Playbook, modules: ReadonlySet<string>): boolean {
  for (const t of moduleTasks(playbook)) if (modules.has(moduleBase(t.module))) return true;
  return false;
}
