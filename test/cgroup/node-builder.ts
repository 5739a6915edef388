/**
 * Simulated Kubernetes nodes in this machine's REAL cgroup hierarchies, for tests and the benchmark.
 *
 * Everything is created in fresh subtrees named `nodesweep-test-<random>` and removed by cleanup();
 * no other cgroup is ever written to, except the hierarchy roots' cgroup.procs when our own test processes
 * are moved back out before they are killed.
 *
 * - v1 node: a temp dir ROOT whose entries are symlinks to per-controller subtrees
 *   (ROOT/memory -> /sys/fs/cgroup/memory/nodesweep-test-X, ROOT/cpu,cpuacct -> /sys/fs/cgroup/cpu/nodesweep-test-X,
 *   ROOT/cpu and ROOT/cpuacct -> cpu,cpuacct inside ROOT, ROOT/unified -> /sys/fs/cgroup/unified/nodesweep-test-X),
 *   shaped like a real hybrid node's /sys/fs/cgroup.
 * - v2 node: /sys/fs/cgroup/unified/nodesweep-test-Y itself (a cgroup2fs dir), with the bogus `pids/` tree
 *   cri-o 1.24 created on v2 when asked.
 * Pods get their dirs in every hierarchy (systemd or cgroupfs names); processes are real `sleep`s moved in by
 * writing cgroup.procs; a "D" process is frozen with the v1 freezer (its state reads D); a "conmon" process is
 * a copy of sleep named conmon (so its comm is conmon, as crio's own processes are); a "crio" one a copy named crio.
 */
import { dirsDeepestFirst } from '../../src/lab/node-builder.js';
import { containerDirName, podRel, structuralRels, type ContainerDirKind } from '../../src/cgroup/names.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  accessSync,
  constants as fsc,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCrictlStub, type CrictlStub, type Qos, type StubContainer, type StubPod } from './crictl-stub.js';

export type { Qos } from './crictl-stub.js';
export const CGROUP_FS = '/sys/fs/cgroup';

export type ProcessKind = 'sleep' | 'D' | 'conmon' | 'crio';
export type ContainerKind = ContainerDirKind;

export interface ContainerSpec {
  /** 64 hex; random when absent. */
  id?: string;
  kind: ContainerKind;
  /** Known to the runtime: listed by `crictl ps -a` (container, conmon) or `crictl pods` (sandbox). */
  known: boolean;
  /** A real process placed in this dir in every hierarchy (cpuset excepted). */
  process?: ProcessKind;
  /** Age to stamp on the dir (s); default the pod's. 0 leaves the kernel's stamp (young). */
  ageS?: number;
}

export interface PodSpec {
  uid?: string;
  qos: Qos;
  /** runtime: crictl and kubelet know it; kubelet-only: terminating (only /var/lib/kubelet/pods/<uid>); gone: nobody. */
  live: 'runtime' | 'kubelet-only' | 'gone';
  containers: ContainerSpec[];
  /** A process placed directly in the pod slice. */
  process?: ProcessKind;
  ageS?: number;
  /** v2 only: also create the bogus `pids/kubepods.slice/...` tree cri-o made for this pod (pod slice + sandbox dirs). */
  bogusPids?: boolean;
}

/** A pod of the story's CronJob: gone from crictl and kubelet, its sandbox, container and conmon dirs left behind. */
export function leftBehindPod(qos: Qos, opts: { bogusPids?: boolean } = {}): PodSpec {
  return {
    qos,
    live: 'gone',
    ...(opts.bogusPids ? { bogusPids: true } : {}),
    containers: [
      { kind: 'sandbox', known: false },
      { kind: 'container', known: false },
      { kind: 'conmon', known: false },
    ],
  };
}

export interface NodeSpec {
  mode: 'v1' | 'v2';
  driver: 'systemd' | 'cgroupfs';
  pods: PodSpec[];
  /**
   * v1 hierarchies, as named under a real node's /sys/fs/cgroup. Default: memory, pids, cpu,cpuacct, blkio,
   * devices, freezer, unified. Also accepted: cpuset, systemd.
   */
  controllers?: string[];
  /** Default age of every dir (s). Default 3600. 0 = young (kernel stamp). */
  ageS?: number;
  /** Create system.slice/crio.service (v1: in memory) with a process in it, for the health facts. */
  systemSlice?: boolean;
}

