import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StatsAggregator, exitCodeFor, recapLine } from '../../src/events/stats.js';
import { emptyStats, type HostStats } from '../../src/events/events.js';
import { Scenario, statsOf } from '../report/scenario.js';

const S = (o: Partial<HostStats>): HostStats => ({ ...emptyStats(), ...o });

/**
 * Each row: what a host did (one task per step) and the recap Ansible 2.14 prints for it
 * (fixtures/oracle/recap.out and verbose.out, captured from real ansible-playbook runs).
 */
type Step = ['ok' | 'changed' | 'skipped' | 'failed' | 'unreachable', { ignored?: boolean; changed?: boolean }?] | ['rescued'] | ['loop', ('ok' | 'changed' | 'skipped' | 'failed')[], { ignored?: boolean }?];
const TABLE: { name: string; steps: Step[]; want: HostStats }[] = [
  // plain: debug ok, changed, 5 skipped, ok (changed_when false), changed (no_log)... loop skips count once each
  { name: 'plain', steps: [['ok'], ['changed'], ['skipped'], ['skipped'], ['loop', ['skipped', 'skipped', 'skipped']], ['loop', ['skipped', 'skipped']], ['skipped'], ['ok'], ['changed']], want: S({ ok: 4, changed: 2, skipped: 5 }) },
  // ignored failure of a changed command: ok + changed + ignored, not failed
  { name: 'ignorer', steps: [['skipped'], ['skipped'], ['failed', { ignored: true, changed: true }], ['skipped'], ['loop', ['skipped']], ['loop', ['skipped']], ['skipped'], ['ok'], ['skipped']], want: S({ ok: 2, changed: 1, skipped: 7, ignored: 1 }) },
  // a rescued failure counts rescued, not failed, and its changed does not count
  { name: 'rescuer', steps: [['skipped'], ['skipped'], ['skipped'], ['failed', { changed: true }], ['rescued'], ['ok'], ['loop', ['skipped']], ['loop', ['skipped']], ['skipped'], ['ok'], ['skipped']], want: S({ ok: 2, skipped: 7, rescued: 1 }) },
  // a loop with some changed items counts once (ok + changed)
  { name: 'looper', steps: [['skipped'], ['skipped'], ['skipped'], ['skipped'], ['loop', ['changed', 'skipped', 'changed']], ['loop', ['skipped', 'skipped']], ['skipped'], ['ok'], ['skipped']], want: S({ ok: 2, changed: 1, skipped: 7 }) },
  { name: 'failer', steps: [['skipped'], ['skipped'], ['skipped'], ['skipped'], ['loop', ['skipped']], ['loop', ['skipped']], ['failed', { changed: true }]], want: S({ failed: 1, skipped: 6 }) },
  { name: 'gone', steps: [['skipped'], ['skipped'], ['skipped'], ['skipped'], ['loop', ['skipped']], ['loop', ['skipped']], ['skipped'], ['unreachable']], want: S({ unreachable: 1, skipped: 7 }) },
  // verbose.out: ignored loop failure with a changed item, debug, ignored no_log failure (changed), ignored assert, set_fact, fail
  { name: 'localhost', steps: [['loop', ['changed', 'failed'], { ignored: true }], ['ok'], ['failed', { ignored: true, changed: true }], ['failed', { ignored: true }], ['ok'], ['failed']], want: S({ ok: 5, changed: 2, failed: 1, ignored: 3 }) },
  { name: 'ignored-unreachable', steps: [['unreachable', { ignored: true }], ['ok']], want: S({ ok: 2, ignored: 1 }) },
];

function play(name: string, steps: Step[]): Scenario {
  const s = new Scenario('t.yml', [name]).startPlay('p', [name]);
  steps.forEach((st, i) => {
    const task = `t${i}`;
    if (st[0] === 'rescued') s.rescued(name);
    else if (st[0] === 'loop') {
      const items = st[1];
      const agg = items.includes('failed') ? 'failed' : items.every((x) => x === 'skipped') ? 'skipped' : items.includes('changed') ? 'changed' : 'ok';
      s.loop(task, 'command', name, items.map((x, j) => [j, x]), { status: agg, changed: items.includes('changed'), ...(st[2]?.ignored ? { ignored: true } : {}) });
    } else {
      const [status, o] = st;
      s.result(task, 'command', name, status, { changed: o?.changed ?? status === 'changed' }, o?.ignored ? { ignored: true } : {});
    }
  });
  return s;
}

describe('StatsAggregator counts like ansible-playbook 2.14', () => {
  for (const row of TABLE) {
    test(row.name, () => assert.deepEqual(statsOf(play(row.name, row.steps).events)[row.name], row.want));
  }
  test('hosts without counted results are absent; stats() is a copy', () => {
    const agg = new StatsAggregator();
    agg.handle({ kind: 'task_start', play: 'p', task: 't', module: 'm', host: 'a' });
    assert.deepEqual(agg.stats(), {});
    agg.handle({ kind: 'task_result', play: 'p', task: 't', module: 'm', host: 'a', status: 'ok', result: { status: 'ok' }, durationMs: 1 });
    const s = agg.stats();
    s.a!.ok = 99;
    assert.equal(agg.stats().a!.ok, 1);
  });
});

describe('exitCodeFor', () => {
  const table: [string, Record<string, HostStats>, boolean, number][] = [
    ['all ok', { a: S({ ok: 3 }) }, false, 0],
    ['no hosts', {}, false, 0],
    ['ignored and rescued only', { a: S({ ok: 1, ignored: 1, rescued: 1 }) }, false, 0],
    ['failed', { a: S({ failed: 1 }), b: S({ ok: 1 }) }, false, 2],
    ['unreachable', { a: S({ unreachable: 1 }) }, false, 4],
    ['unreachable wins over failed', { a: S({ failed: 1 }), b: S({ unreachable: 1 }) }, false, 4],
    ['interrupted wins', { a: S({ failed: 1, unreachable: 1 }) }, true, 99],
  ];
  for (const [name, stats, intr, want] of table) test(name, () => assert.equal(exitCodeFor(stats, intr), want));
});

describe('recapLine', () => {
  test('padding like "%-26s : ok=%-4s ..." incl. trailing spaces and long names', () => {
    assert.equal(recapLine('web1', S({ ok: 12, changed: 3 })), 'web1                       : ok=12   changed=3    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ');
    assert.equal(recapLine('x'.repeat(30), S({ ok: 12345 })).slice(0, 43), `${'x'.repeat(30)} : ok=12345 c`);
  });
});
