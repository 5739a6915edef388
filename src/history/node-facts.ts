/**
 * Node facts: what one run learned about each node, pulled out of the run's task_result events (pure).
 * Metrics, the HTML report and the history database are all built from these, so they always agree.
 *
 * The cgroup modules are matched by name (`cgroup_scan`, `cgroup_prune`, also as `nodesweep.cgroup_scan`);
 * a crio restart (`crio_restart`, issue 4) counts as a remediation. Result fields are read defensively: a
 * field a module does not report is null, never a guess.
 */
import type { ClusterCleanupEvent, HostStats, RunEvent } from '../events/events.js';
import { emptyStats } from '../events/events.js';
import { StatsAggregator, isItemResult } from '../events/stats.js';
import type { TaskStatus } from '../modules/types.js';
import { moduleBase } from '../playbook/walk.js';
import { kindOfPath as kindOfCgroupPath } from '../cgroup/names.js';

export const LEAK_KINDS = ['pod', 'container', 'conmon', 'sandbox', 'nested'] as const;
export type LeakKindName = (typeof LEAK_KINDS)[number];
export type LeakCounts = Record<LeakKindName, number>;

/** The system reservation the story's alert watches (kubelet reserves 1 GiB for system.slice). */
export const SYSTEM_RESERVATION_BYTES = 1024 ** 3;

/** The node's state at one point of the run (first cgroup result = before, last = after). */
export interface NodeSnapshot {
  /** Task whose result this is. */
  task: string;
  module: string;
  leaked_total: number;
  leaked_by_kind: LeakCounts;
  crio_memory_bytes: number | null;
  system_slice_memory_bytes: number | null;
  kubelet_cpu_cores: number | null;
  /** Max num_cgroups over the controllers (the leak shows in every one). */
  num_cgroups: number | null;
  num_cgroups_by_controller: Record<string, number>;
  nr_descendants: number | null;
  nr_dying_descendants: number | null;
}

export interface TaskOutcome {
  task: string;
  module: string;
  status: TaskStatus;
  ignored: boolean;
  msg: string | null;
}

export interface Remediation {
  task: string;
  module: string;
  result: 'success' | 'failed';
  msg: string | null;
}

export type NodeVerdict =
  | 'unreachable'
  | 'failed'
  | 'reboot-required'
  | 'restart-needed'
  | 'busy'
  | 'leaking'
  | 'cleaned'
  | 'clean'
  | 'no-data';

export interface BusyEntry {
  path: string;
  status: string;
  pids: number[];
  commands: string[];
}

export interface NodeFacts {
  node: string;
  unreachable: boolean;
  /** Recap counters of the node. */
  stats: HostStats;
  tasks: TaskOutcome[];
  cgroup_mode: string | null;
  crio_version: string | null;
  kubelet_version: string | null;
  crio_version_leaking: boolean | null;
  before: NodeSnapshot | null;
  after: NodeSnapshot | null;
  /** Every path any cgroup result of the run listed as leaked (for the first-seen table). */
  leaked_seen: string[];
  /** A cgroup_prune ran (in check mode too). */
  pruned: boolean;
  removed: string[];
  /** Check mode: what the prune would have removed. */
  would_remove: string[];
  busy: BusyEntry[];
  too_young: number;
  vanished: number;
  refused: { path: string; reason: string }[];
  restart_needed: number;
  reboot_required: number;
  remediations: Remediation[];
  verdict: NodeVerdict;
}

export interface RunFacts {
  playbook: string;
  check_mode: boolean;
  /** Epoch seconds (run_start / run_end); null when the stream had none. */
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  nodes: NodeFacts[];
  /** What the run did about cordons and Leases left in the cluster (ClusterCleanupEvent), in order. */
  cluster?: ClusterFact[];
}

export type ClusterFact = Omit<ClusterCleanupEvent, 'kind'>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export { moduleBase };

/**
 * The message a reader is shown for a result: its `msg`, or for a no_log result Ansible's censored text, so the
 * HTML report's task table says why there is nothing to see rather than showing a blank.
 */
export function shownMessage(r: Record<string, unknown>): string | null {
  return str(r.msg) ?? str(r.censored);
}

const CGROUP_MODULES = new Set(['cgroup_scan', 'cgroup_prune']);
const REMEDIATION_MODULES = new Set(['crio_restart']);
/** Modules whose results are node facts (the history's samples, prunes and remediations). */
export const FACT_MODULES: ReadonlySet<string> = new Set([...CGROUP_MODULES, ...REMEDIATION_MODULES]);

