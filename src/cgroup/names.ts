/**
 * The cgroup name grammar of kubelet and cri-o (reference section 1), and the holder rule: the one place both live.
 * The classifier (kindOf), the history (kindOfPath), the one node builder of lab and tests (podRel,
 * containerDirName) and the remote prune script (its EREs, generated here: pruneScriptPatterns) all use it.
 *
 *   systemd driver   kubepods.slice / kubepods-{burstable,besteffort}.slice / kubepods[-QOS]-pod<U>.slice
 *                    (U = UID with '-' -> '_'), under a pod: crio-<H>.scope (container), crio-conmon-<H>.scope
 *                    (conmon), crio-<H> (sandbox, cri-o >= 1.24.6)
 *   cgroupfs driver  kubepods / {burstable,besteffort} / pod<u>, under a pod: crio-<H> (container or sandbox),
 *                    crio-conmon-<H>
 *   the same names inside the bogus `pids/kubepods.slice` tree of a v2 hierarchy (cri-o 6349).
 * A dir below a container-level dir (crun's `container` sub-cgroup on v2) is 'nested'. Any other name is 'unknown'.
 */
import type { DirKind, ProcessInfo } from './types.js';

export type Driver = 'systemd' | 'cgroupfs';
/** kubelet's QoS classes, each with its own place in the tree (guaranteed pods sit right under the root). */
export const QOS_CLASSES = ['guaranteed', 'burstable', 'besteffort'] as const;
export type Qos = (typeof QOS_CLASSES)[number];
export type ContainerDirKind = 'container' | 'conmon' | 'sandbox';

// The pieces, as ERE/JS regexp source (the same text serves both: no class or operator differs between them).
const HEX64 = '[0-9a-f]{64}';
const SD_UID = '[A-Za-z0-9_]+';
const FS_UID = '[A-Za-z0-9-]+';
const QOS = '(burstable|besteffort)';

const SD_QOS = new RegExp(`^kubepods-${QOS}\\.slice$`);
const SD_POD_GUARANTEED = new RegExp(`^kubepods-pod(${SD_UID})\\.slice$`);
const SD_POD_QOS = new RegExp(`^kubepods-${QOS}-pod(${SD_UID})\\.slice$`);
const FS_QOS = new RegExp(`^${QOS}$`);
const FS_POD = new RegExp(`^pod(${FS_UID})$`);

/** systemd escapes a UID's '-' as '_' in unit names. */
export const systemdUid = (uid: string): string => uid.replace(/-/g, '_');

export function kubepodsRootName(driver: Driver): string {
  return driver === 'systemd' ? 'kubepods.slice' : 'kubepods';
}

/** The pod slice's path relative to a hierarchy root. */
export function podRel(driver: Driver, qos: Qos, uid: string): string {
  if (driver === 'systemd') {
    const u = systemdUid(uid);
    if (qos === 'guaranteed') return `kubepods.slice/kubepods-pod${u}.slice`;
    return `kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${u}.slice`;
  }
  if (qos === 'guaranteed') return `kubepods/pod${uid}`;
  return `kubepods/${qos}/pod${uid}`;
}

/** The kubepods root and QoS dirs kubelet creates at start, relative to a hierarchy root, parents first. */
export function structuralRels(driver: Driver): string[] {
  return driver === 'systemd'
    ? ['kubepods.slice', 'kubepods.slice/kubepods-burstable.slice', 'kubepods.slice/kubepods-besteffort.slice']
    : ['kubepods', 'kubepods/burstable', 'kubepods/besteffort'];
}

/** A container-level dir's name under a pod. */
export function containerDirName(driver: Driver, kind: ContainerDirKind, id: string): string {
  if (kind === 'conmon') return driver === 'systemd' ? `crio-conmon-${id}.scope` : `crio-conmon-${id}`;
  if (kind === 'sandbox') return `crio-${id}`;
  return driver === 'systemd' ? `crio-${id}.scope` : `crio-${id}`;
}

/** The kind and ids of one dir (a scratch record kindOf fills: one allocation per classify, not per dir). */
export interface KindInfo {
  kind: DirKind;
  driver: Driver;
  qos: string | null;
  uid: string | null;
  id: string | null;
}

/** What a name's parent tells about it: its own kind and ids (kindOf needs no more). */
export type ParentKind = Readonly<KindInfo>;

export function newKindInfo(): KindInfo {
  return { kind: 'unknown', driver: 'systemd', qos: null, uid: null, id: null };
}

function ki(out: KindInfo, kind: DirKind, driver: Driver, qos: string | null, uid: string | null, id: string | null): KindInfo {
  out.kind = kind;
  out.driver = driver;
  out.qos = qos;
  out.uid = uid;
  out.id = id;
  return out;
}

