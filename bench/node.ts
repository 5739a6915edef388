/**
 * npm run bench:node -- [--cgroups 20000] [--loop 2000] [--runs 3] [--only time|procs]
 *
 * Builds simulated nodes in this machine's real cgroup hierarchies (test/cgroup/node-builder.ts; needs root)
 * with N leaked cgroups across four hierarchies (memory, pids, cpu,cpuacct, unified: pods gone, each leaving
 * its pod slice, sandbox dir, container scope and conmon scope in every hierarchy), and times on identical
 * trees (a fresh tree for each measurement):
 *   - our prune (cgroup_prune through LocalTransport: collect, classify, plan, re-check, batched rmdir)
 *     against the bare kernel cost `find H... -mindepth 3 -depth -type d -exec rmdir {} +`;
 *   - our scan (cgroup_scan, no CPU sample) against a bare `find H... -type d` listing;
 *   - both against a per-cgroup shell loop like the community script (read cgroup.procs, rmdir, one fork
 *     each), run on --loop cgroups and extrapolated linearly to N (said so in the output);
 * then counts the processes our scan and prune start on the node for N/10 and for N cgroups (strace -f execve;
 * without strace, the kernel's fork counter in /proc/stat, which counts the whole machine).
 * Each of our runs prints where its time went (the module's `timings`: the remote script's parts as the node
 * measured them, and parse / classify / plan here). First, in a fresh process: the pure core alone (parse +
 * classify + plan of a prune-mode report) at 4 x N dirs. And the scan once more with the kubelet CPU sample on
 * (a process named kubelet is started for it), to show the sample overlapping the work.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import winston from 'winston';
import { buildNode, type BuiltNode, type PodSpec } from '../src/lab/node-builder.js';
import { cgroupSkipReason } from '../test/cgroup/node-oracle.js';
import { LocalTransport } from '../src/transport/local.js';
import { shQuote, type ExecOptions, type ExecResult, type Transport } from '../src/transport/types.js';
import type { ModuleContext, ModuleDefinition, ModuleResult } from '../src/modules/types.js';
import { cgroupScanModule } from '../src/modules/cgroup_scan.js';
import { cgroupPruneModule, planLine } from '../src/modules/cgroup_prune.js';
import { classify, parseCollectOutput, planPruneDirs } from '../src/cgroup/index.js';
import { machineFacts, machineLine } from './machine.js';
import { containerDirName, podRel, type Qos } from '../src/cgroup/names.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const N = Number(arg('cgroups', '20000'));
const LOOP_N = Number(arg('loop', '2000'));
const ONLY = arg('only', '');
const RUNS = Math.max(1, Number(arg('runs', '3')));
const CONTROLLERS = ['memory', 'pids', 'cpu,cpuacct', 'unified'];
const DIRS_PER_POD = 4; // pod slice, sandbox, container scope, conmon scope

/** A node with `n` leaked cgroups (rounded to whole pods) in four hierarchies; Burstable/BestEffort only, so every pod is at depth 3. */
function leakyNode(n: number): BuiltNode {
  const pods = Math.max(1, Math.round(n / (DIRS_PER_POD * CONTROLLERS.length)));
  const spec: PodSpec[] = Array.from({ length: pods }, (_, i) => ({
    qos: i % 2 ? 'burstable' : 'besteffort',
    live: 'gone',
    containers: [
      { kind: 'sandbox', known: false },
      { kind: 'container', known: false },
      { kind: 'conmon', known: false },
    ],
  }));
  // one live pod with a process, so the prune has something to leave alone
  spec.push({ qos: 'burstable', live: 'runtime', containers: [{ kind: 'sandbox', known: true }, { kind: 'container', known: true, process: 'sleep' }] });
  return buildNode({ mode: 'v1', driver: 'systemd', controllers: CONTROLLERS, pods: spec });
}

function leakedCount(n: BuiltNode): number {
  return n.pods.filter((p) => p.live === 'gone').length * DIRS_PER_POD * CONTROLLERS.length;
}

