/**
 * Classify every kubepods dir of a collected node and plan a prune (pure).
 *
 * Names: the grammar is src/cgroup/names.ts (kindOf); any name it does not know is 'unknown': never touched,
 * and its ancestors are never removed.
 *
 * Decisions: the kubepods root and QoS dirs are protected. A pod is live when the runtime knows its UID (pods'
 * metadata.uid, containers' io.kubernetes.pod.uid, a container's sandbox), terminating when only the kubelet's
 * pods dir knows it (then nothing under it is touched), leaked otherwise. Under a pod that is live or leaked, a
 * container-level dir is live when its id is a container or sandbox id the runtime knows, leaked otherwise.
 * When the runtime state or the kubelet dir cannot be read, nothing is leaked (fail closed).
 *
 * Processes: a scan reads every cgroup.procs. A prune-mode report does not (CgroupDir.pids null): a scan refuses
 * such a report (ClassifyError); the prune classifies it with unreadProcs 'kernel-guard', where a dir has no KNOWN
 * processes, so the statuses busy / restart_needed / reboot_required cannot occur here: the kernel's EBUSY on rmdir
 * finds them, and the prune script reads and reports who holds what it could not remove.
 *
 * Status of a leaked dir, first match wins:
 *   reboot_required  a process in it is in D state (no kill, no rmdir helps)
 *   restart_needed   a process in it is crio itself (comm or argv[0] `crio`): the story's case, where only a crio
 *                    restart frees the cgroup. conmon is NOT counted here: it is an ordinary straggler (a kill of a
 *                    confirmed orphan's conmon frees it; a crio restart would not, conmon outlives crio restarts).
 *   busy             any other process in it, or v2 says populated with no process seen below
 *   blocked          a descendant is not removable (busy, too young, live, terminating, unknown name)
 *   too_young        now - mtime < min_age. mtime is a LOWER bound of the age: kernfs stamps an inode's times
 *                    when it is first looked up (and on child changes), never before creation; a dir nobody
 *                    looked at shows "now" at its first stat. So the grace period can only be longer than asked.
 *                    An unknown mtime counts as too young.
 *   removable
 */
import type {
  BusyCgroup,
  Classification,
  ClassifyOptions,
  CollectedNode,
  CommandOutput,
  Decision,
  DirDecision,
  DirKind,
  HealthFacts,
  RawHealth,
  LeakKind,
  LeakStatus,
  LeakedCgroup,
  PrunePlan,
  PruneSkip,
  ProcessInfo,
  RuntimeState,
} from './types.js';
import { ClassifyError } from './types.js';
import { parseRuntimeState } from './crictl.js';
import { hasAt, holderStatus, kindOf, newKindInfo, scopeOffset, type Driver, type KindInfo, type ParentKind } from './names.js';

function decide(kind: DirKind, parentDecision: Decision | undefined, uid: string | null, id: string | null, rt: RuntimeState, kubeletUids: Set<string>): Decision {
  if (kind === 'kubepods-root' || kind === 'qos') return 'protected';
  if (kind === 'unknown') return 'unknown-name';
  if (!rt.ok) return 'undecided';
  if (kind === 'pod') {
    if (uid !== null && rt.podUids.has(uid)) return 'live';
    if (uid !== null && kubeletUids.has(uid)) return 'terminating';
    return 'leaked';
  }
  const pd = parentDecision;
  if (kind === 'nested') return pd ?? 'unknown-name';
  // container / conmon / sandbox: follows a terminating pod; else by its own id
  if (pd === 'terminating' || pd === 'undecided' || pd === 'unknown-name' || pd === 'protected') return pd;
  if (id !== null && (rt.containerIds.has(id) || rt.sandboxIds.has(id))) return 'live';
  return 'leaked';
}

