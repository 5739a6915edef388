/**
 * Builds one simulated Kubernetes node for the lab from a PlannedNode: pod cgroups as kubelet and cri-o lay
 * them out (systemd driver), in one of three modes:
 * - `cgroup-v1`: subtrees of this machine's real v1 hierarchies (and the hybrid v2 `unified` tree), named
 *   `nodesweep-lab-<lab>-<node>`, behind a node root made of symlinks shaped like a hybrid node's /sys/fs/cgroup;
 *   except `memory`, a plain dir like the plain mode's, so that crio's memory can show the story's numbers
 *   (the lab's real processes use next to none);
 * - `cgroup-v2`: one subtree `nodesweep-lab-<lab>-<node>` of a writable cgroup2 dir (the v2 root as root, or a
 *   cgroup subtree delegated to this user);
 * - `plain`: ordinary directories shaped like a v1 node (no root needed; a `stat` stand-in reports them as cgroupfs).
 * Processes (live containers, crio holding leaked scopes, crio.service) are real and are the caller's children:
 * the caller must keep running for them to stay. Nothing outside the subtrees it creates is written to, except
 * the hierarchy roots' cgroup.procs when our own processes are moved back out before they are killed.
 * Names come from the one grammar, src/cgroup/names.ts (as in the cgroup tests' node builder).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsc, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCrictlStub, type StubContainer, type StubPod } from './crictl-standin.js';
import type { PlannedNode, PlannedPod, Qos } from './plan.js';
import { writeNodeBin, type NodeBin } from './standins.js';
import { startKubeletStandin } from './kubelet-standin.js';
import { containerDirName, podRel, podUidOfName, structuralRels } from '../cgroup/names.js';

export const CGROUP_FS = '/sys/fs/cgroup';
export type LabMode = 'cgroup-v1' | 'cgroup-v2' | 'plain';

/** v1 hierarchies as named under a hybrid node's /sys/fs/cgroup (cpuset left out: it needs cpus/mems set). */
const V1_CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer', 'unified'];
const PLAIN_CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer'];

export interface ModeChoice {
  mode: LabMode;
  /** cgroup-v2: the writable cgroup2 dir the node subtrees go in. */
  v2Base?: string;
  /** Why this mode (said to the user). */
  why: string;
}

function writable(p: string): boolean {
  try {
    accessSync(p, fsc.W_OK);
    return true;
  } catch {
    return false;
  }
}

function fsTypeIsCgroup2(p: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => {
        const [pre, post] = l.split(' - ');
        return post?.startsWith('cgroup2 ') && (p === pre?.split(' ')[4] || p.startsWith(`${pre?.split(' ')[4]}/`));
      });
  } catch {
    return false;
  }
}

/** Mount dir of a v1 controller name on this machine (cpu,cpuacct may be mounted as cpu). */
export function mountOf(controller: string): string | undefined {
  const direct = join(CGROUP_FS, controller);
  if (existsSync(join(direct, 'cgroup.procs'))) return direct;
  const alt = join(CGROUP_FS, controller.split(',')[0]!);
  if (existsSync(join(alt, 'cgroup.procs'))) return alt;
  return undefined;
}

/** Real cgroups when this machine lets us create them, else the plain tree; `forced` wins. */
export function chooseMode(forced?: LabMode): ModeChoice {
  if (forced === 'plain') return { mode: 'plain', why: 'plain-tree mode was asked for' };
  const isLinux = process.platform === 'linux';
  const v1Ok = isLinux && ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer'].every((c) => {
    const m = mountOf(c);
    return m !== undefined && !fsTypeIsCgroup2(m) && writable(m) && writable(join(m, 'cgroup.procs'));
  });
  if (forced === 'cgroup-v1' || (forced === undefined && v1Ok)) {
    if (!v1Ok) throw new Error('cgroup-v1 mode asked for, but the v1 hierarchies under /sys/fs/cgroup are not writable here (root needed)');
    return { mode: 'cgroup-v1', why: 'the v1 cgroup hierarchies under /sys/fs/cgroup are writable (root); memory figures are simulated' };
  }
  const v2 = isLinux ? findWritableV2() : undefined;
  if (forced === 'cgroup-v2' || (forced === undefined && v2)) {
    if (!v2) throw new Error('cgroup-v2 mode asked for, but no writable cgroup2 dir was found (root, or a delegated subtree)');
    return { mode: 'cgroup-v2', v2Base: v2.base, why: v2.why };
  }
  return { mode: 'plain', why: 'no writable cgroup hierarchy here (not root, no delegated cgroup v2 subtree)' };
}

