import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { computeBatches, exceedsMaxFail, resolveBecome, resolveCheckMode, serialSize, shouldRunByTags, type BecomeInputs } from '../../src/executor/plan.js';
import { HostState, mergeVarLayers, type VarLayers } from '../../src/executor/host-state.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sizes = (b: string[][]) => b.map((x) => x.length);

describe('serial batches (ansible _get_serialized_batches + pct_to_int)', () => {
  const cases: Array<{ n: number; serial: Array<number | string>; want: number[] }> = [
    { n: 5, serial: [], want: [5] },
    { n: 5, serial: [2], want: [2, 2, 1] },
    { n: 5, serial: [0], want: [5] },
    { n: 5, serial: [-1], want: [5] },
    { n: 10, serial: ['30%'], want: [3, 3, 3, 1] },
    { n: 3, serial: ['10%'], want: [1, 1, 1] }, // rounds down to 0 -> min 1
    { n: 7, serial: [1, 2, '50%'], want: [1, 2, 3, 1] }, // percent of all hosts (7*0.5 = 3), last repeats
    { n: 6, serial: [1, 10], want: [1, 5] },
    { n: 0, serial: [2], want: [] },
    { n: 4, serial: ['100%'], want: [4] },
  ];
  for (const c of cases) {
    test(`${c.n} hosts, serial ${JSON.stringify(c.serial)} -> ${JSON.stringify(c.want)}`, () => {
      const b = computeBatches(hosts(c.n), c.serial);
      assert.deepEqual(sizes(b), c.want);
      assert.deepEqual(b.flat(), hosts(c.n), 'every host once, in order');
    });
  }
  test('serialSize', () => {
    assert.equal(serialSize('25%', 10), 2);
    assert.equal(serialSize('0%', 10), 1);
    assert.equal(serialSize(3, 10), 3);
  });
});

describe('tag selection (Taggable.evaluate_tags)', () => {
  const cases: Array<{ tags: string[]; only: string[]; skip: string[]; run: boolean }> = [
    { tags: [], only: [], skip: [], run: true },
    { tags: ['a'], only: [], skip: [], run: true },
    { tags: ['never'], only: [], skip: [], run: false },
    { tags: ['never', 'debug'], only: ['debug'], skip: [], run: true },
    { tags: ['never'], only: ['never'], skip: [], run: true },
    { tags: ['a'], only: ['b'], skip: [], run: false },
    { tags: ['a', 'b'], only: ['b'], skip: [], run: true },
    { tags: [], only: ['b'], skip: [], run: false },
    { tags: ['always'], only: ['b'], skip: [], run: true },
    { tags: ['always'], only: [], skip: ['always'], run: false },
    { tags: ['always'], only: [], skip: ['all'], run: true },
    { tags: ['always'], only: [], skip: ['all', 'always'], run: false },
    { tags: ['a'], only: [], skip: ['all'], run: false },
    { tags: ['a'], only: [], skip: ['a'], run: false },
    { tags: ['a'], only: ['a'], skip: ['a'], run: false },
    { tags: ['a'], only: ['tagged'], skip: [], run: true },
    { tags: [], only: ['tagged'], skip: [], run: false },
    { tags: [], only: ['untagged'], skip: [], run: true },
    { tags: ['a'], only: ['untagged'], skip: [], run: false },
    { tags: ['a'], only: [], skip: ['tagged'], run: false },
    { tags: [], only: [], skip: ['tagged'], run: true },
    { tags: [], only: [], skip: ['untagged'], run: false },
    { tags: ['never', 'x'], only: ['all'], skip: [], run: false },
    { tags: ['never', 'x'], only: ['tagged'], skip: [], run: false },
  ];
  for (const c of cases) {
    test(`tags=${JSON.stringify(c.tags)} --tags=${c.only.join(',')} --skip-tags=${c.skip.join(',')} -> ${c.run}`, () => {
      assert.equal(shouldRunByTags(c.tags, c.only, c.skip), c.run);
    });
  }
});

describe('max_fail_percentage (strictly greater, over the batch)', () => {
  const cases: Array<[number, number, number | undefined, boolean]> = [
    [1, 4, 25, false],
    [2, 4, 25, true],
    [1, 4, 0, true],
    [0, 4, 0, false],
    [4, 4, 100, false],
    [1, 3, 33, true],
    [5, 5, undefined, false],
  ];
  for (const [failed, size, pct, want] of cases) {
    test(`${failed}/${size} with ${pct}% -> ${want}`, () => assert.equal(exceedsMaxFail(failed, size, pct), want));
  }
});

