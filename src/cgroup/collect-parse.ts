/** Parse the line report of src/modules/scripts/cgroup_collect.sh (pure). */
import type { CollectedNode, CollectParams } from './types.js';
import { CollectParseError } from './types.js';

/** The sh assignments cgroup_collect.sh expects (prepend with shAssignments(..., shQuote)). */
export function collectParams(p: CollectParams): Record<string, string> {
  return {
    CGROUP_ROOT: p.cgroupRoot,
    KUBELET_ROOT: p.kubeletRoot,
    CRICTL: p.crictl,
    SINCE: p.since !== undefined ? String(Math.floor(p.since)) : '',
    SAMPLE_S: String(p.sampleS ?? 1),
    CRIO: p.crio ?? 'crio',
    KUBELET: p.kubelet ?? 'kubelet',
    JOURNALCTL: p.journalctl ?? 'journalctl',
  };
}

export function parseCollectOutput(stdout: string): CollectedNode {
  throw new CollectParseError(`not implemented yet (${stdout.length} bytes)`);
}
