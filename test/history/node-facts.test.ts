import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nodeFacts, kindOfPath, type NodeFacts } from '../../src/history/node-facts.js';
import { Scenario } from '../report/scenario.js';
import { leaks, scanResult, pruneResult, afterCrioRestart, GIB, MIB } from './fixtures.js';

const k = (pod = 0, container = 0, conmon = 0, sandbox = 0, nested = 0) => ({ pod, container, conmon, sandbox, nested });

interface Case {
  name: string;
  build: (s: Scenario) => Scenario;
  check?: boolean;
  expect: (f: NodeFacts) => Partial<Record<keyof NodeFacts | 'before_kinds' | 'after_kinds' | 'removed_n' | 'busy_n', unknown>>;
  want: Partial<Record<keyof NodeFacts | 'before_kinds' | 'after_kinds' | 'removed_n' | 'busy_n', unknown>>;
}

const view = (f: NodeFacts) => ({
  verdict: f.verdict,
  before_kinds: f.before?.leaked_by_kind ?? null,
  after_kinds: f.after?.leaked_by_kind ?? null,
  removed_n: f.removed.length,
  busy_n: f.busy.length,
  unreachable: f.unreachable,
  pruned: f.pruned,
});

const L1 = [...leaks('pod', 3), ...leaks('container', 5), ...leaks('conmon', 5), ...leaks('sandbox', 2)];
const L2busy = [...leaks('container', 4), ...leaks('pod', 1, 'busy')];
const L3restart = [...leaks('conmon', 2), ...leaks('container', 1, 'restart_needed')];
const L4reboot = [...leaks('pod', 2), ...leaks('container', 1, 'reboot_required')];