/** crio in the affected range of reference section 2 (cri-o 6349). null when the version is unknown. */
export function crioVersionLeaking(version: string | null): boolean | null {
  if (!version) return null;
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return null;
  const [maj, min, pat] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (maj !== 1) return false;
  if (min === 23) return true; // never fixed in an upstream 1.23 tag
  if (min === 24) return pat < 5;
  if (min === 25) return pat < 3;
  if (min === 26) return pat < 2;
  return false; // <= 1.22 predates drop_infra_ctr's leak; >= 1.27.0 is fixed
}

function versionOf(out: CommandOutput | null): string | null {
  if (!out || out.rc !== 0) return null;
  const m = /v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)/.exec(out.stdout);
  return m ? m[1]! : null;
}

/** The health facts of a raw health report (a scan's, or the one a prune measured after acting). */
export function healthFacts(h: RawHealth, terminating: string[]): HealthFacts {
  const num: Record<string, number> = {};
  if (h.numCgroupsSubtree) Object.assign(num, h.numCgroupsSubtree);
  else for (const r of h.procCgroups) if (r.enabled) num[r.subsys] = r.num_cgroups;
  let cores: number | null = null;
  if (h.kubeletCpu && h.kubeletCpu.intervalS > 0 && h.kubeletCpu.clkTck > 0) {
    cores = Math.max(0, (h.kubeletCpu.ticks1 - h.kubeletCpu.ticks0) / h.kubeletCpu.clkTck / h.kubeletCpu.intervalS);
    cores = Math.round(cores * 100) / 100;
  }
  const crio = versionOf(h.crioVersion);
  return {
    num_cgroups: num,
    num_cgroups_source: h.numCgroupsSubtree ? 'subtree' : h.procCgroups.length > 0 ? '/proc/cgroups' : null,
    nr_descendants: h.nrDescendants,
    nr_dying_descendants: h.nrDyingDescendants,
    system_slice_memory_bytes: h.systemSliceMemoryBytes,
    crio_memory_bytes: h.crioMemoryBytes,
    kubelet_cpu_cores: cores,
    kubelet_found_by: cores === null ? null : (h.kubeletCpu?.foundBy ?? null),
    crio_version: crio,
    kubelet_version: versionOf(h.kubeletVersion),
    crio_version_leaking: crioVersionLeaking(crio),
    kubelet_log_counts: h.kubeletLogCounts,
    crio_drop_infra_ctr: h.crioConfig?.drop_infra_ctr === undefined ? null : h.crioConfig.drop_infra_ctr === 'true',
    crio_conmon_cgroup: h.crioConfig?.conmon_cgroup ?? null,
    crio_cgroup_manager: h.crioConfig?.cgroup_manager ?? null,
    kubelet_only_pods: terminating,
  };
}

const NO_PIDS: readonly number[] = Object.freeze([]);
/** The (frozen, shared) pids of a leaked dir with none: one array for all of them, not one per dir. */
const NO_PROCS: readonly ProcessInfo[] = Object.freeze([]);
const LEAK_KINDS: LeakKind[] = ['pod', 'container', 'conmon', 'sandbox', 'nested'];
const LEAK_STATUSES: LeakStatus[] = ['removable', 'too_young', 'busy', 'restart_needed', 'reboot_required', 'blocked'];

