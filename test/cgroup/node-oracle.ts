/**
 * What the tests know about a node built by the one node builder (src/lab/node-builder.ts) without asking the
 * product: whether real cgroup tests can run here, and what a correct prune does to the node, from its spec alone.
 */
import { accessSync, constants as fsc, statSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_FS, type BuiltNode } from '../../src/lab/node-builder.js';

/** Why real cgroup tests cannot run here, or undefined when they can (root with writable v1 + v2 hierarchies). */
export function cgroupSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'real cgroup tests need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'real cgroup tests need root (cgroupfs is not writable)';
  for (const c of ['memory', 'pids', 'cpu', 'blkio', 'devices', 'freezer', 'unified']) {
    const p = join(CGROUP_FS, c);
    try {
      accessSync(join(p, 'cgroup.procs'), fsc.W_OK);
    } catch {
      return `real cgroup tests need a writable ${p} (v1 controllers and a v2 tree at /sys/fs/cgroup/unified)`;
    }
  }
  return undefined;
}

/** True when the dir exists (a removed cgroup is gone from its hierarchy). */
export function dirExists(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export interface Expectation {
  /** Leaked dirs a prune must remove (empty, old, unknown to everyone). */
  removable: string[];
  /** Leaked dirs that hold a process, or are above one: a prune must leave them. */
  held: string[];
  /** Dirs of live or terminating pods and known containers: a prune must never remove them. */
  live: string[];
}

/**
 * What a correct prune does to a built node, derived from the spec alone (not from the classifier):
 * a pod nobody knows is leaked with everything under it; under a runtime pod the unknown containers are leaked;
 * a terminating pod is untouched. Leaks holding a process, and their pod slice, stay.
 */
export function expectations(node: BuiltNode, opts: { youngPods?: Set<string> } = {}): Expectation {
  const removable: string[] = [];
  const held: string[] = [];
  const live: string[] = [];
  // The bogus v2 pids/ tree never holds processes: its dirs go with the pod, not with the processes.
  const bogus = (d: string) => node.mode === 'v2' && d.startsWith(node.root + '/pids/');
  const keep = (dirs: string[], young: boolean) => {
    for (const d of dirs) (bogus(d) && !young ? removable : held).push(d);
  };
  for (const p of node.pods) {
    const young = opts.youngPods?.has(p.uid) ?? false;
    const podKnown = p.live === 'runtime' || p.containers.some((c) => c.known);
    if (p.live === 'kubelet-only' && !podKnown) {
      live.push(...p.dirs, ...p.containers.flatMap((c) => c.dirs));
      continue;
    }
    const leakedContainers = p.containers.filter((c) => !c.known);
    for (const c of p.containers) {
      if (c.known) live.push(...c.dirs);
      else if (c.pid !== undefined || young) keep(c.dirs, young);
      else removable.push(...c.dirs);
    }
    if (podKnown) {
      live.push(...p.dirs);
    } else if (p.pid !== undefined || leakedContainers.some((c) => c.pid !== undefined) || young) {
      keep(p.dirs, young);
    } else {
      removable.push(...p.dirs);
    }
  }
  return { removable, held, live };
}
