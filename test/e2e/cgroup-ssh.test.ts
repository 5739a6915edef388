/**
 * The real CLI over real OpenSSH servers on loopback, at simulated nodes built in this machine's real cgroup
 * hierarchies (host vars nodesweep_cgroup_root / nodesweep_kubelet_root / nodesweep_crictl point each host at
 * its node). Needs root for cgroupfs; without it the tests say why and skip.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { runCli, recapLines } from '../helpers/cli.js';
import { buildNode, leftBehindPod, procState, type BuiltNode, type PodSpec } from '../../src/lab/node-builder.js';
import { cgroupSkipReason, dirExists, expectations } from '../cgroup/node-oracle.js';

const skip = cgroupSkipReason();

/** A node shaped like the story's: a CronJob's pods gone, leaving every kind of dir behind, plus live pods. */
function storyNode(mode: 'v1' | 'v2', opts: { busyLeak?: boolean } = {}): BuiltNode {
  const gone: PodSpec[] = Array.from({ length: 6 }, (_, i) => leftBehindPod((['burstable', 'besteffort', 'guaranteed'] as const)[i % 3]!, { bogusPids: true }));
  const pods: PodSpec[] = [
    ...gone,
    {
      qos: 'burstable',
      live: 'runtime',
      containers: [
        { kind: 'sandbox', known: true },
        { kind: 'container', known: true, process: 'sleep' },
        { kind: 'conmon', known: true, process: 'conmon' },
      ],
    },
    { qos: 'besteffort', live: 'kubelet-only', containers: [{ kind: 'container', known: false }] },
  ];
  if (opts.busyLeak) pods.push({ qos: 'besteffort', live: 'gone', containers: [{ kind: 'container', known: false, process: 'sleep' }] });
  return buildNode({ mode, driver: 'systemd', pods, systemSlice: mode === 'v1' });
}

function hostVarsFor(n: BuiltNode): string {
  return `nodesweep_cgroup_root=${n.root} nodesweep_kubelet_root=${n.kubeletRoot} nodesweep_crictl=${n.crictlPath} nodesweep_min_age=1m`;
}

describe('cgroup job over SSH with the real CLI', () => {
  let fleet: Fleet | undefined;
  const nodes: BuiltNode[] = [];
  before(async () => {
    if (skip) return;
    fleet = await startFleet(2);
  });
  after(async () => {
    for (const n of nodes) n.cleanup();
    await fleet?.stop();
  });

  test('prune playbook removes every removable leak, never a live or populated one; says what it kept', { skip }, async () => {
    const a = storyNode('v1');
    const b = storyNode('v2', { busyLeak: true });
    nodes.push(a, b);
    const inv = fleet!.writeInventory({ hostVars: (i) => hostVarsFor(i === 0 ? a : b), file: 'prune.ini' });
    const expA = expectations(a);
    const expB = expectations(b);

    // dry run first: nothing changes
    const dry = await runCli(['run', 'playbooks/prune-leaked-cgroups.yml', ...fleet!.baseArgs(inv), '--check'], { timeoutMs: 120_000 });
    assert.ok([0, 2].includes(dry.code ?? -1), dry.stdout + dry.stderr);
    for (const d of [...a.allDirs(), ...b.allDirs()]) assert.ok(dirExists(d), `check mode kept ${d}`);

    const r = await runCli(['run', 'playbooks/prune-leaked-cgroups.yml', ...fleet!.baseArgs(inv)], { timeoutMs: 120_000 });
    // node2 keeps a leaked pod with a process in it: it fails (rescue reports the escalation), node1 is clean
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const recap = recapLines(r.stdout);
    assert.equal(recap.length, 2);
    assert.match(recap[0]!, /^node1\s+: ok=3\s+changed=1\s+unreachable=0\s+failed=0/);
    assert.match(recap[1]!, /^node2\s+: .*failed=1\s+skipped=0\s+rescued=1/);
    assert.match(r.stdout, /needs escalation/);
    assert.match(r.stdout, /sleep 3600/); // who holds the busy leak

    for (const [n, exp] of [[a, expA], [b, expB]] as const) {
      assert.deepEqual(exp.removable.filter(dirExists), [], 'every removable leak is gone');
      assert.deepEqual(exp.live.filter((d) => !dirExists(d)), [], 'live and terminating pods untouched');
      assert.deepEqual(exp.held.filter((d) => !dirExists(d)), [], 'populated leaks untouched');
      for (const pid of n.pids) assert.match(procState(pid) ?? 'gone', /^[SR]$/, 'no process was killed');
    }
    assert.ok(expA.removable.length >= 6 * 4 * 7 && expB.removable.length >= 6 * 6);
  });

  test('nodesweep scan prints one row per node, and JSON with --json', { skip }, async () => {
    const a = storyNode('v1');
    const b = storyNode('v2', { busyLeak: true });
    nodes.push(a, b);
    const inv = fleet!.writeInventory({ hostVars: (i) => hostVarsFor(i === 0 ? a : b), file: 'scan.ini' });
    const t = await runCli(['scan', ...fleet!.baseArgs(inv)], { timeoutMs: 120_000 });
    assert.equal(t.code, 0, t.stdout + t.stderr);
    const lines = t.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^HOST\s+VERDICT\s+LEAKED\s+POD\/CTR\/CONMON\/SBX\s+BUSY\s+CRIO MEM\s+KUBELET CPU\s+CGROUPS/);
    assert.equal(lines.length, 3, t.stdout);
    const expA = expectations(a);
    const expB = expectations(b);
    assert.match(lines[1]!, new RegExp(`^node1\\s+leaking\\s+${expA.removable.length}\\s+`));
    assert.match(lines[2]!, new RegExp(`^node2\\s+busy\\s+${expB.removable.length + expB.held.length}\\s+`));
    assert.doesNotMatch(t.stdout, /PLAY RECAP/);

    const j = await runCli(['scan', ...fleet!.baseArgs(inv), '--json', '--limit', 'node2'], { timeoutMs: 120_000 });
    assert.equal(j.code, 0, j.stderr);
    const doc = JSON.parse(j.stdout) as { nodes: Array<Record<string, unknown>> };
    assert.equal(doc.nodes.length, 1);
    const row = doc.nodes[0]!;
    assert.equal(row.host, 'node2');
    assert.equal(row.verdict, 'busy');
    assert.equal(row.cgroup_mode, 'v2');
    assert.equal(row.leaked, expB.removable.length + expB.held.length);
    assert.ok((row.busy as number) >= 1);
    assert.equal(row.live_pods, 1);
    for (const d of [...a.allDirs(), ...b.allDirs()]) assert.ok(dirExists(d), 'scan changes nothing');
  });

  test('scan: a node whose crictl fails is reported with the reason, exit 2', { skip }, async () => {
    const a = storyNode('v2');
    nodes.push(a);
    a.crictl.setMode('fail');
    const inv = fleet!.writeInventory({ hostVars: () => hostVarsFor(a), file: 'fail.ini' });
    const t = await runCli(['scan', ...fleet!.baseArgs(inv), '--limit', 'node1'], { timeoutMs: 120_000 });
    assert.equal(t.code, 2, t.stdout + t.stderr);
    assert.match(t.stdout, /^node1\s+(unknown|failed)\s+-\s+.*crictl pods -o json failed.*crio\.sock/m);
  });
});
