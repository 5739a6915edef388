/**
 * The cgroup job's pure core: what the collect script reports (CollectedNode), what the classifier decides
 * (Classification) and what a prune would do (PrunePlan). Everything here is plain JSON-able data, so a
 * recorded node is a fixture and every decision is a table test.
 *
 * Functions (implemented in their own files, re-exported by src/cgroup/index.ts):
 *   parseCollectOutput(stdout: string): CollectedNode                       collect-parse.ts (throws CollectParseError)
 *   collectParams(p: CollectParams): Record<string, string>                 collect-parse.ts (sh assignments for the script)
 *   parseRuntimeState(pods: CommandOutput, containers: CommandOutput): RuntimeState   crictl.ts
 *   classify(node: CollectedNode, opts: ClassifyOptions): Classification    classify.ts
 *   planPrune(c: Classification, opts: { maxRemovals: number }): PrunePlan  classify.ts
 *   crioVersionLeaking(version: string | null): boolean | null              classify.ts
 *   nodeVerdict(c: Classification): ScanRow                                 verdict.ts
 */
import { ExitCode, NodesweepError } from '../errors.js';

// ---------------------------------------------------------------- collect output

/** Version of the line format printed by src/modules/scripts/cgroup_collect.sh (`@@nodesweep-collect 1`). */
export const COLLECT_FORMAT_VERSION = 1;

/** Parameters of cgroup_collect.sh; prepend `shAssignments(collectParams(p), shQuote)` to the script. */
export interface CollectParams {
  cgroupRoot: string; // CGROUP_ROOT, default /sys/fs/cgroup
  kubeletRoot: string; // KUBELET_ROOT, default /var/lib/kubelet
  crictl: string; // CRICTL, default crictl (a command name or path)
  /** Epoch seconds for `journalctl --since @SINCE`; absent: the last hour. */
  since?: number;
  /** kubelet CPU sample length in seconds (default 1; 0 skips the sample). */
  sampleS?: number;
  /** crio / kubelet binaries for `--version` (default `crio`, `kubelet`). */
  crio?: string;
  kubelet?: string;
  /** journalctl binary (default `journalctl`; empty string skips the log counts). */
  journalctl?: string;
  /** crio's config dir (default /etc/crio): crio.conf and crio.conf.d/* are read for the leak-relevant settings. */
  crioConfig?: string;
  /**
   * 'scan' (default): everything. 'prune': only what a prune decision needs (dirs with their mtimes, crictl, the
   * kubelet pods dir): no cgroup.procs (the kernel's EBUSY on rmdir is the guard; the prune script reads the holders
   * of what it could not remove), no health facts, no kubelet CPU sample, no journal.
   */
  mode?: 'scan' | 'prune';
  /**
   * The script's clock: the file it reads the time from (UPTIME, default /proc/uptime) and the command it sleeps
   * with (SLEEP, default sleep). Tests pass a fake pair; nodes keep the defaults.
   */
  clock?: { uptime: string; sleep: string };
}

/** One command the script ran, its streams kept apart. */
export interface CommandOutput {
  rc: number;
  stdout: string;
  stderr: string;
}

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/** One cgroup hierarchy as the script visited it (once, by its real path). */
export interface Hierarchy {
  /**
   * Name: the controller dir's name under the root (`memory`, `cpu,cpuacct`, `unified`); on a v2 node the root
   * itself is the only hierarchy and is called `unified`.
   */
  name: string;
  /** Real (symlink-resolved) absolute path; every dir path of this hierarchy starts with it. */
  path: string;
  /** 'v1' (cgroup fs), 'v2' (cgroup2 fs). */
  version: 'v1' | 'v2';
}

