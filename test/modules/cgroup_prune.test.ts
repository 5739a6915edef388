/**
 * cgroup_prune through the real LocalTransport on simulated nodes built in this machine's real cgroup
 * hierarchies (test/cgroup/node-builder.ts). Needs root; without it every test says why and skips.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildNode, leftBehindPod, crictlState, procState, type BuiltNode, type NodeSpec, type PodSpec } from '../../src/lab/node-builder.js';
import { cgroupSkipReason, dirExists, expectations } from '../cgroup/node-oracle.js';
import { runModule } from './ctx.js';
import { cgroupPruneModule, composeResult, healthAfterFields, parsePruneOutput, type PruneScriptReport } from '../../src/modules/cgroup_prune.js';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { cgroupScanModule } from '../../src/modules/cgroup_scan.js';
import { dirsDeepestFirst } from '../../src/lab/node-builder.js';
import type { HealthAfter } from '../../src/modules/cgroup_prune.js';
import type { HealthFacts } from '../../src/cgroup/index.js';
import type { Classification, PrunePlan } from '../../src/cgroup/index.js';
import type { ModuleResult } from '../../src/modules/types.js';

const skip = cgroupSkipReason();
const prune = cgroupPruneModule();

function varsOf(n: BuiltNode): Record<string, unknown> {
  return { nodesweep_cgroup_root: n.root, nodesweep_kubelet_root: n.kubeletRoot, nodesweep_crictl: n.crictlPath };
}

async function runPrune(n: BuiltNode, args: Record<string, unknown> = {}, check = false): Promise<ModuleResult> {
  return runModule(prune, { min_age: '1m', ...args }, { vars: varsOf(n), check, timeoutMs: 120_000 });
}

async function withNode<T>(spec: NodeSpec, fn: (n: BuiltNode) => Promise<T>): Promise<T> {
  const n = buildNode(spec);
  try {
    return await fn(n);
  } finally {
    n.cleanup();
  }
}

/** Every leak kind, every QoS class, a live pod with processes and a leaked conmon, a terminating pod. */
function storyPods(): PodSpec[] {
  return [
    // live pod: its sandbox, container (with a real process) and conmon are known; one stale conmon scope leaked
    {
      qos: 'burstable',
      live: 'runtime',
      containers: [
        { kind: 'sandbox', known: true },
        { kind: 'container', known: true, process: 'sleep' },
        { kind: 'conmon', known: true, process: 'conmon' },
        { kind: 'conmon', known: false },
      ],
    },
    // a live Guaranteed pod whose processes sit in the pod slice itself
    { qos: 'guaranteed', live: 'runtime', process: 'sleep', containers: [{ kind: 'container', known: true }] },
    // the CronJob pods of the story: gone, every kind left behind, in each QoS class
    ...(['guaranteed', 'burstable', 'besteffort'] as const).map((qos) => leftBehindPod(qos, { bogusPids: true })),
    // terminating: only the kubelet pods dir knows it
    { qos: 'besteffort', live: 'kubelet-only', containers: [{ kind: 'container', known: false }, { kind: 'sandbox', known: false }] },
  ];
}

function assertAllExist(paths: string[], what: string): void {
  const gone = paths.filter((p) => !dirExists(p));
  assert.deepEqual(gone, [], `${what} must still exist`);
}
function assertNoneExist(paths: string[], what: string): void {
  const left = paths.filter((p) => dirExists(p));
  assert.deepEqual(left, [], `${what} must be gone`);
}

