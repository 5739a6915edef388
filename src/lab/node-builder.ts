/**
 * The one builder of simulated Kubernetes nodes, used by the lab (src/lab/lab-node.ts lays a planned node out with
 * it), the tests and the benchmarks: pod cgroups as kubelet and cri-o lay them out, with real processes in them.
 *
 * Where a node's hierarchies are (`mode`):
 * - `v1`: fresh subtrees `<cgroupName>` of this machine's real v1 hierarchies (and the hybrid v2 `unified` tree),
 *   behind a node root `<dir>/cgroup` of symlinks shaped like a hybrid node's /sys/fs/cgroup (cpu and cpuacct are
 *   symlinks to cpu,cpuacct, as on real nodes); with `simulatedMemory`, `memory` is a plain dir instead, so that
 *   crio's memory can show the story's numbers (the processes here use next to none);
 * - `v2`: one subtree `<cgroupName>` of a writable cgroup2 dir (default /sys/fs/cgroup/unified), with the bogus
 *   `pids/` tree cri-o 1.24 created on v2 when a pod asks for it;
 * - `plain`: ordinary directories shaped like a v1 node (no root needed; the lab's `stat` stand-in reports them as
 *   cgroupfs). A process "in" a plain dir is a cgroup.procs file naming it.
 * Names come from the one grammar, src/cgroup/names.ts. Processes are real and this process's children:
 * `sleep` (a container's), `conmon` and `crio` (copies of sleep with those names, so their comm is what the prune
 * checks), and `D` (a sleep frozen by the v1 freezer, so its state reads D). Nothing outside the subtrees it creates
 * is written to, except the hierarchy roots' cgroup.procs when its own processes are moved back out to be killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerDirName, podRel, structuralRels, type ContainerDirKind, type Driver, type Qos } from '../cgroup/names.js';
import { createCrictlStub, type CrictlStub, type StubContainer, type StubPod } from './crictl-standin.js';

export const CGROUP_FS = '/sys/fs/cgroup';
/** v1 hierarchies as named under a hybrid node's /sys/fs/cgroup (cpuset left out: it needs cpus/mems set). */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer', 'unified'];
const PLAIN_CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer'];

export type ProcessKind = 'sleep' | 'D' | 'conmon' | 'crio';
export type NodeMode = 'v1' | 'v2' | 'plain';

export interface ContainerSpec {
  /** 64 hex; random when absent. */
  id?: string;
  kind: ContainerDirKind;
  /** Known to the runtime: listed by `crictl ps -a` (container, conmon) or `crictl pods` (sandbox). */
  known: boolean;
  /** The container's name in `crictl ps` (default `app`). */
  name?: string;
  /** A real process placed in this dir in every hierarchy (cpuset excepted). */
  process?: ProcessKind;
  /** Age to stamp on the dir (s); default the pod's. 0 leaves the kernel's stamp (young). */
  ageS?: number;
}

export interface PodSpec {
  uid?: string;
  /** The pod's name and namespace in `crictl pods` (default `job-<uid prefix>` in `batch`). */
  name?: string;
  namespace?: string;
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
  mode: NodeMode;
  driver: Driver;
  pods: PodSpec[];
  /**
   * v1 and plain: hierarchies, as named under a real node's /sys/fs/cgroup. Default for v1: memory, pids,
   * cpu,cpuacct, blkio, devices, freezer, unified (cpuset and systemd also accepted); plain: the same without unified.
   */
  controllers?: string[];
  /** v1: `memory` is a plain dir (see the header). */
  simulatedMemory?: boolean;
  /** v2: the writable cgroup2 dir the node's subtree goes in (default /sys/fs/cgroup/unified). */
  v2Base?: string;
  /** Default age of every dir (s). Default 3600. 0 = young (kernel stamp). */
  ageS?: number;
  /** Create system.slice/crio.service in the memory hierarchy (v2: the one tree) with crio's own process in it. */
  systemSlice?: boolean;
  /** What runs in crio.service (default `sleep`; the lab's is a `crio`, which its systemctl stand-in restarts). */
  crioServiceProcess?: ProcessKind;
  /** The node's files (crictl stand-in, kubelet pods dir, v1 root, binaries). Default: a fresh temp dir, removed at cleanup. */
  dir?: string;
  /** Name of the node's cgroup subtrees. Default `nodesweep-test-<random>`. */
  cgroupName?: string;
  /** How long the processes live if nobody kills them (s). Default 3600. */
  processLifetimeS?: number;
  /** Clean up when this process exits (default true; the lab cleans up from its manifest instead, even after a crash). */
  cleanupOnExit?: boolean;
  /** Called with each real cgroup subtree before it is created (so a crash can still be cleaned up). */
  onSubtree?: (path: string) => void;
  /** Called with each process started. */
  onProcess?: (pid: number, comm: string) => void;
}