function findWritableV2(): { base: string; why: string } | undefined {
  const ok = (d: string) => fsTypeIsCgroup2(d) && writable(d) && writable(join(d, 'cgroup.procs'));
  if (ok(CGROUP_FS)) return { base: CGROUP_FS, why: 'the cgroup v2 root is writable (root)' };
  if (ok(join(CGROUP_FS, 'unified'))) return { base: join(CGROUP_FS, 'unified'), why: 'the hybrid cgroup v2 tree is writable (root)' };
  // Our own cgroup, if it was delegated to us (systemd Delegate=yes, e.g. systemd-run --user --scope -p Delegate=yes).
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    const rel = line?.slice(3);
    if (rel && rel !== '/') {
      const d = join(CGROUP_FS, rel);
      if (ok(d)) return { base: d, why: `the cgroup v2 subtree ${d} is delegated to this user` };
    }
  } catch {
    /* no cgroup info */
  }
  return undefined;
}

/** The lab's nodes use the systemd driver. */
const labPodRel = (qos: Qos, uid: string): string => podRel('systemd', qos, uid);

export interface Hierarchy {
  /** Name under the node root (memory, cpu,cpuacct, unified...; `.` for a v2 node). */
  name: string;
  /** Path of this node's subtree (real cgroup path, or the plain dir). */
  path: string;
  /** The hierarchy's own root (where our processes go back before they are killed); undefined for plain. */
  mountRoot?: string;
}

export interface BuiltLabNode {
  name: string;
  mode: LabMode;
  /** What to give as nodesweep_cgroup_root. */
  root: string;
  kubeletRoot: string;
  crictl: string;
  bin: NodeBin;
  stateDir: string;
  hierarchies: Hierarchy[];
  /** Real cgroup subtrees we created (empty for plain). Removed deepest first by removeCgroupSubtrees. */
  cgroupSubtrees: string[];
  children: ChildProcess[];
  counts: { leakedPods: number; leakedDirs: number; crioHeld: number; livePods: number };
  /** The node's kubelet stand-in (src/lab/kubelet-standin.ts), in its system.slice/kubelet.service cgroup. */
  kubeletPid: number;
  /** Where the kubelet stand-in writes `LEAKED BUSY_CS` every cycle. */
  kubeletStatus: string;
  /** Plain or cgroup-v1 mode: system.slice's memory is simulated; keep it current with updateSimMemory. */
  simMemory?: SimMemory;
}

/**
 * The story's numbers on a simulated memory hierarchy: crio's memory is 150 MiB plus about 0.5 MiB for every
 * leaked pod whose cgroups are still there (each leak built stands for `podsPerLeak` pods of the schedule), and the
 * rest of system.slice 180 MiB. Removing the leaked cgroups brings it back down, as it did in the story.
 */
export interface SimMemory {
  hierarchy: string;
  systemFile: string;
  crioFile: string;
  podsPerLeak: number;
  /** Pod slices that are not leaks (live and terminating pods), by UID. */
  notLeaked: Set<string>;
  last: number;
}

export const CRIO_BASE_BYTES = 150 * 2 ** 20;
export const CRIO_PER_LEAKED_POD_BYTES = 0.5 * 2 ** 20;
export const SYSTEM_SLICE_OTHER_BYTES = 180 * 2 ** 20;

/** The dirs whose pod slices crio's simulated memory follows (the lab watches them, so it follows at once). */
export function simMemoryDirs(m: SimMemory): string[] {
  const kp = join(m.hierarchy, 'kubepods.slice');
  return [kp, join(kp, 'kubepods-burstable.slice'), join(kp, 'kubepods-besteffort.slice')];
}

/** Count the leaked pod slices left in the simulated memory hierarchy and rewrite the usage files if it changed. */
export function updateSimMemory(m: SimMemory): void {
  let leaked = 0;
  for (const d of simMemoryDirs(m)) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const uid = podUidOfName(n);
      if (uid !== null && !m.notLeaked.has(uid)) leaked++;
    }
  }
  if (leaked === m.last) return;
  m.last = leaked;
  const crio = Math.round(CRIO_BASE_BYTES + leaked * m.podsPerLeak * CRIO_PER_LEAKED_POD_BYTES);
  // Replaced whole (rename), so a reader never sees half a number.
  for (const [f, v] of [[m.crioFile, crio], [m.systemFile, crio + SYSTEM_SLICE_OTHER_BYTES]] as const) {
    writeFileSync(`${f}.tmp`, `${v}\n`);
    renameSync(`${f}.tmp`, f);
  }
}