describe('cgroup_prune on real cgroups', () => {
  for (const mode of ['v1', 'v2'] as const) {
    for (const driver of ['systemd', 'cgroupfs'] as const) {
      test(`${mode} ${driver}: removes every leak kind, never a live or terminating pod's dirs`, { skip }, async () => {
        await withNode({ mode, driver, pods: storyPods() }, async (n) => {
          const exp = expectations(n);
          assert.ok(exp.removable.length > 0);
          const r = await runPrune(n);
          assert.equal(r.status, 'changed', String(r.msg));
          assert.equal(r.changed, true);
          assertNoneExist(exp.removable, 'leaked dirs');
          assertAllExist(exp.live, 'live and terminating dirs');
          assert.deepEqual([...(r.removed as string[])].sort(), [...exp.removable].sort());
          assert.deepEqual(r.busy, []);
          assert.equal(r.restart_needed, false);
          assert.equal(r.reboot_required, false);
          // the live processes are where they were, alive
          for (const pid of n.pids) assert.match(procState(pid) ?? 'gone', /^[SR]$/);
          // the kubepods root and QoS dirs are never removed
          for (const h of n.hierarchies) assert.ok(dirExists(`${h.path}/${driver === 'systemd' ? 'kubepods.slice' : 'kubepods'}`));
          // a second run finds nothing left
          const again = await runPrune(n);
          assert.equal(again.status, 'ok', String(again.msg));
          assert.deepEqual(again.removed, []);
        });
      });
    }
  }

  for (const mode of ['v1', 'v2'] as const) {
    test(`${mode}: health_after is measured on the node after removing: fewer cgroups than the scan before, this node's own kubelet sampled`, { skip }, async () => {
      await withNode({ mode, driver: 'systemd', pods: storyPods(), systemSlice: true }, async (n) => {
        // this node's kubelet: a real process in its own system.slice/kubelet.service cgroup (every hierarchy);
        // the node's cleanup moves it out, kills it and removes the cgroups
        const kubelet = spawn('sleep', ['600'], { stdio: 'ignore' });
        n.children.push(kubelet);
        n.place(join('system.slice', 'kubelet.service'), kubelet.pid!);
        const scan = await runModule(cgroupScanModule(), { min_age: '1m', cpu_sample: 0.2 }, { vars: varsOf(n), timeoutMs: 120_000 });
        const before = scan.health as HealthFacts;
        const r = await runPrune(n, { cpu_sample: 0.2 });
        assert.equal(r.status, 'changed', String(r.msg));
        const after = r.health_after as HealthAfter;
        assert.ok(after, String(r.health_after_error));
        // the node's own subtree counted (its root is not /sys/fs/cgroup), before and after, the same way
        assert.equal(before.num_cgroups_source, 'subtree');
        assert.equal(after.num_cgroups_source, 'subtree');
        const removedPerHierarchy = (r.removed as string[]).length / n.hierarchies.length;
        for (const [h, count] of Object.entries(after.num_cgroups)) assert.equal(count, before.num_cgroups[h]! - removedPerHierarchy, h);
        if (mode === 'v2') assert.equal(after.nr_descendants, before.nr_descendants! - (r.removed as string[]).length);
        // found by its cgroup, not by a process name (this machine runs no kubelet)
        assert.equal(after.kubelet_found_by, 'cgroup');
        assert.equal(before.kubelet_found_by, 'cgroup');
        assert.equal(typeof after.kubelet_cpu_cores, 'number');
        // (a v2 test subtree has no memory controller enabled: no memory.current to read)
        assert.deepEqual(after.not_measured, mode === 'v1' ? [] : ['system_slice_memory_bytes', 'crio_memory_bytes']);
        if (mode === 'v1') assert.ok(after.system_slice_memory_bytes! > 0);
        // check mode changes nothing, so it measures no "after"
        const dry = await runPrune(n, {}, true);
        assert.equal(dry.health_after, null);
        assert.match(String(dry.health_after_error), /check mode/);
      });
    });
  }

  test('a prune with nothing to remove still measures the node after (its health now)', { skip }, async () => {
    await withNode({ mode: 'v2', driver: 'systemd', pods: [{ qos: 'burstable', live: 'runtime', containers: [{ kind: 'container', known: true }] }], systemSlice: true }, async (n) => {
      const r = await runPrune(n, { cpu_sample: 0 });
      assert.equal(r.status, 'ok', String(r.msg));
      const after = r.health_after as HealthAfter;
      assert.ok(after, String(r.health_after_error));
      assert.equal(after.nr_descendants, dirsDeepestFirst(n.root).length);
      assert.equal(after.num_cgroups.unified, dirsDeepestFirst(n.root).length + 1);
      assert.ok(after.not_measured.includes('kubelet_cpu_cores'));
    });
  });

  test('v2: the bogus pids/ tree cri-o made is removed with the leaks', { skip }, async () => {
    await withNode({ mode: 'v2', driver: 'systemd', pods: storyPods() }, async (n) => {
      const bogus = n.allDirs().filter((d) => d.startsWith(n.root + '/pids/kubepods.slice/'));
      assert.ok(bogus.length >= 6);
      const r = await runPrune(n);
      assert.equal(r.status, 'changed', String(r.msg));
      assertNoneExist(bogus, 'bogus pids tree dirs');
    });
  });

  test('a leaked pod still holding a process: busy, failed, with pid, state and command line', { skip }, async () => {
    const pods: PodSpec[] = [
      { qos: 'besteffort', live: 'gone', containers: [{ kind: 'sandbox', known: false }, { kind: 'container', known: false, process: 'sleep' }] },
      { qos: 'burstable', live: 'gone', containers: [{ kind: 'container', known: false }] },
    ];
    for (const mode of ['v1', 'v2'] as const) {
      await withNode({ mode, driver: 'systemd', pods }, async (n) => {
        const exp = expectations(n);
        const r = await runPrune(n);
        assert.equal(r.status, 'failed', String(r.msg));
        assertAllExist(exp.held, 'the populated leak and its pod slice');
        assertNoneExist(exp.removable, 'the empty leaks');
        const pid = n.pods[0]!.containers[1]!.pid!;
        const busy = r.busy as Array<{ path: string; status: string; pids: Array<{ pid: number; state: string; cmdline: string }> }>;
        const mine = busy.filter((b) => b.pids.some((x) => x.pid === pid));
        assert.ok(mine.length >= 1, JSON.stringify(busy));
        for (const b of mine) {
          assert.equal(b.status, 'busy');
          assert.deepEqual(b.pids.find((x) => x.pid === pid), { pid, state: 'S', cmdline: 'sleep 3600', comm: 'sleep' });
        }
        assert.equal(r.reboot_required, false);
        assert.match(String(r.msg), new RegExp(`pid ${pid} \\(S\\) sleep 3600`));
        assert.ok(procState(pid), 'the process was not killed');
        // the prune read no cgroup.procs before acting: the kernel refused the scope (EBUSY), and its pod slice
        // because of it. The slice is blocked by its busy child, not busy itself; nothing else is busy.
        const scopes = n.pods[0]!.containers[1]!.dirs;
        assert.deepEqual(busy.map((b) => b.path).sort(), [...scopes].sort());
        const blocked = r.blocked as Array<{ path: string; blocked_by: string }>;
        assert.deepEqual(blocked.map((b) => b.path).sort(), [...n.pods[0]!.dirs].filter((d) => !d.includes('/pids/kubepods')).sort());
        for (const b of blocked) assert.ok(scopes.includes(b.blocked_by), `${b.path} blocked by ${b.blocked_by}`);
        assert.equal((r.counts as Record<string, number>).blocked, blocked.length);
      });
    }
  });

  test('a process in D state: reboot_required, never killed even with kill_stragglers', { skip }, async () => {
    await withNode(
      { mode: 'v1', driver: 'systemd', pods: [{ qos: 'guaranteed', live: 'gone', containers: [{ kind: 'container', known: false, process: 'D' }] }] },
      async (n) => {
        const pid = n.pods[0]!.containers[0]!.pid!;
        assert.equal(procState(pid), 'D');
        const r = await runPrune(n, { kill_stragglers: true });
        assert.equal(r.status, 'failed');
        assert.equal(r.reboot_required, true);
        assert.deepEqual(r.killed, []);
        assert.equal(procState(pid), 'D');
        assert.match(String(r.msg), /reboot required/);
        assertAllExist(n.pods[0]!.containers[0]!.dirs, 'the D-state leak');
      },
    );
  });

  test("crio's own process holds a leaked cgroup: restart_needed, never killed (even with kill_stragglers)", { skip }, async () => {
    const pods: PodSpec[] = [
      { qos: 'besteffort', live: 'gone', containers: [{ kind: 'sandbox', known: false, process: 'crio' }, { kind: 'container', known: false }] },
      { qos: 'burstable', live: 'gone', containers: [{ kind: 'container', known: false }] },
    ];
    for (const mode of ['v1', 'v2'] as const) {
      await withNode({ mode, driver: 'systemd', pods }, async (n) => {
        const pid = n.pods[0]!.containers[0]!.pid!;
        const held = [...n.pods[0]!.containers[0]!.dirs, ...n.pods[0]!.dirs];
        // check mode: no rmdir, so the script reads who holds what it would remove, and says the kernel would refuse it
        const dry = await runPrune(n, { kill_stragglers: true }, true);
        assert.equal(dry.status, 'failed', String(dry.msg));
        assert.equal(dry.restart_needed, true);
        assert.deepEqual(dry.removed, []);
        assert.deepEqual(dry.killed, []);
        const would = dry.would_remove as string[];
        assert.ok(would.length > 0 && held.every((d) => !would.includes(d)), JSON.stringify(would));
        assert.deepEqual([...would].sort(), expectations(n).removable.sort());
        assert.deepEqual((dry.busy as Array<{ path: string }>).map((b) => b.path).sort(), [...n.pods[0]!.containers[0]!.dirs].sort());
        assertAllExist(n.allDirs(), 'every dir (check mode)');
        const r = await runPrune(n, { kill_stragglers: true });
        assert.equal(r.status, 'failed', String(r.msg));
        assert.equal(r.restart_needed, true);
        assert.equal(r.reboot_required, false);
        assert.deepEqual(r.killed, []);
        assert.match(procState(pid)!, /^[SR]$/, 'crio was not killed');
        const busy = r.busy as Array<{ path: string; status: string; pids: Array<{ pid: number; comm: string }> }>;
        assert.ok(busy.length >= 1 && busy.every((b) => b.status === 'restart_needed' && b.pids.some((x) => x.pid === pid && x.comm === 'crio')), JSON.stringify(busy));
        assert.match(String(r.msg), /restart crio/);
        assertAllExist([...n.pods[0]!.containers[0]!.dirs, ...n.pods[0]!.dirs], 'the cgroups crio holds, and their pod slice');
        assertNoneExist([...n.pods[1]!.dirs, ...n.pods[1]!.containers.flatMap((c) => c.dirs), ...n.pods[0]!.containers[1]!.dirs], 'the other leaks');
      });
    }
  });

  test('the result says where the time went (collect, classify, plan, act, and the parts on the node)', { skip }, async () => {
    await withNode({ mode: 'v1', driver: 'systemd', pods: storyPods() }, async (n) => {
      const r = await runPrune(n);
      const t = r.timings as Record<string, unknown>;
      for (const k of ['collect_ms', 'parse_ms', 'classify_ms', 'plan_ms', 'act_ms']) assert.equal(typeof t[k], 'number', k);
      for (const k of ['collect_ms', 'act_ms']) assert.ok(Number.isFinite(t[k]) && (t[k] as number) >= 0, `${k}: ${String(t[k])}`);
      assert.ok('rmdir' in (t.act_node_ms as Record<string, number>) && 'age' in (t.act_node_ms as Record<string, number>), JSON.stringify(t));
      assert.ok('listing' in (t.collect_node_ms as Record<string, number>), JSON.stringify(t));
    });
  });

  test('kill_stragglers: orphan processes (even conmon) are killed, then their cgroups removed', { skip }, async () => {
    const pods: PodSpec[] = [
      {
        qos: 'burstable',
        live: 'gone',
        containers: [
          { kind: 'container', known: false, process: 'sleep' },
          { kind: 'conmon', known: false, process: 'conmon' },
        ],
      },
      { qos: 'besteffort', live: 'runtime', containers: [{ kind: 'container', known: true, process: 'sleep' }] },
    ];
    await withNode({ mode: 'v1', driver: 'systemd', pods }, async (n) => {
      const orphanPids = n.pods[0]!.containers.map((c) => c.pid!);
      const livePid = n.pods[1]!.containers[0]!.pid!;
      // without the flag: busy, nothing killed
      const before = await runPrune(n);
      assert.equal(before.status, 'failed');
      for (const pid of orphanPids) assert.match(procState(pid)!, /^[SR]$/);
      const r = await runPrune(n, { kill_stragglers: true });
      assert.equal(r.status, 'changed', String(r.msg));
      assert.deepEqual([...new Set((r.killed as Array<{ pid: number }>).map((k) => k.pid))].sort(), [...orphanPids].sort());
      for (const pid of orphanPids) assert.ok(['Z', undefined].includes(procState(pid)), `pid ${pid} killed`);
      assertNoneExist([...n.pods[0]!.dirs, ...n.pods[0]!.containers.flatMap((c) => c.dirs)], 'the orphan pod');
      assert.match(procState(livePid)!, /^[SR]$/, 'the live pod keeps its process');
      assertAllExist([...n.pods[1]!.dirs, ...n.pods[1]!.containers.flatMap((c) => c.dirs)], 'the live pod');
    });
  });

  test('young leaks are kept as too_young (age is a lower bound), old ones removed', { skip }, async () => {
    const pods: PodSpec[] = [
      { qos: 'burstable', live: 'gone', ageS: 0, containers: [{ kind: 'container', known: false, ageS: 0 }] },
      { qos: 'burstable', live: 'gone', ageS: 7200, containers: [{ kind: 'container', known: false, ageS: 7200 }] },
    ];
    await withNode({ mode: 'v1', driver: 'systemd', pods }, async (n) => {
      const young = new Set([n.pods[0]!.uid]);
      const exp = expectations(n, { youngPods: young });
      const r = await runPrune(n, { min_age: '1h' });
      assert.equal(r.status, 'changed', String(r.msg));
      assertNoneExist(exp.removable, 'old leaks');
      assertAllExist(exp.held, 'young leaks');
      const tooYoung = new Set(r.too_young as string[]);
      for (const d of n.pods[0]!.containers[0]!.dirs) assert.ok(tooYoung.has(d), `${d} reported too young`);
    });
  });

  test('an old pod slice above a young leak: kept, not even tried (blocked by it), in --check too', { skip }, async () => {
    const pods: PodSpec[] = [{ qos: 'burstable', live: 'gone', ageS: 7200, containers: [{ kind: 'container', known: false, ageS: 0 }, { kind: 'conmon', known: false }] }];
    await withNode({ mode: 'v1', driver: 'systemd', pods }, async (n) => {
      const young = n.pods[0]!.containers[0]!.dirs;
      const slices = n.pods[0]!.dirs;
      const conmons = n.pods[0]!.containers[1]!.dirs;
      for (const check of [true, false]) {
        const r = await runPrune(n, { min_age: '1h' }, check);
        assert.equal(r.status, 'changed', String(r.msg));
        assert.deepEqual([...(r[check ? 'would_remove' : 'removed'] as string[])].sort(), [...conmons].sort());
        // the collected ages already say the child is young: the slice is skipped, the kernel never sees it
        const skipped = (r.skipped as Array<{ path: string; reason: string }>).filter((x) => slices.includes(x.path));
        assert.equal(skipped.length, slices.length);
        for (const x of skipped) assert.ok(young.some((y) => x.reason === `blocked by ${y}`), JSON.stringify(x));
        assert.deepEqual(r.blocked, []);
        for (const d of young) assert.ok((r.too_young as string[]).includes(d));
        assert.deepEqual(r.busy, []);
      }
      assertAllExist([...young, ...slices], 'the young leak and its pod slice');
      assertNoneExist(conmons, 'the old conmon scopes');
    });
  });

  for (const mode of ['fail', 'garbage', 'truncated', 'empty'] as const) {
    test(`crictl ${mode}: nothing removed, the task fails with the reason`, { skip }, async () => {
      await withNode({ mode: 'v1', driver: 'systemd', pods: storyPods() }, async (n) => {
        n.crictl.setMode(mode);
        const all = n.allDirs();
        const r = await runPrune(n);
        assert.equal(r.status, 'failed');
        assert.deepEqual(r.removed, []);
        assert.match(String(r.msg), /nothing removed/);
        if (mode === 'fail') assert.match(String(r.msg), /crio\.sock|rc 1|exit/i);
        assertAllExist(all, 'every dir');
      });
    });
  }

  test('crictl fails only at the re-check right before rmdir: nothing removed (fail closed)', { skip }, async () => {
    await withNode({ mode: 'v2', driver: 'systemd', pods: storyPods() }, async (n) => {
      n.crictl.onPodsCall(2, `echo fail > '${n.crictl.dir}/mode'\n`);
      const all = n.allDirs();
      const r = await runPrune(n);
      assert.equal(r.status, 'failed');
      assert.match(String(r.msg), /re-check/);
      assertAllExist(all, 'every dir');
    });
  });

  test('check mode removes nothing and reports would_remove', { skip }, async () => {
    await withNode({ mode: 'v1', driver: 'cgroupfs', pods: storyPods() }, async (n) => {
      const exp = expectations(n);
      const r = await runPrune(n, {}, true);
      assert.equal(r.status, 'changed');
      assert.deepEqual(r.removed, []);
      assert.deepEqual([...(r.would_remove as string[])].sort(), [...exp.removable].sort());
      assertAllExist(n.allDirs(), 'every dir (check mode)');
    });
  });

  test('max_removals caps a run, children always before their parents', { skip }, async () => {
    await withNode({ mode: 'v1', driver: 'systemd', pods: storyPods() }, async (n) => {
      const exp = expectations(n);
      const r = await runPrune(n, { max_removals: 10 });
      const removed = r.removed as string[];
      assert.equal(removed.length, 10);
      assert.equal((r.counts as Record<string, number>).deferred, exp.removable.length - 10);
      for (const p of removed) assert.ok(!n.allDirs().some((d) => d.startsWith(p + '/') && dirExists(d)), `${p} removed before a child`);
      // removing a child restamps its parent (kernfs): the parents look young again. Age what is left by an hour,
      // as the time between two cron runs would (not by waiting: ages are whole seconds on one side)
      const hourAgo = Date.now() / 1000 - 3600;
      for (const d of n.allDirs()) if (dirExists(d)) utimesSync(d, hourAgo, hourAgo);
      const rest = await runPrune(n);
      assertNoneExist(exp.removable, 'all leaks after the second run');
      assert.equal((rest.removed as string[]).length, exp.removable.length - 10);
    });
  });

  test('race: a dir vanishes between the plan and the rmdir -> vanished', { skip }, async () => {
    await withNode({ mode: 'v1', driver: 'systemd', pods: storyPods() }, async (n) => {
      const exp = expectations(n);
      const victim = n.pods[2]!.containers[1]!.dirs[0]!; // a leaked container scope
      n.crictl.onPodsCall(2, `rmdir '${victim}'\n`); // the prune's own re-check is the 2nd pods call
      const r = await runPrune(n);
      assert.deepEqual(r.vanished, [victim]);
      assert.ok(!(r.removed as string[]).includes(victim));
      // the rmdir restamped the victim's pod slice: the re-check sees it as just touched and keeps it
      const parent = victim.slice(0, victim.lastIndexOf('/'));
      assert.ok((r.too_young as string[]).includes(parent), JSON.stringify(r.too_young));
      assertNoneExist(exp.removable.filter((d) => d !== parent), 'the other leaks');
      assert.equal(r.status, 'changed');
    });
  });

  test('race: the runtime learns a pod between the plan and the rmdir -> refused, untouched', { skip }, async () => {
    await withNode({ mode: 'v1', driver: 'systemd', pods: storyPods() }, async (n) => {
      const back = n.pods[3]!; // a gone burstable pod comes back (e.g. a restore)
      const [pods, containers] = crictlState(n.pods.map((p) => (p === back ? { ...p, live: 'runtime' as const } : p)));
      n.crictl.stageState(2, pods, containers);
      const r = await runPrune(n);
      const backDirs = [...back.dirs, ...back.containers.flatMap((c) => c.dirs)];
      assertAllExist(backDirs, 'the pod the runtime knows again');
      const refused = new Set((r.refused as Array<{ path: string; reason: string }>).map((x) => x.path));
      for (const d of backDirs) assert.ok(refused.has(d), `${d} refused`);
      const others = expectations(n).removable.filter((d) => !backDirs.includes(d));
      assertNoneExist(others, 'the other leaks');
    });
  });

  test('race: the kubelet pods dir reappears for a gone pod -> refused', { skip }, async () => {
    await withNode({ mode: 'v2', driver: 'systemd', pods: storyPods() }, async (n) => {
      const back = n.pods[4]!;
      n.crictl.onPodsCall(2, `mkdir -p '${n.kubeletRoot}/pods/${back.uid}'\n`);
      const r = await runPrune(n);
      assertAllExist([...back.dirs, ...back.containers.flatMap((c) => c.dirs)], "the pod with a kubelet dir again");
      assert.ok((r.refused as Array<{ reason: string }>).some((x) => /kubelet pods dir/.test(x.reason)));
    });
  });
});

