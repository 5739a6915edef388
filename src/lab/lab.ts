/**
 * `nodesweep lab up | serve | down`: a local fleet for the demo and for trying nodesweep out.
 *
 * `up` writes the lab's config into DIR and spawns `nodesweep lab serve --dir DIR` detached (its PID in
 * DIR/lab.pid), then waits until the server process says it is ready (DIR/ready.json) or has died (its log).
 * `serve` builds every node (cgroups, stand-ins, processes: all its own children), starts one ssh2 server per
 * node on 127.42.0.N and the Kubernetes API stand-in, writes the inventory, known_hosts and kubeconfig, and runs
 * until SIGTERM, when it stops its servers, kills its processes and removes its cgroups deepest first.
 * `down` stops the server by PID and then removes whatever is still listed in DIR/lab.json (processes by PID,
 * cgroups deepest first), then DIR itself. It never touches a cgroup or process the lab did not create.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeKubeApi } from './kube-api.js';
import { buildLabNode, chooseMode, killLabPids, removeCgroupSubtrees, simMemoryDirs, updateSimMemory, type BuiltLabNode, type LabMode } from './lab-node.js';
import { planLab, type LabPlan } from './plan.js';
import { generateEd25519KeyPair, startLabSshServer, type LabSshServer } from './ssh-server.js';


export const LAB_MARKER = '.nodesweep-lab';
export const LAB_USER = 'core';

export interface LabConfig {
  version: 1;
  labId: string;
  nodes: number;
  days: number;
  /** Forced mode (--plain / NODESWEEP_LAB_MODE), else chosen by what the machine allows. */
  mode?: LabMode;
  maxLeaksPerNode: number;
  /** 127.42.0.N: the third octet, so two labs can live side by side. */
  subnet: number;
}

export interface LabNodeInfo {
  name: string;
  host: string;
  port: number;
  busy: boolean;
  root: string;
  kubeletRoot: string;
  crictl: string;
  systemctl: string;
  binDir: string;
  stateDir: string;
  cronPodsRun: number;
  leakedPods: number;
  leakedDirs: number;
  crioHeld: number;
  livePods: number;
  /** The node's kubelet stand-in (also in pids: stopped by PID with the rest). */
  kubeletPid?: number;
}

/** DIR/lab.json: everything the lab made, kept current while it is built, so `down` can undo a half-built lab. */
export interface LabManifest {
  version: 1;
  labId: string;
  dir: string;
  mode?: LabMode;
  modeWhy?: string;
  servePid?: number;
  /** Real cgroup subtrees, in creation order. */
  cgroups: string[];
  pids: Array<{ pid: number; comm: string }>;
  nodes: LabNodeInfo[];
  apiUrl?: string;
  days?: number;
  cronPodsTotal?: number;
  ready?: boolean;
}

export interface LabPaths {
  dir: string;
  inventory: string;
  knownHosts: string;
  kubeconfig: string;
  key: string;
  manifest: string;
  pidFile: string;
  log: string;
  ready: string;
  config: string;
}

export function labPaths(dir: string): LabPaths {
  const d = resolve(dir);
  return {
    dir: d,
    inventory: join(d, 'inventory.ini'),
    knownHosts: join(d, 'known_hosts'),
    kubeconfig: join(d, 'kubeconfig'),
    key: join(d, 'id_ed25519'),
    manifest: join(d, 'lab.json'),
    pidFile: join(d, 'lab.pid'),
    log: join(d, 'serve.log'),
    ready: join(d, 'ready.json'),
    config: join(d, 'lab-config.json'),
  };
}

export function defaultLabDir(): string {
  let user = 'user';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return join(tmpdir(), `nodesweep-lab-${user}`);
}

function writeJsonAtomic(path: string, v: unknown): void {
  const t = `${path}.tmp`;
  writeFileSync(t, JSON.stringify(v, null, 2) + '\n');
  renameSync(t, path);
}

