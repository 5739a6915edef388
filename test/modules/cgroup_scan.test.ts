/**
 * cgroup_scan through the real LocalTransport on simulated nodes in this machine's real cgroup hierarchies.
 * It changes nothing; it fails closed when the runtime cannot be read. Needs root; without it, skips and says why.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildNode, leftBehindPod, type BuiltNode } from '../../src/lab/node-builder.js';
import { cgroupSkipReason, dirExists, expectations } from '../cgroup/node-oracle.js';
import { runModule } from './ctx.js';
import { cgroupScanModule, parseDuration, parseSince, cgroupScanSchema } from '../../src/modules/cgroup_scan.js';

const skip = cgroupSkipReason();
const scan = cgroupScanModule();

function varsOf(n: BuiltNode): Record<string, unknown> {
  return { nodesweep_cgroup_root: n.root, nodesweep_kubelet_root: n.kubeletRoot, nodesweep_crictl: n.crictlPath };
}

describe('cgroup_scan on real cgroups', () => {
  for (const mode of ['v1', 'v2'] as const) {
    test(`${mode}: reports the leaks by kind and hierarchy, the live pods and health, changes nothing`, { skip }, async () => {
      const n = buildNode({
        mode,
        driver: 'systemd',
        systemSlice: mode === 'v1',
        pods: [
          { qos: 'burstable', live: 'runtime', containers: [{ kind: 'sandbox', known: true }, { kind: 'container', known: true, process: 'sleep' }, { kind: 'conmon', known: false }] },
          leftBehindPod('besteffort', { bogusPids: true }),
          { qos: 'guaranteed', live: 'gone', containers: [{ kind: 'container', known: false, process: 'sleep' }] },
          { qos: 'besteffort', live: 'kubelet-only', containers: [{ kind: 'container', known: false }] },
        ],
      });
      try {
        const all = n.allDirs();
        const exp = expectations(n);
        for (const check of [false, true]) {
          const r = await runModule(scan, { cpu_sample: 0 }, { vars: varsOf(n), check, timeoutMs: 60_000 });
          assert.equal(r.status, 'ok', String(r.msg));
          assert.equal(r.changed, false);
          assert.equal(r.cgroup_mode, mode === 'v1' ? 'hybrid' : 'v2');
          const leaked = r.leaked as Array<{ path: string; kind: string; pod_uid: string | null; pids: Array<{ pid: number }> }>;
          assert.deepEqual(leaked.map((l) => l.path).sort(), [...exp.removable, ...exp.held].sort());
          const counts = r.counts as { total: number; by_kind: Record<string, number>; by_hierarchy: Record<string, number> };
          const h = n.hierarchies.length;
          const bogus = mode === 'v2' ? 2 : 0; // the gone pod's slice and sandbox in pids/
          assert.equal(counts.by_kind.pod, 2 * h + (mode === 'v2' ? 1 : 0));
          assert.equal(counts.by_kind.conmon, 2 * h);
          assert.equal(counts.total, exp.removable.length + exp.held.length);
          assert.equal(Object.values(counts.by_hierarchy).reduce((a, b) => a + b, 0), counts.total);
          assert.ok(counts.total >= bogus);
          assert.deepEqual((r.live_pods as string[]).sort(), [n.pods[0]!.uid].sort());
          assert.deepEqual(r.terminating_pods, [n.pods[3]!.uid]);
          const busyPid = n.pods[2]!.containers[0]!.pid!;
          assert.ok((r.busy as Array<{ pids: Array<{ pid: number }> }>).some((b) => b.pids.some((p) => p.pid === busyPid)));
          const health = r.health as { num_cgroups: Record<string, number>; system_slice_memory_bytes: number | null };
          assert.ok(Object.keys(health.num_cgroups).length > 0);
          if (mode === 'v1') assert.ok((health.system_slice_memory_bytes ?? -1) >= 0);
          assert.equal(r.verdict, (r.summary as { verdict: string }).verdict);
          assert.equal(r.verdict, 'busy');
          assert.deepEqual(all.filter((d) => !dirExists(d)), [], 'scan removes nothing');
        }
      } finally {
        n.cleanup();
      }
    });
  }

  for (const mode of ['fail', 'garbage'] as const) {
    test(`crictl ${mode}: fails with the reason, nothing reported as leaked`, { skip }, async () => {
      const n = buildNode({ mode: 'v2', driver: 'systemd', pods: [{ qos: 'burstable', live: 'gone', containers: [{ kind: 'container', known: false }] }] });
      try {
        n.crictl.setMode(mode);
        const r = await runModule(scan, { cpu_sample: 0 }, { vars: varsOf(n), timeoutMs: 60_000 });
        assert.equal(r.status, 'failed');
        assert.deepEqual(r.leaked, []);
        assert.match(String(r.msg), /nothing is reported as leaked/);
        if (mode === 'fail') assert.match(String(r.msg), /crio\.sock|rc 1|exit/i);
      } finally {
        n.cleanup();
      }
    });
  }
});

describe('cgroup_scan parameters', () => {
  test('durations', () => {
    const table: Array<[string | number, number | undefined]> = [
      ['30s', 30], ['5m', 300], ['1h', 3600], ['1h30m', 5400], ['2d', 172800], ['90', 90], [45, 45], ['0s', 0], ['500ms', 0.5],
      ['', undefined], ['5 minutes', undefined], ['-1s', undefined], [-3, undefined], ['m5', undefined],
    ];
    for (const [v, want] of table) assert.equal(parseDuration(v), want, String(v));
  });
  test('since: epoch, ISO date or a duration ago', () => {
    assert.equal(parseSince(1_700_000_000, 1_800_000_000), 1_700_000_000);
    assert.equal(parseSince('1h', 1_800_000_000), 1_800_000_000 - 3600);
    assert.equal(parseSince('2024-01-01T00:00:00Z', 0), 1_704_067_200);
    assert.equal(parseSince('yesterday-ish', 0), undefined);
  });
  test('schema: strict, min_age validated, defaults', () => {
    assert.equal(cgroupScanSchema.parse({}).min_age, '5m');
    assert.equal(cgroupScanSchema.safeParse({ min_age: 'soon' }).success, false);
    assert.equal(cgroupScanSchema.safeParse({ bogus: 1 }).success, false);
  });
});
