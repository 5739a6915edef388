/**
 * The lab's past, for the demo's history database: what a `nodesweep scan` every few hours would have recorded
 * while the story's CronJob ran for `days` after the nodes' last reboot: leaked cgroups piling up with every
 * finished pod, crio's memory growing with them (about 0.5 MiB a pod over a 150 MiB base, past the 1 GiB system
 * reservation on the busy node) and kubelet burning more CPU on pods long gone. Simulated and labelled so (the
 * runs' playbook says it); it only ever goes into the database it is given (the demo's own).
 */
import { LEAK_KINDS, emptyNodeFacts, type NodeFacts, type NodeSnapshot, type RunFacts } from '../history/node-facts.js';
import { openHistory, recordRun } from '../history/db.js';
import type { LabManifest } from './lab.js';
import { CRIO_BASE_BYTES, CRIO_PER_LEAKED_POD_BYTES, SYSTEM_SLICE_OTHER_BYTES } from './lab-node.js';
import { kubeletChaseCores } from './kubelet-standin.js';

export const SIMULATED_PLAYBOOK = 'nodesweep lab: simulated history (not a real run)';

export interface SeedOptions {
  /** Epoch seconds of "now" (the real scans come after). */
  now: number;
  /** Hours between two simulated scans (default: 3, or 1 for up to 2 days). */
  everyH?: number;
}


/** The simulated runs (pure): one scan every few hours, from the reboot `days` ago until an hour ago. */
export function simulatedRuns(m: LabManifest, o: SeedOptions): RunFacts[] {
  const days = m.days ?? 1;
  const everyS = Math.round((o.everyH ?? (days <= 2 ? 1 : 3)) * 3600);
  const startS = o.now - days * 86_400;
  const endS = o.now - 3600;
  const runs: RunFacts[] = [];
  for (let t = startS + everyS; t <= endS; t += everyS) {
    const frac = (t - startS) / (days * 86_400);
    const nodes = m.nodes.map((n): NodeFacts => {
      const pods = Math.round(n.cronPodsRun * frac);
      // what a scan of the lab sees scales with the sample that was built
      const leaked = Math.round(n.leakedDirs * frac);
      const half = Math.floor(leaked / 2);
      const byKind = Object.fromEntries(LEAK_KINDS.map((k) => [k, 0])) as NodeSnapshot['leaked_by_kind'];
      byKind.pod = half;
      byKind.container = leaked - half;
      const crio = Math.round(CRIO_BASE_BYTES + pods * CRIO_PER_LEAKED_POD_BYTES);
      const snap: NodeSnapshot = {
        task: 'Scan cgroups, runtime and kubelet state',
        module: 'cgroup_scan',
        leaked_total: leaked,
        leaked_by_kind: byKind,
        crio_memory_bytes: crio,
        system_slice_memory_bytes: crio + SYSTEM_SLICE_OTHER_BYTES,
        // what the lab's kubelet stand-in burns for that many leaked pods, as a scan of it measures today
        kubelet_cpu_cores: Math.round(kubeletChaseCores(pods) * 100) / 100,
        // dirs per hierarchy of the node's own subtree (a few live pods and slices, plus its leaks)
        num_cgroups: 20 + Math.round(leaked / Math.max(1, n.leakedPods > 0 ? n.leakedDirs / (2 * n.leakedPods) : 1)),
        num_cgroups_by_controller: {},
        nr_descendants: null,
        nr_dying_descendants: null,
      };
      return {
        ...emptyNodeFacts(n.name),
        stats: { ok: 2, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 },
        cgroup_mode: m.mode === 'cgroup-v2' ? 'v2' : 'hybrid',
        crio_version: '1.24.3',
        crio_version_leaking: true,
        after: snap,
        verdict: leaked > 0 ? 'leaking' : 'clean',
      };
    });
    runs.push({ playbook: SIMULATED_PLAYBOOK, check_mode: false, started_at: t, finished_at: t + 2, exit_code: 0, nodes });
  }
  return runs;
}

/** Write the simulated runs into the history database at `dbPath`; returns how many runs. */
export function seedHistory(dbPath: string, m: LabManifest, o: SeedOptions): number {
  const db = openHistory(dbPath);
  try {
    const runs = simulatedRuns(m, o);
    for (const r of runs) recordRun(db, r, { command: 'scan', now: o.now });
    return runs.length;
  } finally {
    db.close();
  }
}