function ctxFor(transport: Transport, node: BuiltNode): ModuleContext {
  return {
    host: 'bench',
    transport,
    check: false,
    timeoutMs: 600_000,
    vars: { nodesweep_cgroup_root: node.root, nodesweep_kubelet_root: node.kubeletRoot, nodesweep_crictl: node.crictlPath },
    log: winston.createLogger({ silent: true }),
    signal: new AbortController().signal,
  };
}

async function timeModule(def: ModuleDefinition, args: Record<string, unknown>, ctx: ModuleContext): Promise<{ ms: number; r: ModuleResult }> {
  const params = def.schema.parse(args);
  const t0 = performance.now();
  const r = await def.run(params, ctx);
  return { ms: performance.now() - t0, r };
}

/** allowFail: the bare removal also tries the live pod's dirs, which the kernel refuses (EBUSY), as it should. */
function timeSh(script: string, allowFail = false): number {
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && !allowFail) throw new Error(`bench command failed (${r.status}): ${script}\n${r.stderr}`);
  return ms;
}

const realPaths = (n: BuiltNode) => n.hierarchies.map((h) => shQuote(h.path)).join(' ');

/** Runs each script under `strace -f` and counts the programs it executed (the sh itself excluded). */
class CountingTransport implements Transport {
  readonly host = 'bench';
  private readonly inner = new LocalTransport('bench');
  execs = 0;
  constructor(private readonly dir: string, private readonly mode: 'strace' | 'procstat') {}
  async connect(): Promise<void> {}
  async exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    if (this.mode === 'procstat') {
      const before = forkCounter();
      const r = await this.inner.exec(script, opts);
      this.execs += forkCounter() - before - 1;
      return r;
    }
    const out = join(this.dir, `trace-${Math.random().toString(36).slice(2)}`);
    const r = await this.inner.exec(`exec strace -f -qq -e trace=execve -o ${shQuote(out)} sh -c ${shQuote(script)}`, opts);
    const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('execve(') && !/= -1 /.test(l));
    this.execs += Math.max(0, lines.length - 1);
    rmSync(out, { force: true });
    return r;
  }
  async put(): Promise<void> {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

function forkCounter(): number {
  const m = /^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  return m ? Number(m[1]) : 0;
}

function hasStrace(): boolean {
  return spawnSync('sh', ['-c', 'command -v strace'], { stdio: 'ignore' }).status === 0;
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** "name 120 ms, other 30 ms" from a timings record (zero parts left out). */
function parts(r: unknown): string {
  if (!r || typeof r !== 'object') return '';
  return Object.entries(r as Record<string, number>)
    .filter(([, v]) => typeof v === 'number' && v > 0)
    .map(([k, v]) => `${k} ${v} ms`)
    .join(', ');
}

/** Where a scan's / prune's time went, from the module result's `timings`. */
function phaseLines(r: ModuleResult): string[] {
  const t = r.timings as Record<string, unknown> | undefined;
  if (!t) return [];
  if ('act_ms' in t) {
    return [
      `collect ${t.collect_ms} ms (on the node: ${parts(t.collect_node_ms)}); parse ${t.parse_ms} ms, classify ${t.classify_ms} ms, plan ${t.plan_ms} ms`,
      `re-check and act ${t.act_ms} ms (on the node: ${parts(t.act_node_ms)})`,
    ];
  }
  return [`collect ${t.collect_ms} ms (on the node: ${parts(t.node_ms)}); parse ${t.parse_ms} ms, classify ${t.classify_ms} ms`];
}

/**
 * The pure core alone at `perHierarchy` x 4 dirs: a prune-mode report as cgroup_collect.sh prints it (systemd names,
 * every pod gone), parsed, classified and planned (with the stdin lines for the script), timed once, cold.
 */
function coreCost(perHierarchy: number): string {
  const hex = (x: string) => createHash('sha256').update(x).digest('hex');
  const now = Math.floor(Date.now() / 1000);
  const out = ['@@nodesweep-collect 1', '@@mode prune', `@@now ${now}`, '@@root /sys/fs/cgroup', '@@fstype 1021994 tmpfs', '@@dirlister printf'];
  const pods = Math.floor((perHierarchy - 3) / 4);
  const meta = Array.from({ length: pods }, (_, i) => {
    const h = hex(`pod${i}`);
    return { u: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`, sb: hex(`sb${i}`), c: hex(`c${i}`), q: (i % 2 ? 'burstable' : 'besteffort') as Qos };
  });
  for (const h of CONTROLLERS) {
    const b = `/sys/fs/cgroup/${h}/nodesweep-test-0123456789`;
    const t = `${now - 3600}.1234567890`;
    out.push(`@@hierarchy ${h === 'unified' ? 'v2' : 'v1'} ${h} ${b}`, '@@dirs 1', `${t} ${b}/kubepods.slice`);
    for (const q of ['burstable', 'besteffort'] as const) {
      out.push(`${t} ${b}/kubepods.slice/kubepods-${q}.slice`);
      for (const m of meta) {
        if (m.q !== q) continue;
        const pod = `${b}/${podRel('systemd', q, m.u)}`;
        out.push(`${t} ${pod}`, ...(['sandbox', 'container', 'conmon'] as const).map((k) => `${t} ${pod}/${containerDirName('systemd', k, k === 'sandbox' ? m.sb : m.c)}`));
      }
    }
    out.push('@@rc find-dirs 0', '@@procs unread', '@@end-hierarchy');
  }
  out.push('@@proc-stat', '@@proc-cmdline', '@@end-procs');
  out.push('@@cmd crictl-pods 0', '@@stdout', '|{"items": []}', '', '@@stderr', '', '@@endcmd', '@@cmd crictl-ps 0', '@@stdout', '|{"containers": []}', '', '@@stderr', '', '@@endcmd');
  out.push('@@kubelet-pods ok /var/lib/kubelet/pods', '@@end-kubelet-pods', '@@end nodesweep-collect', '');
  const report = out.join('\n');
  const t0 = performance.now();
  const node = parseCollectOutput(report);
  const t1 = performance.now();
  const c = classify(node, { minAgeS: 300, unreadProcs: 'kernel-guard' });
  const t2 = performance.now();
  const plan = planPruneDirs(c, { maxRemovals: 10_000_000 });
  const live = new Set(c.live_pods);
  const stdin = plan.remove.map((d) => planLine(d, d.path, live, false)).join('\n');
  const t3 = performance.now();
  if (plan.remove.length !== node.dirs.length - 3 * CONTROLLERS.length) throw new Error(`core: planned ${plan.remove.length} of ${node.dirs.length}`);
  return (
    `pure core, cold, ${node.dirs.length} dirs (${CONTROLLERS.length} x ${perHierarchy}, a ${(report.length / 1e6).toFixed(1)} MB report): ` +
    `parse ${(t1 - t0).toFixed(0)} ms, classify ${(t2 - t1).toFixed(0)} ms, plan + script input ${(t3 - t2).toFixed(0)} ms (${(stdin.length / 1e6).toFixed(1)} MB): ` +
    `${fmtS(t3 - t0)} (aim well under 0.5 s)`
  );
}

/** A process named kubelet (a copy of sleep), so the scan's CPU sample has something to sample. */
function fakeKubelet(dir: string): { stop: () => void } {
  const bin = join(dir, 'kubelet');
  copyFileSync('/bin/sleep', bin);
  const child = spawn(bin, ['600'], { stdio: 'ignore' });
  return {
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    },
  };
}

async function main(): Promise<void> {
  const skip = cgroupSkipReason();
  if (skip) {
    console.log(`bench:node skipped: ${skip}`);
    return;
  }
  const scan = cgroupScanModule();
  const prune = cgroupPruneModule();
  const local = new LocalTransport('bench');
  const rows: string[][] = [];
  const say = (s: string) => process.stderr.write(s + '\n');
  const phases: string[] = [];
  const before = machineFacts();
  const load0 = before.load1;
  if (load0 > 1.5) say(`note: load average ${load0.toFixed(2)} on ${cpus().length} cores: the figures will be noisy (wait for a quiet machine)`);

  if (ONLY !== 'procs') {
    phases.push(coreCost(N));
    // Every measurement gets a fresh tree (a scan reads every cgroup.procs, and on v1 that leaves the kernel pid
    // lists to drop later: a prune of a just-scanned tree would pay for the scan), and a quiet second after the
    // build and after the cleanup (the kernel frees removed cgroups in the background). RUNS rounds, medians.
    const fresh = async <T>(n: number, fn: (node: BuiltNode) => Promise<T> | T): Promise<T> => {
      const node = leakyNode(n);
      spawnSync('sleep', ['1']);
      try {
        return await fn(node);
      } finally {
        node.cleanup();
        spawnSync('sleep', ['1']);
      }
    };
    const leaked = Math.max(1, Math.round(N / (DIRS_PER_POD * CONTROLLERS.length))) * DIRS_PER_POD * CONTROLLERS.length;
    const m = { scan: [] as number[], prune: [] as number[], list: [] as number[], bare: [] as number[], loop: [] as number[] };
    const last: { scan?: ModuleResult; sample?: [number, ModuleResult]; prune?: ModuleResult } = {};
    let loopLeaked = 0;
    for (let run = 1; run <= RUNS; run++) {
      say(`round ${run} of ${RUNS}`);
      await fresh(N, async (node) => {
        const s = await timeModule(scan, { cpu_sample: 0, min_age: '5m' }, ctxFor(local, node));
        if (s.r.status !== 'ok' || (s.r.counts as { total: number }).total !== leaked) throw new Error(`scan: ${s.r.status} ${s.r.msg}`);
        m.scan.push(s.ms);
        last.scan = s.r;
        if (run === 1) {
          // the same scan with the kubelet CPU sample on (1 s): the sample runs alongside the work
          const kdir = mkdtempSync(join(tmpdir(), 'nodesweep-bench-kubelet-'));
          const kubelet = fakeKubelet(kdir);
          try {
            const sk = await timeModule(scan, { cpu_sample: 1, min_age: '5m' }, ctxFor(local, node));
            last.sample = [sk.ms, sk.r];
          } finally {
            kubelet.stop();
            rmSync(kdir, { recursive: true, force: true });
          }
        }
      });
      await fresh(N, async (node) => {
        const p = await timeModule(prune, { min_age: '5m', max_removals: 1_000_000 }, ctxFor(local, node));
        if ((p.r.removed as string[]).length !== leaked) throw new Error(`prune removed ${(p.r.removed as string[]).length} of ${leaked}: ${p.r.msg}`);
        m.prune.push(p.ms);
        last.prune = p.r;
      });
      // the bare kernel cost on identical trees
      await fresh(N, (node) => m.list.push(timeSh(`find ${realPaths(node)} -type d > /dev/null`)));
      await fresh(N, (node) => {
        m.bare.push(timeSh(`find ${realPaths(node)} -mindepth 3 -depth -type d -exec rmdir {} +`, true));
        const left = node.allDirs().filter((d) => existsSync(d) && !node.pods.some((p) => p.live === 'runtime' && (p.dirs.includes(d) || p.containers.some((c) => c.dirs.includes(d)))));
        if (left.length) say(`note: the bare removal left ${left.length} dirs`);
      });
      // the community-style loop, on LOOP_N cgroups, extrapolated to N
      await fresh(LOOP_N, (node) => {
        loopLeaked = leakedCount(node);
        m.loop.push(
          timeSh(`for d in $(find ${realPaths(node)} -mindepth 3 -depth -type d); do if [ -z "$(cat "$d/cgroup.procs")" ]; then rmdir "$d"; fi; done`, true),
        );
      });
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const scanMs = med(m.scan);
    const pruneMs = med(m.prune);
    const listMs = med(m.list);
    const bareMs = med(m.bare);
    const loopMs = med(m.loop);
    const all = (xs: number[]) => (xs.length > 1 ? ` (runs: ${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})` : '');
    phases.push(`scan ${fmtS(scanMs)}${all(m.scan)}; last run: ${phaseLines(last.scan!).join('; ')}`);
    if (last.sample) {
      const cores = (last.sample[1].health as { kubelet_cpu_cores: number | null } | undefined)?.kubelet_cpu_cores;
      phases.push(`scan with the 1 s kubelet CPU sample ${fmtS(last.sample[0])} (a sleeping stand-in named kubelet: ${cores ?? '?'} cores): ${phaseLines(last.sample[1]).join('; ')}`);
    }
    phases.push(`prune ${fmtS(pruneMs)}${all(m.prune)}; last run: ${phaseLines(last.prune!).join('; ')}`);
    phases.push(`bare listing ${fmtS(listMs)}${all(m.list)}; bare removal ${fmtS(bareMs)}${all(m.bare)} (its own listing included)`);
    phases.push(`per-cgroup loop on ${loopLeaked} cgroups ${fmtS(loopMs)}${all(m.loop)}`);
    const loopAtN = (loopMs * leaked) / loopLeaked;
    rows.push(['prune (ours: collect + classify + re-check + rmdir)', fmtS(pruneMs), `${(pruneMs / bareMs).toFixed(2)}x bare removal (aim <= 1.5x)`, `${(loopAtN / pruneMs).toFixed(1)}x faster than the loop (aim >= 20x)`]);
    rows.push(['bare removal: find -mindepth 3 -depth -exec rmdir {} +', fmtS(bareMs), '1.00x', '']);
    rows.push(['scan (ours: collect + classify, no CPU sample)', fmtS(scanMs), `${(scanMs / listMs).toFixed(2)}x bare listing (aim <= 2x)`, `${(loopAtN / scanMs).toFixed(1)}x faster than the loop (aim >= 20x)`]);
    rows.push(['bare listing: find -type d', fmtS(listMs), '1.00x', '']);
    rows.push([`per-cgroup loop (cat cgroup.procs, rmdir), ${loopLeaked} cgroups`, fmtS(loopMs), `extrapolated to ${leaked}: ${fmtS(loopAtN)}`, '']);
    console.log(`\nnodesweep bench:node: ${leaked} leaked cgroups in ${CONTROLLERS.length} hierarchies (${CONTROLLERS.join(', ')}), one fresh tree per measurement, median of ${RUNS} runs\n${machineLine('before', before)}\n${machineLine('after')}\n`);
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(`  ${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]}`.trimEnd());
    console.log(`\nwhere the time went (ms; the node's parts from /proc/uptime, 10 ms resolution):`);
    for (const l of phases) console.log(`  ${l}`);
  }

  if (ONLY !== 'time') {
    const mode = hasStrace() ? 'strace' : 'procstat';
    const dir = mkdtempSync(join(tmpdir(), 'nodesweep-bench-'));
    console.log(`\nprocesses started on the node (${mode === 'strace' ? 'strace -f, execve' : '/proc/stat fork counter, machine-wide: approximate'}):`);
    try {
      for (const n of [Math.round(N / 10), N]) {
        const node = leakyNode(n);
        try {
          const t = new CountingTransport(dir, mode);
          const s = await timeModule(scan, { cpu_sample: 0 }, ctxFor(t, node));
          const scanExecs = t.execs;
          t.execs = 0;
          const p = await timeModule(prune, { min_age: '5m', max_removals: 1_000_000 }, ctxFor(t, node));
          console.log(`  ${String(leakedCount(node)).padStart(6)} cgroups: scan ${scanExecs} processes (${s.r.status}), prune ${t.execs} processes (${p.r.status}, removed ${(p.r.removed as string[]).length})`);
        } finally {
          node.cleanup();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
