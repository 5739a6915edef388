/**
 * Classify every kubepods dir of a collected node and plan a prune (pure).
 *
 * Names (reference section 1):
 *   systemd driver   kubepods.slice / kubepods-{burstable,besteffort}.slice / kubepods[-QOS]-pod<U>.slice
 *                    (U = UID with '-' -> '_'), under a pod: crio-<H>.scope (container), crio-conmon-<H>.scope
 *                    (conmon), crio-<H> (sandbox, cri-o >= 1.24.6)
 *   cgroupfs driver  kubepods / {burstable,besteffort} / pod<u>, under a pod: crio-<H> (container or sandbox),
 *                    crio-conmon-<H>
 *   the same names inside the bogus `pids/kubepods.slice` tree of a v2 hierarchy (cri-o 6349).
 * A dir below a container-level dir (crun's `container` sub-cgroup on v2) is 'nested' and follows that dir.
 * Any other name is 'unknown': never touched, and its ancestors are never removed.
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

const HEX64 = '[0-9a-f]{64}';
const SD_QOS = /^kubepods-(burstable|besteffort)\.slice$/;
const SD_POD_GUARANTEED = /^kubepods-pod([A-Za-z0-9_]+)\.slice$/;
const SD_POD_QOS = /^kubepods-(burstable|besteffort)-pod([A-Za-z0-9_]+)\.slice$/;
const SD_CONMON = new RegExp(`^crio-conmon-(${HEX64})\\.scope$`);
const SD_CONTAINER = new RegExp(`^crio-(${HEX64})\\.scope$`);
const SD_SANDBOX = new RegExp(`^crio-(${HEX64})$`);
const FS_QOS = /^(burstable|besteffort)$/;
const FS_POD = /^pod([A-Za-z0-9-]+)$/;
const FS_CONMON = new RegExp(`^crio-conmon-(${HEX64})$`);
const FS_CONTAINER = new RegExp(`^crio-(${HEX64})$`);

type Driver = 'systemd' | 'cgroupfs';

interface Node {
  d: DirDecision;
  driver: Driver;
  qos: string | null;
  /** Own pids; empty also when unread (then the kernel guards, see classify). */
  pids: readonly number[];
  populated: boolean | null;
  mtime: number | null;
  parent: Node | null;
  /** Filled bottom-up. */
  subtreeHasProcs: boolean;
  blocker: string | null;
}

interface KindInfo {
  kind: DirKind;
  driver: Driver;
  qos: string | null;
  uid: string | null;
  id: string | null;
}

function ki(kind: DirKind, driver: Driver, qos: string | null, uid: string | null, id: string | null): KindInfo {
  return { kind, driver, qos, uid, id };
}

/** The kind and ids of one dir, from its name and its parent's kind. */
function kindOf(name: string, parent: Node | null, topName: string | null): KindInfo {
  if (!parent) {
    if (topName === 'kubepods.slice') return ki('kubepods-root', 'systemd', null, null, null);
    if (topName === 'kubepods') return ki('kubepods-root', 'cgroupfs', null, null, null);
    return ki('unknown', 'systemd', null, null, null);
  }
  const driver = parent.driver;
  const pk = parent.d.kind;
  const qos = parent.qos;
  const uid = parent.d.pod_uid;
  const id = parent.d.container_id;
  let m: RegExpExecArray | null;
  switch (pk) {
    case 'kubepods-root':
      if (driver === 'systemd') {
        if ((m = SD_QOS.exec(name))) return ki('qos', driver, m[1]!, uid, id);
        if ((m = SD_POD_GUARANTEED.exec(name))) return ki('pod', driver, 'guaranteed', m[1]!.replace(/_/g, '-'), id);
      } else {
        if ((m = FS_QOS.exec(name))) return ki('qos', driver, m[1]!, uid, id);
        if ((m = FS_POD.exec(name))) return ki('pod', driver, 'guaranteed', m[1]!, id);
      }
      break;
    case 'qos':
      if (driver === 'systemd') {
        if ((m = SD_POD_QOS.exec(name)) && m[1] === qos) return ki('pod', driver, qos, m[2]!.replace(/_/g, '-'), id);
      } else if ((m = FS_POD.exec(name))) return ki('pod', driver, qos, m[1]!, id);
      break;
    case 'pod':
      // cheap prefix tests first: at 100,000 dirs the regexes are the hot path
      if (!name.startsWith('crio-')) break;
      if (name.startsWith('crio-conmon-')) {
        if ((m = (driver === 'systemd' ? SD_CONMON : FS_CONMON).exec(name))) return ki('conmon', driver, qos, uid, m[1]!);
      } else if (driver === 'systemd') {
        if (name.endsWith('.scope')) {
          if ((m = SD_CONTAINER.exec(name))) return ki('container', driver, qos, uid, m[1]!);
        } else if ((m = SD_SANDBOX.exec(name))) return ki('sandbox', driver, qos, uid, m[1]!);
      } else if ((m = FS_CONTAINER.exec(name))) return ki('container', driver, qos, uid, m[1]!);
      break;
    case 'container':
    case 'conmon':
    case 'sandbox':
    case 'nested':
      return ki('nested', driver, qos, uid, id);
    default:
      break;
  }
  return ki('unknown', driver, qos, uid, id);
}