describe('health_after: the health block the prune prints after acting (pure)', () => {
  const M = '__NODESWEEP_0123456789abcdef__';
  const stat = (ticks: number) => `4242 (kubelet) S 1 4242 4242 0 -1 4194304 1 0 0 0 ${ticks} 5 0 0 20 0 1 0 100 0 0`;
  const block = [
    `${M} health-begin`,
    '@@num-cgroups subtree',
    '|memory 31',
    '|cpu,cpuacct 30',
    '@@end-num-cgroups',
    '@@cgroup-stat /sys/fs/cgroup/unified/node',
    '|nr_descendants 29',
    '|nr_dying_descendants 2',
    '@@end-cgroup-stat',
    '@@memory system.slice 367001600 /x/system.slice/memory.usage_in_bytes',
    '@@memory crio.service 157286400 /x/system.slice/crio.service/memory.usage_in_bytes',
    '@@kubelet-cpu 4242 100 cgroup',
    `|100.00|${stat(10)}`,
    `|101.00|${stat(12)}`,
    '@@end-kubelet-cpu',
    `${M} health-end`,
  ];
  test('parsed as a scan parses its health; every fact measured', () => {
    const rep = parsePruneOutput([`${M} runtime ok`, ...block, `${M} removed /x/kubepods.slice/a`].join('\n'), M);
    assert.deepEqual(rep.removed, ['/x/kubepods.slice/a']);
    const { health_after: h } = healthAfterFields(rep.healthLines, false);
    assert.deepEqual(h, {
      num_cgroups: { memory: 31, 'cpu,cpuacct': 30 },
      num_cgroups_source: 'subtree',
      nr_descendants: 29,
      nr_dying_descendants: 2,
      system_slice_memory_bytes: 367001600,
      crio_memory_bytes: 157286400,
      kubelet_cpu_cores: 0.02,
      kubelet_found_by: 'cgroup',
      not_measured: [],
    });
  });
  test('what is missing is listed as not measured; no block, check mode or a garbled block: null with the reason', () => {
    const partial = block.filter((l) => !l.startsWith('@@memory') && !l.includes('kubelet') && !/^\|\d+\.\d+\|/.test(l));
    const h = healthAfterFields(parsePruneOutput(partial.join('\n'), M).healthLines, false).health_after!;
    assert.deepEqual(h.not_measured, ['system_slice_memory_bytes', 'crio_memory_bytes', 'kubelet_cpu_cores']);
    assert.equal(h.kubelet_cpu_cores, null);
    assert.deepEqual(healthAfterFields(parsePruneOutput(`${M} runtime ok\n`, M).healthLines, false), { health_after: null, health_after_error: 'the prune script printed no health measurement' });
    assert.equal(healthAfterFields(block.slice(1, -1), true).health_after, null);
    const bad = healthAfterFields(['@@memory system.slice 1 /x', 'oops'], false);
    assert.equal(bad.health_after, null);
    assert.match(bad.health_after_error!, /does not parse: .*oops/);
  });
});

