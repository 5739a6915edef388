/** One row per node for `nodesweep scan` (pure). */
import type { Classification, ScanRow, Verdict } from './types.js';

/**
 * The verdict, worst first: unknown (runtime unreadable: we cannot tell), reboot-required (D state),
 * restart-needed (crio holds leaked cgroups), busy (leaked cgroups with processes), leaking (leaked cgroups,
 * removable now or later), clean.
 */
export function nodeVerdict(c: Classification): ScanRow {
  let verdict: Verdict;
  if (!c.runtime_ok) verdict = 'unknown';
  else if (c.reboot_required.length > 0) verdict = 'reboot-required';
  else if (c.restart_needed.length > 0) verdict = 'restart-needed';
  else if (c.busy.length > 0) verdict = 'busy';
  else if (c.counts.total > 0) verdict = 'leaking';
  else verdict = 'clean';
  const nums = Object.values(c.health.num_cgroups);
  return {
    verdict,
    leaked: c.counts.total,
    leaked_by_kind: { ...c.counts.by_kind },
    removable: c.counts.by_status.removable,
    busy: c.busy.length,
    too_young: c.too_young.length,
    crio_memory_bytes: c.health.crio_memory_bytes,
    system_slice_memory_bytes: c.health.system_slice_memory_bytes,
    kubelet_cpu_cores: c.health.kubelet_cpu_cores,
    num_cgroups: nums.length ? Math.max(...nums) : null,
    nr_dying_descendants: c.health.nr_dying_descendants,
    crio_version: c.health.crio_version,
    crio_version_leaking: c.health.crio_version_leaking,
    reason: c.runtime_ok ? null : c.runtime_error,
  };
}