export function readManifest(dir: string): LabManifest | undefined {
  try {
    return JSON.parse(readFileSync(labPaths(dir).manifest, 'utf8')) as LabManifest;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (a reparented server may wait a while for a slow PID 1 to reap it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self/stat'); // no /proc: trust kill(0)
  }
}

/** The lab server of DIR, if its PID is alive and still is a `lab serve` (PIDs get reused). */
export function servePid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(labPaths(dir).pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!(cmd.includes('lab') && cmd.includes('serve'))) return undefined;
  } catch {
    /* no /proc: trust the pid file */
  }
  return pid;
}

// ------------------------------------------------------------------------------------------------ up

export interface LabUpOptions {
  dir: string;
  nodes: number;
  days: number;
  mode?: LabMode;
  maxLeaksPerNode?: number;
  /** How to start `nodesweep lab serve` (default: this very CLI, with this node's flags, e.g. tsx). */
  serveCommand?: { cmd: string; args: string[] };
  timeoutMs?: number;
}

export interface LabUpResult {
  paths: LabPaths;
  manifest: LabManifest;
  pid: number;
  durationMs: number;
}

export class LabError extends Error {}

export async function labUp(o: LabUpOptions): Promise<LabUpResult> {
  const started = Date.now();
  const paths = labPaths(o.dir);
  if (servePid(paths.dir) !== undefined) throw new LabError(`a lab is already running in ${paths.dir}: stop it first with 'nodesweep lab down --dir ${paths.dir}'`);
  if (existsSync(paths.dir)) {
    const entries = readdirSync(paths.dir);
    if (entries.length > 0 && !entries.includes(LAB_MARKER)) throw new LabError(`${paths.dir} exists and is not empty: give another --dir (the lab removes its dir on 'lab down')`);
    if (entries.includes(LAB_MARKER)) {
      // A lab that died without 'lab down': clean it up first.
      await labDown({ dir: paths.dir });
    }
  }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(paths.dir, LAB_MARKER), 'made by nodesweep lab up; removed by nodesweep lab down\n');
  const cfg: LabConfig = {
    version: 1,
    labId: randomBytes(3).toString('hex'),
    nodes: o.nodes,
    days: o.days,
    maxLeaksPerNode: o.maxLeaksPerNode ?? 240,
    subnet: 0,
    ...(o.mode ? { mode: o.mode } : {}),
  };
  writeJsonAtomic(paths.config, cfg);
  const serve = o.serveCommand ?? defaultServeCommand(paths.dir);
  const logFd = openSync(paths.log, 'a');
  const child = spawn(serve.cmd, serve.args, { detached: true, stdio: ['ignore', logFd, logFd], cwd: process.cwd(), env: process.env });
  closeSync(logFd);
  if (child.pid === undefined) throw new LabError(`could not start the lab server (${serve.cmd})`);
  writeFileSync(paths.pidFile, `${child.pid}\n`);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  try {
    for (;;) {
      if (existsSync(paths.ready)) break;
      if (exited !== undefined) throw new LabError(`the lab server exited (code ${exited}) before it was ready:\n${tail(paths.log)}`);
      if (Date.now() > deadline) throw new LabError(`the lab server was not ready within ${(o.timeoutMs ?? 60_000) / 1000}s:\n${tail(paths.log)}`);
      await sleep(50);
    }
  } catch (e) {
    await labDown({ dir: paths.dir }).catch(() => undefined);
    throw e;
  }
  child.unref();
  const manifest = readManifest(paths.dir)!;
  return { paths, manifest, pid: child.pid, durationMs: Date.now() - started };
}

/**
 * `nodesweep lab serve --dir DIR` with the CLI this code belongs to: the bundle itself when this code runs from
 * dist/bin/nodesweep.cjs (the installed command's build; run directly, it starts its own main), dist/cli/main.js
 * from tsc's output, or src/cli/main.ts through tsx.
 */