export interface Hierarchy {
  /** Name under the node root (memory, cpu,cpuacct, unified...; `.` for a v2 node). */
  name: string;
  /** Path of this node's subtree (a real cgroup, or a plain dir). */
  path: string;
  /** The hierarchy's own root (where processes go back before they are killed); undefined for a plain dir. */
  mountRoot?: string;
}

export interface BuiltContainer {
  id: string;
  kind: ContainerDirKind;
  known: boolean;
  name: string;
  /** Dir name, e.g. crio-<id>.scope. */
  dirName: string;
  /** Paths of this dir in every hierarchy (bogus pids dir included). */
  dirs: string[];
  pid?: number;
  processKind?: ProcessKind;
}

export interface BuiltPod {
  uid: string;
  name: string;
  namespace: string;
  qos: Qos;
  live: PodSpec['live'];
  sandboxId: string;
  /** Relative path of the pod slice in each hierarchy. */
  rel: string;
  /** Paths of the pod slice in every hierarchy. */
  dirs: string[];
  containers: BuiltContainer[];
  pid?: number;
}

export interface BuiltNode {
  mode: NodeMode;
  driver: Driver;
  /** The node's files. */
  dir: string;
  /** What to give as nodesweep_cgroup_root. */
  root: string;
  /** What to give as nodesweep_kubelet_root (pods/<uid> dirs for runtime and kubelet-only pods). */
  kubeletRoot: string;
  crictlPath: string;
  crictl: CrictlStub;
  /** The binaries the processes run (crio's and conmon's copies of sleep). */
  bins: { crio: string; conmon: string; libexec: string };
  hierarchies: Hierarchy[];
  /** The hierarchy crio's memory is read from (v1: memory; v2: the one tree), if any. */
  memory?: Hierarchy;
  /** The dir under which the hierarchies are plain dirs (plain mode: the root; v1 with simulatedMemory: the memory dir's parent). */
  plainRoot?: string;
  /** Real cgroup subtrees created (empty for plain). */
  cgroupSubtrees: string[];
  pods: BuiltPod[];
  /** PIDs of the real processes placed in the pods. */
  pids: number[];
  /** The process in system.slice/crio.service, when asked for. */
  crioServicePid?: number;
  children: ChildProcess[];
  /** Every dir created under kubepods (and the bogus pids tree, and system.slice when asked for). */
  allDirs(): string[];
  /** Stamp `ageS` seconds of age on these dirs (utimes works on cgroupfs). */
  setAge(paths: string[], ageS: number): void;
  /** Put a process in `rel` (created when missing) of every hierarchy. */
  place(rel: string, pid: number): void;
  /** Reset the crictl stand-in to the state the spec describes. */
  resetCrictl(): void;
  cleanup(): void;
}

/** Mount dir of a v1 controller name on this machine (cpu,cpuacct may be mounted as cpu), if there is one. */
export function mountOf(controller: string): string | undefined {
  const direct = join(CGROUP_FS, controller);
  if (existsSync(join(direct, 'cgroup.procs'))) return direct;
  const alt = join(CGROUP_FS, controller.split(',')[0]!);
  if (existsSync(join(alt, 'cgroup.procs'))) return alt;
  return undefined;
}