describe('parsePruneOutput', () => {
  const M = '__NODESWEEP_test__';
  test('reads every line kind; rmdir messages of GNU and busybox; cmdlines with NULs', () => {
    const out = [
      `${M} runtime ok`,
      `${M} refused runtime /a/b`,
      `${M} vanished /a/c`,
      `${M} too_young 12 /a/d`,
      `${M} removed /a/e`,
      `${M} failed /a/f`,
      `${M} rmerr rmdir: failed to remove '/a/f': Device or resource busy`,
      `${M} rmerr rmdir: '/a/g': Directory not empty`,
      `${M} holder /a/f/crio-x.scope 42`,
      `${M} stat 42 42 (my (odd) proc) D 1 42 42 0 -1`,
      `${M} cmdlines-begin`,
      `==> /proc/42/cmdline <==\nsleep\u00003600\u0000`,
      '',
      `${M} cmdlines-end`,
      'noise that is not ours',
    ].join('\n');
    const r = parsePruneOutput(out, M);
    assert.equal(r.runtimeOk, true);
    assert.deepEqual(r.refused, [{ path: '/a/b', reason: 'the runtime knows this pod or container now (re-check before rmdir)' }]);
    assert.deepEqual(r.vanished, ['/a/c']);
    assert.deepEqual(r.tooYoung, [{ path: '/a/d', age_s: 12 }]);
    assert.deepEqual(r.removed, ['/a/e']);
    assert.deepEqual(r.failed, ['/a/f']);
    assert.equal(r.rmErrors.get('/a/f'), 'Device or resource busy');
    assert.equal(r.rmErrors.get('/a/g'), 'Directory not empty');
    assert.deepEqual(r.holders, [{ dir: '/a/f/crio-x.scope', pid: 42 }]);
    assert.deepEqual(r.procs.get(42), { pid: 42, state: 'D', comm: 'my (odd) proc', cmdline: 'sleep 3600' });
  });
  test('reads the holders of refused dirs: populated flags, dirs left below, phase times', () => {
    const out = [
      `${M} failed /a/p`,
      `${M} populated /a/p 1`,
      `${M} populated /a/p/c 0`,
      `${M} left /a/p/c`,
      `${M} phase rmdir 91`,
      `${M} phase age 7`,
      `${M} phase rmdir 9`,
    ].join('\n');
    const r = parsePruneOutput(out, M);
    assert.deepEqual([...r.populated], [['/a/p', true], ['/a/p/c', false]]);
    assert.deepEqual(r.left, ['/a/p/c']);
    assert.deepEqual(r.phasesMs, { rmdir: 1000, age: 70 });
  });
  test('runtime failure carries its reason', () => {
    const r = parsePruneOutput(`${M} runtime fail crictl pods failed: connection refused\n`, M);
    assert.equal(r.runtimeOk, false);
    assert.equal(r.runtimeError, 'crictl pods failed: connection refused');
  });
});

