import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { leastSquares, perDay, crossing, sinceLastPrune, nodeTrend, parseSince, DAY_S, type Point } from '../../src/history/trend.js';
import type { HistorySample, NodeHistory } from '../../src/history/db.js';

const T0 = 1_700_000_000;
const pts = (...vs: [number, number][]): Point[] => vs.map(([d, v]) => ({ t: T0 + d * DAY_S, v }));
const close = (a: number | null, b: number, eps = 1e-6) => assert.ok(a !== null && Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

describe('leastSquares / perDay', () => {
  const table: { name: string; points: Point[]; perDay: number | null }[] = [
    { name: 'exact line', points: pts([0, 100], [1, 150], [2, 200]), perDay: 50 },
    { name: 'noisy symmetric around a line', points: pts([0, 10], [1, 30], [2, 30], [3, 50]), perDay: 12 },
    { name: 'flat', points: pts([0, 7], [1, 7], [5, 7]), perDay: 0 },
    { name: 'decreasing', points: pts([0, 90], [1, 60], [2, 30]), perDay: -30 },
    { name: 'one point', points: pts([0, 5]), perDay: null },
    { name: 'no points', points: [], perDay: null },
    { name: 'same time twice', points: pts([1, 5], [1, 9]), perDay: null },
    { name: 'large epoch values keep precision', points: [{ t: 2_000_000_000, v: 1e9 }, { t: 2_000_000_000 + 3600, v: 1e9 + 1e6 }], perDay: 24e6 },
  ];
  for (const c of table) {
    test(c.name, () => {
      const got = perDay(c.points);
      if (c.perDay === null) assert.equal(got, null);
      else close(got, c.perDay);
    });
  }
  test('intercept: the fitted line passes through the means', () => {
    const fit = leastSquares([{ t: 0, v: 1 }, { t: 2, v: 5 }])!;
    assert.deepEqual(fit, { slope: 2, intercept: 1 });
  });
});

describe('crossing', () => {
  const table: { name: string; points: Point[]; line: number; want: ReturnType<typeof crossing> }[] = [
    { name: 'growing 100/day from 700 crosses 1000 three days after the last point', points: pts([0, 500], [1, 600], [2, 700]), line: 1000, want: { kind: 'at', at: T0 + 5 * DAY_S } },
    { name: 'projected from the last value, not the fit', points: pts([0, 0], [1, 200], [2, 100]), line: 350, want: { kind: 'at', at: T0 + 2 * DAY_S + (250 / 50) * DAY_S } },
    { name: 'already over: since the first point of the last run above the line', points: pts([0, 900], [1, 1100], [2, 950], [3, 1050], [4, 1200]), line: 1000, want: { kind: 'crossed', at: T0 + 3 * DAY_S } },
    { name: 'flat never crosses', points: pts([0, 400], [1, 400], [2, 400]), line: 1000, want: { kind: 'none', reason: 'flat' } },
    { name: 'decreasing never crosses', points: pts([0, 900], [1, 800]), line: 1000, want: { kind: 'none', reason: 'decreasing' } },
    { name: 'one point below: cannot tell', points: pts([0, 10]), line: 1000, want: { kind: 'none', reason: 'too-few-points' } },
    { name: 'one point above: crossed', points: pts([0, 2000]), line: 1000, want: { kind: 'crossed', at: T0 } },
  ];
  for (const c of table) {
    test(c.name, () => {
      const got = crossing(c.points, c.line);
      assert.equal(got.kind, c.want.kind);
      if (got.kind !== 'none' && c.want.kind !== 'none') close(got.at, c.want.at);
      else assert.deepEqual(got, c.want);
    });
  }
});

const sample = (run_id: number, day: number, phase: 'before' | 'after', leaked: number, mem: number | null, cpu: number | null = null): HistorySample => ({
  run_id,
  ts: T0 + day * DAY_S,
  phase,
  leaked_total: leaked,
  leaked_by_kind: { pod: leaked, container: 0, conmon: 0, sandbox: 0, nested: 0 },
  crio_memory_bytes: mem,
  system_slice_memory_bytes: mem === null ? null : mem + 100,
  kubelet_cpu_cores: cpu,
  num_cgroups: null,
});

describe('sinceLastPrune and nodeTrend', () => {
  // days 0..3 growing, a prune on day 3 (before 3000 -> after 0), then growing again
  const h: NodeHistory = {
    node: 'w4',
    samples: [
      sample(1, 0, 'after', 0, 100, 0.5),
      sample(2, 1, 'after', 1000, 200, 4),
      sample(3, 2, 'after', 2000, 300, 8),
      sample(4, 3, 'before', 3000, 400, 12),
      sample(4, 3, 'after', 0, 150, 0.4),
      sample(5, 4, 'after', 720, 190, 1),
      sample(6, 5, 'after', 1440, 230, 2),
    ],
    prunes: [{ run_id: 4, ts: T0 + 3 * DAY_S, removed: 3000, remediations: 0, before: null, after: null }],
  };
  h.prunes[0]!.before = h.samples[3]!;
  h.prunes[0]!.after = h.samples[4]!;

  test('the segment starts at the last prune\'s after-sample', () => {
    assert.deepEqual(sinceLastPrune(h.samples, h.prunes).map((s) => [s.run_id, s.phase]), [[4, 'after'], [5, 'after'], [6, 'after']]);
    assert.equal(sinceLastPrune(h.samples, []).length, h.samples.length);
  });

  test('rates since the prune, crossing of system.slice, what the last prune freed', () => {
    const t = nodeTrend(h, 1000);
    close(t.leaked_per_day, 720);
    close(t.crio_memory_per_day, 40);
    close(t.system_slice_memory_per_day, 40);
    assert.equal(t.crossing_metric, 'system.slice');
    assert.equal(t.crossing?.kind, 'at');
    // last system.slice value 330, 40/day to 1000
    close(t.crossing?.kind === 'at' ? t.crossing.at : null, T0 + 5 * DAY_S + (670 / 40) * DAY_S);
    assert.deepEqual(t.last_prune, {
      ts: T0 + 3 * DAY_S,
      removed: 3000,
      remediations: 0,
      leaked_before: 3000,
      leaked_after: 0,
      crio_memory_freed_bytes: 250,
      system_slice_memory_freed_bytes: 250,
      kubelet_cpu_before: 12,
      kubelet_cpu_after: 0.4,
    });
    assert.equal(t.leaked_now, 1440);
    assert.equal(t.kubelet_cpu_now, 2);
    assert.equal(t.samples, 7);
  });

  test('right after a prune the rate is the stretch before it, projected from the latest value', () => {
    const justPruned: NodeHistory = {
      node: 'w4',
      samples: [...h.samples.slice(0, 4), sample(4, 3, 'after', 0, 150, 0.4)],
      prunes: [{ ...h.prunes[0]! }],
    };
    const t = nodeTrend(justPruned, 1000);
    close(t.leaked_per_day, 1000);
    close(t.crio_memory_per_day, 100);
    assert.equal(t.leaked_now, 0);
    // system.slice now 250, 100/day before the prune: 1000 in 7.5 days
    assert.deepEqual(t.crossing, { kind: 'at', at: T0 + 3 * DAY_S + 7.5 * DAY_S });
  });

  test('no memory measured: no crossing; only crio measured: crossing on crio', () => {
    const none = nodeTrend({ node: 'x', samples: [sample(1, 0, 'after', 5, null), sample(2, 1, 'after', 9, null)], prunes: [] });
    assert.equal(none.crossing, null);
    assert.equal(none.crossing_metric, null);
    close(none.leaked_per_day, 4);
    const crioOnly = nodeTrend({
      node: 'y',
      samples: [sample(1, 0, 'after', 0, 100), sample(2, 1, 'after', 0, 200)].map((s) => ({ ...s, system_slice_memory_bytes: null })),
      prunes: [],
    }, 1000);
    assert.equal(crioOnly.crossing_metric, 'crio');
    assert.deepEqual(crioOnly.crossing, { kind: 'at', at: T0 + DAY_S + 8 * DAY_S });
  });
});

describe('parseSince', () => {
  const table: [string, number | null][] = [
    ['14d', 14 * DAY_S],
    ['36h', 36 * 3600],
    ['90m', 5400],
    ['2w', 14 * DAY_S],
    ['3600', 3600],
    ['1.5d', 1.5 * DAY_S],
    ['', null],
    ['d', null],
    ['-3d', null],
    ['3 days', null],
  ];
  for (const [text, want] of table) test(JSON.stringify(text), () => assert.equal(parseSince(text), want));
});