export function defaultServeCommand(dir: string): { cmd: string; args: string[] } {
  for (const entry of ['./nodesweep.cjs', '../cli/main.js']) {
    const js = fileURLToPath(new URL(entry, import.meta.url));
    if (existsSync(js)) return { cmd: process.execPath, args: [js, 'lab', 'serve', '--dir', dir] };
  }
  const ts = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  return { cmd: process.execPath, args: ['--import', 'tsx', ts, 'lab', 'serve', '--dir', dir] };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

// ------------------------------------------------------------------------------------------------ serve

/** Runs in the detached `nodesweep lab serve` process until SIGTERM/SIGINT. */
export async function labServe(dir: string, log: (line: string) => void = (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`)): Promise<number> {
  const paths = labPaths(dir);
  const cfg = JSON.parse(readFileSync(paths.config, 'utf8')) as LabConfig;
  const realDir = realpathSync(paths.dir);
  const manifest: LabManifest = { version: 1, labId: cfg.labId, dir: realDir, servePid: process.pid, cgroups: [], pids: [], nodes: [] };
  const save = () => writeJsonAtomic(paths.manifest, manifest);
  writeFileSync(paths.pidFile, `${process.pid}\n`);
  save();

  const servers: LabSshServer[] = [];
  const built: BuiltLabNode[] = [];
  let api: FakeKubeApi | undefined;
  const watchers: FSWatcher[] = [];
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    stopping ??= (async () => {
      log('stopping: servers, processes, cgroups');
      for (const w of watchers) w.close();
      for (const s of servers) await s.close().catch(() => undefined);
      await api?.close().catch(() => undefined);
      killLabPids(manifest.pids.map((p) => p.pid));
      for (const n of manifest.nodes) killLabPids(readPids(join(n.stateDir, 'spawned.pids')));
      const problems = removeCgroupSubtrees(manifest.cgroups);
      for (const p of problems) log(`could not remove: ${p}`);
      manifest.cgroups = manifest.cgroups.filter((c) => existsSync(c));
      manifest.pids = [];
      save();
    })();
    return stopping;
  };
  let exitCode: number | undefined;
  const onSignal = (sig: string) => {
    log(`${sig}: shutting down`);
    void stop().then(() => {
      exitCode = 0;
    });
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGHUP', () => undefined); // the terminal that ran 'lab up' may go away

  try {
    const choice = chooseMode(cfg.mode);
    manifest.mode = choice.mode;
    manifest.modeWhy = choice.why;
    log(`mode ${choice.mode}: ${choice.why}`);
    const plan = planLab({ nodes: cfg.nodes, days: cfg.days, maxLeaksPerNode: cfg.maxLeaksPerNode });
    manifest.days = plan.days;
    manifest.cronPodsTotal = plan.cronPodsTotal;
    save();

    // Keys: one client key (the inventory's), one host key per node (in known_hosts).
    const client = generateEd25519KeyPair(`nodesweep-lab-${cfg.labId}`);
    writeFileSync(paths.key, client.private, { mode: 0o600 });
    writeFileSync(`${paths.key}.pub`, `${client.public}\n`);
    const khLines: string[] = [];

    api = await FakeKubeApi.start();
    manifest.apiUrl = api.url;
    api.addDaemonSet('monitoring', 'node-exporter');
    api.addPdb({ namespace: 'shop', name: 'web', matchLabels: { app: 'web' }, disruptionsAllowed: 1 });

    for (let i = 0; i < plan.nodes.length; i++) {
      if (stopping) throw new Error('stopped while building');
      const pn = plan.nodes[i]!;
      const nodeDir = join(realDir, 'nodes', pn.name);
      mkdirSync(nodeDir, { recursive: true });
      const t0 = Date.now();
      const b = buildLabNode({
        plan: pn,
        mode: choice,
        nodeDir,
        labId: cfg.labId,
        onSubtree: (p) => {
          manifest.cgroups.push(p);
          save();
        },
        onProcess: (pid, comm) => manifest.pids.push({ pid, comm }),
      });
      built.push(b);
      save();
      const hostKey = generateEd25519KeyPair(`${pn.name}-host`);
      const host = `127.42.${cfg.subnet}.${i + 1}`;
      const server = await startLabSshServer({
        host,
        hostKey: hostKey.private,
        authorizedKey: client.public,
        user: LAB_USER,
        cwd: nodeDir,
        env: {
          PATH: `${b.bin.dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          HOME: nodeDir,
          USER: LAB_USER,
          LOGNAME: LAB_USER,
          SHELL: '/bin/sh',
          LANG: 'C.UTF-8',
          TMPDIR: tmpdir(),
          NODESWEEP_LAB_NODE: pn.name,
        },
        log: (l) => log(`${pn.name}: ${l}`),
      });
      servers.push(server);
      khLines.push(`[${host}]:${server.port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}`);
      api.addNode(pn.name, { labels: { 'node-role.kubernetes.io/worker': '' } });
      for (const p of pn.live) {
        const pod = api.addPod({ namespace: p.namespace, name: p.name, node: pn.name, labels: p.labels, owner: p.owner });
        pod.metadata.uid = p.uid;
      }
      manifest.nodes.push({
        name: pn.name,
        host,
        port: server.port,
        busy: pn.busy,
        root: b.root,
        kubeletRoot: b.kubeletRoot,
        crictl: b.crictl,
        systemctl: b.bin.systemctl,
        binDir: b.bin.dir,
        stateDir: b.stateDir,
        cronPodsRun: pn.cronPodsRun,
        leakedPods: b.counts.leakedPods,
        leakedDirs: b.counts.leakedDirs,
        crioHeld: b.counts.crioHeld,
        livePods: b.counts.livePods,
        kubeletPid: b.kubeletPid,
      });
      save();
      log(`${pn.name}: ${b.counts.leakedPods} leaked pods (${b.counts.leakedDirs} dirs) built in ${Date.now() - t0} ms, ssh on ${host}:${server.port}`);
    }
    writeFileSync(paths.knownHosts, khLines.join('\n') + '\n');
    api.writeKubeconfig(realDir, 'kubeconfig', 'nodesweep-lab');
    writeFileSync(paths.inventory, inventoryText(manifest, paths));
    // crio's simulated memory follows the leaked cgroups that are left (a prune brings it down): at once (inotify on
    // the dirs holding pod slices, so a prune's measurement right after its rmdir sees it), and every 250 ms anyway.
    for (const b of built) {
      const sim = b.simMemory;
      if (!sim) continue;
      for (const d of simMemoryDirs(sim)) {
        try {
          const w = watch(d, () => {
            try {
              updateSimMemory(sim);
            } catch {
              /* the lab is going down */
            }
          });
          w.on('error', () => undefined);
          watchers.push(w);
        } catch {
          /* no inotify here: the timer alone */
        }
      }
    }
    const memTimer = setInterval(() => {
      for (const b of built) {
        try {
          if (b.simMemory) updateSimMemory(b.simMemory);
        } catch {
          /* the lab is going down */
        }
      }
    }, 250);
    memTimer.unref();
    manifest.ready = true;
    save();
    writeJsonAtomic(paths.ready, { pid: process.pid, at: new Date().toISOString() });
    log('ready');
  } catch (e) {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await stop();
    return 1;
  }
  // Run until a signal has finished the cleanup.
  while (exitCode === undefined) await sleep(100);
  return exitCode;
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