describe('composeResult: what the kernel refused (pure)', () => {
  const M = '__NODESWEEP_t__';
  const c = {
    cgroup_mode: 'v1',
    procs_read: false,
    runtime_ok: true,
    runtime_error: null,
    leaked: [],
    counts: { total: 6, by_kind: { pod: 0, container: 0, conmon: 0, sandbox: 0, nested: 0 }, by_hierarchy: {}, by_status: { removable: 6, too_young: 0, busy: 0, restart_needed: 0, reboot_required: 0, blocked: 0 }, bogus_pids_tree: 0 },
    live_pods: [],
    terminating_pods: [],
    busy: [],
    too_young: [],
    restart_needed: [],
    reboot_required: [],
    unknown_names: [],
    health: {} as Classification['health'],
    warnings: [],
    dirs: [],
  } as Classification;
  const plan: PrunePlan = { remove: ['/h/p1/s', '/h/p1', '/h/p2/s', '/h/p2', '/h/p3', '/h/p4', '/h/p5'], skipped: [] };
  const cases: Array<{ name: string; lines: string[]; want: Record<string, unknown> }> = [
    {
      name: 'own pids: busy; its parent: blocked by it',
      lines: ['failed /h/p1/s', 'failed /h/p1', 'holder /h/p1/s 42', 'stat 42 42 (sleep) S 1', 'left /h/p1/s'],
      want: { busy: [['/h/p1/s', 'busy', [42]]], blocked: [['/h/p1', '/h/p1/s']], refused: [], vanished: [], status: 'failed', restart: false, reboot: false },
    },
    {
      name: 'crio holds it: restart_needed; D state: reboot_required (wins)',
      lines: ['failed /h/p1/s', 'holder /h/p1/s 7', 'stat 7 7 (crio) S 1', 'failed /h/p2/s', 'holder /h/p2/s 8', 'stat 8 8 (sleep) D 1'],
      want: { busy: [['/h/p1/s', 'restart_needed', [7]], ['/h/p2/s', 'reboot_required', [8]]], blocked: [], refused: [], vanished: [], status: 'failed', restart: true, reboot: true },
    },
    {
      name: 'a parent refused because a child it did not plan appeared (left), or a child too young: blocked',
      lines: ['failed /h/p3', 'left /h/p3/new', 'too_young_mtime 99 /h/p4/young', 'failed /h/p4', 'now 100'],
      want: { busy: [], blocked: [['/h/p3', '/h/p3/new'], ['/h/p4', '/h/p4/young']], refused: [], vanished: [], status: 'ok', restart: false, reboot: false },
    },
    {
      name: 'v2 populated with no pid listed: busy with no pids; gone before the rmdir: vanished; anything else: refused with rmdir\'s reason',
      lines: ['failed /h/p5', 'populated /h/p5 1', 'failed /h/p2', "rmerr rmdir: failed to remove '/h/p2': No such file or directory", 'failed /h/p3', "rmerr rmdir: failed to remove '/h/p3': Permission denied"],
      want: { busy: [['/h/p5', 'busy', []]], blocked: [], refused: [['/h/p3', 'rmdir: Permission denied']], vanished: ['/h/p2'], status: 'failed', restart: false, reboot: false },
    },
  ];
  for (const k of cases) {
    test(k.name, () => {
      const rep: PruneScriptReport = parsePruneOutput(['runtime ok', ...k.lines].map((l) => `${M} ${l}`).join('\n'), M);
      const r = composeResult({}, c, plan, [], rep, { check: false });
      const busy = (r.busy as Array<{ path: string; status: string; pids: Array<{ pid: number }> }>).map((b) => [b.path, b.status, b.pids.map((x) => x.pid)]);
      assert.deepEqual(busy, k.want.busy);
      assert.deepEqual((r.blocked as Array<{ path: string; blocked_by: string }>).map((b) => [b.path, b.blocked_by]), k.want.blocked);
      assert.deepEqual((r.refused as Array<{ path: string; reason: string }>).map((b) => [b.path, b.reason]), k.want.refused);
      assert.deepEqual(r.vanished, k.want.vanished);
      assert.equal(r.status, k.want.status);
      assert.equal(r.restart_needed, k.want.restart);
      assert.equal(r.reboot_required, k.want.reboot);
    });
  }
});