function decide(kind: DirKind, parent: Node | null, uid: string | null, id: string | null, rt: RuntimeState, kubeletUids: Set<string>): Decision {
  if (kind === 'kubepods-root' || kind === 'qos') return 'protected';
  if (kind === 'unknown') return 'unknown-name';
  if (!rt.ok) return 'undecided';
  if (kind === 'pod') {
    if (uid !== null && rt.podUids.has(uid)) return 'live';
    if (uid !== null && kubeletUids.has(uid)) return 'terminating';
    return 'leaked';
  }
  const pd = parent?.d.decision;
  if (kind === 'nested') return pd ?? 'unknown-name';
  // container / conmon / sandbox: follows a terminating pod; else by its own id
  if (pd === 'terminating' || pd === 'undecided' || pd === 'unknown-name' || pd === 'protected') return pd;
  if (id !== null && (rt.containerIds.has(id) || rt.sandboxIds.has(id))) return 'live';
  return 'leaked';
}

function isCrio(p: ProcessInfo): boolean {
  if (p.comm === 'crio') return true;
  const argv0 = p.cmdline.split(' ')[0] ?? '';
  return argv0 === 'crio' || argv0.endsWith('/crio');
}

function holderStatus(pids: ProcessInfo[]): 'busy' | 'restart_needed' | 'reboot_required' {
  if (pids.some((p) => p.state === 'D')) return 'reboot_required';
  if (pids.some(isCrio)) return 'restart_needed';
  return 'busy';
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

function healthFacts(node: CollectedNode, terminating: string[]): HealthFacts {
  const h = node.health;
  const num: Record<string, number> = {};
  for (const r of h.procCgroups) if (r.enabled) num[r.subsys] = r.num_cgroups;
  let cores: number | null = null;
  if (h.kubeletCpu && h.kubeletCpu.intervalS > 0 && h.kubeletCpu.clkTck > 0) {
    cores = Math.max(0, (h.kubeletCpu.ticks1 - h.kubeletCpu.ticks0) / h.kubeletCpu.clkTck / h.kubeletCpu.intervalS);
    cores = Math.round(cores * 100) / 100;
  }
  const crio = versionOf(h.crioVersion);
  return {
    num_cgroups: num,
    nr_descendants: h.nrDescendants,
    nr_dying_descendants: h.nrDyingDescendants,
    system_slice_memory_bytes: h.systemSliceMemoryBytes,
    crio_memory_bytes: h.crioMemoryBytes,
    kubelet_cpu_cores: cores,
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
const LEAK_KINDS: LeakKind[] = ['pod', 'container', 'conmon', 'sandbox', 'nested'];
const LEAK_STATUSES: LeakStatus[] = ['removable', 'too_young', 'busy', 'restart_needed', 'reboot_required', 'blocked'];

/** Length of the bogus `pids/` prefix (5) or 0; -1 when the dir is outside the scanned trees. */
function scopeOffset(rel: string, v2: boolean): number {
  const off = v2 && rel.startsWith('pids/kubepods') ? 5 : 0;
  if (rel.startsWith('kubepods', off)) {
    const after = rel.length > off + 8 ? rel.charCodeAt(off + 8) : 47; // '/' or end
    if (after === 47) return off;
    if (rel.startsWith('.slice', off + 8) && (rel.length === off + 14 || rel.charCodeAt(off + 14) === 47)) return off;
  }
  return -1;
}

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

  // Parents before children: bucket by depth (a sort of 100k paths is avoidable).
  const byDepth: CollectedNode['dirs'][number][][] = [];
  const offsets = new Map<CollectedNode['dirs'][number], number>();
  let outside = 0;
  for (const dir of node.dirs) {
    const off = scopeOffset(dir.rel, hv.get(dir.hierarchy) === 'v2');
    if (off < 0) {
      outside++;
      continue;
    }
    if (off) offsets.set(dir, off);
    (byDepth[depthOf(dir.rel)] ??= []).push(dir);
  }
  if (outside) warnings.push(`${outside} dirs outside kubepods ignored`);

  const nodes = new Map<string, Node>();
  const order: Node[] = [];
  for (let depth = 0; depth < byDepth.length; depth++) {
    const bucket = byDepth[depth];
    if (!bucket) continue;
    for (const dir of bucket) {
      const off = offsets.get(dir) ?? 0;
      const bogus = off > 0;
      const slash = dir.path.lastIndexOf('/');
      const parent = nodes.get(dir.path.slice(0, slash)) ?? null;
      const name = dir.path.slice(slash + 1);
      const top = parent || dir.rel.indexOf('/', off) >= 0 ? null : dir.rel.slice(off);
      const k = kindOf(name, parent, top);
      const decision = decide(k.kind, parent, k.uid, k.id, rt, kubeletUids);
      const d: DirDecision = {
        path: dir.path,
        hierarchy: dir.hierarchy,
        rel: dir.rel,
        depth,
        kind: k.kind,
        decision,
        bogus_pids_tree: bogus,
        pod_uid: k.uid,
        container_id: k.id,
      };
      const n: Node = { d, driver: k.driver, qos: k.qos, pids: dir.pids ?? NO_PIDS, populated: dir.populated, mtime: dir.mtime, parent, subtreeHasProcs: false, blocker: null };
      nodes.set(dir.path, n);
      order.push(n);
    }
  }

  // Bottom-up: processes and blockers flow to the parents.
  const procOf = (pid: number): ProcessInfo => node.procs[pid] ?? { pid, state: '?', cmdline: '', comm: '' };
  const leaked: LeakedCgroup[] = [];
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const d = n.d;
    const ownProcs = n.pids.length > 0;
    const hasProcs = ownProcs || n.subtreeHasProcs || n.populated === true;
    if (d.decision === 'leaked') {
      let status: LeakStatus;
      if (ownProcs) status = holderStatus(n.pids.map(procOf));
      else if (n.populated === true && !n.subtreeHasProcs && n.blocker === null) status = 'busy';
      else if (n.blocker !== null) status = 'blocked';
      else if (n.mtime === null || now - n.mtime < minAge) status = 'too_young';
      else status = 'removable';
      d.status = status;
      const age = n.mtime === null ? null : Math.max(0, now - n.mtime);
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
        pids: n.pids.map(procOf),
      };
      if (status === 'blocked') entry.blocked_by = n.blocker!;
      leaked.push(entry);
    }
    const p = n.parent;
    if (p) {
      if (hasProcs) p.subtreeHasProcs = true;
      if (p.blocker === null && !(d.decision === 'leaked' && d.status === 'removable')) {
        p.blocker = d.status === 'blocked' ? n.blocker : d.path;
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
  const unknownNames = order.filter((n) => n.d.kind === 'unknown' && n.parent?.d.kind !== 'unknown').map((n) => n.d.path);

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
    health: healthFacts(node, terminating),
    warnings,
    dirs: order.map((n) => n.d),
  };
}

/** True when `d` may be rmdir'd at all: a leaked, removable dir below the kubepods root / QoS level. */
function inPruneScope(d: DirDecision): boolean {
  if (d.decision !== 'leaked' || d.status !== 'removable') return false;
  if (d.kind === 'kubepods-root' || d.kind === 'qos' || d.kind === 'unknown') return false;
  const rel = d.bogus_pids_tree ? d.rel.slice(5) : d.rel;
  return (rel.startsWith('kubepods.slice/') || rel.startsWith('kubepods/')) && d.path.endsWith(`/${d.rel}`);
}

/**
 * What a prune would rmdir: every removable leaked dir, deepest first (a child always before its parent; a
 * parent is removable only when all its children are, see classify), capped at maxRemovals. Because the order
 * is deepest first over the whole node, a cap drops parents before it drops any of their children.
 */
export function planPrune(c: Classification, opts: { maxRemovals: number }): PrunePlan {
  const skipped: PruneSkip[] = [];
  if (!c.runtime_ok) return { remove: [], skipped: [{ path: '*', reason: `runtime state unknown, nothing is pruned: ${c.runtime_error}` }] };
  // deepest first; within a depth the listing order (no string sort: 100,000 long paths share long prefixes)
  const byDepth: DirDecision[][] = [];
  for (const d of c.dirs) if (inPruneScope(d)) (byDepth[d.depth] ??= []).push(d);
  const candidates: DirDecision[] = [];
  for (let i = byDepth.length - 1; i >= 0; i--) for (const d of byDepth[i] ?? []) candidates.push(d);
  const cap = Math.max(0, Math.floor(opts.maxRemovals));
  const remove = candidates.slice(0, cap).map((d) => d.path);
  for (const d of candidates.slice(cap)) skipped.push({ path: d.path, reason: `max_removals (${cap}) reached` });
  for (const l of c.leaked) {
    if (l.status === 'removable') continue;
    skipped.push({ path: l.path, reason: l.status === 'blocked' ? `blocked by ${l.blocked_by}` : l.status });
  }
  return { remove, skipped };
}