export function inventoryText(m: LabManifest, p: LabPaths): string {
  const lines = [
    `# nodesweep lab ${m.labId} (${m.mode} mode), made by 'nodesweep lab up'; removed by 'nodesweep lab down --dir ${p.dir}'.`,
    '# Every node is a local ssh2 server with stand-ins for crictl, systemctl, sudo and crio (see src/lab/).',
    '[workers]',
  ];
  for (const n of m.nodes) {
    lines.push(
      [
        n.name,
        `ansible_host=${n.host}`,
        `ansible_port=${n.port}`,
        `nodesweep_node_name=${n.name}`,
        `nodesweep_cgroup_root=${n.root}`,
        `nodesweep_kubelet_root=${n.kubeletRoot}`,
        `nodesweep_crictl=${n.crictl}`,
        `nodesweep_systemctl=${n.systemctl}`,
      ].join(' '),
    );
  }
  lines.push(
    '',
    '[workers:vars]',
    `ansible_user=${LAB_USER}`,
    `ansible_ssh_private_key_file=${p.key}`,
    `ansible_ssh_common_args=-o UserKnownHostsFile=${p.knownHosts}`,
    '',
  );
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------ down

export interface LabDownResult {
  dir: string;
  stoppedPid?: number;
  removedCgroups: number;
  problems: string[];
  removedDir: boolean;
}

export async function labDown(o: { dir: string; timeoutMs?: number }): Promise<LabDownResult> {
  const paths = labPaths(o.dir);
  const res: LabDownResult = { dir: paths.dir, removedCgroups: 0, problems: [], removedDir: false };
  if (!existsSync(paths.dir)) return res;
  if (!existsSync(join(paths.dir, LAB_MARKER))) throw new LabError(`${paths.dir} is not a nodesweep lab dir (no ${LAB_MARKER}); nothing removed`);
  const pid = servePid(paths.dir);
  if (pid !== undefined) {
    res.stoppedPid = pid;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + (o.timeoutMs ?? 20_000);
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      res.problems.push(`the lab server ${pid} did not stop within ${(o.timeoutMs ?? 20_000) / 1000}s: killed`);
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(20);
    }
  }
  // Whatever the server could not clean (it crashed, or was killed): from the manifest.
  const m = readManifest(paths.dir);
  if (m) {
    killLabPids(m.pids.map((p) => p.pid));
    for (const n of m.nodes) killLabPids(readPids(join(n.stateDir, 'spawned.pids')));
    const before = m.cgroups.filter((c) => existsSync(c)).length;
    res.problems.push(...removeCgroupSubtrees(m.cgroups));
    res.removedCgroups = before - m.cgroups.filter((c) => existsSync(c)).length;
  }
  if (res.problems.some((p) => !p.includes('did not stop'))) return res; // keep the manifest for another try
  rmSync(paths.dir, { recursive: true, force: true });
  res.removedDir = true;
  return res;
}

