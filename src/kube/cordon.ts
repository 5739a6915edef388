/**
 * Cordon and uncordon decisions (pure): nodesweep records on the node that it cordoned it and whether the node was
 * already unschedulable, so that uncordon only undoes its own cordon and a node an admin cordoned stays cordoned,
 * even when the run that cordoned it was killed.
 */
import type { KubeNode } from './client.js';

export const CORDONED_BY = 'nodesweep.io/cordoned-by';
export const WAS_UNSCHEDULABLE = 'nodesweep.io/was-unschedulable';
export const CORDONED_AT = 'nodesweep.io/cordoned-at';
export const CORDONED_BY_VALUE = 'nodesweep';

export interface NodeChange {
  /** Merge patch to send (conditional on the resourceVersion read); undefined: nothing to do. */
  patch?: Record<string, unknown>;
  /** Human summary for msg. */
  msg: string;
  /** The node was unschedulable before nodesweep touched it. */
  wasUnschedulable: boolean;
  /** After the change, is the node unschedulable? */
  unschedulable: boolean;
}

export function cordonedByUs(n: KubeNode): boolean {
  return n.annotations[CORDONED_BY] === CORDONED_BY_VALUE;
}

export function decideCordon(n: KubeNode, now: Date): NodeChange {
  if (cordonedByUs(n) && n.unschedulable) {
    const was = n.annotations[WAS_UNSCHEDULABLE] === 'true';
    return { msg: `node ${n.name} is already cordoned by nodesweep`, wasUnschedulable: was, unschedulable: true };
  }
  // A stale annotation on a schedulable node (someone uncordoned by hand) is overwritten with the present truth.
  const was = n.unschedulable;
  return {
    patch: {
      metadata: {
        resourceVersion: n.resourceVersion,
        annotations: { [CORDONED_BY]: CORDONED_BY_VALUE, [WAS_UNSCHEDULABLE]: String(was), [CORDONED_AT]: now.toISOString() },
      },
      spec: { unschedulable: true },
    },
    msg: was
      ? `node ${n.name} was already unschedulable (cordoned by someone else); recorded so it stays cordoned afterwards`
      : `node ${n.name} cordoned`,
    wasUnschedulable: was,
    unschedulable: true,
  };
}

export function decideUncordon(n: KubeNode): NodeChange {
  if (!cordonedByUs(n)) {
    return {
      msg: n.unschedulable ? `node ${n.name} is cordoned, but not by nodesweep: left cordoned` : `node ${n.name} is schedulable`,
      wasUnschedulable: n.unschedulable,
      unschedulable: n.unschedulable,
    };
  }
  const was = n.annotations[WAS_UNSCHEDULABLE] === 'true';
  const annotations = { [CORDONED_BY]: null, [WAS_UNSCHEDULABLE]: null, [CORDONED_AT]: null };
  if (was) {
    return {
      patch: { metadata: { resourceVersion: n.resourceVersion, annotations } },
      msg: `node ${n.name} was already cordoned before nodesweep cordoned it: left cordoned`,
      wasUnschedulable: true,
      unschedulable: n.unschedulable,
    };
  }
  return {
    patch: { metadata: { resourceVersion: n.resourceVersion, annotations }, spec: { unschedulable: null } },
    msg: n.unschedulable ? `node ${n.name} uncordoned` : `node ${n.name} was already schedulable; nodesweep's cordon record removed`,
    wasUnschedulable: false,
    unschedulable: false,
  };
}

/**
 * Read the node, decide, patch conditionally on what was read; a 409 (someone changed the node meanwhile) means
 * read and decide again. In check mode nothing is written.
 */
export async function applyNodeChange(
  client: import('./client.js').KubeClient,
  name: string,
  decide: (n: KubeNode) => NodeChange,
  o: { check: boolean; signal?: AbortSignal },
): Promise<NodeChange & { changed: boolean; node: KubeNode }> {
  const co = o.signal ? { signal: o.signal } : {};
  for (let attempt = 0; ; attempt++) {
    const node = await client.getNode(name, co);
    const change = decide(node);
    if (!change.patch) return { ...change, changed: false, node };
    if (o.check) return { ...change, changed: true, node };
    try {
      const after = await client.patchNode(name, change.patch, co);
      return { ...change, changed: true, node: after };
    } catch (e) {
      const conflict = (e as { status?: number }).status === 409;
      if (!conflict || attempt >= 9) throw e;
    }
  }
}
