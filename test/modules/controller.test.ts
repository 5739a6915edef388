import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setFactModule } from '../../src/modules/set_fact.js';
import { debugModule } from '../../src/modules/debug.js';
import { assertModule } from '../../src/modules/assert.js';
import { failModule } from '../../src/modules/fail.js';
import { lookupVar } from '../../src/modules/lookup.js';
import { builtinModules } from '../../src/modules/index.js';
import { runModule } from './ctx.js';

const vars = { a: { b: [10, { c: 'deep' }] }, flag: true, empty: '', n: 0 };

describe('lookupVar (fallback without the templar)', () => {
  const table: [string, unknown][] = [
    ['a.b[0]', 10],
    ['a.b[1].c', 'deep'],
    ["a['b'][1]['c']", 'deep'],
    ['flag', true],
    ['missing', undefined],
    ['a.missing.x', undefined],
    ['a | length', undefined],
  ];
  for (const [expr, want] of table) test(expr, () => assert.deepEqual(lookupVar(vars, expr), want));
});

describe('set_fact', () => {
  const m = setFactModule();
  test('returns ansible_facts, cacheable dropped, status ok', async () => {
    const r = await runModule(m, { x: 1, y: { z: [1] }, cacheable: true });
    assert.deepEqual(r, { status: 'ok', changed: false, ansible_facts: { x: 1, y: { z: [1] } } });
  });
  test('invalid variable names and empty args are rejected', () => {
    assert.throws(() => m.schema.parse({ 'bad-name': 1 }), /is not valid/);
    assert.throws(() => m.schema.parse({}), /No key\/value pairs provided/);
    assert.throws(() => m.schema.parse({ x: 1, cacheable: 'yes' }), /cacheable must be a boolean/);
    assert.equal(m.controllerOnly, true);
  });
});

describe('debug', () => {
  const m = debugModule();
  test('msg, default msg', async () => {
    assert.equal((await runModule(m, { msg: 'hi' })).msg, 'hi');
    assert.equal((await runModule(m, {})).msg, 'Hello world!');
    const r = await runModule(m, { msg: { k: [1] } });
    assert.deepEqual(r.msg, { k: [1] });
    assert.equal(r.status, 'ok');
    assert.equal(r._ansible_verbose_always, true);
  });
  test('var: evalExpression when given, dotted lookup otherwise, undefined message', async () => {
    assert.deepEqual((await runModule(m, { var: 'a.b[1]' }, { vars }))['a.b[1]'], { c: 'deep' });
    const viaEval = await runModule(m, { var: 'x + 1' }, { vars, evalExpression: (e) => `evaluated:${e}` });
    assert.equal(viaEval['x + 1'], 'evaluated:x + 1');
    assert.equal((await runModule(m, { var: 'nope' }, { vars }))['nope'], 'VARIABLE IS NOT DEFINED!');
    const throwing = await runModule(m, { var: 'boom' }, { evalExpression: () => { throw new Error('undefined'); } });
    assert.equal(throwing['boom'], 'VARIABLE IS NOT DEFINED!');
  });
  test('verbosity threshold skips', async () => {
    const r = await runModule(m, { msg: 'x', verbosity: 2 }, { verbosity: 1 });
    assert.equal(r.status, 'skipped');
    assert.equal(r.skipped_reason, 'Verbosity threshold not met.');
    assert.equal((await runModule(m, { msg: 'x', verbosity: 1 }, { verbosity: 1 })).status, 'ok');
  });
  test('msg and var are incompatible; unknown keys rejected', () => {
    assert.throws(() => m.schema.parse({ msg: 'a', var: 'b' }), /incompatible/);
    assert.throws(() => m.schema.parse({ message: 'a' }));
  });
});

describe('assert', () => {
  const m = assertModule();
  test('all pass', async () => {
    const r = await runModule(m, { that: ['flag', 'a.b', true] }, { vars });
    assert.equal(r.status, 'ok');
    assert.equal(r.msg, 'All assertions passed');
  });
  test('first failing condition is reported', async () => {
    const r = await runModule(m, { that: ['flag', 'not flag', 'empty'] }, { vars });
    assert.equal(r.status, 'failed');
    assert.equal(r.assertion, 'not flag');
    assert.equal(r.evaluated_to, false);
    assert.equal(r.msg, 'Assertion failed');
  });
  test('fail_msg / msg / success_msg / quiet, evalCondition used when given', async () => {
    const seen: unknown[] = [];
    const evalCondition = (c: string | boolean) => {
      seen.push(c);
      return c === 'good';
    };
    const f = await runModule(m, { that: ['good', 'bad'], fail_msg: 'nope' }, { evalCondition });
    assert.deepEqual(seen, ['good', 'bad']);
    assert.equal(f.msg, 'nope');
    assert.equal((await runModule(m, { that: 'bad', msg: 'old' }, { evalCondition })).msg, 'old');
    const s = await runModule(m, { that: 'good', success_msg: 'yay', quiet: true }, { evalCondition });
    assert.equal(s.msg, 'yay');
    assert.equal(s._ansible_verbose_always, undefined);
  });
});

describe('fail', () => {
  const m = failModule();
  test('default and custom message', async () => {
    assert.deepEqual(await runModule(m, {}), { status: 'failed', changed: false, msg: 'Failed as requested from task' });
    assert.equal((await runModule(m, { msg: 'custom' })).msg, 'custom');
  });
});

describe('builtinModules', () => {
  test('every module and its ansible.builtin. alias is registered', () => {
    const reg = builtinModules();
    const names = ['assert', 'command', 'debug', 'fail', 'raw', 'set_fact', 'shell', 'systemd_service'];
    // nodesweep's own modules (the cgroup job and the Kubernetes escalation) have no ansible.builtin. alias
    const own = ['cgroup_prune', 'cgroup_scan', 'crio_restart', 'kube_cordon', 'kube_drain', 'kube_lock', 'kube_uncordon', 'kube_wait_ready'];
    assert.deepEqual(reg.names(), [...names, ...own].sort());
    for (const n of own) assert.equal(reg.get(`ansible.builtin.${n}`), undefined);
    for (const n of names) {
      assert.equal(reg.get(`ansible.builtin.${n}`)?.name, n);
      const def = reg.get(n)!;
      // zod v4 strict objects reject unknown keys (set_fact takes any key by design)
      if (n !== 'set_fact') assert.throws(() => def.schema.parse({ cmd: 'x', msg: 'x', that: 'x', name: 'x', state: 'started', zzz_unknown: 1 }));
    }
    for (const alias of ['systemd', 'service', 'ansible.builtin.systemd', 'ansible.builtin.service']) {
      assert.equal(reg.get(alias)?.name, 'systemd_service');
    }
    for (const n of ['set_fact', 'debug', 'assert', 'fail']) assert.equal(reg.get(n)?.controllerOnly, true);
  });
});