export interface BuildNodeOptions {
  plan: PlannedNode;
  mode: ModeChoice;
  /** The node's own dir in the lab dir. */
  nodeDir: string;
  /** Unique per lab, in cgroup names: nodesweep-lab-<labId>-<node>. */
  labId: string;
  /** Called with each real cgroup subtree before it is created (so a crash can still be cleaned up). */
  onSubtree?: (path: string) => void;
  /** Called with each process started (pid, comm). */
  onProcess?: (pid: number, comm: string) => void;
}

export function labCgroupName(labId: string, node: string): string {
  return `nodesweep-lab-${labId}-${node}`;
}

export function buildLabNode(o: BuildNodeOptions): BuiltLabNode {
  const { plan, mode, nodeDir } = o;
  const stateDir = join(nodeDir, 'state');
  const binDir = join(nodeDir, 'bin');
  const libexec = join(nodeDir, 'libexec');
  for (const d of [stateDir, binDir, libexec]) mkdirSync(d, { recursive: true });
  const crioBin = join(libexec, 'crio');
  copyFileSync('/bin/sleep', crioBin); // comm "crio": what the prune recognises as crio's own process
  const sleepBin = join(libexec, 'sleep');
  copyFileSync('/bin/sleep', sleepBin);

  const cgName = labCgroupName(o.labId, plan.name);
  const hierarchies: Hierarchy[] = [];
  const subtrees: string[] = [];
  let root: string;
  /** Plain dirs the `stat` stand-in reports as cgroupfs: the whole tree in plain mode, `memory` in cgroup-v1 mode. */
  let simRoot: string | undefined;
  const mkSub = (p: string) => {
    o.onSubtree?.(p);
    subtrees.push(p);
    mkdirSync(p);
  };
  if (mode.mode === 'cgroup-v1') {
    root = join(nodeDir, 'cgroup');
    mkdirSync(root);
    for (const c of V1_CONTROLLERS) {
      if (c === 'memory') {
        // The lab's processes use next to no memory, so real memory figures would tell nothing: a plain `memory`
        // dir carries system.slice's simulated usage (the `stat` stand-in reports it as cgroupfs), the other
        // hierarchies are real.
        const sim = join(nodeDir, 'sim', 'memory');
        mkdirSync(sim, { recursive: true });
        hierarchies.push({ name: 'memory', path: sim });
        symlinkSync(sim, join(root, 'memory'));
        simRoot = join(nodeDir, 'sim');
        continue;
      }
      const mount = mountOf(c);
      if (!mount || !writable(join(mount, 'cgroup.procs'))) continue;
      const real = join(mount, cgName);
      mkSub(real);
      hierarchies.push({ name: c, path: real, mountRoot: mount });
      symlinkSync(real, join(root, c));
      if (c === 'cpu,cpuacct') {
        symlinkSync('cpu,cpuacct', join(root, 'cpu'));
        symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
      }
    }
  } else if (mode.mode === 'cgroup-v2') {
    root = join(mode.v2Base!, cgName);
    mkSub(root);
    hierarchies.push({ name: '.', path: root, mountRoot: mode.v2Base! });
  } else {
    root = join(nodeDir, 'cgroup');
    mkdirSync(root);
    for (const c of PLAIN_CONTROLLERS) {
      mkdirSync(join(root, c));
      hierarchies.push({ name: c, path: join(root, c) });
    }
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
    simRoot = root;
  }

  const kubeletRoot = join(nodeDir, 'kubelet');
  mkdirSync(join(kubeletRoot, 'pods'), { recursive: true });
  const crictl = createCrictlStub(join(nodeDir, 'crictl'));

  const ages: Array<[string, number]> = [];
  const mk = (p: string, ageS?: number) => {
    if (!existsSync(p)) mkdirSync(p);
    if (ageS !== undefined) ages.push([p, ageS]);
  };
  for (const h of hierarchies) {
    for (const r of structuralRels('systemd')) mk(join(h.path, r));
  }
  // Where processes go: every hierarchy (v1: each controller; v2: the one tree).
  const procTargets: Array<{ rel: string; bin: string; comm: string; crio: boolean }> = [];
  let leakedDirs = 0;

  const podDirs = (p: { qos: Qos; uid: string }, ageS: number, leafs: string[]) => {
    const rel = labPodRel(p.qos, p.uid);
    for (const h of hierarchies) {
      mk(join(h.path, rel), ageS);
      for (const l of leafs) mk(join(h.path, rel, l), ageS);
    }
    return rel;
  };

  const stubPods: StubPod[] = [];
  const stubContainers: StubContainer[] = [];
  const livePod = (p: PlannedPod, known: boolean) => {
    const rel = podDirs(p, p.ageS, [containerDirName('systemd', 'sandbox', p.sandboxId), containerDirName('systemd', 'container', p.containerId), containerDirName('systemd', 'conmon', p.containerId)]);
    mkdirSync(join(kubeletRoot, 'pods', p.uid, 'volumes'), { recursive: true });
    if (!known) return;
    stubPods.push({ id: p.sandboxId, uid: p.uid, name: p.name, namespace: p.namespace, qos: p.qos });
    stubContainers.push({ id: p.containerId, podSandboxId: p.sandboxId, podUid: p.uid, podName: p.name, namespace: p.namespace, name: p.containerName });
    procTargets.push({ rel: `${rel}/${containerDirName('systemd', 'container', p.containerId)}`, bin: sleepBin, comm: 'sleep', crio: false });
  };
  for (const p of plan.live) livePod(p, true);
  for (const p of plan.terminating) livePod(p, false);

  let crioHeld = 0;
  for (const l of plan.leaks) {
    const rel = podDirs(l, l.ageS, [`crio-${l.sandboxId}.scope`]);
    leakedDirs += 2 * hierarchies.length;
    if (l.heldByCrio) {
      crioHeld++;
      procTargets.push({ rel: `${rel}/crio-${l.sandboxId}.scope`, bin: crioBin, comm: 'crio', crio: true });
    }
  }
  crictl.setState(stubPods, stubContainers);

  // Each leak built stands for this many pods of the schedule (crio's memory and kubelet's CPU follow the pods).
  const podsPerLeak = plan.leaks.length > 0 ? plan.cronPodsRun / plan.leaks.length : 1;
  // system.slice/crio.service: where crio itself runs (memory facts).
  const memH = mode.mode === 'cgroup-v2' ? hierarchies[0] : hierarchies.find((h) => h.name === 'memory');
  const crioProcs: string[] = [];
  let simMemory: SimMemory | undefined;
  if (memH) {
    mk(join(memH.path, 'system.slice'));
    mk(join(memH.path, 'system.slice', 'crio.service'));
    if (memH.mountRoot === undefined) {
      simMemory = {
        hierarchy: memH.path,
        systemFile: join(memH.path, 'system.slice', 'memory.usage_in_bytes'),
        crioFile: join(memH.path, 'system.slice', 'crio.service', 'memory.usage_in_bytes'),
        podsPerLeak,
        notLeaked: new Set([...plan.live, ...plan.terminating].map((p) => p.uid)),
        last: -1,
      };
      updateSimMemory(simMemory);
    } else {
      crioProcs.push(join(memH.path, 'system.slice', 'crio.service', 'cgroup.procs'));
    }
  }
  writeFileSync(join(stateDir, 'crio.state'), 'active\n');
  writeFileSync(join(stateDir, 'systemctl.log'), '');
  writeFileSync(join(stateDir, 'crio.pids'), '');
  writeFileSync(join(stateDir, 'crio-main.pids'), '');
  writeFileSync(join(stateDir, 'spawned.pids'), '');
  symlinkSync(crictl.path, join(binDir, 'crictl')); // `crictl` by name on the node's PATH, as on a real node
  const bin = writeNodeBin(
    binDir,
    { stateDir, crioBin, crioCgroupProcs: crioProcs, ...(simRoot ? { plainRoot: simRoot } : {}) },
    simRoot,
  );

  // Real processes. Real cgroups: moved in by writing cgroup.procs. Plain tree: a cgroup.procs file naming them.
  const children: ChildProcess[] = [];
  const start = (binPath: string, comm: string): number => {
    const child = spawn(binPath, ['86400'], { stdio: 'ignore' });
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new Error(`lab: could not start ${binPath}`);
    children.push(child);
    o.onProcess?.(child.pid, comm);
    return child.pid;
  };
  const crioPids: number[] = [];
  for (const t of procTargets) {
    const pid = start(t.bin, t.comm);
    if (t.crio) crioPids.push(pid);
    for (const h of hierarchies) {
      const f = join(h.path, t.rel, 'cgroup.procs');
      if (h.mountRoot === undefined) {
        // A plain (simulated) hierarchy: only crio's leaked scopes need their holder named in a cgroup.procs file;
        // live pods are known to the runtime anyway.
        if (t.crio) writeFileSync(f, `${pid}\n`);
      } else writeFileSync(f, String(pid));
    }
  }
  writeFileSync(join(stateDir, 'crio.pids'), crioPids.map((p) => `${p}\n`).join(''));
  const mainCrio = start(crioBin, 'crio');
  writeFileSync(join(stateDir, 'crio-main.pids'), `${mainCrio}\n`);
  for (const f of crioProcs) writeFileSync(f, String(mainCrio));

  // kubelet: its own process in the node's system.slice/kubelet.service of every hierarchy (a real cgroup: moved
  // in; a plain one: a cgroup.procs file naming it), where the collector finds this node's kubelet.
  const notLeaked = [...plan.live, ...plan.terminating].map((p) => p.uid.replace(/-/g, '_'));
  const kubeletStatus = join(stateDir, 'kubelet.status');
  const kubelet = startKubeletStandin(libexec, {
    hierarchy: hierarchies[0]!.path,
    notLeaked,
    podsPerLeak,
    statusFile: kubeletStatus,
    parentPid: process.pid,
  });
  children.push(kubelet);
  o.onProcess?.(kubelet.pid!, 'kubelet');
  for (const h of hierarchies) {
    mk(join(h.path, 'system.slice'));
    mk(join(h.path, 'system.slice', 'kubelet.service'));
    const f = join(h.path, 'system.slice', 'kubelet.service', 'cgroup.procs');
    writeFileSync(f, h.mountRoot === undefined ? `${kubelet.pid}\n` : String(kubelet.pid));
  }

  // Ages last: creating a child restamps its parent. utimes works on cgroupfs too.
  const now = Date.now() / 1000;
  for (const [p, a] of ages) utimesSync(p, now - a, now - a);

  return {
    name: plan.name,
    mode: mode.mode,
    root,
    kubeletRoot,
    crictl: crictl.path,
    bin,
    stateDir,
    hierarchies,
    cgroupSubtrees: subtrees,
    children,
    counts: { leakedPods: plan.leaks.length, leakedDirs, crioHeld, livePods: plan.live.length },
    kubeletPid: kubelet.pid!,
    kubeletStatus,
    ...(simMemory ? { simMemory } : {}),
  };
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

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The lab's own processes: only these are ever killed when they turn up in a lab cgroup. */
export const LAB_COMMS = new Set(['sleep', 'crio', 'kubelet']);

/**
 * Remove real cgroup subtrees the lab created: kill the lab's processes still inside (a process anything else
 * put there is left alone and reported), then rmdir deepest first (a killed process leaves its cgroup a moment
 * later, hence the retries). Returns what could not be removed.
 */
export function removeCgroupSubtrees(subtrees: string[]): string[] {
  const problems: string[] = [];
  const existing = subtrees.filter((s) => existsSync(s));
  for (const base of existing) {
    for (const d of [...dirsDeepestFirst(base), base]) {
      let procs = '';
      try {
        procs = readFileSync(join(d, 'cgroup.procs'), 'utf8');
      } catch {
        continue;
      }
      for (const s of procs.split('\n')) {
        const pid = Number(s);
        if (!Number.isInteger(pid) || pid <= 0) continue;
        const comm = commOf(pid);
        if (comm === undefined) continue;
        if (!LAB_COMMS.has(comm)) {
          problems.push(`${d}: process ${pid} (${comm}) is not the lab's; left alone`);
          continue;
        }
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
  for (const base of existing) {
    for (const d of [...dirsDeepestFirst(base), base]) {
      for (let i = 0; ; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (i >= 150) {
            problems.push(`${d}: ${code ?? String(e)}`);
            break;
          }
          sleepMs(20);
        }
      }
    }
  }
  return problems;
}

/** Kill lab processes by PID, only when their comm is still one of ours (PIDs get reused). */
export function killLabPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    const comm = commOf(pid);
    if (comm === undefined || !LAB_COMMS.has(comm)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