const cases: Case[] = [
  {
    name: 'scan only: one state, before is after, leaking',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L1, { crio: 900 * MIB, system: 1.2 * GIB, cpu: 11.5 })),
    expect: view,
    want: { verdict: 'leaking', before_kinds: k(3, 5, 5, 2), after_kinds: k(3, 5, 5, 2), removed_n: 0, busy_n: 0, unreachable: false, pruned: false },
  },
  {
    name: 'scan, prune, scan: before from the first scan, after from the last, cleaned',
    build: (s) =>
      s
        .result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L1, { cpu: 12 }))
        .result('prune', 'cgroup_prune', 'n1', 'changed', pruneResult(L1))
        .result('scan again', 'cgroup_scan', 'n1', 'ok', scanResult([], { cpu: 0.3 })),
    expect: view,
    want: { verdict: 'cleaned', before_kinds: k(3, 5, 5, 2), after_kinds: k(), removed_n: 15, busy_n: 0, unreachable: false, pruned: true },
  },
  {
    name: 'scan then prune (the shipped playbook): after is the scan minus what the prune removed, by the scan\'s kinds',
    build: (s) => {
      const r = pruneResult(L1);
      r.removed = (r.removed as string[]).filter((p) => !p.endsWith('.slice') && !p.includes('crio-conmon-'));
      return s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L1)).result('prune', 'nodesweep.cgroup_prune', 'n1', 'changed', r);
    },
    expect: view,
    want: { verdict: 'leaking', before_kinds: k(3, 5, 5, 2), after_kinds: k(3, 0, 5), removed_n: 7, busy_n: 0, unreachable: false, pruned: true },
  },
  {
    name: 'prune alone: no state measured, the verdict follows what it did',
    build: (s) => s.result('prune', 'cgroup_prune', 'n1', 'changed', pruneResult(L1)),
    expect: view,
    want: { verdict: 'cleaned', before_kinds: null, after_kinds: null, removed_n: 15, busy_n: 0, unreachable: false, pruned: true },
  },
  {
    name: 'removed paths the scan did not list count by the kind their name says',
    build: (s) => {
      const r = pruneResult(L1);
      r.removed = [...(r.removed as string[]), ...leaks('conmon', 1).map((l) => l.path)];
      return s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult([...L1, ...leaks('conmon', 1)])).result('prune', 'cgroup_prune', 'n1', 'changed', r);
    },
    expect: view,
    want: { verdict: 'cleaned', before_kinds: k(3, 5, 6, 2), after_kinds: k(), removed_n: 16, busy_n: 0, unreachable: false, pruned: true },
  },
  {
    name: 'busy leak left: failed prune (rescued), verdict busy',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L2busy)).result('prune', 'cgroup_prune', 'n1', 'failed', pruneResult(L2busy)).rescued('n1'),
    expect: view,
    want: { verdict: 'busy', before_kinds: k(1, 4), after_kinds: k(1), removed_n: 4, busy_n: 1, unreachable: false, pruned: true },
  },
  {
    name: 'held by crio and no restart: restart-needed',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L3restart)).result('prune', 'cgroup_prune', 'n1', 'failed', pruneResult(L3restart)).rescued('n1'),
    expect: view,
    want: { verdict: 'restart-needed', before_kinds: k(0, 1, 2), after_kinds: k(0, 1), removed_n: 2, busy_n: 1, unreachable: false, pruned: true },
  },
  {
    name: 'held by crio, crio restarted, pruned again: cleaned',
    build: (s) =>
      s
        .result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L3restart))
        .result('prune', 'cgroup_prune', 'n1', 'failed', pruneResult(L3restart))
        .rescued('n1')
        .result('restart crio', 'crio_restart', 'n1', 'changed', { msg: 'crio restarted' })
        .result('prune again', 'cgroup_prune', 'n1', 'changed', pruneResult(afterCrioRestart(L3restart).filter((l) => l.kind === 'container'))),
    expect: view,
    want: { verdict: 'cleaned', before_kinds: k(0, 1, 2), after_kinds: k(), removed_n: 3, busy_n: 0, unreachable: false, pruned: true },
  },
  {
    name: 'D-state process: reboot-required',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L4reboot)),
    expect: view,
    want: { verdict: 'reboot-required', before_kinds: k(2, 1), after_kinds: k(2, 1), removed_n: 0, busy_n: 1, unreachable: false, pruned: false },
  },
  {
    name: 'check mode prune: nothing removed, would_remove listed, still leaking',
    check: true,
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L1)).result('prune', 'cgroup_prune', 'n1', 'changed', pruneResult(L1, { check: true })),
    expect: (f) => ({ ...view(f), would: f.would_remove.length }),
    want: { verdict: 'leaking', before_kinds: k(3, 5, 5, 2), after_kinds: k(3, 5, 5, 2), removed_n: 0, busy_n: 0, unreachable: false, pruned: true, would: 15 } as Case['want'],
  },
  {
    name: 'unreachable host: no data, verdict unreachable',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'unreachable', { msg: 'connect ECONNREFUSED' }),
    expect: view,
    want: { verdict: 'unreachable', before_kinds: null, after_kinds: null, removed_n: 0, busy_n: 0, unreachable: true, pruned: false },
  },
  {
    name: 'scan failed closed (crictl broken): failed, no data',
    build: (s) => s.result('scan', 'cgroup_scan', 'n1', 'failed', { msg: 'crictl pods: rc 1: connection refused' }),
    expect: view,
    want: { verdict: 'failed', before_kinds: null, after_kinds: null, removed_n: 0, busy_n: 0, unreachable: false, pruned: false },
  },
  {
    name: 'no cgroup module in the run: no-data',
    build: (s) => s.result('uptime', 'command', 'n1', 'changed', { rc: 0, stdout: 'up' }),
    expect: view,
    want: { verdict: 'no-data', before_kinds: null, after_kinds: null, removed_n: 0, busy_n: 0, unreachable: false, pruned: false },
  },
  {
    name: 'skipped cgroup task says nothing',
    build: (s) => s.skip('scan', 'cgroup_scan', 'n1'),
    expect: view,
    want: { verdict: 'no-data', before_kinds: null, after_kinds: null, removed_n: 0, busy_n: 0, unreachable: false, pruned: false },
  },
];