const HEX64_AT = /[0-9a-f]{64}/y;
function isHex64At(name: string, from: number): boolean {
  HEX64_AT.lastIndex = from;
  return HEX64_AT.test(name);
}

/** `s` has the short literal `lit` at `pos` (char by char; long strings compare faster with slice + ===). */
export function hasAt(s: string, lit: string, pos: number): boolean {
  if (s.length < pos + lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (s.charCodeAt(pos + i) !== lit.charCodeAt(i)) return false;
  return true;
}

/**
 * The kind and ids of one dir, from its name and its parent's kind, into `out`. `topName`: for a dir with no
 * parent in scope, its name (kubepods.slice / kubepods make a root; anything else is unknown).
 */
export function kindOf(out: KindInfo, name: string, parent: ParentKind | null, topName: string | null): KindInfo {
  if (!parent) {
    if (topName === 'kubepods.slice') return ki(out, 'kubepods-root', 'systemd', null, null, null);
    if (topName === 'kubepods') return ki(out, 'kubepods-root', 'cgroupfs', null, null, null);
    return ki(out, 'unknown', 'systemd', null, null, null);
  }
  const driver = parent.driver;
  const qos = parent.qos;
  const uid = parent.uid;
  const id = parent.id;
  let m: RegExpExecArray | null;
  switch (parent.kind) {
    case 'kubepods-root':
      if (driver === 'systemd') {
        if ((m = SD_QOS.exec(name))) return ki(out, 'qos', driver, m[1]!, uid, id);
        if ((m = SD_POD_GUARANTEED.exec(name))) return ki(out, 'pod', driver, 'guaranteed', m[1]!.replace(/_/g, '-'), id);
      } else {
        if ((m = FS_QOS.exec(name))) return ki(out, 'qos', driver, m[1]!, uid, id);
        if ((m = FS_POD.exec(name))) return ki(out, 'pod', driver, 'guaranteed', m[1]!, id);
      }
      break;
    case 'qos':
      if (driver === 'systemd') {
        if ((m = SD_POD_QOS.exec(name)) && m[1] === qos) return ki(out, 'pod', driver, qos, m[2]!.replace(/_/g, '-'), id);
      } else if ((m = FS_POD.exec(name))) return ki(out, 'pod', driver, qos, m[1]!, id);
      break;
    case 'pod': {
      // the hot path at 100,000 dirs: fixed lengths (`crio-` + 64 hex (+ `.scope`), `crio-conmon-` + 64 hex
      // (+ `.scope`)) and one hex test, no capture groups
      if (!hasAt(name, 'crio-', 0)) break;
      const n = name.length;
      if (hasAt(name, 'crio-conmon-', 0)) {
        if ((driver === 'systemd' ? n === 82 && name.endsWith('.scope') : n === 76) && isHex64At(name, 12)) return ki(out, 'conmon', driver, qos, uid, name.slice(12, 76));
      } else if (driver === 'systemd') {
        if (n === 75 && name.endsWith('.scope')) {
          if (isHex64At(name, 5)) return ki(out, 'container', driver, qos, uid, name.slice(5, 69));
        } else if (n === 69 && isHex64At(name, 5)) return ki(out, 'sandbox', driver, qos, uid, name.slice(5));
      } else if (n === 69 && isHex64At(name, 5)) return ki(out, 'container', driver, qos, uid, name.slice(5));
      break;
    }
    case 'container':
    case 'conmon':
    case 'sandbox':
    case 'nested':
      return ki(out, 'nested', driver, qos, uid, id);
    default:
      break;
  }
  return ki(out, 'unknown', driver, qos, uid, id);
}

/** Length of the bogus `pids/` prefix (5) or 0; -1 when the dir (rel to its hierarchy) is outside the kubepods trees. */
export function scopeOffset(rel: string, v2: boolean): number {
  const off = v2 && hasAt(rel, 'pids/kubepods', 0) ? 5 : 0;
  if (hasAt(rel, 'kubepods', off)) {
    const after = rel.length > off + 8 ? rel.charCodeAt(off + 8) : 47; // '/' or end
    if (after === 47) return off;
    if (hasAt(rel, '.slice', off + 8) && (rel.length === off + 14 || rel.charCodeAt(off + 14) === 47)) return off;
  }
  return -1;
}

/**
 * The kind and ids of a dir given by its path relative to its hierarchy (the whole chain from the kubepods root
 * is parsed, so a name is judged in its place). Not for the hot path (classify walks the tree once instead).
 */
export function kindOfRel(rel: string, v2: boolean): KindInfo {
  const out = newKindInfo();
  const off = scopeOffset(rel, v2);
  if (off < 0) return out;
  const parts = rel.slice(off).split('/');
  let parent: ParentKind | null = null;
  for (let i = 0; i < parts.length; i++) {
    kindOf(out, parts[i]!, parent, i === 0 ? parts[0]! : null);
    if (out.kind === 'unknown') return out;
    parent = { ...out };
  }
  return out;
}

/**
 * The kind of an absolute cgroup path whose hierarchy is not known: parsed from its first `kubepods.slice` or
 * `kubepods` component (after a `pids` one: the bogus tree). For paths a result lists without their kind.
 */
export function kindOfPath(path: string): KindInfo {
  const parts = path.replace(/\/+$/, '').split('/');
  const i = parts.findIndex((p) => p === 'kubepods.slice' || p === 'kubepods');
  if (i < 0) return newKindInfo();
  return kindOfRel(parts.slice(i).join('/'), false);
}

/** From a pod slice's own name (either driver), the pod UID; null when it is not one. */
export function podUidOfName(name: string): string | null {
  const m = SD_POD_GUARANTEED.exec(name) ?? SD_POD_QOS.exec(name);
  if (m) return m[m.length - 1]!.replace(/_/g, '-');
  const f = FS_POD.exec(name);
  return f ? f[1]! : null;
}

// ---- the remote prune script's patterns (POSIX EREs over a path relative to its hierarchy)

const ere = {
  sdPod: `kubepods\\.slice/(kubepods-pod${SD_UID}\\.slice|kubepods-burstable\\.slice/kubepods-burstable-pod${SD_UID}\\.slice|kubepods-besteffort\\.slice/kubepods-besteffort-pod${SD_UID}\\.slice)`,
  fsPod: `kubepods/(${QOS}/)?pod${FS_UID}`,
  sdChild: `(crio-${HEX64}\\.scope|crio-conmon-${HEX64}\\.scope|crio-${HEX64})`,
  fsChild: `(crio-${HEX64}|crio-conmon-${HEX64})`,
};

/** ERE (relative to a hierarchy, no anchors) of the kubepods root and QoS dirs: protected, never removed. */
export const PROTECTED_REL_ERE = `(kubepods\\.slice(/kubepods-${QOS}\\.slice)?|kubepods(/${QOS})?)`;
/** ERE (relative to a hierarchy, no anchors) of every dir the grammar calls a pod, container, conmon, sandbox or nested. */
export const LEAKABLE_REL_ERE = `(${ere.sdPod}(/${ere.sdChild}(/[^/]+)*)?|${ere.fsPod}(/${ere.fsChild}(/[^/]+)*)?)`;

/** A string as an ERE matching itself. */
export function ereLiteral(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * The prune script's name checks for these hierarchies, one ERE per line: a plan line ends in ` <path>`, so each
 * is anchored at the space before the path and at the end. v2 hierarchies also take the bogus `pids/` tree.
 */
export function pruneScriptPatterns(hierarchies: { path: string; version: 'v1' | 'v2' }[]): { protected: string; leakable: string } {
  const lines = (rel: string) =>
    hierarchies.map((h) => ` ${ereLiteral(h.path)}/${h.version === 'v2' ? '(pids/)?' : ''}${rel}$`).join('\n');
  return { protected: lines(PROTECTED_REL_ERE), leakable: lines(LEAKABLE_REL_ERE) };
}

// ---- the holder rule

/** argv[0] of crio itself (an ERE, the whole argv[0]; the prune script gets the same text). */
export const CRIO_ARGV0_ERE = '(.*/)?crio';
const CRIO_ARGV0 = new RegExp(`^${CRIO_ARGV0_ERE}$`);

/**
 * crio itself (comm or argv[0]): only a crio restart frees what it holds, and it is never killed. conmon is NOT
 * crio: an ordinary straggler (a kill of a confirmed orphan's conmon frees it; conmon outlives crio restarts).
 */
export function isCrioProcess(p: { comm: string; cmdline: string }): boolean {
  if (p.comm === 'crio') return true;
  return CRIO_ARGV0.test(p.cmdline.split(' ')[0] ?? '');
}

/**
 * What the processes holding a leaked cgroup mean, first match wins: one in D state, no kill and no rmdir helps
 * (reboot_required); crio's own, only a crio restart frees it (restart_needed); else busy.
 */
export function holderStatus(pids: readonly Pick<ProcessInfo, 'state' | 'comm' | 'cmdline'>[]): 'busy' | 'restart_needed' | 'reboot_required' {
  if (pids.some((p) => p.state === 'D')) return 'reboot_required';
  if (pids.some(isCrioProcess)) return 'restart_needed';
  return 'busy';
}
