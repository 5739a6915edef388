/**
 * `lab up` / `lab down` for real: the detached lab server (its own process, stopped by PID), nodes on real cgroups
 * when this machine allows it (root here) and on the plain tree when forced; nodesweep's scan and prune over SSH at
 * them; and afterwards nothing left: no process, no cgroup named after the lab, no dir.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { labDown, labUp, readManifest, servePid, type LabManifest } from '../../src/lab/lab.js';
import { CGROUP_FS } from '../../src/lab/node-builder.js';
import { chooseMode } from '../../src/lab/lab-node.js';
import { scanCommand } from '../../src/cli/scan-command.js';
import { runCommand } from '../../src/cli/run-command.js';
import type { CliIo } from '../../src/cli/main.js';
import { until } from '../helpers/until.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) {
    await labDown({ dir: join(d, 'lab') }).catch(() => undefined);
    rmSync(d, { recursive: true, force: true });
  }
});

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const w = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  return { io: { stdout: w((s) => (out += s)), stderr: w((s) => (err += s)) }, out: () => out, err: () => err };
}

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every entry named after this lab in any cgroup hierarchy of the machine. */
function labCgroups(labId: string): string[] {
  const found: string[] = [];
  if (!existsSync(CGROUP_FS)) return found;
  const look = (d: string) => {
    try {
      for (const e of readdirSync(d)) if (e.startsWith(`nodesweep-lab-${labId}`)) found.push(join(d, e));
    } catch {
      /* not a dir */
    }
  };
  look(CGROUP_FS);
  for (const h of readdirSync(CGROUP_FS)) look(join(CGROUP_FS, h));
  return found;
}

function conn(m: LabManifest, dir: string) {
  return {
    inventory: [join(dir, 'inventory.ini')],
    forks: 10,
    'extra-vars': [],
    'ask-become-pass': false,
    'host-key-checking': 'strict' as const,
    'connect-timeout': 10,
    'ask-key-passphrase': false,
    'task-timeout': 60,
    verbose: 0,
    history: false,
    _m: m,
  };
}

type ScanRow = { host: string; verdict: string; leaked: number; busy: number; too_young: number; kubelet_cpu_cores: number | null };
async function scanJson(m: LabManifest, dir: string): Promise<ScanRow[]> {
  const c = capture();
  const { _m, ...args } = conn(m, dir);
  const code = await scanCommand({ ...args, json: true }, c.io);
  assert.equal(code, 0, c.err());
  return (JSON.parse(c.out()) as { nodes: ScanRow[] }).nodes;
}

async function assertGone(m: LabManifest, dir: string, extraPids: number[]): Promise<void> {
  assert.equal(existsSync(dir), false, 'the lab dir is removed');
  assert.equal(alive(m.servePid!), false, 'the lab server is stopped');
  for (const p of [...m.pids.map((x) => x.pid), ...extraPids]) assert.equal(alive(p), false, `process ${p} is gone`);
  assert.deepEqual(labCgroups(m.labId), []);
}