describe('cgroup_prune.sh: the age test "MTIME <= T" as an ERE (ns_le_re)', () => {
  const script = readFileSync(new URL('../../src/modules/scripts/cgroup_prune.sh', import.meta.url), 'utf8');
  const fn = /^ns_le_re\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];
  test('the function is there', () => assert.ok(fn));
  const table: Array<[number, number[]]> = [
    [0, [0, 1, 9, 10]],
    [9, [0, 8, 9, 10, 99]],
    [10, [0, 9, 10, 11, 100]],
    [100, [0, 9, 99, 100, 101, 1000]],
    [1799999999, [0, 999999999, 1799999998, 1799999999, 1800000000, 1700000000, 10000000000]],
    [1800000000, [1799999999, 1800000000, 1800000001, 1799999990, 1900000000, 999999999]],
    [1234567890, [1234567889, 1234567890, 1234567891, 1234567900, 1234560000, 1300000000]],
  ];
  for (const [t, nums] of table) {
    test(`T = ${t}`, () => {
      const r = spawnSync('sh', ['-c', `${fn}\nns_le_re ${t}\nprintf '%s\\n' "$ns_re"`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const re = new RegExp(`^(${r.stdout.trim()}) `);
      for (const n of nums) assert.equal(re.test(`${n} /p`), n <= t, `${n} <= ${t}: ${r.stdout.trim()}`);
      // and grep -E agrees with the JS reading of the same ERE
      const g = spawnSync('grep', ['-E', `^(${r.stdout.trim()}) `], { input: nums.map((n) => `${n} /p`).join('\n') + '\n', encoding: 'utf8' });
      assert.deepEqual(g.stdout.split('\n').filter(Boolean), nums.filter((n) => n <= t).map((n) => `${n} /p`));
    });
  }
});