const hex64 = () => randomBytes(32).toString('hex');

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Every dir under `base` (not base itself), deepest first. */
export function dirsDeepestFirst(base: string): string[] {
  const out: Array<[string, number]> = [];
  const walk = (d: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      walk(p, depth + 1);
      out.push([p, depth + 1]);
    }
  };
  walk(base, 0);
  return out.sort((a, b) => b[1] - a[1]).map(([p]) => p);
}

/**
 * rmdir, retried while the cgroup is busy: a killed process leaves its cgroup a moment after SIGKILL (longer on a
 * loaded machine). Returns the error code when it is still there after 30 s, the bound for a stuck cgroup.
 */
export function rmdirPatiently(p: string): string | undefined {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(p);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (i >= 3000) return code ?? String(e);
      sleepMs(10);
    }
  }
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

/** What crictl reports for these pods: runtime pods and every known container and sandbox, each id once. */
export function crictlState(pods: BuiltPod[]): [StubPod[], StubContainer[]] {
  const sp: StubPod[] = [];
  const sc: StubContainer[] = [];
  const listed = new Set<string>();
  for (const p of pods) {
    const pod = { uid: p.uid, name: p.name, namespace: p.namespace, qos: p.qos };
    if (p.live === 'runtime') sp.push({ id: p.sandboxId, ...pod });
    for (const c of p.containers) {
      // A conmon dir bears its container's id: crictl lists the container once.
      const key = `${c.kind === 'sandbox' ? 'sandbox' : 'container'} ${c.id}`;
      if (!c.known || listed.has(key)) continue;
      listed.add(key);
      if (c.kind === 'sandbox') {
        if (c.id !== p.sandboxId) sp.push({ id: c.id, ...pod, state: 'SANDBOX_NOTREADY' });
        else if (p.live !== 'runtime') sp.push({ id: c.id, ...pod });
      } else {
        sc.push({ id: c.id, podSandboxId: p.sandboxId, podUid: p.uid, podName: p.name, namespace: p.namespace, name: c.name });
      }
    }
  }
  return [sp, sc];
}

