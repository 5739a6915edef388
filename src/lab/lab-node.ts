/**
 * One lab node from a PlannedNode, laid out by the one node builder (./node-builder.ts) with the systemd driver,
 * in one of three modes:
 * - `cgroup-v1`: subtrees `nodesweep-lab-<lab>-<node>` of this machine's real v1 hierarchies, except `memory`, a
 *   plain dir whose usage files carry crio's simulated memory (the lab's real processes use next to none);
 * - `cgroup-v2`: one subtree of a writable cgroup2 dir (the v2 root as root, or a cgroup subtree delegated to us);
 * - `plain`: ordinary directories shaped like a v1 node (no root needed; a `stat` stand-in reports them as cgroupfs).
 * On top of the builder's node it adds what the story's nodes have: crio's main process in system.slice/crio.service
 * (restarted by the systemctl stand-in), a kubelet stand-in in system.slice/kubelet.service whose CPU follows the
 * leaks, crio's memory following the leaks, and the node's own bin dir (crictl, systemctl, sudo, stat).
 * Processes are the caller's children: the caller must keep running for them to stay. The lab removes what it made
 * from its manifest (removeCgroupSubtrees, killLabPids), so that `lab down` works after a crash too.
 */
import { accessSync, constants as fsc, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { podUidOfName } from '../cgroup/names.js';
import { buildNode, CGROUP_FS, dirsDeepestFirst, mountOf, rmdirPatiently, V1_CONTROLLERS, type BuiltNode, type Hierarchy, type PodSpec } from './node-builder.js';
import type { PlannedNode, PlannedPod } from './plan.js';
import { writeNodeBin, type NodeBin } from './standins.js';
import { startKubeletStandin } from './kubelet-standin.js';

export type LabMode = 'cgroup-v1' | 'cgroup-v2' | 'plain';

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

const writableV1 = (c: string): boolean => {
  const m = mountOf(c);
  return m !== undefined && !fsTypeIsCgroup2(m) && writable(m) && writable(join(m, 'cgroup.procs'));
};

/** Real cgroups when this machine lets us create them, else the plain tree; `forced` wins. */
export function chooseMode(forced?: LabMode): ModeChoice {
  if (forced === 'plain') return { mode: 'plain', why: 'plain-tree mode was asked for' };
  const isLinux = process.platform === 'linux';
  const v1Ok = isLinux && ['memory', 'pids', 'cpu,cpuacct', 'blkio', 'devices', 'freezer'].every(writableV1);
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

export interface BuiltLabNode {
  name: string;
  mode: LabMode;
  /** The builder's node: hierarchies, pods, processes. */
  node: BuiltNode;
  /** What to give as nodesweep_cgroup_root. */
  root: string;
  kubeletRoot: string;
  crictl: string;
  bin: NodeBin;
  stateDir: string;
  hierarchies: Hierarchy[];
  /** Real cgroup subtrees created (empty for plain). Removed deepest first by removeCgroupSubtrees. */
  cgroupSubtrees: string[];
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

/** A planned node's pods as the builder's specs: live pods run a container, leaks are a pod slice and its scope. */
export function labPodSpecs(plan: PlannedNode): PodSpec[] {
  const running = (p: PlannedPod, live: 'runtime' | 'kubelet-only'): PodSpec => {
    const known = live === 'runtime';
    return {
      uid: p.uid,
      name: p.name,
      namespace: p.namespace,
      qos: p.qos,
      live,
      ageS: p.ageS,
      containers: [
        { kind: 'sandbox', id: p.sandboxId, known },
        { kind: 'container', id: p.containerId, known, name: p.containerName, ...(known ? { process: 'sleep' as const } : {}) },
        { kind: 'conmon', id: p.containerId, known },
      ],
    };
  };
  return [
    ...plan.live.map((p) => running(p, 'runtime')),
    ...plan.terminating.map((p) => running(p, 'kubelet-only')),
    ...plan.leaks.map((l): PodSpec => ({
      uid: l.uid,
      qos: l.qos,
      live: 'gone',
      ageS: l.ageS,
      // The sandbox's crio-<id>.scope (cri-o issue 6349), with a process of crio's in it when only a crio restart
      // frees it (the escalation).
      containers: [{ kind: 'container', id: l.sandboxId, known: false, ...(l.heldByCrio ? { process: 'crio' as const } : {}) }],
    })),
  ];
}

const v1Controllers = (): string[] => V1_CONTROLLERS.filter((c) => c === 'memory' || writableV1(c));

export function buildLabNode(o: BuildNodeOptions): BuiltLabNode {
  const { plan, mode, nodeDir } = o;
  const node = buildNode({
    mode: mode.mode === 'cgroup-v1' ? 'v1' : mode.mode === 'cgroup-v2' ? 'v2' : 'plain',
    driver: 'systemd',
    pods: labPodSpecs(plan),
    ...(mode.mode === 'cgroup-v1' ? { controllers: v1Controllers(), simulatedMemory: true } : {}),
    ...(mode.v2Base ? { v2Base: mode.v2Base } : {}),
    systemSlice: true,
    crioServiceProcess: 'crio',
    dir: nodeDir,
    cgroupName: labCgroupName(o.labId, plan.name),
    processLifetimeS: 86400,
    cleanupOnExit: false,
    ...(o.onSubtree ? { onSubtree: o.onSubtree } : {}),
    ...(o.onProcess ? { onProcess: o.onProcess } : {}),
  });
  const stateDir = join(nodeDir, 'state');
  const binDir = join(nodeDir, 'bin');
  for (const d of [stateDir, binDir]) mkdirSync(d, { recursive: true });

  // Each leak built stands for this many pods of the schedule (crio's memory and kubelet's CPU follow the pods).
  const podsPerLeak = plan.leaks.length > 0 ? plan.cronPodsRun / plan.leaks.length : 1;
  // Live and terminating pods: what crio's memory and kubelet's CPU do not follow.
  const notLeaked = node.pods.filter((p) => p.live !== 'gone');
  const memH = node.memory!;
  const crioServiceProcs = join(memH.path, 'system.slice', 'crio.service', 'cgroup.procs');
  let simMemory: SimMemory | undefined;
  if (memH.mountRoot === undefined) {
    simMemory = {
      hierarchy: memH.path,
      systemFile: join(memH.path, 'system.slice', 'memory.usage_in_bytes'),
      crioFile: join(memH.path, 'system.slice', 'crio.service', 'memory.usage_in_bytes'),
      podsPerLeak,
      notLeaked: new Set(notLeaked.map((p) => p.uid)),
      last: -1,
    };
    updateSimMemory(simMemory);
  }

  // The systemctl stand-in's state: crio's holders (killed by a restart) and its main process.
  const crioHolders = node.pods.flatMap((p) => p.containers).filter((c) => c.processKind === 'crio' && c.pid !== undefined);
  writeFileSync(join(stateDir, 'crio.state'), 'active\n');
  writeFileSync(join(stateDir, 'systemctl.log'), '');
  writeFileSync(join(stateDir, 'crio.pids'), crioHolders.map((c) => `${c.pid}\n`).join(''));
  writeFileSync(join(stateDir, 'crio-main.pids'), `${node.crioServicePid}\n`);
  writeFileSync(join(stateDir, 'spawned.pids'), '');
  symlinkSync(node.crictlPath, join(binDir, 'crictl')); // `crictl` by name on the node's PATH, as on a real node
  const bin = writeNodeBin(
    binDir,
    { stateDir, crioBin: node.bins.crio, crioCgroupProcs: [crioServiceProcs], ...(node.plainRoot ? { plainRoot: node.plainRoot } : {}) },
    node.plainRoot,
  );

  // kubelet: its own process in the node's system.slice/kubelet.service of every hierarchy, where the collector
  // finds this node's kubelet.
  const kubeletStatus = join(stateDir, 'kubelet.status');
  const kubelet = startKubeletStandin(node.bins.libexec, {
    hierarchy: node.hierarchies[0]!.path,
    notLeaked: notLeaked.map((p) => p.rel),
    podsPerLeak,
    statusFile: kubeletStatus,
    parentPid: process.pid,
  });
  node.children.push(kubelet);
  o.onProcess?.(kubelet.pid!, 'kubelet');
  node.place(join('system.slice', 'kubelet.service'), kubelet.pid!);

  return {
    name: plan.name,
    mode: mode.mode,
    node,
    root: node.root,
    kubeletRoot: node.kubeletRoot,
    crictl: node.crictlPath,
    bin,
    stateDir,
    hierarchies: node.hierarchies,
    cgroupSubtrees: node.cgroupSubtrees,
    counts: { leakedPods: plan.leaks.length, leakedDirs: 2 * node.hierarchies.length * plan.leaks.length, crioHeld: crioHolders.length, livePods: plan.live.length },
    kubeletPid: kubelet.pid!,
    kubeletStatus,
    ...(simMemory ? { simMemory } : {}),
  };
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The lab's own processes: only these are ever killed when they turn up in a lab cgroup. */
export const LAB_COMMS = new Set(['sleep', 'crio', 'kubelet']);

/**
 * Remove real cgroup subtrees the lab created: kill the lab's processes still inside (a process anything else
 * put there is left alone and reported), then rmdir deepest first. Returns what could not be removed.
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
      const err = rmdirPatiently(d);
      if (err) problems.push(`${d}: ${err}`);
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
