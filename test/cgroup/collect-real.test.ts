/**
 * cgroup_collect.sh for real, through LocalTransport, on small trees built in this machine's cgroup hierarchies
 * (fresh `nodesweep-test-*` subtrees only, removed in after()), with real `sleep` processes moved into scopes
 * and a crictl stand-in of our own. Then parse + classify the report.
 * Also: the script's process count does not grow with the number of cgroups.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, readdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local.js';
import { shQuote } from '../../src/transport/types.js';
import { shAssignments } from '../../src/modules/common.js';
import { loadCollectScript } from '../../src/modules/cgroup_scan.js';
import { collectParams, parseCollectOutput } from '../../src/cgroup/collect-parse.js';
import { classify, planPrune } from '../../src/cgroup/classify.js';
import type { CollectParams } from '../../src/cgroup/types.js';
import { crictlPodsJson, crictlPsJson, hex64, sdPod, uid } from './tree.js';
import { dirsDeepestFirst } from '../../src/lab/node-builder.js';

const FS = '/sys/fs/cgroup';
const V1 = ['memory', 'pids', 'cpu'] as const; // cpu stands for cpu,cpuacct (separate mounts on this host)
const SCRIPT = loadCollectScript();

/** Why real cgroups cannot be used here, or null when they can. */
function unusable(): string | null {
  if (process.getuid?.() !== 0) return 'not root: cgroupfs is not writable (skipped; CI runs as root)';
  for (const h of [...V1, 'unified']) {
    const probe = join(FS, h, `nodesweep-test-probe-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
    } catch (e) {
      return `cannot create a cgroup under ${join(FS, h)}: ${(e as Error).message} (skipped; CI must have it)`;
    }
  }
  return null;
}
const skipReason = unusable();

/** Everything the tests create, so after() removes exactly that. */
class Made {
  readonly cgroupBases: string[] = [];
  readonly tmpDirs: string[] = [];
  readonly children: ChildProcess[] = [];
  base(hierarchy: string): string {
    const p = join(FS, hierarchy, `nodesweep-test-${randomBytes(6).toString('hex')}`);
    mkdirSync(p);
    this.cgroupBases.push(p);
    return p;
  }
  tmp(): string {
    const d = mkdtempSync(join(tmpdir(), 'nodesweep-cgtest-'));
    this.tmpDirs.push(d);
    return d;
  }
  sleeper(arg: string): number {
    const c = spawn('sleep', [arg], { stdio: 'ignore' });
    this.children.push(c);
    return c.pid!;
  }
  cleanup(): void {
    // 1. our processes back to each hierarchy's root cgroup, then killed by pid
    for (const c of this.children) {
      if (c.pid === undefined || c.exitCode !== null) continue;
      for (const h of [...V1, 'unified']) {
        try {
          writeFileSync(join(FS, h, 'cgroup.procs'), String(c.pid));
        } catch {
          /* not in that hierarchy's subtree of ours, or gone */
        }
      }
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // 2. our cgroup dirs, deepest first (rmdir only: the kernel refuses anything still in use)
    for (const b of this.cgroupBases) rmdirTree(b);
    for (const d of this.tmpDirs) rmSync(d, { recursive: true, force: true });
  }
}

function rmdirTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  for (let i = 0; i < 600; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      // EBUSY right after a kill: the process is still being reaped
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY') throw e;
      spawnSync('sleep', ['0.05']);
    }
  }
  rmdirSync(dir);
}

function mkdirs(base: string, rels: string[]): void {
  for (const r of rels) mkdirSync(join(base, r), { recursive: true });
}

function setAge(path: string, ageS: number): void {
  const t = Date.now() / 1000 - ageS;
  utimesSync(path, t, t);
}

async function runCollect(
  p: Partial<CollectParams> & { cgroupRoot: string; kubeletRoot: string; crictl: string },
  portable = false,
): Promise<{ stdout: string; stderr: string; rc: number }> {
  const t = new LocalTransport('localhost');
  const script = `${shAssignments(collectParams({ sampleS: 0, journalctl: '', ...p }), shQuote)}\n${portable ? 'NS_PORTABLE=1\n' : ''}${SCRIPT}`;
  const r = await t.exec(script, { timeoutMs: 60_000 });
  await t.close();
  return r;
}

/** A crictl stand-in: prints fixed JSON for `pods -o json` and `ps -a -o json`, or fails like a dead socket. */
function crictlStub(dir: string, pods: string, ps: string, fail = false): string {
  writeFileSync(join(dir, 'pods.json'), pods);
  writeFileSync(join(dir, 'ps.json'), ps);
  const bin = join(dir, fail ? 'crictl-broken' : 'crictl');
  const body = fail
    ? `echo 'time="2024-01-01T00:00:00Z" level=fatal msg="validate service connection: dial unix /var/run/crio/crio.sock: connect: no such file or directory"' >&2\nexit 1\n`
    : `case "$*" in\n  'pods -o json') cat ${shQuote(join(dir, 'pods.json'))} ;;\n  'ps -a -o json') cat ${shQuote(join(dir, 'ps.json'))} ;;\n  *) echo "stub: unsupported: $*" >&2; exit 2 ;;\nesac\n`;
  writeFileSync(bin, `#!/bin/sh\n${body}`);
  chmodSync(bin, 0o755);
  return bin;
}