export function buildNode(spec: NodeSpec): BuiltNode {
  const tag = spec.cgroupName ?? `nodesweep-test-${randomBytes(5).toString('hex')}`;
  const ownDir = spec.dir === undefined;
  const dir = spec.dir ?? mkdtempSync(join(tmpdir(), 'nodesweep-node-'));
  const lifetime = String(spec.processLifetimeS ?? 3600);
  const hierarchies: Hierarchy[] = [];
  const subtrees: string[] = [];
  const children: ChildProcess[] = [];
  const frozen: string[] = []; // freezer.state files we set FROZEN
  const created: string[] = [];
  let root = join(dir, 'cgroup');
  let plainRoot: string | undefined;
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
      // Back to each hierarchy's root before the kill, so the subtrees empty out at once.
      for (const h of hierarchies) {
        if (h.mountRoot === undefined) continue;
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
    const problems: string[] = [];
    for (const b of [...subtrees].reverse()) {
      if (!existsSync(b)) continue;
      for (const d of [...dirsDeepestFirst(b), b]) {
        const err = rmdirPatiently(d);
        if (err) problems.push(`${d}: ${err}`);
      }
    }
    if (spec.mode === 'v1' && existsSync(root)) {
      // The node root holds symlinks into cgroupfs: unlink them first (rmSync never follows them anyway).
      for (const e of readdirSync(root, { withFileTypes: true })) if (e.isSymbolicLink()) unlinkSync(join(root, e.name));
    }
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`node cleanup left cgroups behind: ${problems.join('; ')}`);
  };
  if (spec.cleanupOnExit !== false) process.on('exit', cleanup);

  try {
    const mkSubtree = (p: string) => {
      spec.onSubtree?.(p);
      subtrees.push(p);
      mkdirSync(p);
    };
    if (spec.mode === 'v1') {
      mkdirSync(root);
      for (const c of spec.controllers ?? V1_CONTROLLERS) {
        if (c === 'memory' && spec.simulatedMemory) {
          plainRoot = join(dir, 'sim');
          const sim = join(plainRoot, 'memory');
          mkdirSync(sim, { recursive: true });
          hierarchies.push({ name: c, path: sim });
          symlinkSync(sim, join(root, c));
          continue;
        }
        const mount = mountOf(c);
        if (!mount) throw new Error(`no cgroup hierarchy for ${c} under ${CGROUP_FS}`);
        const real = join(mount, tag);
        mkSubtree(real);
        hierarchies.push({ name: c, path: real, mountRoot: mount });
        symlinkSync(real, join(root, c));
        if (c === 'cpu,cpuacct') {
          symlinkSync('cpu,cpuacct', join(root, 'cpu'));
          symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
        }
      }
    } else if (spec.mode === 'v2') {
      const base = spec.v2Base ?? join(CGROUP_FS, 'unified');
      root = join(base, tag);
      mkSubtree(root);
      hierarchies.push({ name: '.', path: root, mountRoot: base });
    } else {
      mkdirSync(root);
      plainRoot = root;
      for (const c of spec.controllers ?? PLAIN_CONTROLLERS) {
        mkdirSync(join(root, c));
        hierarchies.push({ name: c, path: join(root, c) });
        if (c === 'cpu,cpuacct') {
          symlinkSync('cpu,cpuacct', join(root, 'cpu'));
          symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
        }
      }
    }

    const kubeletRoot = join(dir, 'kubelet');
    mkdirSync(join(kubeletRoot, 'pods'), { recursive: true });
    const crictl = createCrictlStub(join(dir, 'crictl'));
    const libexec = join(dir, 'libexec');
    mkdirSync(libexec, { recursive: true });
    const bins = { crio: join(libexec, 'crio'), conmon: join(libexec, 'conmon'), libexec };
    // Copies of sleep, so their comm is crio's and conmon's own (what the prune tells apart).
    copyFileSync('/bin/sleep', bins.crio);
    copyFileSync('/bin/sleep', bins.conmon);

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
    for (const h of hierarchies) for (const r of qosRels) skeleton.add(join(h.path, r));
    const bogusBase = spec.mode === 'v2' ? join(root, 'pids') : undefined;
    if (bogusBase && spec.pods.some((p) => p.bogusPids)) {
      skeleton.add(bogusBase);
      for (const r of qosRels) skeleton.add(join(bogusBase, r));
    }
    for (const d of skeleton) mk(d);

    // Not cpuset: a process cannot join a cpuset cgroup whose cpus and mems are unset.
    const holds = (h: Hierarchy) => h.mountRoot === undefined || !h.mountRoot.endsWith('/cpuset');
    const procTargets: Array<{ rel: string; kind: ProcessKind; set: (pid: number) => void }> = [];

    const pods: BuiltPod[] = spec.pods.map((ps) => {
      const uid = ps.uid ?? randomUUID();
      const rel = podRel(spec.driver, ps.qos, uid);
      const podAge = ps.ageS ?? defaultAge;
      const podDirs = hierarchies.map((h) => join(h.path, rel));
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
        const dirName = containerDirName(spec.driver, cs.kind, id);
        const dirs = hierarchies.map((h) => join(h.path, rel, dirName));
        for (const d of dirs) {
          mk(d);
          ages.push([d, cs.ageS ?? podAge]);
        }
        if (bogusPodDir && cs.kind === 'sandbox') {
          const b = join(bogusPodDir, dirName);
          mk(b);
          ages.push([b, cs.ageS ?? podAge]);
          dirs.push(b);
        }
        const bc: BuiltContainer = { id, kind: cs.kind, known: cs.known, name: cs.name ?? 'app', dirName, dirs };
        if (cs.process) {
          bc.processKind = cs.process;
          procTargets.push({ rel: join(rel, dirName), kind: cs.process, set: (pid) => (bc.pid = pid) });
        }
        return bc;
      });
      const bp: BuiltPod = {
        uid,
        name: ps.name ?? `job-${uid.slice(0, 8)}`,
        namespace: ps.namespace ?? 'batch',
        qos: ps.qos,
        live: ps.live,
        sandboxId,
        rel,
        dirs: podDirs,
        containers,
      };
      if (ps.process) procTargets.push({ rel, kind: ps.process, set: (pid) => (bp.pid = pid) });
      if (ps.live !== 'gone') mkdirSync(join(kubeletRoot, 'pods', uid, 'volumes'), { recursive: true });
      return bp;
    });

    const memory = spec.mode === 'v2' ? hierarchies[0] : hierarchies.find((h) => h.name === 'memory');
    let crioServicePid: number | undefined;
    let crioServiceDir: string | undefined;
    if (spec.systemSlice && memory) {
      mkIfMissing(join(memory.path, 'system.slice'));
      crioServiceDir = join(memory.path, 'system.slice', 'crio.service');
      mk(crioServiceDir);
    }

    const writeProcs = (h: Hierarchy, d: string, pid: number) =>
      // A plain dir: a cgroup.procs file naming the process, as the kernel's would.
      writeFileSync(join(d, 'cgroup.procs'), h.mountRoot === undefined ? `${pid}\n` : String(pid));
    const start = (kind: ProcessKind): number => {
      const bin = kind === 'conmon' ? bins.conmon : kind === 'crio' ? bins.crio : 'sleep';
      const child = spawn(bin, [lifetime], { stdio: 'ignore' });
      child.on('error', () => undefined);
      if (child.pid === undefined) throw new Error(`could not start ${bin}`);
      children.push(child);
      spec.onProcess?.(child.pid, kind === 'D' ? 'sleep' : kind);
      return child.pid;
    };
    const pids: number[] = [];
    for (const t of procTargets) {
      const pid = start(t.kind);
      pids.push(pid);
      t.set(pid);
      const dirs: string[] = [];
      for (const h of hierarchies.filter(holds)) {
        const d = join(h.path, t.rel);
        writeProcs(h, d, pid);
        dirs.push(d);
      }
      if (t.kind === 'D') freeze(pid, dirs);
    }
    if (crioServiceDir && memory) {
      crioServicePid = start(spec.crioServiceProcess ?? 'sleep');
      writeProcs(memory, crioServiceDir, crioServicePid);
    }

    // The v1 freezer leaves a task in D state. v1 node: freeze its own freezer dir; otherwise a side freezer cgroup.
    function freeze(pid: number, dirs: string[]): void {
      let fdir = dirs.find((d) => d.startsWith(join(CGROUP_FS, 'freezer') + '/'));
      if (!fdir) {
        const side = join(CGROUP_FS, 'freezer', `${tag}-${pid}`);
        mkSubtree(side);
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

    const stamp = (list: Array<[string, number]>) => {
      const now = Date.now() / 1000;
      for (const [p, a] of list) if (a > 0) utimesSync(p, now - a, now - a);
    };
    // After every mkdir: creating a child restamps its parent.
    stamp(ages);

    const built: BuiltNode = {
      mode: spec.mode,
      driver: spec.driver,
      dir,
      root,
      kubeletRoot,
      crictlPath: crictl.path,
      crictl,
      bins,
      hierarchies,
      ...(memory ? { memory } : {}),
      ...(plainRoot ? { plainRoot } : {}),
      cgroupSubtrees: subtrees,
      pods,
      pids,
      ...(crioServicePid !== undefined ? { crioServicePid } : {}),
      children,
      allDirs: () => created.filter((d) => !skeleton.has(d)),
      setAge(paths, ageS) {
        stamp(paths.map((p) => [p, ageS]));
      },
      place(rel, pid) {
        for (const h of hierarchies.filter(holds)) {
          const d = join(h.path, rel);
          mkdirSync(d, { recursive: true });
          writeProcs(h, d, pid);
        }
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
    try {
      cleanup();
    } catch {
      /* the build error is the one to report */
    }
    throw e;
  }
}