// ------------------------------------------------------------------------------------------------ usage text

export function usageText(m: LabManifest, p: LabPaths, self = 'nodesweep'): string {
  const inv = p.inventory;
  const kc = p.kubeconfig;
  const prune = fileURLToPath(new URL('../../playbooks/prune-leaked-cgroups.yml', import.meta.url));
  const rows = m.nodes.map(
    (n) =>
      `  ${n.name.padEnd(10)} ${`${n.host}:${n.port}`.padEnd(20)} ${String(n.cronPodsRun).padStart(5)} CronJob pods ran here, ${String(n.leakedPods).padStart(4)} leaked pods built (${n.leakedDirs} dirs)${n.crioHeld ? `, ${n.crioHeld} held by crio` : ''}${n.busy ? '  <- the busy node' : ''}`,
  );
  return [
    `Lab ${m.labId} is up in ${p.dir}`,
    `  mode: ${m.mode} (${m.modeWhy})`,
    `  the CronJob: a pod every 2 minutes for ${m.days} day(s) = ${m.cronPodsTotal} pods, ~85% of them on the busy node; each finished pod`,
    `  left its pod slice and crio-<sandbox>.scope behind in every hierarchy. Leaks are sampled evenly over the schedule`,
    `  (at most ${Math.max(...m.nodes.map((n) => n.leakedPods), 0)} per node) to keep 'lab up' fast.`,
    ...rows,
    `  Kubernetes API stand-in: ${m.apiUrl}`,
    '',
    'Try:',
    `  ${self} scan -i ${inv}`,
    `  ${self} run ${prune} -i ${inv} --kubeconfig ${kc} --check`,
    `  ${self} run ${prune} -i ${inv} --kubeconfig ${kc}`,
    `  ssh -i ${p.key} -o UserKnownHostsFile=${p.knownHosts} -p ${m.nodes[0]?.port ?? 22} ${LAB_USER}@${m.nodes[0]?.host ?? '127.42.0.1'}`,
    `  KUBECONFIG=${kc} kubectl get nodes,pods -A -o wide        (if kubectl is installed)`,
    `Stop it with: ${self} lab down --dir ${p.dir}`,
    '',
  ].join('\n');
}

export type { LabPlan };