/** One directory under kubepods.slice / kubepods / the bogus v2 pids/ tree of a hierarchy. */
export interface CgroupDir {
  /** Hierarchy name (Hierarchy.name). */
  hierarchy: string;
  /** Absolute real path. */
  path: string;
  /** Path relative to the hierarchy root, e.g. `kubepods.slice/kubepods-besteffort.slice`. */
  rel: string;
  /** mtime, epoch seconds; null when the script could not stat it. A LOWER bound of the age (kernfs). */
  mtime: number | null;
  /**
   * pids listed in this dir's own cgroup.procs (thread-group ids). null: NOT READ (a prune-mode report), which is
   * not the same as empty: only a classification that defers to the kernel's EBUSY (ClassifyOptions.unreadProcs
   * 'kernel-guard') accepts it; a scan refuses it.
   */
  pids: number[] | null;
  /** v2 only: `populated` of cgroup.events (this dir or a descendant holds processes); null on v1/unknown. */
  populated: boolean | null;
}

export interface ProcessInfo {
  pid: number;
  /** One-letter state from /proc/PID/stat (R S D Z T I ...), '?' when the process was gone. */
  state: string;
  /** argv joined by spaces; `[comm]` when the cmdline is empty (kernel thread, zombie). */
  cmdline: string;
  /** comm from /proc/PID/stat ('' when unknown). */
  comm: string;
}

/** `/proc/cgroups` row. */
export interface ProcCgroupsRow {
  subsys: string;
  hierarchy: number;
  num_cgroups: number;
  enabled: boolean;
}

export interface RawHealth {
  procCgroups: ProcCgroupsRow[];
  /** Dirs per hierarchy of the node's own subtree (`@@num-cgroups subtree`: a cgroup root other than
   * /sys/fs/cgroup, whose /proc/cgroups counts the whole machine); null when /proc/cgroups was read instead. */
  numCgroupsSubtree: Record<string, number> | null;
  /** v2 cgroup.stat of the root (v2) or the unified hierarchy (hybrid); null when absent. */
  nrDescendants: number | null;
  nrDyingDescendants: number | null;
  systemSliceMemoryBytes: number | null;
  crioMemoryBytes: number | null;
  /** Two samples of kubelet's utime+stime (ticks), over intervalS seconds; null when kubelet is not running. */
  kubeletCpu: { pid: number; ticks0: number; ticks1: number; clkTck: number; intervalS: number; foundBy?: 'cgroup' | 'comm' | null } | null;
  crioVersion: CommandOutput | null; // null: no crio binary
  kubeletVersion: CommandOutput | null;
  /** Counts of the kubelet log lines (KUBELET_LOG_PATTERNS) since `since`; null when journalctl is absent/failed. */
  kubeletLogCounts: Record<string, number> | null;
  kubeletLogSince: number | null;
  /** `drop_infra_ctr`, `conmon_cgroup`, `cgroup_manager` as configured (last file wins, quotes removed); absent keys unset. */
  crioConfig?: Record<string, string>;
}

/** The kubelet pods dir: names of `<KUBELET_ROOT>/pods/*`, or why it could not be read (fail closed). */
export type KubeletPods = { ok: true; uids: string[] } | { ok: false; reason: string };

export interface CollectedNode {
  formatVersion: number;
  /** `date +%s` on the node when the script started. */
  now: number;
  cgroupRoot: string;
  mode: CgroupMode;
  hierarchies: Hierarchy[];
  dirs: CgroupDir[];
  /** Processes found in the kubepods dirs, by pid. */
  procs: Record<number, ProcessInfo>;
  crictlPods: CommandOutput;
  crictlContainers: CommandOutput;
  kubeletPods: KubeletPods;
  health: RawHealth;
  /** Parts of the script that failed (`part: rc N: stderr`), for the operator; never fatal by themselves. */
  warnings: string[];
  /** 'prune' when the report was collected for a prune (CollectParams.mode): no processes, no health. Absent: scan. */
  collectMode?: 'scan' | 'prune';
  /** Time the script spent per part on the node, ms (from /proc/uptime: 10 ms resolution), in script order. */
  phasesMs?: Record<string, number>;
}

/** Raised when a node cannot be classified as asked (e.g. a scan given a report whose processes were not read). */
export class ClassifyError extends NodesweepError {
  constructor(message: string) {
    super('CGROUP_CLASSIFY', message, ExitCode.GENERIC);
  }
}

