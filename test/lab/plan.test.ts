/** The lab's plan (pure): the story's CronJob over the nodes, sampling, the crio-held leaks, reproducibility. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CRON_INTERVAL_S, planLab, sampleEvenly } from '../../src/lab/plan.js';

describe('sampleEvenly', () => {
  const cases: Array<[number, number, number[]]> = [
    [0, 5, []],
    [5, 0, []],
    [3, 5, [0, 1, 2]],
    [5, 5, [0, 1, 2, 3, 4]],
    [10, 1, [9]],
    [10, 2, [0, 9]],
    [9, 3, [0, 4, 8]],
    [101, 5, [0, 25, 50, 75, 100]],
  ];
  for (const [len, n, want] of cases) {
    test(`${n} of ${len}`, () => assert.deepEqual(sampleEvenly(len, n), want));
  }
});

describe('planLab', () => {
  const cases = [
    { nodes: 3, days: 3, cap: 240 },
    { nodes: 1, days: 1, cap: 50 },
    { nodes: 5, days: 0.5, cap: 100 },
    { nodes: 4, days: 7, cap: 10 },
  ];
  for (const c of cases) {
    test(`${c.nodes} nodes, ${c.days} days, cap ${c.cap}`, () => {
      const p = planLab({ nodes: c.nodes, days: c.days, maxLeaksPerNode: c.cap });
      assert.equal(p.cronPodsTotal, Math.floor((c.days * 86_400) / CRON_INTERVAL_S));
      assert.equal(p.nodes.length, c.nodes);
      // every CronJob pod ran somewhere: all finished ones leaked, the newest one is still running
      const ran = p.nodes.reduce((s, n) => s + n.cronPodsRun, 0);
      const running = p.nodes.flatMap((n) => n.live).filter((x) => x.owner.kind === 'Job');
      assert.equal(running.length, 1);
      assert.equal(ran + 1, p.cronPodsTotal);
      const busy = p.nodes.filter((n) => n.busy);
      assert.equal(busy.length, 1);
      assert.equal(busy[0], p.nodes[p.nodes.length - 1]);
      // the scheduler's favourite: most of the pods
      if (c.nodes > 1) assert.ok(busy[0]!.cronPodsRun > 0.75 * ran, `busy node ran ${busy[0]!.cronPodsRun} of ${ran}`);
      for (const n of p.nodes) {
        const cap = n.busy ? c.cap : Math.max(4, Math.round(c.cap / 4));
        assert.equal(n.leaks.length, Math.min(cap, n.cronPodsRun));
        for (const l of n.leaks) {
          assert.ok(l.ageS > 0 && l.ageS <= c.days * 86_400 + 60, `age ${l.ageS}`);
          assert.match(l.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
          assert.match(l.sandboxId, /^[0-9a-f]{64}$/);
        }
        // oldest first, sampled over the whole schedule
        const ages = n.leaks.map((l) => l.ageS);
        assert.deepEqual(ages, [...ages].sort((a, b) => b - a));
        const held = n.leaks.filter((l) => l.heldByCrio);
        if (!n.busy) assert.equal(held.length, 0);
        else {
          assert.equal(held.length, Math.min(2, n.leaks.filter((l) => l.ageS >= 600).length));
          for (const h of held) assert.ok(h.ageS >= 600);
        }
      }
      const uids = p.nodes.flatMap((n) => [...n.leaks.map((l) => l.uid), ...n.live.map((x) => x.uid), ...n.terminating.map((x) => x.uid)]);
      assert.equal(new Set(uids).size, uids.length, 'pod UIDs are unique');
    });
  }

  test('the same options give the same lab; another seed another one', () => {
    const a = planLab({ nodes: 3, days: 2 });
    assert.deepEqual(planLab({ nodes: 3, days: 2 }), a);
    assert.notDeepEqual(planLab({ nodes: 3, days: 2, seed: 1 }).nodes.map((n) => n.cronPodsRun), a.nodes.map((n) => n.cronPodsRun));
  });

  test('bad sizes are refused', () => {
    assert.throws(() => planLab({ nodes: 0, days: 1 }), /nodes/);
    assert.throws(() => planLab({ nodes: 2.5, days: 1 }), /nodes/);
    assert.throws(() => planLab({ nodes: 2, days: 0 }), /days/);
  });
});