export interface BuiltContainer {
  id: string;
  kind: ContainerKind;
  known: boolean;
  /** Dir name, e.g. crio-<id>.scope. */
  name: string;
  /** Real paths of this dir in every hierarchy (bogus pids dir included). */
  dirs: string[];
  pid?: number;
}

export interface BuiltPod {
  uid: string;
  qos: Qos;
  live: PodSpec['live'];
  sandboxId: string;
  /** Real paths of the pod slice in every hierarchy. */
  dirs: string[];
  containers: BuiltContainer[];
  pid?: number;
}

export interface Hierarchy {
  /** Name under the node root (memory, cpu,cpuacct, unified...; `.` for a v2 node). */
  name: string;
  /** Real path of the subtree we created. */
  real: string;
  /** The hierarchy's own root (where processes go back before they are killed). */
  mountRoot: string;
}

export interface BuiltNode {
  mode: 'v1' | 'v2';
  driver: 'systemd' | 'cgroupfs';
  /** What to give as cgroup_root. */
  root: string;
  /** What to give as kubelet_root (pods/<uid> dirs for runtime and kubelet-only pods). */
  kubeletRoot: string;
  crictlPath: string;
  crictl: CrictlStub;
  hierarchies: Hierarchy[];
  pods: BuiltPod[];
  /** PIDs of the real processes we placed. */
  pids: number[];
  /** Every dir we created under kubepods (and the bogus pids tree), real paths. */
  allDirs(): string[];
  /** Stamp `ageS` seconds of age on these dirs (utimes works on cgroupfs). */
  setAge(paths: string[], ageS: number): void;
  /** Reset the crictl stand-in to the state the spec describes. */
  resetCrictl(): void;
  cleanup(): void;
}

/** Why real cgroup tests cannot run here, or undefined when they can (root with writable v1 + v2 hierarchies). */
export function cgroupSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'real cgroup tests need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'real cgroup tests need root (cgroupfs is not writable)';
  for (const c of ['memory', 'pids', 'cpu', 'blkio', 'devices', 'freezer', 'unified']) {
    const p = join(CGROUP_FS, c);
    try {
      accessSync(join(p, 'cgroup.procs'), fsc.W_OK);
    } catch {
      return `real cgroup tests need a writable ${p} (v1 controllers and a v2 tree at /sys/fs/cgroup/unified)`;
    }
  }
  return undefined;
}

const hex64 = () => randomBytes(32).toString('hex');
const DEFAULT_CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer', 'unified'];

/** Mount dir of a v1 controller name on this machine (cpu,cpuacct is mounted as cpu here). */
function mountOf(controller: string): string {
  const direct = join(CGROUP_FS, controller);
  if (existsSync(join(direct, 'cgroup.procs'))) return direct;
  const first = controller.split(',')[0]!;
  const alt = join(CGROUP_FS, first);
  if (existsSync(join(alt, 'cgroup.procs'))) return alt;
  throw new Error(`no cgroup hierarchy for ${controller} under ${CGROUP_FS}`);
}

export { containerDirName, podRel };

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function rmdirRetry(p: string): void {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(p);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (i >= 3000) throw e; // 30 s: a bound for a stuck cgroup, generous for a loaded machine
      sleepMs(10); // a killed process leaves its cgroup a moment after SIGKILL
    }
  }
}