/** Raised on output that is not a complete collect report (garbage, wrong version, truncated). */
export class CollectParseError extends NodesweepError {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super('CGROUP_COLLECT_PARSE', line !== undefined ? `cgroup collect output line ${line}: ${message}` : `cgroup collect output: ${message}`, ExitCode.GENERIC);
    this.line = line;
  }
}

/** The kubelet log lines of reference section 2 that the script counts. */
export const KUBELET_LOG_PATTERNS = [
  'Failed to update stats for container',
  'Unable to fetch pod log stats',
  'Failed to delete cgroup paths',
  'orphaned pod',
] as const;

// ---------------------------------------------------------------- runtime (crictl)

export interface RuntimePod {
  id: string;
  uid: string;
  name: string;
  namespace: string;
  state: string;
}
export interface RuntimeContainer {
  id: string;
  podSandboxId: string;
  podUid: string | null;
  name: string;
  state: string;
}

/** What the runtime knows, or why we cannot tell (then NOTHING is leaked: fail closed). */
export type RuntimeState =
  | { ok: true; pods: RuntimePod[]; containers: RuntimeContainer[]; podUids: Set<string>; containerIds: Set<string>; sandboxIds: Set<string> }
  | { ok: false; reason: string };

// ---------------------------------------------------------------- classification

/** Kind by name (reference section 1). */
export type DirKind =
  | 'kubepods-root' // kubepods.slice / kubepods (and the bogus pids/kubepods.slice)
  | 'qos' // kubepods-burstable.slice, kubepods-besteffort.slice, kubepods/burstable, kubepods/besteffort
  | 'pod' // pod slice / pod dir
  | 'container' // crio-H.scope (systemd) / crio-H (cgroupfs: container or sandbox, told apart by the runtime's ids)
  | 'conmon' // crio-conmon-H.scope / crio-conmon-H
  | 'sandbox' // crio-H without suffix under a systemd pod slice (cri-o >= 1.24.6)
  | 'nested' // any dir below a container/conmon/sandbox dir (crun's `container` sub-cgroup): follows that dir
  | 'unknown'; // anything else: never touched, and blocks its ancestors

export type LeakKind = 'pod' | 'container' | 'conmon' | 'sandbox' | 'nested';

export type Decision =
  | 'protected' // kubepods root, QoS slices
  | 'live' // pod UID or container id known to the runtime
  | 'terminating' // pod known only to the kubelet pods dir (and everything under it): nothing touched
  | 'unknown-name' // no pattern matched (and everything under it)
  | 'leaked'
  | 'undecided'; // runtime state not ok (fail closed): nothing is leaked

/** Why a leaked dir is or is not removable now. */
export type LeakStatus =
  | 'removable'
  | 'too_young' // age (a lower bound) below min_age
  | 'busy' // holds processes (own cgroup.procs, or v2 populated)
  | 'restart_needed' // held by crio's own daemon process: only a crio restart frees it
  | 'reboot_required' // held by a process in D state: no kill, no rmdir; reboot
  | 'blocked'; // a descendant is not removable (busy, young, live, unknown, terminating)

export interface DirDecision {
  path: string;
  hierarchy: string;
  rel: string;
  depth: number; // number of path components in rel
  kind: DirKind;
  decision: Decision;
  bogus_pids_tree: boolean;
  pod_uid: string | null;
  container_id: string | null;
  /** Only for decision 'leaked'. */
  status?: LeakStatus;
}

export interface LeakedCgroup {
  path: string;
  kind: LeakKind;
  pod_uid: string | null;
  container_id: string | null;
  hierarchy: string;
  /** now - mtime: a lower bound of the real age (kernfs stamps times at first lookup); null if unknown. */
  age_s: number | null;
  /** This dir or a descendant holds processes; null when the processes were not read (prune mode). */
  populated: boolean | null;
  /** The bogus `pids/kubepods.slice/...` tree inside a v2 hierarchy (cri-o 6349). */
  bogus_pids_tree: boolean;
  status: LeakStatus;
  /** Processes in this dir itself. */
  pids: ProcessInfo[];
  /** For status 'blocked': the first descendant that is not removable. */
  blocked_by?: string;
}