function depthOf(rel: string): number {
  let n = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

export function classify(node: CollectedNode, opts: ClassifyOptions): Classification {
  const now = opts.now ?? node.now;
  const minAge = opts.minAgeS;
  // Unread processes are "unknown", never "none": only the prune, whose last guard is the kernel, takes them.
  let unread = 0;
  for (const d of node.dirs) if (d.pids === null) unread++;
  if (unread > 0 && opts.unreadProcs !== 'kernel-guard') {
    throw new ClassifyError(
      `the processes of ${unread} cgroup dir${unread === 1 ? ' were' : 's were'} not read (a prune-mode report): cannot tell empty from busy, so nothing is classified`,
    );
  }
  const procsRead = unread === 0;
  let rt = parseRuntimeState(node.crictlPods, node.crictlContainers);
  if (rt.ok && !node.kubeletPods.ok) rt = { ok: false, reason: node.kubeletPods.reason };
  const kubeletUids = new Set(node.kubeletPods.ok ? node.kubeletPods.uids : []);
  const liveUids = rt.ok ? rt.podUids : new Set<string>();
  const terminating = rt.ok ? [...kubeletUids].filter((u) => !liveUids.has(u)).sort() : [];
  const hv = new Map(node.hierarchies.map((h) => [h.name, h.version] as const));
  const warnings = [...node.warnings];

  // Parents before children: bucket by depth (a sort of 100k paths is avoidable). Buckets hold dir indices.
  // Each dir's parent: find lists a tree parent first (pre-order), so the candidate is the last dir seen one level
  // up in the same hierarchy, checked by its path; only a dir whose candidate fails that check (a listing in another
  // order) is looked up by path, in a map built then (hashing 100,000 long paths costs more than the rest).
  const dirsIn = node.dirs;
  const byDepth: number[][] = [];
  const offsets = new Uint8Array(dirsIn.length);
  const parentIdx = new Int32Array(dirsIn.length).fill(-1);
  const unresolved: number[] = [];
  const lastAt = new Map<string, number[]>();
  let outside = 0;
  for (let i = 0; i < dirsIn.length; i++) {
    const dir = dirsIn[i]!;
    const off = scopeOffset(dir.rel, hv.get(dir.hierarchy) === 'v2');
    if (off < 0) {
      outside++;
      continue;
    }
    offsets[i] = off;
    const depth = depthOf(dir.rel);
    (byDepth[depth] ??= []).push(i);
    let last = lastAt.get(dir.hierarchy);
    if (!last) lastAt.set(dir.hierarchy, (last = []));
    // the top of a tree (kubepods.slice, kubepods, pids/kubepods.slice) has no parent in scope
    if (depth > (off > 0 ? 2 : 1)) {
      const cand = last[depth - 1];
      const slash = dir.path.lastIndexOf('/');
      const cp = cand === undefined ? undefined : dirsIn[cand]!.path;
      if (cp !== undefined && cp.length === slash && dir.path.slice(0, slash) === cp) parentIdx[i] = cand!; // (slice + === compares memory: far faster than char by char)
      else unresolved.push(i);
    }
    last[depth] = i;
  }
  if (unresolved.length > 0) {
    // by path, among the dirs one level up only (a map per level, built when needed)
    const levels = new Map<number, Map<string, number>>();
    for (const i of unresolved) {
      const p = dirsIn[i]!.path;
      const up = depthOf(dirsIn[i]!.rel) - 1;
      let byPath = levels.get(up);
      if (!byPath) {
        byPath = new Map<string, number>();
        for (const j of byDepth[up] ?? []) byPath.set(dirsIn[j]!.path, j);
        levels.set(up, byPath);
      }
      parentIdx[i] = byPath.get(p.slice(0, p.lastIndexOf('/'))) ?? -1;
    }
  }
  if (outside) warnings.push(`${outside} dirs outside kubepods ignored`);

  // Top-down (parents first): kind and decision. Per-dir state lives in arrays indexed by dir index.
  const n = dirsIn.length;
  const dd: (DirDecision | undefined)[] = new Array<DirDecision | undefined>(n);
  const drv: Driver[] = new Array<Driver>(n);
  const qosOf: (string | null)[] = new Array<string | null>(n);
  const order: number[] = [];
  const k = newKindInfo();
  const pinfo: KindInfo = newKindInfo(); // the parent's kind, refilled per dir
  for (let depth = 0; depth < byDepth.length; depth++) {
    const bucket = byDepth[depth];
    if (!bucket) continue;
    for (const di of bucket) {
      const dir = dirsIn[di]!;
      const off = offsets[di]!;
      const slash = dir.path.lastIndexOf('/');
      const pi = parentIdx[di]!;
      let parent: ParentKind | null = null;
      const pd = pi >= 0 ? dd[pi] : undefined;
      if (pd !== undefined) {
        pinfo.kind = pd.kind;
        pinfo.driver = drv[pi]!;
        pinfo.qos = qosOf[pi]!;
        pinfo.uid = pd.pod_uid;
        pinfo.id = pd.container_id;
        parent = pinfo;
      }
      const top = parent || dir.rel.indexOf('/', off) >= 0 ? null : dir.rel.slice(off);
      kindOf(k, dir.path.slice(slash + 1), parent, top);
      const decision = decide(k.kind, pd?.decision, k.uid, k.id, rt, kubeletUids);
      dd[di] = {
        path: dir.path,
        hierarchy: dir.hierarchy,
        rel: dir.rel,
        depth,
        kind: k.kind,
        decision,
        bogus_pids_tree: off > 0,
        pod_uid: k.uid,
        container_id: k.id,
        status: undefined, // set bottom-up for leaked dirs (declared here: no second property store per object)
      };
      drv[di] = k.driver;
      qosOf[di] = k.qos;
      order.push(di);
    }
  }

  // Bottom-up: processes and blockers flow to the parents.
  const procOf = (pid: number): ProcessInfo => node.procs[pid] ?? { pid, state: '?', cmdline: '', comm: '' };
  const subtreeHasProcs = new Uint8Array(n);
  const blockerOf: (string | null)[] = new Array<string | null>(n).fill(null);
  const leaked: LeakedCgroup[] = [];
  for (let i = order.length - 1; i >= 0; i--) {
    const di = order[i]!;
    const d = dd[di]!;
    const dir = dirsIn[di]!;
    const pids = dir.pids ?? NO_PIDS;
    const ownProcs = pids.length > 0;
    const sub = subtreeHasProcs[di] === 1;
    const blocker = blockerOf[di]!;
    const hasProcs = ownProcs || sub || dir.populated === true;
    if (d.decision === 'leaked') {
      let status: LeakStatus;
      const procs = ownProcs ? pids.map(procOf) : (NO_PROCS as ProcessInfo[]);
      if (ownProcs) status = holderStatus(procs);
      else if (dir.populated === true && !sub && blocker === null) status = 'busy';
      else if (blocker !== null) status = 'blocked';
      else if (dir.mtime === null || now - dir.mtime < minAge) status = 'too_young';
      else status = 'removable';
      d.status = status;
      const age = dir.mtime === null ? null : Math.max(0, now - dir.mtime);
      const entry: LeakedCgroup = {
        path: d.path,
        kind: d.kind as LeakKind,
        pod_uid: d.pod_uid,
        container_id: d.container_id,
        hierarchy: d.hierarchy,
        age_s: age,
        populated: procsRead ? hasProcs : null,
        bogus_pids_tree: d.bogus_pids_tree,
        status,
        pids: procs,
      };
      if (status === 'blocked') entry.blocked_by = blocker!;
      leaked.push(entry);
    }
    const p = parentIdx[di]!;
    if (p >= 0 && dd[p] !== undefined) {
      if (hasProcs) subtreeHasProcs[p] = 1;
      if (blockerOf[p] === null && !(d.decision === 'leaked' && d.status === 'removable')) {
        blockerOf[p] = d.status === 'blocked' ? blocker : d.path;
      }
    }
  }
  leaked.reverse(); // parents first, in listing order: easier to read

  const byKind = Object.fromEntries(LEAK_KINDS.map((k) => [k, 0])) as Record<LeakKind, number>;
  const byStatus = Object.fromEntries(LEAK_STATUSES.map((k) => [k, 0])) as Record<LeakStatus, number>;
  const byHierarchy: Record<string, number> = {};
  let bogus = 0;
  const busy: BusyCgroup[] = [];
  const tooYoung: string[] = [];
  const restart: string[] = [];
  const reboot: string[] = [];
  for (const l of leaked) {
    byKind[l.kind]++;
    byStatus[l.status]++;
    byHierarchy[l.hierarchy] = (byHierarchy[l.hierarchy] ?? 0) + 1;
    if (l.bogus_pids_tree) bogus++;
    if (l.status === 'busy' || l.status === 'restart_needed' || l.status === 'reboot_required') busy.push({ path: l.path, pids: l.pids, status: l.status });
    if (l.status === 'too_young') tooYoung.push(l.path);
    if (l.status === 'restart_needed') restart.push(l.path);
    if (l.status === 'reboot_required') reboot.push(l.path);
  }
  const unknownNames: string[] = [];
  for (const di of order) {
    const pi = parentIdx[di]!;
    if (dd[di]!.kind === 'unknown' && !(pi >= 0 && dd[pi]?.kind === 'unknown')) unknownNames.push(dd[di]!.path);
  }

  return {
    cgroup_mode: node.mode,
    procs_read: procsRead,
    runtime_ok: rt.ok,
    runtime_error: rt.ok ? null : rt.reason,
    leaked,
    counts: { total: leaked.length, by_kind: byKind, by_hierarchy: byHierarchy, by_status: byStatus, bogus_pids_tree: bogus },
    live_pods: [...liveUids].sort(),
    terminating_pods: terminating,
    busy,
    too_young: tooYoung,
    restart_needed: restart,
    reboot_required: reboot,
    unknown_names: unknownNames,
    health: healthFacts(node.health, terminating),
    warnings,
    dirs: order.map((di) => dd[di]!),
  };
}

/** True when `d` may be rmdir'd at all: a leaked, removable dir below the kubepods root / QoS level. */
function inPruneScope(d: DirDecision): boolean {
  if (d.decision !== 'leaked' || d.status !== 'removable') return false;
  if (d.kind === 'kubepods-root' || d.kind === 'qos' || d.kind === 'unknown') return false;
  const off = d.bogus_pids_tree ? 5 : 0;
  const at = d.path.length - d.rel.length; // the path ends with `/${rel}`
  return (hasAt(d.rel, 'kubepods.slice/', off) || hasAt(d.rel, 'kubepods/', off)) && at > 0 && d.path.charCodeAt(at - 1) === 47 && d.path.slice(at) === d.rel;
}

/**
 * What a prune would rmdir: every removable leaked dir, deepest first (a child always before its parent; a
 * parent is removable only when all its children are, see classify), capped at maxRemovals. Because the order
 * is deepest first over the whole node, a cap drops parents before it drops any of their children.
 */
export function planPrune(c: Classification, opts: { maxRemovals: number }): PrunePlan {
  const p = planPruneDirs(c, opts);
  return { remove: p.remove.map((d) => d.path), skipped: p.skipped };
}

/** planPrune, giving the planned dirs' decisions (pod UID, container id) instead of their paths. */
export function planPruneDirs(c: Classification, opts: { maxRemovals: number }): { remove: DirDecision[]; skipped: PruneSkip[] } {
  const skipped: PruneSkip[] = [];
  if (!c.runtime_ok) return { remove: [], skipped: [{ path: '*', reason: `runtime state unknown, nothing is pruned: ${c.runtime_error}` }] };
  // deepest first; within a depth the listing order (no string sort: 100,000 long paths share long prefixes)
  const byDepth: DirDecision[][] = [];
  for (const d of c.dirs) if (inPruneScope(d)) (byDepth[d.depth] ??= []).push(d);
  const candidates: DirDecision[] = [];
  for (let i = byDepth.length - 1; i >= 0; i--) for (const d of byDepth[i] ?? []) candidates.push(d);
  const cap = Math.max(0, Math.floor(opts.maxRemovals));
  const remove = candidates.length > cap ? candidates.slice(0, cap) : candidates;
  for (const d of candidates.slice(cap)) skipped.push({ path: d.path, reason: `max_removals (${cap}) reached` });
  for (const l of c.leaked) {
    if (l.status === 'removable') continue;
    skipped.push({ path: l.path, reason: l.status === 'blocked' ? `blocked by ${l.blocked_by}` : l.status });
  }
  return { remove, skipped };
}