export function buildNode(spec: NodeSpec): BuiltNode {
  const tag = `nodesweep-test-${randomBytes(5).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'nodesweep-node-'));
  const hierarchies: Hierarchy[] = [];
  const children: ChildProcess[] = [];
  const frozen: string[] = []; // freezer.state files we set FROZEN
  const extraCgroups: string[] = []; // side cgroups (v2 node's freezer dirs), removed at cleanup
  const created: string[] = [];
  let root: string;
  let cleaned = false;

  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    process.off('exit', cleanup);
    for (const f of frozen) {
      try {
        writeFileSync(f, 'THAWED');
      } catch {
        /* already gone */
      }
    }
    for (const c of children) {
      if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) continue;
      // Back to each hierarchy's root before the kill, so our subtrees empty out at once.
      for (const h of hierarchies) {
        try {
          writeFileSync(join(h.mountRoot, 'cgroup.procs'), String(c.pid));
        } catch {
          /* not in that hierarchy */
        }
      }
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    const bases = [...hierarchies.map((h) => h.real), ...extraCgroups];
    for (const b of bases) {
      if (!existsSync(b)) continue;
      for (const d of dirsDeepestFirst(b)) rmdirRetry(d);
      rmdirRetry(b);
    }
    // The temp dir holds symlinks into cgroupfs: unlink them before removing the rest (rmSync never follows them anyway).
    if (spec.mode === 'v1') {
      for (const e of readdirSync(root, { withFileTypes: true })) if (e.isSymbolicLink()) unlinkSync(join(root, e.name));
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanup);

  try {
    const hierarchyNames: string[] = [];
    if (spec.mode === 'v1') {
      root = join(tmp, 'cgroup');
      mkdirSync(root);
      for (const c of spec.controllers ?? DEFAULT_CONTROLLERS) {
        const mount = mountOf(c);
        const real = join(mount, tag);
        mkdirSync(real);
        hierarchies.push({ name: c, real, mountRoot: mount });
        symlinkSync(real, join(root, c));
        hierarchyNames.push(c);
        if (c === 'cpu,cpuacct') {
          // as on real nodes: cpu and cpuacct are symlinks to the combined dir
          symlinkSync('cpu,cpuacct', join(root, 'cpu'));
          symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
        }
      }
    } else {
      root = join(CGROUP_FS, 'unified', tag);
      mkdirSync(root);
      hierarchies.push({ name: '.', real: root, mountRoot: join(CGROUP_FS, 'unified') });
    }

    const kubeletRoot = join(tmp, 'kubelet');
    mkdirSync(join(kubeletRoot, 'pods'), { recursive: true });
    const crictl = createCrictlStub(join(tmp, 'crictl'));
    const conmonBin = join(tmp, 'bin', 'conmon');
    mkdirSync(join(tmp, 'bin'));
    copyFileSync('/bin/sleep', conmonBin);
    // crio's own process holding a leaked cgroup (the story's case: only a crio restart frees it)
    const crioBin = join(tmp, 'bin', 'crio');
    copyFileSync('/bin/sleep', crioBin);

    const mk = (p: string) => {
      mkdirSync(p);
      created.push(p);
    };
    const mkIfMissing = (p: string) => {
      if (!existsSync(p)) mk(p);
    };
    const defaultAge = spec.ageS ?? 3600;
    const ages: Array<[string, number]> = [];

    // Every hierarchy gets kubepods and the QoS levels, as kubelet creates them at start.
    const qosRels = structuralRels(spec.driver);
    const skeleton = new Set<string>();
    for (const h of hierarchies) for (const r of qosRels) skeleton.add(join(h.real, r));
    const bogusBase = spec.mode === 'v2' ? join(root, 'pids') : undefined;
    const anyBogus = spec.pods.some((p) => p.bogusPids);
    if (bogusBase && anyBogus) {
      skeleton.add(bogusBase);
      for (const r of qosRels) skeleton.add(join(bogusBase, r));
    }
    for (const d of skeleton) mk(d);

    const cpusetOk = (h: Hierarchy) => !h.mountRoot.endsWith('/cpuset');
    const procTargets: Array<{ dirs: string[]; kind: ProcessKind; set: (pid: number) => void }> = [];

    const pods: BuiltPod[] = spec.pods.map((ps) => {
      const uid = ps.uid ?? randomUUID();
      const rel = podRel(spec.driver, ps.qos, uid);
      const podAge = ps.ageS ?? defaultAge;
      const podDirs = hierarchies.map((h) => join(h.real, rel));
      for (const d of podDirs) {
        mk(d);
        ages.push([d, podAge]);
      }
      const sandboxSpec = ps.containers.find((c) => c.kind === 'sandbox' && c.known);
      const sandboxId = sandboxSpec?.id ?? hex64();
      if (sandboxSpec && !sandboxSpec.id) sandboxSpec.id = sandboxId;
      const bogusPodDir = bogusBase && ps.bogusPids ? join(bogusBase, rel) : undefined;
      if (bogusPodDir) {
        mk(bogusPodDir);
        ages.push([bogusPodDir, podAge]);
        podDirs.push(bogusPodDir);
      }
      const containers: BuiltContainer[] = ps.containers.map((cs) => {
        const id = cs.id ?? hex64();
        const name = containerDirName(spec.driver, cs.kind, id);
        const dirs = hierarchies.map((h) => join(h.real, rel, name));
        for (const d of dirs) {
          mk(d);
          ages.push([d, cs.ageS ?? podAge]);
        }
        if (bogusPodDir && cs.kind === 'sandbox') {
          const b = join(bogusPodDir, name);
          mk(b);
          ages.push([b, cs.ageS ?? podAge]);
          dirs.push(b);
        }
        const bc: BuiltContainer = { id, kind: cs.kind, known: cs.known, name, dirs };
        if (cs.process) {
          const procDirs = hierarchies.filter(cpusetOk).map((h) => join(h.real, rel, name));
          procTargets.push({ dirs: procDirs, kind: cs.process, set: (pid) => (bc.pid = pid) });
        }
        return bc;
      });
      const bp: BuiltPod = { uid, qos: ps.qos, live: ps.live, sandboxId, dirs: podDirs, containers };
      if (ps.process) {
        const procDirs = hierarchies.filter(cpusetOk).map((h) => join(h.real, rel));
        procTargets.push({ dirs: procDirs, kind: ps.process, set: (pid) => (bp.pid = pid) });
      }
      if (ps.live !== 'gone') mkdirSync(join(kubeletRoot, 'pods', uid, 'volumes'), { recursive: true });
      return bp;
    });

    if (spec.systemSlice) {
      const memH = spec.mode === 'v1' ? hierarchies.find((h) => h.name === 'memory') : hierarchies[0];
      if (memH) {
        mkIfMissing(join(memH.real, 'system.slice'));
        mk(join(memH.real, 'system.slice', 'crio.service'));
        procTargets.push({ dirs: [join(memH.real, 'system.slice', 'crio.service')], kind: 'sleep', set: () => undefined });
      }
    }

    const pids: number[] = [];
    for (const t of procTargets) {
      const bin = t.kind === 'conmon' ? conmonBin : t.kind === 'crio' ? crioBin : 'sleep';
      const child = spawn(bin, ['3600'], { stdio: 'ignore' });
      children.push(child);
      child.on('error', () => undefined);
      const pid = child.pid;
      if (pid === undefined) throw new Error(`could not start ${bin}`);
      pids.push(pid);
      t.set(pid);
      for (const d of t.dirs) writeFileSync(join(d, 'cgroup.procs'), String(pid));
      if (t.kind === 'D') {
        // The v1 freezer leaves a task in D state. v1 node: freeze its own freezer dir; v2 node: a side freezer cgroup.
        let fdir = t.dirs.find((d) => d.startsWith(join(CGROUP_FS, 'freezer') + '/'));
        if (!fdir) {
          const side = join(CGROUP_FS, 'freezer', `${tag}-${pid}`);
          mkdirSync(side);
          extraCgroups.push(side);
          writeFileSync(join(side, 'cgroup.procs'), String(pid));
          fdir = side;
        }
        const stateFile = join(fdir, 'freezer.state');
        writeFileSync(stateFile, 'FROZEN');
        frozen.push(stateFile);
        // the freeze takes effect a moment later (longer on a loaded machine): up to 30 s
        for (let i = 0; i < 6000; i++) {
          if (procState(pid) === 'D') break;
          sleepMs(5);
        }
      }
    }

    const stamp = (list: Array<[string, number]>) => {
      const now = Date.now() / 1000;
      for (const [p, a] of list) if (a > 0) utimesSync(p, now - a, now - a);
    };
    // After every mkdir: creating a child restamps its parent.
    stamp(ages);

    const built: BuiltNode = {
      mode: spec.mode,
      driver: spec.driver,
      root,
      kubeletRoot,
      crictlPath: crictl.path,
      crictl,
      hierarchies,
      pods,
      pids,
      allDirs: () => created.filter((d) => !skeleton.has(d)),
      setAge(paths, ageS) {
        stamp(paths.map((p) => [p, ageS]));
      },
      resetCrictl() {
        crictl.setMode('ok');
        crictl.setState(...crictlState(pods));
      },
      cleanup,
    };
    built.resetCrictl();
    return built;
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** What crictl reports for these pods: runtime pods and every known container/sandbox. */
export function crictlState(pods: BuiltPod[]): [StubPod[], StubContainer[]] {
  const sp: StubPod[] = [];
  const sc: StubContainer[] = [];
  for (const p of pods) {
    const name = `job-${p.uid.slice(0, 8)}`;
    if (p.live === 'runtime') sp.push({ id: p.sandboxId, uid: p.uid, name, namespace: 'batch', qos: p.qos });
    for (const c of p.containers) {
      if (!c.known) continue;
      if (c.kind === 'sandbox') {
        if (c.id !== p.sandboxId) sp.push({ id: c.id, uid: p.uid, name, namespace: 'batch', qos: p.qos, state: 'SANDBOX_NOTREADY' });
        else if (p.live !== 'runtime') sp.push({ id: c.id, uid: p.uid, name, namespace: 'batch', qos: p.qos });
      } else {
        sc.push({ id: c.id, podSandboxId: p.sandboxId, podUid: p.uid, podName: name, namespace: 'batch', name: 'app' });
      }
    }
  }
  return [sp, sc];
}

/** State letter of a process from /proc/<pid>/stat, or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True when the dir exists (a removed cgroup is gone from its hierarchy). */
export function dirExists(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export interface Expectation {
  /** Leaked dirs a prune must remove (empty, old, unknown to everyone). */
  removable: string[];
  /** Leaked dirs that hold a process, or are above one: a prune must leave them. */
  held: string[];
  /** Dirs of live or terminating pods and known containers: a prune must never remove them. */
  live: string[];
}

/**
 * What a correct prune does to a built node, derived from the spec alone (not from the classifier):
 * a pod nobody knows is leaked with everything under it; under a runtime pod the unknown containers are leaked;
 * a terminating pod is untouched. Leaks holding a process, and their pod slice, stay.
 */
export function expectations(node: BuiltNode, opts: { youngPods?: Set<string> } = {}): Expectation {
  const removable: string[] = [];
  const held: string[] = [];
  const live: string[] = [];
  // The bogus v2 pids/ tree never holds processes: its dirs go with the pod, not with the processes.
  const bogus = (d: string) => node.mode === 'v2' && d.startsWith(node.root + '/pids/');
  const keep = (dirs: string[], young: boolean) => {
    for (const d of dirs) (bogus(d) && !young ? removable : held).push(d);
  };
  for (const p of node.pods) {
    const young = opts.youngPods?.has(p.uid) ?? false;
    const podKnown = p.live === 'runtime' || p.containers.some((c) => c.known);
    if (p.live === 'kubelet-only' && !podKnown) {
      live.push(...p.dirs, ...p.containers.flatMap((c) => c.dirs));
      continue;
    }
    const leakedContainers = p.containers.filter((c) => !c.known);
    for (const c of p.containers) {
      if (c.known) live.push(...c.dirs);
      else if (c.pid !== undefined || young) keep(c.dirs, young);
      else removable.push(...c.dirs);
    }
    if (podKnown) {
      live.push(...p.dirs);
    } else if (p.pid !== undefined || leakedContainers.some((c) => c.pid !== undefined) || young) {
      keep(p.dirs, young);
    } else {
      removable.push(...p.dirs);
    }
  }
  return { removable, held, live };
}