describe('cgroup_collect.sh on real cgroups', { skip: skipReason ?? false }, () => {
  const made = new Made();
  after(() => made.cleanup());

  // the node: live pod A (burstable) with container, conmon and sandbox dirs and a leaked container scope;
  // leaked pods G1 (besteffort, cri-o 6349 sandbox scope) and G2 (guaranteed, a process still in its scope);
  // terminating pod T (kubelet dir only); an unknown name; on v2 the bogus pids/ tree for G1
  const A = uid('real-a');
  const A_SB = hex64('real-a-sb');
  const A_C = hex64('real-a-c');
  const A_DEAD = hex64('real-a-dead');
  const G1 = uid('real-g1');
  const G1_SB = hex64('real-g1-sb');
  const G2 = uid('real-g2');
  const G2_C = hex64('real-g2-c');
  const T = uid('real-t');
  const T_C = hex64('real-t-c');
  const rels = [
    `${sdPod('burstable', A)}/crio-${A_C}.scope`,
    `${sdPod('burstable', A)}/crio-conmon-${A_C}.scope`,
    `${sdPod('burstable', A)}/crio-${A_SB}`,
    `${sdPod('burstable', A)}/crio-${A_DEAD}.scope`,
    `${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`,
    `${sdPod('guaranteed', G2)}/crio-${G2_C}.scope`,
    `${sdPod('besteffort', T)}/crio-${T_C}.scope`,
    'kubepods.slice/weird.slice',
  ];
  let root = '';
  let kubeletRoot = '';
  let crictl = '';
  let brokenCrictl = '';
  let livePid = 0;
  let strayPid = 0;
  const bases: Record<string, string> = {};

  before(() => {
    const tmp = made.tmp();
    root = join(tmp, 'cgroot');
    mkdirSync(root);
    for (const h of V1) {
      bases[h] = made.base(h);
      mkdirs(bases[h]!, rels);
    }
    bases.unified = made.base('unified');
    mkdirs(bases.unified, [...rels, `pids/${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`]);
    // a v1 root shaped like a real hybrid node: one tree per controller, cpu and cpuacct linked to cpu,cpuacct
    symlinkSync(bases.memory!, join(root, 'memory'));
    symlinkSync(bases.pids!, join(root, 'pids'));
    symlinkSync(bases.cpu!, join(root, 'cpu,cpuacct'));
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
    symlinkSync(bases.unified, join(root, 'unified'));
    mkdirSync(join(root, 'not-a-cgroup'));

    livePid = made.sleeper('300');
    strayPid = made.sleeper('301');
    for (const h of [...V1, 'unified']) {
      writeFileSync(join(bases[h]!, `${sdPod('burstable', A)}/crio-${A_C}.scope/cgroup.procs`), String(livePid));
      writeFileSync(join(bases[h]!, `${sdPod('guaranteed', G2)}/crio-${G2_C}.scope/cgroup.procs`), String(strayPid));
      // old enough to prune (kernfs keeps the times we set)
      for (const r of rels) for (let p = r; p.includes('/'); p = p.slice(0, p.lastIndexOf('/'))) setAge(join(bases[h]!, p), 3600);
    }
    for (const r of [`pids/${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`, `pids/${sdPod('besteffort', G1)}`]) setAge(join(bases.unified, r), 3600);

    kubeletRoot = join(tmp, 'kubelet');
    mkdirs(kubeletRoot, [`pods/${A}/volumes`, `pods/${T}/volumes`]);
    const pods = crictlPodsJson([{ id: A_SB, uid: A, name: 'web-0' }]);
    const ps = crictlPsJson([{ id: A_C, podSandboxId: A_SB, podUid: A }]);
    crictl = crictlStub(tmp, pods, ps);
    brokenCrictl = crictlStub(tmp, pods, ps, true);
    mkdirs(tmp, ['crio-etc/crio.conf.d']);
    writeFileSync(join(tmp, 'crio-etc/crio.conf'), '[crio.runtime]\ncgroup_manager = "systemd"\nconmon_cgroup = "pod"\n# drop_infra_ctr = false\n');
    writeFileSync(join(tmp, 'crio-etc/crio.conf.d/10-drop.conf'), '[crio.runtime]\ndrop_infra_ctr = true\n');
    const crio = join(tmp, 'crio');
    writeFileSync(crio, '#!/bin/sh\necho "crio version 1.24.1"\necho "Version:  1.24.1"\n');
    chmodSync(crio, 0o755);
  });

  test('v1/hybrid root of symlinks: every hierarchy once, every kind classified, processes reported', async () => {
    const r = await runCollect({ cgroupRoot: root, kubeletRoot, crictl, crio: join(root, '..', 'crio'), kubelet: '/nonexistent/kubelet', crioConfig: join(root, '..', 'crio-etc') });
    assert.equal(r.rc, 0, r.stderr);
    const node = parseCollectOutput(r.stdout);
    assert.equal(node.mode, 'hybrid');
    assert.deepEqual(
      node.hierarchies.map((h) => [h.name, h.path, h.version]),
      [
        ['cpu,cpuacct', bases.cpu, 'v1'],
        ['memory', bases.memory, 'v1'],
        ['pids', bases.pids, 'v1'],
        ['unified', bases.unified, 'v2'],
      ],
    );
    assert.ok(node.warnings.some((w) => w.startsWith('not-a-cgroup not a cgroup fs')), node.warnings.join('\n'));
    assert.equal(node.procs[livePid]?.cmdline, 'sleep 300');
    assert.equal(node.procs[strayPid]?.cmdline, 'sleep 301');
    assert.equal(node.procs[strayPid]?.comm, 'sleep');
    assert.match(node.procs[strayPid]!.state, /^[SR]$/);
    assert.equal(node.health.crioVersion?.stdout.split('\n')[0], 'crio version 1.24.1');
    assert.equal(node.health.kubeletVersion, null);
    // the root is not /sys/fs/cgroup: num_cgroups are the node's own dirs, per hierarchy (not the machine's /proc/cgroups)
    assert.deepEqual(node.health.procCgroups, []);
    assert.equal(node.health.numCgroupsSubtree?.memory, dirsDeepestFirst(bases.memory!).length + 1);
    assert.equal(node.health.numCgroupsSubtree?.unified, dirsDeepestFirst(bases.unified!).length + 1);
    assert.equal(classify(node, { minAgeS: 600 }).health.num_cgroups_source, 'subtree');
    assert.ok(node.health.nrDescendants !== null && node.health.nrDescendants >= 10);

    const c = classify(node, { minAgeS: 600 });
    assert.equal(c.runtime_ok, true, c.runtime_error ?? '');
    const leaked = c.leaked.map((l) => `${l.hierarchy} ${l.path.slice(bases[l.hierarchy === 'cpu,cpuacct' ? 'cpu' : l.hierarchy]!.length + 1)} ${l.status}`).sort();
    const want: string[] = [];
    for (const h of ['memory', 'pids', 'cpu,cpuacct', 'unified']) {
      want.push(
        `${h} ${sdPod('burstable', A)}/crio-${A_DEAD}.scope removable`,
        `${h} ${sdPod('besteffort', G1)} removable`,
        `${h} ${sdPod('besteffort', G1)}/crio-${G1_SB}.scope removable`,
        `${h} ${sdPod('guaranteed', G2)} blocked`,
        `${h} ${sdPod('guaranteed', G2)}/crio-${G2_C}.scope busy`,
      );
    }
    want.push(`unified pids/${sdPod('besteffort', G1)} removable`, `unified pids/${sdPod('besteffort', G1)}/crio-${G1_SB}.scope removable`);
    assert.deepEqual(leaked, want.sort());
    assert.equal(c.counts.bogus_pids_tree, 2);
    assert.deepEqual(c.live_pods, [A]);
    assert.deepEqual(c.terminating_pods, [T]);
    assert.equal(c.unknown_names.length, 4);
    assert.equal(c.busy.length, 4);
    for (const b of c.busy) assert.deepEqual(b.pids.map((p) => [p.pid, p.cmdline]), [[strayPid, 'sleep 301']]);
    assert.equal(c.health.crio_version_leaking, true);
    assert.deepEqual([c.health.crio_drop_infra_ctr, c.health.crio_conmon_cgroup, c.health.crio_cgroup_manager], [true, 'pod', 'systemd']);
    for (const d of c.dirs) {
      if (d.pod_uid === A && d.container_id !== A_DEAD) assert.equal(d.decision, 'live', d.path);
      if (d.pod_uid === T) assert.equal(d.decision, 'terminating', d.path);
    }
    const plan = planPrune(c, { maxRemovals: 1000 });
    assert.equal(plan.remove.length, 14); // 3 per hierarchy (dead scope, G1 slice + scope) + the bogus pids pair
    assert.ok(plan.remove.every((p) => !p.includes(G2_C) && !p.includes(`pod${G2.replace(/-/g, '_')}`)));
  });

  test('the POSIX fallbacks (find -exec stat, find -exec grep) give the same report', async () => {
    const gnu = parseCollectOutput((await runCollect({ cgroupRoot: root, kubeletRoot, crictl })).stdout);
    const posix = parseCollectOutput((await runCollect({ cgroupRoot: root, kubeletRoot, crictl }, true)).stdout);
    const key = (n: typeof gnu) => n.dirs.map((d) => `${d.path} ${d.mtime} ${d.pids === null ? 'unread' : d.pids.join(',')} ${d.populated}`).sort();
    assert.ok(gnu.dirs.length > 40);
    assert.deepEqual(key(posix), key(gnu));
    const leaks = (n: typeof gnu) => classify(n, { minAgeS: 600 }).leaked.map((l) => `${l.path} ${l.status}`).sort();
    assert.deepEqual(leaks(posix), leaks(gnu));
  });

  test('age is a lower bound: freshly made dirs are too young under a long grace period', async () => {
    const fresh = `${sdPod('besteffort', uid('fresh'))}/crio-${hex64('fresh')}.scope`;
    mkdirs(bases.memory!, [fresh]);
    const r = await runCollect({ cgroupRoot: root, kubeletRoot, crictl });
    const c = classify(parseCollectOutput(r.stdout), { minAgeS: 60 });
    const st = c.leaked.filter((l) => l.path.startsWith(bases.memory!) && l.path.includes(uid('fresh').replace(/-/g, '_'))).map((l) => l.status);
    assert.deepEqual(st.sort(), ['blocked', 'too_young']);
    rmdirSync(join(bases.memory!, fresh));
    rmdirSync(join(bases.memory!, fresh, '..'));
  });

  test('v2 root: the root itself is the single hierarchy, populated flags read', async () => {
    const r = await runCollect({ cgroupRoot: bases.unified!, kubeletRoot, crictl });
    assert.equal(r.rc, 0, r.stderr);
    const node = parseCollectOutput(r.stdout);
    assert.equal(node.mode, 'v2');
    assert.deepEqual(node.hierarchies, [{ name: 'unified', path: bases.unified, version: 'v2' }]);
    const pod = node.dirs.find((d) => d.rel === sdPod('guaranteed', G2))!;
    assert.equal(pod.populated, true);
    assert.deepEqual(pod.pids, []);
    assert.equal(node.dirs.find((d) => d.rel === `${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`)!.populated, false);
    const c = classify(node, { minAgeS: 600 });
    assert.equal(c.counts.total, 7);
    assert.equal(c.counts.by_hierarchy.unified, 7);
  });

  test('crictl failing: stderr kept apart, nothing leaked, the reason says why', async () => {
    const r = await runCollect({ cgroupRoot: root, kubeletRoot, crictl: brokenCrictl });
    const node = parseCollectOutput(r.stdout);
    assert.equal(node.crictlPods.rc, 1);
    assert.equal(node.crictlPods.stdout, '');
    assert.match(node.crictlPods.stderr, /no such file or directory/);
    const c = classify(node, { minAgeS: 0 });
    assert.equal(c.runtime_ok, false);
    assert.match(c.runtime_error ?? '', /crictl pods -o json failed \(rc 1\): .*validate service connection/);
    assert.equal(c.leaked.length, 0);
    assert.deepEqual(planPrune(c, { maxRemovals: 100 }).remove, []);
  });

  test('crictl missing, kubelet dir missing: each part reports its own failure, the script still ends', async () => {
    const r = await runCollect({ cgroupRoot: root, kubeletRoot: '/nonexistent/kubelet', crictl: '/nonexistent/crictl' });
    assert.equal(r.rc, 0);
    const node = parseCollectOutput(r.stdout);
    assert.equal(node.crictlPods.rc, 127);
    assert.deepEqual(node.kubeletPods, { ok: false, reason: 'kubelet pods dir /nonexistent/kubelet/pods is missing' });
    assert.ok(node.dirs.length > 0);
  });

  test('prune mode: the same dirs and mtimes as a scan, no process read, no health facts, no journal', async () => {
    const scanned = parseCollectOutput((await runCollect({ cgroupRoot: root, kubeletRoot, crictl })).stdout);
    const r = await runCollect({ cgroupRoot: root, kubeletRoot, crictl, mode: 'prune', crio: join(root, '..', 'crio') });
    assert.equal(r.rc, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /cgroup\.procs|cgroup\.events|@@proc-cgroups|@@cmd crio-version|@@journal|@@memory/);
    const node = parseCollectOutput(r.stdout);
    assert.equal(node.collectMode, 'prune');
    assert.deepEqual(node.dirs.map((d) => `${d.path} ${d.mtime}`).sort(), scanned.dirs.map((d) => `${d.path} ${d.mtime}`).sort());
    assert.ok(node.dirs.every((d) => d.pids === null && d.populated === null));
    assert.deepEqual(node.procs, {});
    assert.deepEqual([node.health.procCgroups, node.health.crioVersion, node.health.kubeletCpu], [[], null, null]);
    assert.equal(node.crictlPods.rc, 0);
    assert.ok(node.kubeletPods.ok);
    assert.ok((node.phasesMs?.listing ?? -1) >= 0 && 'hierarchies' in node.phasesMs!, JSON.stringify(node.phasesMs));
    // the scan refuses it, the prune classifies it: the held leak (G2) is planned, for the kernel's EBUSY to refuse
    assert.throws(() => classify(node, { minAgeS: 600 }), /not read/);
    const c = classify(node, { minAgeS: 600, unreadProcs: 'kernel-guard' });
    assert.equal(c.busy.length, 0);
    assert.ok(planPrune(c, { maxRemovals: 1000 }).remove.some((p) => p.includes(G2_C)));
  });

  test('the kubelet CPU sample runs alongside the work: it sleeps only what the work left of the sample', async () => {
    const dir = made.tmp();
    // a kubelet of its own name (comm), so another suite's stand-in kubelet on this machine is never sampled
    const kubelet = join(dir, `kubelet-${randomBytes(3).toString('hex')}`);
    writeFileSync(kubelet, readFileSync('/bin/sleep'));
    chmodSync(kubelet, 0o755);
    const child = spawn(kubelet, ['120'], { stdio: 'ignore' });
    made.children.push(child);
    // The script's clock is a fake pair: an uptime file that moves only when the fake sleep or the slow crictl
    // moves it (flock: one writer at a time), and a sleep that logs what it was asked and returns at once.
    const clock = join(dir, 'clock');
    mkdirSync(clock);
    writeFileSync(join(clock, 'cs'), '100000\n');
    writeFileSync(join(clock, 'uptime'), '1000.00 0.00\n');
    const advance = join(clock, 'advance');
    writeFileSync(
      advance,
      `#!/bin/sh\n# advance the fake uptime by $1 centiseconds\nexec 9>>${shQuote(join(clock, 'lock'))}\nflock 9\n` +
        `cs=$(($(cat ${shQuote(join(clock, 'cs'))}) + $1))\necho "$cs" > ${shQuote(join(clock, 'cs'))}\n` +
        `printf '%d.%02d 0.00\\n' $((cs / 100)) $((cs % 100)) > ${shQuote(join(clock, 'uptime.new'))}\nmv ${shQuote(join(clock, 'uptime.new'))} ${shQuote(join(clock, 'uptime'))}\n`,
    );
    const sleep = join(clock, 'sleep');
    writeFileSync(
      sleep,
      `#!/bin/sh\necho "$1" >> ${shQuote(join(clock, 'sleeps'))}\ni=\${1%%.*}\nf=00\ncase $1 in *.*) f=\${1#*.}00 ;; esac\nf=\${f%"\${f#??}"}\nexec ${shQuote(advance)} $((i * 100 + \${f#0}))\n`,
    );
    // a crictl that takes 0.3 s of the fake clock per call: 0.6 s of work inside the 1 s sample
    const slow = join(dir, 'crictl-slow');
    writeFileSync(slow, `#!/bin/sh\n${shQuote(advance)} 30\nexec ${shQuote(crictl)} "$@"\n`);
    for (const f of [advance, sleep, slow]) chmodSync(f, 0o755);

    const r = await runCollect({ cgroupRoot: root, kubeletRoot, crictl: slow, kubelet, sampleS: 1, clock: { uptime: join(clock, 'uptime'), sleep } });
    const node = parseCollectOutput(r.stdout);
    const cpu = node.health.kubeletCpu;
    assert.ok(cpu, r.stdout.split('\n').filter((l) => l.startsWith('@@')).join('\n'));
    assert.equal(cpu.pid, child.pid);
    // one after the other it would sleep the whole second after the work (interval 1.6 s)
    assert.deepEqual(readFileSync(join(clock, 'sleeps'), 'utf8').split('\n').filter(Boolean), ['0.40']);
    assert.equal(cpu.intervalS, 1);
    assert.equal(node.phasesMs?.crictl, 600, JSON.stringify(node.phasesMs));
    const c = classify(node, { minAgeS: 600 });
    assert.equal(c.health.kubelet_cpu_cores, 0);
  });

  test('the script writes nothing: every cgroup dir and mtime is unchanged after a run', async () => {
    const snap = () => {
      const out: string[] = [];
      const walk = (d: string) => {
        const s = lstatSync(d);
        out.push(`${d} ${s.mtimeMs}`);
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      };
      for (const h of [...V1, 'unified']) walk(bases[h]!);
      return out.join('\n');
    };
    const before = snap();
    await runCollect({ cgroupRoot: root, kubeletRoot, crictl });
    await runCollect({ cgroupRoot: root, kubeletRoot, crictl, mode: 'prune' });
    assert.equal(snap(), before);
    assert.equal(readFileSync(join(bases.memory!, `${sdPod('burstable', A)}/crio-${A_C}.scope/cgroup.procs`), 'utf8').trim(), String(livePid));
  });
});

