/** The lab's simulated past (pure part) and its landing in a real history database, read back by queryHistory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHistory, queryHistory } from '../../src/history/db.js';
import { SIMULATED_PLAYBOOK, seedHistory, simulatedRuns } from '../../src/lab/history-seed.js';
import type { LabManifest, LabNodeInfo } from '../../src/lab/lab.js';
import { KUBELET_MAX_CORES } from '../../src/lab/kubelet-standin.js';

const NOW = 1_800_000_000;

function manifest(days: number): LabManifest {
  const node = (name: string, busy: boolean, cronPodsRun: number, leakedDirs: number): LabNodeInfo => ({
    name, host: '127.42.0.1', port: 1, busy, root: '/r', kubeletRoot: '/k', crictl: '/c', systemctl: '/s', binDir: '/b', stateDir: '/st',
    cronPodsRun, leakedPods: leakedDirs / 14, leakedDirs, crioHeld: busy ? 2 : 0, livePods: 2,
  });
  return { version: 1, labId: 'abc123', dir: '/x', mode: 'cgroup-v1', cgroups: [], pids: [], days, nodes: [node('worker-01', false, 170, 840), node('worker-03', true, 1820, 3360)] };
}

const cases: Array<{ days: number; everyH?: number; runs: number }> = [
  { days: 3, runs: 23 }, // every 3 h, the last one an hour before now
  { days: 1, runs: 23 }, // every hour for short schedules
  { days: 2, everyH: 6, runs: 7 },
];
for (const c of cases) {
  test(`${c.days} day(s)${c.everyH ? ` every ${c.everyH} h` : ''}: ${c.runs} scans, growing, in the past, labelled simulated`, () => {
    const runs = simulatedRuns(manifest(c.days), { now: NOW, ...(c.everyH ? { everyH: c.everyH } : {}) });
    assert.equal(runs.length, c.runs);
    let prev = new Map<string, number>();
    for (const r of runs) {
      assert.equal(r.playbook, SIMULATED_PLAYBOOK);
      assert.ok(r.started_at! >= NOW - c.days * 86_400 && r.finished_at! <= NOW - 3600 + 2);
      for (const n of r.nodes) {
        const s = n.after!;
        assert.equal(s.leaked_total, s.leaked_by_kind.pod + s.leaked_by_kind.container);
        assert.ok(s.leaked_total >= (prev.get(n.node) ?? 0));
        assert.equal(s.system_slice_memory_bytes! - s.crio_memory_bytes!, 180 * 2 ** 20);
      }
      prev = new Map(r.nodes.map((n) => [n.node, n.after!.leaked_total]));
    }
  });
}

test('over three days the busy node crosses the 1 GiB reservation, the others do not', () => {
  const last = simulatedRuns(manifest(3), { now: NOW }).at(-1)!;
  const byNode = new Map(last.nodes.map((n) => [n.node, n.after!]));
  assert.ok(byNode.get('worker-03')!.system_slice_memory_bytes! > 2 ** 30);
  assert.ok(byNode.get('worker-01')!.system_slice_memory_bytes! < 2 ** 30);
  // kubelet busy with pods long gone, as much as the lab's kubelet stand-in burns for as many (at most its cap)
  const cpu = byNode.get('worker-03')!.kubelet_cpu_cores!;
  assert.ok(cpu > 0.3 && cpu <= KUBELET_MAX_CORES, String(cpu));
  assert.ok(byNode.get('worker-01')!.kubelet_cpu_cores! < byNode.get('worker-03')!.kubelet_cpu_cores! / 5);
});

test('seeded into a history database, queryHistory reads the curve back per node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-lab-hist-'));
  try {
    const db = join(dir, 'h.db');
    assert.equal(seedHistory(db, manifest(3), { now: NOW }), 23);
    const h = openHistory(db, { readonly: true });
    try {
      const nodes = queryHistory(h);
      assert.deepEqual(nodes.map((n) => n.node), ['worker-01', 'worker-03']);
      for (const n of nodes) {
        assert.equal(n.samples.length, 23);
        assert.deepEqual(n.prunes, []);
      }
    } finally {
      h.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