describe('become resolution (CLI < keywords < variables)', () => {
  const base: BecomeInputs = { cliBecome: false };
  const cases: Array<{ name: string; in: BecomeInputs; want: { become: boolean; user: string; password?: string } }> = [
    { name: 'nothing', in: base, want: { become: false, user: 'root' } },
    { name: '--become', in: { ...base, cliBecome: true }, want: { become: true, user: 'root' } },
    { name: 'play says no over --become', in: { ...base, cliBecome: true, keyword: false }, want: { become: false, user: 'root' } },
    { name: 'keyword user', in: { ...base, keyword: true, keywordUser: 'app', cliUser: 'x' }, want: { become: true, user: 'app' } },
    { name: 'var wins over keyword', in: { ...base, keyword: false, varBecome: 'yes', varUser: 'db' }, want: { become: true, user: 'db' } },
    { name: 'var password wins', in: { ...base, keyword: true, varPassword: 'v', cliPassword: 'c' }, want: { become: true, user: 'root', password: 'v' } },
    { name: '-K password', in: { ...base, keyword: true, cliPassword: 'c' }, want: { become: true, user: 'root', password: 'c' } },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(resolveBecome(c.in), c.want));
  test('check mode: task keyword wins over --check', () => {
    assert.equal(resolveCheckMode(undefined, true), true);
    assert.equal(resolveCheckMode(false, true), false);
    assert.equal(resolveCheckMode(true, false), true);
  });
});

describe('variable precedence', () => {
  const layers = (over: Partial<VarLayers>): VarLayers => ({ inventory: {}, play: {}, scopes: [], facts: {}, extra: {}, magic: {}, ...over });
  const cases: Array<{ name: string; l: VarLayers; want: unknown }> = [
    { name: 'inventory only', l: layers({ inventory: { x: 'inv' } }), want: 'inv' },
    { name: 'play over inventory', l: layers({ inventory: { x: 'inv' }, play: { x: 'play' } }), want: 'play' },
    { name: 'inner block over outer', l: layers({ play: { x: 'play' }, scopes: [{ x: 'outer' }, { x: 'inner' }] }), want: 'inner' },
    { name: 'task (last scope) over block', l: layers({ scopes: [{ x: 'block' }, { x: 'task' }] }), want: 'task' },
    { name: 'registered/set_fact over task vars', l: layers({ scopes: [{ x: 'task' }], facts: { x: 'fact' } }), want: 'fact' },
    { name: 'extra vars win over facts', l: layers({ facts: { x: 'fact' }, extra: { x: 'extra' } }), want: 'extra' },
    { name: 'extra vars win over everything user-set', l: layers({ inventory: { x: 1 }, play: { x: 2 }, scopes: [{ x: 3 }], facts: { x: 4 }, extra: { x: 5 } }), want: 5 },
    { name: 'magic cannot be overridden', l: layers({ extra: { inventory_hostname: 'x' }, magic: { inventory_hostname: 'h1' } }), want: 'h1' },
    { name: 'loop var set last', l: layers({ extra: { item: 'e' }, loop: { item: 'i' } }), want: 'i' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const m = mergeVarLayers(c.l);
      const key = c.name.startsWith('magic') ? 'inventory_hostname' : c.name.startsWith('loop') ? 'item' : 'x';
      assert.equal(m[key], c.want);
    });
  }
});

describe('HostState', () => {
  test('notifications are ordered and de-duplicated; cleared per play', () => {
    const s = new HostState('h1', {});
    for (const n of ['b', 'a', 'b', 'c', 'a']) s.notify(n);
    assert.deepEqual([...s.notifications()], ['b', 'a', 'c']);
    s.clearNotification('a');
    assert.deepEqual([...s.notifications()], ['b', 'c']);
    s.startPlay();
    assert.deepEqual([...s.notifications()], []);
  });
  test('failed / unreachable: unreachable is never downgraded', () => {
    const cases: Array<{ ops: Array<'f' | 'u'>; failed: boolean; unreachable: boolean }> = [
      { ops: [], failed: false, unreachable: false },
      { ops: ['f'], failed: true, unreachable: false },
      { ops: ['u'], failed: false, unreachable: true },
      { ops: ['u', 'f'], failed: false, unreachable: true },
      { ops: ['f', 'u'], failed: false, unreachable: true },
    ];
    for (const c of cases) {
      const s = new HostState('h', {});
      for (const o of c.ops) (o === 'f' ? s.markFailed() : s.markUnreachable());
      assert.equal(s.failed, c.failed, JSON.stringify(c.ops));
      assert.equal(s.unreachable, c.unreachable, JSON.stringify(c.ops));
      assert.equal(s.alive, c.ops.length === 0);
    }
  });
  test('facts persist across plays, play facts do not', () => {
    const s = new HostState('h', { a: 1 });
    s.register('r', { rc: 0 });
    s.setFacts({ f: 'x' });
    s.setPlayFacts({ ansible_failed_task: { name: 't' } });
    assert.deepEqual(Object.keys(s.factsLayer()).sort(), ['ansible_failed_task', 'f', 'r']);
    s.startPlay();
    assert.deepEqual(Object.keys(s.factsLayer()).sort(), ['f', 'r']);
  });
});