describe('cgroup_collect.sh process count', { skip: skipReason ?? false }, () => {
  const made = new Made();
  after(() => made.cleanup());
  const hasStrace = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).status === 0;

  /** A v1 root with pids + unified, N leaked pod slices each with one scope. */
  function tree(n: number): { root: string; kubelet: string; crictl: string } {
    const tmp = made.tmp();
    const root = join(tmp, 'cgroot');
    mkdirSync(root);
    for (const h of ['pids', 'unified']) {
      const b = made.base(h);
      const rels: string[] = [];
      for (let i = 0; i < n / 2; i++) rels.push(`${sdPod('besteffort', uid(`n${i}`))}/crio-${hex64(`n${i}`)}.scope`);
      mkdirs(b, rels);
      symlinkSync(b, join(root, h));
    }
    mkdirSync(join(tmp, 'kubelet', 'pods'), { recursive: true });
    return { root, kubelet: join(tmp, 'kubelet'), crictl: crictlStub(tmp, crictlPodsJson([]), crictlPsJson([])) };
  }

  /** Processes the script starts: counted with strace when present, else by the kernel's last pid (noisier). */
  async function forks(t: { root: string; kubelet: string; crictl: string }): Promise<{ n: number; dirs: number }> {
    const p: CollectParams = { cgroupRoot: t.root, kubeletRoot: t.kubelet, crictl: t.crictl, sampleS: 0, journalctl: '' };
    const script = `${shAssignments(collectParams(p), shQuote)}\n${SCRIPT}`;
    if (hasStrace) {
      const dir = made.tmp();
      writeFileSync(join(dir, 'c.sh'), script);
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fork,vfork,clone,clone3', '-o', join(dir, 'trace'), 'sh', join(dir, 'c.sh')], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(r.status, 0, r.stderr);
      const n = readFileSync(join(dir, 'trace'), 'utf8').split('\n').filter((l) => /\b(clone3?|v?fork)\(/.test(l) && !/= -1/.test(l) && !/CLONE_THREAD/.test(l)).length;
      return { n, dirs: parseCollectOutput(r.stdout).dirs.length };
    }
    const lastPid = () => Number(readFileSync('/proc/loadavg', 'utf8').trim().split(' ').pop());
    let best = Infinity;
    let dirs = 0;
    for (let i = 0; i < 3; i++) {
      const p0 = lastPid();
      const r = await runCollect({ cgroupRoot: t.root, kubeletRoot: t.kubelet, crictl: t.crictl });
      best = Math.min(best, lastPid() - p0);
      dirs = parseCollectOutput(r.stdout).dirs.length;
    }
    return { n: best, dirs };
  }

  test('the same number of processes for 50 and 2000 cgroups', async () => {
    const small = await forks(tree(50));
    const big = await forks(tree(2000));
    assert.ok(small.dirs >= 50 && big.dirs >= 2000, `${small.dirs} / ${big.dirs} dirs listed`);
    // equal with GNU grep -r; the find -exec {} + fallback would add a grep per ~128 KiB of paths
    assert.ok(big.n - small.n <= 2, `${small.n} processes for ${small.dirs} dirs, ${big.n} for ${big.dirs}`);
    assert.ok(big.n < 40, `${big.n} processes for ${big.dirs} dirs`);
  });
});
