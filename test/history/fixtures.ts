/**
 * cgroup_scan / cgroup_prune results shaped as src/cgroup/types.ts describes them (LeakedCgroup, BusyCgroup,
 * HealthFacts), for the report and history tests. Paths follow reference section 1 (systemd driver, v1).
 */
import type { LeakKind } from '../../src/cgroup/types.js';
import { containerDirName, podRel } from '../../src/cgroup/names.js';

let seq = 0;
const hex = (n: number) => n.toString(16).padStart(64, '0');
const uid = (n: number) => `0000${n.toString(16).padStart(4, '0')}-1111-2222-3333-444455556666`;

export interface Leak {
  path: string;
  kind: LeakKind;
  status: 'removable' | 'busy' | 'restart_needed' | 'reboot_required' | 'too_young';
}

/** `n` leaks of a kind under a BestEffort pod slice in the memory controller. */
export function leaks(kind: LeakKind, n: number, status: Leak['status'] = 'removable'): Leak[] {
  const out: Leak[] = [];
  for (let i = 0; i < n; i++) {
    const id = ++seq;
    const slice = `/sys/fs/cgroup/memory/${podRel('systemd', 'besteffort', uid(id))}`;
    const path =
      kind === 'pod' ? slice : kind === 'nested' ? `${slice}/${containerDirName('systemd', 'container', hex(id))}/container` : `${slice}/${containerDirName('systemd', kind, hex(id))}`;
    out.push({ path, kind, status });
  }
  return out;
}

export interface Health {
  crio?: number | null;
  system?: number | null;
  cpu?: number | null;
  numCgroups?: Record<string, number>;
  dying?: number | null;
}

function health(h: Health) {
  return {
    num_cgroups: h.numCgroups ?? { memory: 120, pids: 118, cpu: 119 },
    nr_descendants: null,
    nr_dying_descendants: h.dying ?? null,
    system_slice_memory_bytes: h.system ?? null,
    crio_memory_bytes: h.crio ?? null,
    kubelet_cpu_cores: h.cpu ?? null,
    crio_version: 'crio version 1.24.1',
    kubelet_version: 'Kubernetes v1.24.6',
    crio_version_leaking: true,
    kubelet_log_counts: null,
    kubelet_only_pods: [],
  };
}

function byKind(ls: Leak[]): Record<LeakKind, number> {
  const c: Record<LeakKind, number> = { pod: 0, container: 0, conmon: 0, sandbox: 0, nested: 0 };
  for (const l of ls) c[l.kind]++;
  return c;
}

function leakedEntries(ls: Leak[]) {
  return ls.map((l) => ({
    path: l.path,
    kind: l.kind,
    pod_uid: null,
    container_id: null,
    hierarchy: 'memory',
    age_s: 3600,
    populated: l.status !== 'removable' && l.status !== 'too_young',
    bogus_pids_tree: false,
    status: l.status,
    pids: l.status === 'removable' || l.status === 'too_young' ? [] : [{ pid: 4242, state: l.status === 'reboot_required' ? 'D' : 'S', cmdline: 'sleep 1000', comm: 'sleep' }],
  }));
}

const held = (ls: Leak[]) => ls.filter((l) => l.status === 'busy' || l.status === 'restart_needed' || l.status === 'reboot_required');

export function scanResult(ls: Leak[], h: Health = {}): Record<string, unknown> {
  return {
    changed: false,
    cgroup_mode: 'v1',
    leaked: leakedEntries(ls),
    counts: { total: ls.length, by_kind: byKind(ls), by_hierarchy: { memory: ls.length }, bogus_pids_tree: 0 },
    live_pods: ['aaaa-live'],
    busy: held(ls).map((l) => ({ path: l.path, status: l.status, pids: [{ pid: 4242, state: l.status === 'reboot_required' ? 'D' : 'S', cmdline: 'sleep 1000', comm: 'sleep' }] })),
    too_young: ls.filter((l) => l.status === 'too_young').map((l) => l.path),
    restart_needed: ls.filter((l) => l.status === 'restart_needed').map((l) => l.path),
    reboot_required: ls.filter((l) => l.status === 'reboot_required').map((l) => l.path),
    health: health(h),
  };
}

/** The same leaks once crio was restarted: what crio held is removable now. */
export function afterCrioRestart(ls: Leak[]): Leak[] {
  return ls.map((l) => (l.status === 'restart_needed' ? { ...l, status: 'removable' } : l));
}

/**
 * A prune result as src/modules/cgroup_prune.ts composes it: it re-collected `ls` and removed the removable ones
 * (none in check mode). Like the real module it reports what it did, not the node's leak counts or health.
 */
export function pruneResult(ls: Leak[], opts: { check?: boolean; refused?: { path: string; reason: string }[]; after?: Health } = {}): Record<string, unknown> {
  const removable = ls.filter((l) => l.status === 'removable').map((l) => l.path);
  const busy = held(ls).map((l) => ({ path: l.path, status: l.status, pids: [{ pid: 4242, state: l.status === 'reboot_required' ? 'D' : 'S', cmdline: 'sleep 1000', comm: 'sleep' }] }));
  const removed = opts.check ? [] : removable;
  return {
    changed: removed.length > 0,
    cgroup_root: '/sys/fs/cgroup',
    kubelet_root: '/var/lib/kubelet',
    min_age_s: 300,
    max_removals: 10000,
    check_mode: opts.check === true,
    cgroup_mode: 'v1',
    removed,
    ...(opts.check ? { would_remove: removable } : {}),
    busy,
    too_young: ls.filter((l) => l.status === 'too_young').map((l) => l.path),
    vanished: [],
    refused: opts.refused ?? [],
    deferred: [],
    skipped: [],
    killed: [],
    restart_needed: busy.some((b) => b.status === 'restart_needed'),
    reboot_required: busy.some((b) => b.status === 'reboot_required'),
    counts: { leaked: ls.length, planned: removable.length, removed: removed.length, would_remove: opts.check ? removable.length : 0, busy: busy.length, too_young: 0, vanished: 0, refused: 0, deferred: 0, killed: 0 },
    live_pods: ['aaaa-live'],
    terminating_pods: [],
    // what the module measured right after acting (cgroup_health.sh); none given: not measured
    ...healthAfter(opts.check ? undefined : opts.after),
    msg: `removed ${removed.length} leaked cgroups`,
  };
}

/** `health_after` as the prune module reports it: the scan's health shape less what only a scan reads. */
export function healthAfter(h: Health | undefined): Record<string, unknown> {
  if (!h) return { health_after: null, health_after_error: 'the prune script printed no health measurement' };
  const { crio_version: _v, kubelet_version: _k, crio_version_leaking: _l, kubelet_log_counts: _c, kubelet_only_pods: _p, ...measured } = health(h);
  const facts = { ...measured, num_cgroups_source: '/proc/cgroups', kubelet_found_by: h.cpu == null ? null : 'cgroup' };
  const notMeasured = Object.entries(measured).filter(([, v]) => v === null).map(([k]) => k);
  return { health_after: { ...facts, not_measured: notMeasured } };
}

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;