describe('lab up / lab down', () => {
  test('the machine decides the mode (real cgroups as root): scan sees the story, down leaves nothing', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    dirs.push(base);
    const dir = join(base, 'lab');
    const up = await labUp({ dir, nodes: 2, days: 1, maxLeaksPerNode: 40 });
    const m = up.manifest;
    assert.equal(servePid(dir), up.pid);
    for (const f of ['inventory.ini', 'known_hosts', 'kubeconfig', 'id_ed25519', 'lab.pid']) assert.ok(existsSync(join(dir, f)), f);
    assert.equal(m.nodes.length, 2);
    if (m.mode === 'plain') assert.deepEqual(m.cgroups, []);
    else {
      assert.ok(m.cgroups.length > 0);
      const named = labCgroups(m.labId);
      assert.ok(named.length > 0);
      for (const c of named) assert.ok(m.cgroups.includes(c), `${c} is listed in lab.json`);
      for (const c of m.cgroups) assert.ok(existsSync(c), c);
      for (const p of m.pids) assert.ok(alive(p.pid), `lab process ${p.pid} (${p.comm}) runs`);
    }
    // the Kubernetes API stand-in serves the lab's nodes and pods
    const nodes = (await (await fetch(`${m.apiUrl}/api/v1/nodes`)).json()) as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['worker-01', 'worker-02']);

    const rows = await scanJson(m, dir);
    const byHost = new Map(rows.map((r) => [r.host, r]));
    const busy = m.nodes.find((n) => n.busy)!;
    assert.equal(byHost.get(busy.name)!.verdict, 'restart-needed');
    assert.ok(byHost.get(busy.name)!.busy > 0);
    for (const n of m.nodes) assert.ok(byHost.get(n.name)!.leaked > 0, `${n.name} has leaks`);
    // each node has its own kubelet, in its own kubelet.service cgroup, sampled by the scan (this machine runs none)
    const kubelets = m.nodes.map((n) => n.kubeletPid!);
    assert.equal(new Set(kubelets).size, m.nodes.length);
    for (const n of m.nodes) {
      assert.equal(readFileSync(`/proc/${n.kubeletPid}/comm`, 'utf8').trim(), 'kubelet');
      assert.ok(m.pids.some((p) => p.pid === n.kubeletPid && p.comm === 'kubelet'), 'listed in lab.json for lab down');
      assert.equal(typeof byHost.get(n.name)!.kubelet_cpu_cores, 'number', `${n.name}: kubelet CPU sampled`);
    }

    const down = await labDown({ dir });
    assert.deepEqual(down.problems, []);
    assert.equal(down.stoppedPid, up.pid);
    await assertGone(m, dir, []);
  });

  test('plain-tree mode when forced: the prune and its crio-restart escalation work without root', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    dirs.push(base);
    const dir = join(base, 'lab');
    const up = await labUp({ dir, nodes: 2, days: 1, maxLeaksPerNode: 30, mode: 'plain' });
    const m = up.manifest;
    assert.equal(m.mode, 'plain');
    assert.deepEqual(m.cgroups, []);
    const busy = m.nodes.find((n) => n.busy)!;
    assert.ok(busy.root.startsWith(dir) || busy.root.includes('/lab/nodes/'), busy.root);

    const before = new Map((await scanJson(m, dir)).map((r) => [r.host, r]));
    assert.equal(before.get(busy.name)!.verdict, 'restart-needed');

    const c = capture();
    const { _m, ...args } = conn(m, dir);
    const code = await runCommand(
      { ...args, playbook: join(process.cwd(), 'playbooks', 'prune-leaked-cgroups.yml'), check: false, tags: [], 'skip-tags': [], become: false, kubeconfig: join(dir, 'kubeconfig') },
      c.io,
    );
    assert.equal(code, 0, c.out() + c.err());
    assert.match(c.out(), new RegExp(`${busy.name}\\s+: ok=\\d+\\s+changed=\\d+\\s+unreachable=0\\s+failed=0\\s+skipped=\\d+\\s+rescued=1`));
    assert.match(readFileSync(join(busy.stateDir, 'systemctl.log'), 'utf8'), /restart crio/);

    const after = new Map((await scanJson(m, dir)).map((r) => [r.host, r]));
    for (const n of m.nodes) {
      const r = after.get(n.name)!;
      assert.equal(r.busy, 0, `${n.name}: nothing busy after the restart`);
      assert.notEqual(r.verdict, 'restart-needed');
      // what is left: the newest CronJob pod's slice and scope, younger than min_age (too_young counts the scopes)
      assert.ok(r.leaked <= 2 * r.too_young, `${n.name}: only the too-young leaks are left (${r.leaked} leaked, ${r.too_young} too young)`);
    }
    // the crio the restart started is the lab's too, and goes with it
    const spawned = readFileSync(join(busy.stateDir, 'spawned.pids'), 'utf8').split('\n').filter(Boolean).map(Number);
    assert.equal(spawned.length, 1);
    assert.ok(alive(spawned[0]!));
    const m2 = readManifest(dir)!;
    await labDown({ dir });
    await assertGone(m2, dir, spawned);
  });

  test('cgroup-v2 when forced: nodes are subtrees of a writable cgroup2 dir, or lab up says why it cannot', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    dirs.push(base);
    const dir = join(base, 'lab');
    let possible = true;
    try {
      chooseMode('cgroup-v2');
    } catch {
      possible = false;
    }
    if (!possible) {
      await assert.rejects(labUp({ dir, nodes: 1, days: 0.1, mode: 'cgroup-v2' }), /no writable cgroup2 dir/);
      assert.equal(existsSync(dir), false);
      return;
    }
    const up = await labUp({ dir, nodes: 2, days: 0.5, maxLeaksPerNode: 20, mode: 'cgroup-v2' });
    const m = up.manifest;
    assert.equal(m.mode, 'cgroup-v2');
    for (const n of m.nodes) assert.ok(m.cgroups.includes(n.root), `${n.root} is a lab cgroup`);
    const rows = new Map((await scanJson(m, dir)).map((r) => [r.host, r]));
    assert.equal(rows.get(m.nodes.find((n) => n.busy)!.name)!.verdict, 'restart-needed');
    await labDown({ dir });
    await assertGone(m, dir, []);
  });

  test('a lab server killed with SIGKILL: lab down still removes its processes, cgroups and dir from lab.json', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ns-lab-'));
    dirs.push(base);
    const dir = join(base, 'lab');
    const up = await labUp({ dir, nodes: 1, days: 0.5, maxLeaksPerNode: 20 });
    const m = readManifest(dir)!;
    process.kill(up.pid, 'SIGKILL');
    await until(() => !alive(up.pid), 'the killed lab server gone');
    // its processes outlive it (orphans), and so do its cgroups, until lab down
    assert.ok(m.pids.some((p) => alive(p.pid)));
    const down = await labDown({ dir });
    assert.equal(down.stoppedPid, undefined);
    assert.deepEqual(down.problems, []);
    await assertGone(m, dir, []);
  });
});