function zeroCounts(): LeakCounts {
  return { pod: 0, container: 0, conmon: 0, sandbox: 0, nested: 0 };
}

function isLeakKind(k: unknown): k is LeakKindName {
  return typeof k === 'string' && (LEAK_KINDS as readonly string[]).includes(k);
}

/** How many things a field lists: an array's length, a number itself, a boolean as 0/1. */
function countOf(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

function paths(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((e) => (typeof e === 'string' ? e : isObj(e) ? str(e.path) : null)).filter((p): p is string => p !== null);
}

/**
 * The leak kind of a cgroup path (the grammar of src/cgroup/names.ts), for removed paths that a result lists
 * without their kind. null: not a name the classifier leaks.
 */
export function kindOfPath(path: string): LeakKindName | null {
  const k = kindOfCgroupPath(path).kind;
  return isLeakKind(k) ? k : null;
}

/** Leak counts by kind from a cgroup result: counted from `leaked[]` (less `exclude`), else `counts.by_kind`. */
function leakCounts(r: Obj, exclude: ReadonlySet<string>): LeakCounts | null {
  const out = zeroCounts();
  if (Array.isArray(r.leaked)) {
    for (const l of r.leaked) {
      if (!isObj(l) || !isLeakKind(l.kind)) continue;
      if (typeof l.path === 'string' && exclude.has(l.path)) continue;
      out[l.kind]++;
    }
    return out;
  }
  const counts = isObj(r.counts) ? r.counts : null;
  const byKind = counts && isObj(counts.by_kind) ? counts.by_kind : null;
  if (!byKind) return null;
  for (const k of LEAK_KINDS) out[k] = num(byKind[k]) ?? 0;
  return out;
}

/** The health fields of a snapshot from a result's health facts (`health`, `health_after`, or the result itself). */
function healthOf(h: Obj | null): Pick<NodeSnapshot, HealthKey> {
  if (!h) return { ...NOT_MEASURED, num_cgroups_by_controller: {} };
  const numCgroups: Record<string, number> = {};
  if (isObj(h.num_cgroups)) {
    for (const [k, v] of Object.entries(h.num_cgroups)) {
      const n = num(v);
      if (n !== null) numCgroups[k] = n;
    }
  } else if (Array.isArray(h.num_cgroups)) {
    // /proc/cgroups rows as the collect script reports them
    for (const row of h.num_cgroups) if (isObj(row) && typeof row.subsys === 'string' && num(row.num_cgroups) !== null) numCgroups[row.subsys] = row.num_cgroups as number;
  }
  const values = Object.values(numCgroups);
  return {
    crio_memory_bytes: num(h.crio_memory_bytes),
    system_slice_memory_bytes: num(h.system_slice_memory_bytes),
    kubelet_cpu_cores: num(h.kubelet_cpu_cores),
    num_cgroups: values.length > 0 ? Math.max(...values) : num(h.num_cgroups),
    num_cgroups_by_controller: numCgroups,
    nr_descendants: num(h.nr_descendants),
    nr_dying_descendants: num(h.nr_dying_descendants),
  };
}

type HealthKey = 'crio_memory_bytes' | 'system_slice_memory_bytes' | 'kubelet_cpu_cores' | 'num_cgroups' | 'num_cgroups_by_controller' | 'nr_descendants' | 'nr_dying_descendants';
/** Every health fact of a snapshot, not measured. */
const NOT_MEASURED = {
  crio_memory_bytes: null,
  system_slice_memory_bytes: null,
  kubelet_cpu_cores: null,
  num_cgroups: null,
  nr_descendants: null,
  nr_dying_descendants: null,
} as const;

function snapshot(task: string, module: string, r: Obj, removed: ReadonlySet<string>): NodeSnapshot | null {
  const byKind = leakCounts(r, removed);
  const snap: NodeSnapshot = {
    task,
    module,
    leaked_total: 0,
    leaked_by_kind: byKind ?? zeroCounts(),
    ...healthOf(isObj(r.health) ? r.health : r),
  };
  snap.leaked_total = LEAK_KINDS.reduce((s, k) => s + snap.leaked_by_kind[k], 0);
  // a result that carries neither leak counts nor any health fact says nothing about the node (e.g. failed early)
  const anyHealth = snap.crio_memory_bytes !== null || snap.system_slice_memory_bytes !== null || snap.kubelet_cpu_cores !== null || snap.num_cgroups !== null;
  return byKind || anyHealth ? snap : null;
}

/**
 * The node after a cgroup_prune: the leaks last known less what it removed (kinds as the scan classified them), and
 * the health the prune measured after acting (`health_after`); a fact it did not measure is null, never the value
 * from before.
 */
function afterRemoval(prev: NodeSnapshot, removed: string[], kinds: ReadonlyMap<string, LeakKindName>, healthAfter: Obj | null, task: string, module: string): NodeSnapshot {
  const byKind = { ...prev.leaked_by_kind };
  for (const p of removed) {
    const k = kinds.get(p) ?? kindOfPath(p);
    if (k && byKind[k] > 0) byKind[k]--;
  }
  return { task, module, leaked_by_kind: byKind, leaked_total: LEAK_KINDS.reduce((s, k) => s + byKind[k], 0), ...healthOf(healthAfter) };
}

function busyEntries(v: unknown): BusyEntry[] {
  if (!Array.isArray(v)) return [];
  const out: BusyEntry[] = [];
  for (const b of v) {
    if (typeof b === 'string') {
      out.push({ path: b, status: 'busy', pids: [], commands: [] });
      continue;
    }
    if (!isObj(b) || typeof b.path !== 'string') continue;
    const procs = Array.isArray(b.pids) ? b.pids : [];
    out.push({
      path: b.path,
      status: str(b.status) ?? 'busy',
      pids: procs.map((p) => (isObj(p) ? num(p.pid) : num(p))).filter((p): p is number => p !== null),
      commands: procs.map((p) => (isObj(p) ? str(p.cmdline) : null)).filter((c): c is string => c !== null),
    });
  }
  return out;
}

function refusedEntries(v: unknown): { path: string; reason: string }[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((e) => (typeof e === 'string' ? { path: e, reason: '' } : isObj(e) && typeof e.path === 'string' ? { path: e.path, reason: str(e.reason) ?? '' } : null))
    .filter((e): e is { path: string; reason: string } => e !== null);
}

function verdictOf(f: NodeFacts): NodeVerdict {
  if (f.unreachable) return 'unreachable';
  if (f.stats.failed > 0) return 'failed';
  if (f.reboot_required > 0) return 'reboot-required';
  if (f.restart_needed > 0 && !f.remediations.some((r) => r.result === 'success')) return 'restart-needed';
  if (f.busy.length > 0) return 'busy';
  if (!f.after) {
    if (!f.pruned) return 'no-data';
    return f.too_young > 0 || f.refused.length > 0 ? 'leaking' : f.removed.length > 0 ? 'cleaned' : 'clean';
  }
  if (f.after.leaked_total > 0) return 'leaking';
  return f.removed.length > 0 ? 'cleaned' : 'clean';
}

const epoch = (iso: string): number | null => {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.round(t / 1000) : null;
};

/** Build per-node facts from a run's events (already redacted). Hosts sorted by name. */
export function nodeFacts(events: readonly RunEvent[]): RunFacts {
  const run: RunFacts = { playbook: '', check_mode: false, started_at: null, finished_at: null, exit_code: null, nodes: [] };
  const stats = new StatsAggregator();
  let endStats: Record<string, HostStats> | undefined;
  const nodes = new Map<string, NodeFacts>();
  const seenSets = new Map<NodeFacts, Set<string>>();
  const kindMaps = new Map<NodeFacts, Map<string, LeakKindName>>();
  const kindsOf = (f: NodeFacts): Map<string, LeakKindName> => {
    let m = kindMaps.get(f);
    if (!m) kindMaps.set(f, (m = new Map()));
    return m;
  };
  const seen = (f: NodeFacts): Set<string> => {
    let s = seenSets.get(f);
    if (!s) seenSets.set(f, (s = new Set()));
    return s;
  };
  const acc = (host: string): NodeFacts => {
    let f = nodes.get(host);
    if (!f) {
      f = emptyNodeFacts(host);
      nodes.set(host, f);
    }
    return f;
  };

  for (const ev of events) {
    stats.handle(ev);
    if (ev.kind === 'run_start') {
      run.playbook = ev.playbook;
      run.check_mode = ev.checkMode;
      run.started_at = epoch(ev.startedAt);
      for (const h of ev.hosts) acc(h);
      continue;
    }
    if (ev.kind === 'cluster_cleanup') {
      const { kind: _kind, ...fact } = ev;
      (run.cluster ??= []).push(fact);
      continue;
    }
    if (ev.kind === 'run_end') {
      run.finished_at = epoch(ev.finishedAt);
      run.exit_code = ev.exitCode;
      endStats = ev.stats;
      continue;
    }
    if (ev.kind !== 'task_result' || isItemResult(ev)) continue;
    const f = acc(ev.host);
    const r = ev.result as Obj;
    f.tasks.push({ task: ev.task, module: ev.module, status: ev.status, ignored: ev.ignored === true, msg: shownMessage(r) });
    if (ev.status === 'unreachable' && !ev.ignored) f.unreachable = true;
    const mod = moduleBase(ev.module);

    if (REMEDIATION_MODULES.has(mod)) {
      if (ev.status === 'ok' || ev.status === 'changed') f.remediations.push({ task: ev.task, module: ev.module, result: 'success', msg: shownMessage(r) });
      else if (ev.status === 'failed') f.remediations.push({ task: ev.task, module: ev.module, result: 'failed', msg: shownMessage(r) });
      continue;
    }
    if (!CGROUP_MODULES.has(mod) || ev.status === 'skipped' || ev.status === 'unreachable') continue;

    const isPrune = mod === 'cgroup_prune';
    const removedHere = isPrune ? paths(r.removed) : [];
    const kinds = kindsOf(f);
    if (Array.isArray(r.leaked)) for (const l of r.leaked) if (isObj(l) && typeof l.path === 'string' && isLeakKind(l.kind)) kinds.set(l.path, l.kind);
    let snap = snapshot(ev.task, ev.module, r, new Set(removedHere));
    // cgroup_prune reports what it removed and the health it measured after acting, not the leaks left: those are
    // the last ones known minus what it removed
    if (!snap && isPrune && f.after) snap = afterRemoval(f.after, removedHere, kinds, isObj(r.health_after) ? r.health_after : null, ev.task, ev.module);
    if (snap) {
      // before: the node as the first cgroup result found it (a prune's own re-collect, before it acted)
      if (!f.before) f.before = isPrune ? (snapshot(ev.task, ev.module, r, new Set()) ?? snap) : snap;
      f.after = snap;
    }
    if (Array.isArray(r.leaked)) for (const p of paths(r.leaked)) seen(f).add(p);
    const mode = str(r.cgroup_mode);
    if (mode) f.cgroup_mode = mode;
    const h = isObj(r.health) ? r.health : r;
    f.crio_version = str(h.crio_version) ?? f.crio_version;
    f.kubelet_version = str(h.kubelet_version) ?? f.kubelet_version;
    if (typeof h.crio_version_leaking === 'boolean') f.crio_version_leaking = h.crio_version_leaking;

    if (isPrune) {
      f.pruned = true;
      f.removed.push(...removedHere);
      f.would_remove = paths(r.would_remove);
      f.busy = busyEntries(r.busy);
      f.too_young = countOf(r.too_young);
      f.vanished += countOf(r.vanished);
      f.refused = refusedEntries(r.refused);
      f.restart_needed = countOf(r.restart_needed);
      f.reboot_required = countOf(r.reboot_required);
    } else {
      // a scan: its view of busy / held cgroups is the newest
      const listed = busyEntries(r.busy);
      f.busy = listed.length > 0 ? listed : busyFromLeaked(r.leaked);
      f.restart_needed = countOf(r.restart_needed);
      f.reboot_required = countOf(r.reboot_required);
    }
  }

  const finalStats = endStats && Object.keys(endStats).length > 0 ? endStats : stats.stats();
  for (const f of [...nodes.values()].sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0))) {
    f.stats = { ...(finalStats[f.node] ?? emptyStats()) };
    f.leaked_seen = [...(seenSets.get(f) ?? [])].sort();
    if (f.stats.unreachable > 0) f.unreachable = true;
    f.verdict = verdictOf(f);
    run.nodes.push(f);
  }
  return run;
}

/** A scan lists held cgroups among its leaks (status busy / restart_needed / reboot_required). */
function busyFromLeaked(v: unknown): BusyEntry[] {
  if (!Array.isArray(v)) return [];
  return busyEntries(v.filter((l) => isObj(l) && (l.status === 'busy' || l.status === 'restart_needed' || l.status === 'reboot_required')));
}

/** The facts of a node before any event of the run is seen (also the base of the lab's simulated runs). */
export function emptyNodeFacts(node: string): NodeFacts {
  return {
    node,
    unreachable: false,
    stats: emptyStats(),
    tasks: [],
    cgroup_mode: null,
    crio_version: null,
    kubelet_version: null,
    crio_version_leaking: null,
    before: null,
    after: null,
    leaked_seen: [],
    pruned: false,
    removed: [],
    would_remove: [],
    busy: [],
    too_young: 0,
    vanished: 0,
    refused: [],
    restart_needed: 0,
    reboot_required: 0,
    remediations: [],
    verdict: 'no-data',
  };
}
