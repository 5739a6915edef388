/**
 * cgroup_prune through the real LocalTransport on simulated nodes built in this machine's real cgroup
 * hierarchies (test/cgroup/node-builder.ts). Needs root; without it every test says why and skips.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildNode, cgroupSkipReason, crictlState, dirExists, expectations, procState, type BuiltNode, type NodeSpec, type PodSpec } from '../cgroup/node-builder.js';
import { runModule } from './ctx.js';
import { cgroupPruneModule, parsePruneOutput } from '../../src/modules/cgroup_prune.js';
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
    ...(['guaranteed', 'burstable', 'besteffort'] as const).map((qos) => ({
      qos,
      live: 'gone' as const,
      bogusPids: true,
      containers: [
        { kind: 'sandbox' as const, known: false },
        { kind: 'container' as const, known: false },
        { kind: 'conmon' as const, known: false },
      ],
    })),
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
          for (const h of n.hierarchies) assert.ok(dirExists(`${h.real}/${driver === 'systemd' ? 'kubepods.slice' : 'kubepods'}`));
          // a second run finds nothing left
          const again = await runPrune(n);
          assert.equal(again.status, 'ok', String(again.msg));
          assert.deepEqual(again.removed, []);
        });
      });
    }
  }

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
      // removing a child restamps its parent (kernfs): the next run needs min_age 0 to take the parents now
      // (and a second must pass: ages are whole seconds on one side, fractions on the other)
      await new Promise((r) => setTimeout(r, 1100));
      const rest = await runPrune(n, { min_age: '0s' });
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
  test('runtime failure carries its reason', () => {
    const r = parsePruneOutput(`${M} runtime fail crictl pods failed: connection refused\n`, M);
    assert.equal(r.runtimeOk, false);
    assert.equal(r.runtimeError, 'crictl pods failed: connection refused');
  });
});