export interface BusyCgroup {
  path: string;
  pids: ProcessInfo[];
  status: 'busy' | 'restart_needed' | 'reboot_required';
}

export interface HealthFacts {
  /** Per controller (/proc/cgroups) or per hierarchy of the node's own subtree (see num_cgroups_source). */
  num_cgroups: Record<string, number>;
  /** Where num_cgroups comes from; null when neither was read. */
  num_cgroups_source: 'subtree' | '/proc/cgroups' | null;
  nr_descendants: number | null;
  nr_dying_descendants: number | null;
  system_slice_memory_bytes: number | null;
  crio_memory_bytes: number | null;
  kubelet_cpu_cores: number | null;
  /** How kubelet was found: its own cgroup (system.slice/kubelet.service) or its process name; null: not sampled. */
  kubelet_found_by: 'cgroup' | 'comm' | null;
  crio_version: string | null;
  kubelet_version: string | null;
  /** crio in the affected range of reference section 2 (true), fixed (false), unknown (null). */
  crio_version_leaking: boolean | null;
  kubelet_log_counts: Record<string, number> | null;
  /** crio settings from its config files (null: not set there, crio's default applies). */
  crio_drop_infra_ctr?: boolean | null;
  crio_conmon_cgroup?: string | null;
  crio_cgroup_manager?: string | null;
  /** Pod dirs under <kubelet_root>/pods whose UID the runtime does not know (report only, never deleted). */
  kubelet_only_pods: string[];
}

export interface ClassifyOptions {
  /** Grace period in seconds; leaked dirs younger than this are 'too_young'. */
  minAgeS: number;
  /** Override the node's `now` (epoch seconds). */
  now?: number;
  /**
   * What a dir whose cgroup.procs was not read (CgroupDir.pids null) means. 'refuse' (default; every scan): classify
   * throws ClassifyError, so nothing is ever called empty from missing data. 'kernel-guard' (the prune only): such a
   * dir has no KNOWN processes; it may be planned, and the kernel's EBUSY on rmdir decides (the prune script then
   * reads and reports who holds it).
   */
  unreadProcs?: 'refuse' | 'kernel-guard';
}

export interface Classification {
  cgroup_mode: CgroupMode;
  /** false: the processes were not read (a prune-mode report): busy/populated are unknown here, the kernel decides. */
  procs_read: boolean;
  /** false: crictl failed / unparsable / kubelet dir unreadable. Then nothing is leaked and `runtime_error` says why. */
  runtime_ok: boolean;
  runtime_error: string | null;
  leaked: LeakedCgroup[];
  counts: {
    total: number;
    by_kind: Record<LeakKind, number>;
    by_hierarchy: Record<string, number>;
    by_status: Record<LeakStatus, number>;
    bogus_pids_tree: number;
  };
  live_pods: string[];
  terminating_pods: string[];
  busy: BusyCgroup[];
  too_young: string[];
  restart_needed: string[];
  reboot_required: string[];
  unknown_names: string[];
  health: HealthFacts;
  warnings: string[];
  /** Every scanned dir with its decision (large: keep it out of module results). */
  dirs: DirDecision[];
}

export interface PruneSkip {
  path: string;
  reason: string;
}

export interface PrunePlan {
  /** Paths to rmdir, in order: deepest first, every child before its parent. */
  remove: string[];
  skipped: PruneSkip[];
}

// ---------------------------------------------------------------- scan verdict

export type Verdict = 'clean' | 'leaking' | 'busy' | 'restart-needed' | 'reboot-required' | 'unknown';

export interface ScanRow {
  verdict: Verdict;
  leaked: number;
  leaked_by_kind: Record<LeakKind, number>;
  removable: number;
  busy: number;
  too_young: number;
  crio_memory_bytes: number | null;
  system_slice_memory_bytes: number | null;
  kubelet_cpu_cores: number | null;
  /** Max num_cgroups over /proc/cgroups rows (the leak shows in every controller). */
  num_cgroups: number | null;
  nr_dying_descendants: number | null;
  crio_version: string | null;
  crio_version_leaking: boolean | null;
  /** Why the verdict is 'unknown' (runtime error), else null. */
  reason: string | null;
}