describe('nodeFacts: per-node before/after from the events', () => {
  for (const c of cases) {
    test(c.name, () => {
      const s = c.build(new Scenario('prune.yml', ['n1'], c.check ?? false).startPlay('p', ['n1'])).end();
      const run = nodeFacts(s.events);
      assert.equal(run.nodes.length, 1);
      assert.deepEqual(c.expect(run.nodes[0]!), c.want);
    });
  }
});

describe('nodeFacts: health, remediations, outcomes', () => {
  test('health facts come from the first and last cgroup results', () => {
    const s = new Scenario('prune.yml', ['a'])
      .startPlay('p', ['a'])
      .result('scan', 'cgroup_scan', 'a', 'ok', scanResult(L1, { crio: 900 * MIB, system: 1.25 * GIB, cpu: 12.5, numCgroups: { memory: 40000, pids: 39000 }, dying: 77 }))
      .result('prune', 'cgroup_prune', 'a', 'changed', pruneResult(L1))
      .result('scan', 'cgroup_scan', 'a', 'ok', scanResult([], { crio: 300 * MIB, system: 600 * MIB, cpu: 0.4, numCgroups: { memory: 400, pids: 390 } }))
      .end();
    const f = nodeFacts(s.events).nodes[0]!;
    assert.deepEqual(
      [f.before?.crio_memory_bytes, f.before?.system_slice_memory_bytes, f.before?.kubelet_cpu_cores, f.before?.num_cgroups, f.before?.nr_dying_descendants],
      [900 * MIB, 1.25 * GIB, 12.5, 40000, 77],
    );
    assert.deepEqual([f.after?.crio_memory_bytes, f.after?.system_slice_memory_bytes, f.after?.kubelet_cpu_cores, f.after?.num_cgroups], [300 * MIB, 600 * MIB, 0.4, 400]);
    assert.equal(f.cgroup_mode, 'v1');
    assert.equal(f.crio_version, 'crio version 1.24.1');
    assert.equal(f.crio_version_leaking, true);
    assert.deepEqual(f.leaked_seen, L1.map((l) => l.path).sort());
  });

  test("a prune's after is what it measured after removing, never a copy of the before", () => {
    const s = new Scenario('prune.yml', ['a'])
      .startPlay('p', ['a'])
      .result('scan', 'cgroup_scan', 'a', 'ok', scanResult(L1, { crio: 1.1 * GIB, system: 1.3 * GIB, cpu: 0.42, numCgroups: { memory: 900, pids: 880 }, dying: 12 }))
      .result('prune', 'cgroup_prune', 'a', 'changed', pruneResult(L1, { after: { crio: 160 * MIB, system: 350 * MIB, cpu: 0.01, numCgroups: { memory: 120, pids: 118 }, dying: 0 } }))
      .end();
    const f = nodeFacts(s.events).nodes[0]!;
    const facts = (x: typeof f.after) => [x?.crio_memory_bytes, x?.system_slice_memory_bytes, x?.kubelet_cpu_cores, x?.num_cgroups, x?.nr_dying_descendants];
    assert.deepEqual(facts(f.before), [1.1 * GIB, 1.3 * GIB, 0.42, 900, 12]);
    assert.deepEqual(facts(f.after), [160 * MIB, 350 * MIB, 0.01, 120, 0]);
    assert.equal(f.after?.module, 'cgroup_prune');
    assert.deepEqual(f.after?.leaked_by_kind, k(0, 0, 0, 0, 0));
  });

  test('a prune that measured nothing after acting leaves every health fact null (not measured), leaks still counted down', () => {
    for (const after of [undefined, { crio: 170 * MIB }]) {
      const s = new Scenario('prune.yml', ['a'])
        .startPlay('p', ['a'])
        .result('scan', 'cgroup_scan', 'a', 'ok', scanResult(L1, { crio: 1.1 * GIB, system: 1.3 * GIB, cpu: 0.42, dying: 12 }))
        .result('prune', 'cgroup_prune', 'a', 'changed', pruneResult(L1, after ? { after } : {}))
        .end();
      const f = nodeFacts(s.events).nodes[0]!;
      assert.notEqual(f.after, f.before);
      assert.deepEqual(
        [f.after?.crio_memory_bytes, f.after?.system_slice_memory_bytes, f.after?.kubelet_cpu_cores, f.after?.nr_dying_descendants],
        [after ? 170 * MIB : null, null, null, null],
        after ? 'memory measured, the rest not' : 'nothing measured',
      );
      assert.equal(f.after?.leaked_total, 0);
      assert.equal(f.verdict, 'cleaned');
    }
  });

  test('crio_restart results count as remediations by result; task outcomes and recap kept', () => {
    const s = new Scenario('prune.yml', ['a', 'b'])
      .startPlay('p', ['a', 'b'])
      .result('restart crio', 'crio_restart', 'a', 'changed', { msg: 'restarted' })
      .result('restart crio', 'crio_restart', 'b', 'failed', { msg: 'crio did not come back' })
      .result('restart crio again', 'nodesweep.crio_restart', 'b', 'skipped')
      .end();
    const [a, b] = nodeFacts(s.events).nodes;
    assert.deepEqual(a!.remediations.map((r) => r.result), ['success']);
    assert.deepEqual(b!.remediations.map((r) => [r.result, r.msg]), [['failed', 'crio did not come back']]);
    assert.deepEqual(b!.tasks.map((t) => t.status), ['failed', 'skipped']);
    assert.equal(b!.stats.failed, 1);
    assert.equal(b!.verdict, 'failed');
  });

  test('hosts sorted; hosts of run_start without results are listed with no data; times in epoch seconds', () => {
    const s = new Scenario('scan.yml', ['zeta', 'alpha', 'mid']).startPlay('p', ['zeta', 'alpha', 'mid']).result('scan', 'cgroup_scan', 'mid', 'ok', scanResult([])).end();
    const run = nodeFacts(s.events);
    assert.deepEqual(run.nodes.map((n) => [n.node, n.verdict]), [['alpha', 'no-data'], ['mid', 'clean'], ['zeta', 'no-data']]);
    assert.equal(run.started_at, Date.parse('2024-01-01T00:00:00.000Z') / 1000);
    assert.equal(run.finished_at, Math.round(Date.parse('2024-01-01T00:00:02.500Z') / 1000));
    assert.equal(run.playbook, 'scan.yml');
  });

  test('loop items are not counted twice', () => {
    const s = new Scenario('x.yml', ['a']).startPlay('p', ['a']).loop('each', 'command', 'a', [['x', 'ok'], ['y', 'ok']], { status: 'ok' }).end();
    assert.equal(nodeFacts(s.events).nodes[0]!.tasks.length, 1);
  });
});

describe('kindOfPath', () => {
  const h = 'a'.repeat(64);
  const table: [string, string | null][] = [
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_ab.slice`, 'pod'],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-pod1234_ab.slice`, 'pod'],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-pod1234_ab.slice/crio-${h}.scope`, 'container'],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-pod1234_ab.slice/crio-conmon-${h}.scope`, 'conmon'],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-pod1234_ab.slice/crio-${h}`, 'sandbox'],
    [`/sys/fs/cgroup/memory/kubepods/burstable/pod1234-ab/crio-${h}`, 'container'],
    [`/sys/fs/cgroup/memory/kubepods/burstable/pod1234-ab/crio-conmon-${h}`, 'conmon'],
    [`/sys/fs/cgroup/memory/kubepods/burstable/pod1234-ab`, 'pod'],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-burstable.slice`, null],
    [`/sys/fs/cgroup/memory/kubepods.slice`, null],
    [`/sys/fs/cgroup/memory/kubepods.slice/kubepods-pod1234_ab.slice/crio-abc.scope`, null],
  ];
  for (const [p, want] of table) test(`${p.split('/').slice(-2).join('/')} -> ${want}`, () => assert.equal(kindOfPath(p), want));
});
