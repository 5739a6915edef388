/** kube_lock: pure slot decisions by table, then the Lease semaphore against the API stand-in. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { kubeEnv, type KubeEnv } from '../kube/setup.js';
import { kubeLockModule } from '../../src/modules/kube_lock.js';
import { busyMessage, chooseSlot, leaseIsFree, type Slot } from '../../src/kube/lock.js';
import { formatHolder, nodeOfIdentity, parseHolder } from '../../src/kube/holder.js';
import { procProbe } from '../../src/kube/process-probe.js';
import type { LeaseInfo } from '../../src/kube/client.js';
import { microTime } from '../../src/kube/client.js';
import { TestClock } from '../helpers/clock.js';

const lock = kubeLockModule();
const NOW = new Date('2024-05-01T10:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const lease = (over: Partial<LeaseInfo>): LeaseInfo => ({ namespace: 'kube-system', name: 'l-0', resourceVersion: '1', ...over });

describe('lock decisions (pure)', () => {
  const free: [string, LeaseInfo | undefined, boolean][] = [
    ['no lease', undefined, true],
    ['released (no holder)', lease({ leaseDurationSeconds: 60, renewTime: ago(1) }), true],
    ['held, renewed 10 s ago, ttl 60', lease({ holderIdentity: 'a@h/1/r', leaseDurationSeconds: 60, renewTime: ago(10) }), false],
    ['held, renewed 61 s ago, ttl 60', lease({ holderIdentity: 'a@h/1/r', leaseDurationSeconds: 60, renewTime: ago(61) }), true],
    ['held, exactly at expiry', lease({ holderIdentity: 'a@h/1/r', leaseDurationSeconds: 60, renewTime: ago(60) }), true],
    ['held, only acquireTime, fresh', lease({ holderIdentity: 'a@h/1/r', leaseDurationSeconds: 60, acquireTime: ago(5) }), false],
    ['held, no times at all', lease({ holderIdentity: 'a@h/1/r', leaseDurationSeconds: 60 }), true],
  ];
  for (const [name, l, want] of free) test(`leaseIsFree: ${name}`, () => assert.equal(leaseIsFree(l, NOW), want));

  const me = 'node2@ctl/7/run2';
  const live = (id: string, i = 0): Slot => ({ name: `l-${i}`, lease: lease({ name: `l-${i}`, holderIdentity: id, leaseDurationSeconds: 60, renewTime: ago(5), acquireTime: ago(30) }) });
  const table: [string, Slot[], string, string?][] = [
    ['nothing exists: create slot 0', [{ name: 'l-0' }, { name: 'l-1' }], 'create', 'l-0'],
    ['slot 0 live, slot 1 missing: create slot 1', [live('node1@ctl/5/run1'), { name: 'l-1' }], 'create', 'l-1'],
    ['we hold slot 1: held', [live('node1@ctl/5/run1'), live(me, 1)], 'held', 'l-1'],
    ['all live: busy', [live('node1@ctl/5/run1'), live('node3@ctl/9/run3', 1)], 'busy'],
    ['slot 0 expired: take', [{ name: 'l-0', lease: lease({ holderIdentity: 'dead@x/1/r', leaseDurationSeconds: 60, renewTime: ago(600) }) }], 'take', 'l-0'],
    ['slot 0 released: take', [{ name: 'l-0', lease: lease({ leaseDurationSeconds: 60 }) }], 'take', 'l-0'],
    ['same node, other run, live: busy (no takeover before the TTL)', [live('node2@ctl/99/old')], 'node-busy'],
    ['same node live in slot 0, slot 1 missing: never two holders for one node', [live('node2@ctl/99/old'), { name: 'l-1' }], 'node-busy'],
    ['slot 0 held by a dead process of this machine, fresh: take at once', [live('dead@ctl/13/r')], 'take', 'l-0'],
    ['same node held by a dead process: take at once', [live('node2@ctl/13/r')], 'take', 'l-0'],
  ];
  const isDead = (id: string) => id.includes('/13/');
  for (const [name, slots, kind, slot] of table) {
    test(`chooseSlot: ${name}`, () => {
      const c = chooseSlot(slots, me, NOW, isDead);
      assert.equal(c.kind, kind);
      if (slot) assert.equal(c.kind !== 'busy' && c.kind !== 'node-busy' && c.slot.name, slot);
      if (name.includes('dead process')) assert.equal(c.kind === 'take' && c.holderDead, true);
    });
  }

  test('identity and busy message', () => {
    const id = formatHolder({ node: 'worker-4', host: 'ctl', pid: 42, start: '123-abcdef01-4026531836', runId: 'ab12' });
    assert.equal(id, 'worker-4@ctl/42/123-abcdef01-4026531836/ab12');
    assert.deepEqual(parseHolder(id), { node: 'worker-4', host: 'ctl', pid: 42, start: '123-abcdef01-4026531836', runId: 'ab12' });
    assert.deepEqual(parseHolder('worker-4@ctl/42/ab12'), { node: 'worker-4', host: 'ctl', pid: 42, runId: 'ab12' });
    for (const bad of ['worker-4', 'w@ctl/x/r', 'w@ctl/42/zz-top/r', '@ctl/1/r', 'w@ctl/1/']) assert.equal(parseHolder(bad), undefined, bad);
    assert.equal(nodeOfIdentity('worker-4@ctl/42/ab12'), 'worker-4');
    const c = chooseSlot([live('worker-4@ctl/42/ab12')], me, NOW);
    assert.equal(c.kind, 'busy');
    if (c.kind === 'busy') {
      assert.match(busyMessage(c.holders, { name: 'l', namespace: 'kube-system' }), /^another node is being remediated: worker-4 since 2024-05-01T09:59:30.000Z \(holder worker-4@ctl\/42\/ab12, lease expires 2024-05-01T10:00:55.000Z unless renewed\)/);
    }
  });
});

describe('kube_lock against the API stand-in', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  test('two concurrent acquirers: one wins, the other fails at once naming the holder; release frees it', async () => {
    const args = { name: 'race-a', namespace: 'ops', ttl: '1m' };
    const [a, b] = await Promise.all([k.run(lock, args, { host: 'node1' }), k.run(lock, args, { host: 'node2' })]);
    const results = [a, b].sort((x, y) => String(x.status).localeCompare(String(y.status)));
    assert.deepEqual(results.map((r) => r.status), ['changed', 'failed']);
    const winner = results[0]!;
    const loser = results[1]!;
    assert.match(String(loser.msg), new RegExp(`another node is being remediated: ${winner.node} since \\d{4}-`));
    const l = k.api.lease('ops', 'race-a-0')!;
    assert.match(l.spec.holderIdentity, new RegExp(`^${winner.node}@[^/]+/${process.pid}/\\d+-[0-9a-f]{8}-\\d+/run1$`));
    assert.equal(l.spec.leaseDurationSeconds, 60);
    assert.match(l.spec.renewTime, /\.\d{6}Z$/); // MicroTime, as a real API server requires

    // idempotent for the holder
    assert.equal((await k.run(lock, args, { host: String(winner.node) })).status, 'ok');
    const rel = await k.run(lock, { ...args, state: 'released' }, { host: String(winner.node) });
    assert.equal(rel.status, 'changed');
    assert.equal(k.api.lease('ops', 'race-a-0')!.spec.holderIdentity, undefined);
    assert.equal((await k.run(lock, { ...args, state: 'released' }, { host: String(winner.node) })).status, 'ok');
    assert.equal((await k.run(lock, args, { host: String(loser.node) })).status, 'changed');
  });

  test('wait: the second node waits for the slot and gets it when the first releases (clock moved by hand)', async () => {
    const clock = new TestClock(NOW);
    const access = k.access('run-wait', { clock });
    const args = { name: 'wait-a', namespace: 'ops', ttl: '1m', wait: '5s', poll_interval: '1s' };
    assert.equal((await k.run(lock, args, { host: 'node1', access })).status, 'changed');
    const second = k.run(lock, args, { host: 'node2', access });
    await clock.sleeping(2); // node1's renewal and node2's poll
    await clock.advance(1000);
    await clock.sleeping(2); // still busy: polls again
    assert.equal((await k.run(lock, { ...args, state: 'released' }, { host: 'node1', access })).status, 'changed');
    await clock.advance(1000);
    const r = await second;
    assert.equal(r.status, 'changed');
    assert.equal(r.waited_s, 2);
    // and a wait that runs out names the holder
    const third = k.run(lock, { ...args, wait: '3s' }, { host: 'node3', access });
    for (let i = 0; i < 3; i++) {
      await clock.sleeping(2);
      await clock.advance(1000);
    }
    const r3 = await third;
    assert.equal(r3.status, 'failed');
    assert.match(String(r3.msg), /another node is being remediated: node2 since .*no slot freed within 3s/);
    access.close();
  });

  test('max_holders 2 with five racing nodes: exactly two win (409s resolved by re-reading)', async () => {
    const args = { name: 'sem', namespace: 'ops', ttl: '1m', max_holders: 2 };
    const rs = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => k.run(lock, args, { host: n })));
    assert.equal(rs.filter((r) => r.status === 'changed').length, 2);
    assert.equal(rs.filter((r) => r.status === 'failed').length, 3);
    const holders = [k.api.lease('ops', 'sem-0')!.spec.holderIdentity, k.api.lease('ops', 'sem-1')!.spec.holderIdentity].map(nodeOfIdentity).sort();
    assert.deepEqual(holders, rs.filter((r) => r.status === 'changed').map((r) => String(r.node)).sort());
  });

  test('a 409 on the write is re-read and retried', async () => {
    k.api.inject({ match: (r) => r.resource === 'leases' && r.verb === 'create' && r.namespace === 'c409', status: 409, reason: 'AlreadyExists' });
    const r = await k.run(lock, { name: 'x', namespace: 'c409' }, { host: 'node1' });
    assert.equal(r.status, 'changed');
    assert.equal(k.api.count((q) => q.resource === 'leases' && q.method === 'POST' && q.namespace === 'c409'), 2);
  });

  test('another machine\'s holder: its lease is taken only after its TTL expired', async () => {
    const clock = new TestClock(NOW);
    const access = k.access('run-ttl', { clock });
    const renew = microTime(new Date(NOW.getTime() - 500));
    k.api.putLease('ops', 'dead-0', { holderIdentity: 'node9@elsewhere/1234/1-abcdef01-1/old', leaseDurationSeconds: 1, acquireTime: renew, renewTime: renew, leaseTransitions: 3 });
    const early = await k.run(lock, { name: 'dead', namespace: 'ops' }, { host: 'node1', access });
    assert.equal(early.status, 'failed');
    assert.match(String(early.msg), /another node is being remediated: node9 since/);
    const late = k.run(lock, { name: 'dead', namespace: 'ops', wait: '3s', poll_interval: '100ms' }, { host: 'node1', access });
    await clock.sleeping(1);
    await clock.advance(499); // 999 ms after the renewal: still held
    await clock.sleeping(1);
    assert.equal(k.api.lease('ops', 'dead-0')!.spec.holderIdentity, 'node9@elsewhere/1234/1-abcdef01-1/old');
    await clock.advance(101); // the next poll, after the expiry
    const r = await late;
    assert.equal(r.status, 'changed');
    assert.equal(r.took_over_from, 'node9@elsewhere/1234/1-abcdef01-1/old');
    assert.match(String(r.msg), /its lease expired 2024-05-01T10:00:00.500Z/);
    assert.equal(k.api.lease('ops', 'dead-0')!.spec.leaseTransitions, 4);
    access.close();
  });

  test('a holder that is a dead process of this machine: its lease is taken over at once, before its TTL', async () => {
    const probe = procProbe();
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const start = probe.startOf(child.pid!);
    assert.ok(start, 'the probe reads a live process');
    const id = formatHolder({ node: 'node8', host: hostname(), pid: child.pid!, start, runId: 'crashed' });
    const fresh = microTime(new Date());
    k.api.putLease('ops', 'crash-0', { holderIdentity: id, leaseDurationSeconds: 1800, acquireTime: fresh, renewTime: fresh, leaseTransitions: 0 });
    // alive: busy
    const busy = await k.run(lock, { name: 'crash', namespace: 'ops' }, { host: 'node1' });
    assert.equal(busy.status, 'failed');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const r = await k.run(lock, { name: 'crash', namespace: 'ops' }, { host: 'node1' });
    assert.equal(r.status, 'changed', String(r.msg));
    assert.equal(r.took_over_from, id);
    assert.match(String(r.msg), new RegExp(`taken over from .*: process ${child.pid} on ${hostname()} is no longer running`));
    assert.equal(parseHolder(String(k.api.lease('ops', 'crash-0')!.spec.holderIdentity))!.node, 'node1');
    await k.run(lock, { name: 'crash', namespace: 'ops', state: 'released' }, { host: 'node1' });
  });

  test('the same node is never remediated by two runs, whatever max_holders', async () => {
    const args = { name: 'one-node', namespace: 'ops', ttl: '1m', max_holders: 3 };
    assert.equal((await k.run(lock, args, { host: 'node1' })).status, 'changed');
    const other = await k.run(lock, args, { host: 'node1', access: k.access('run-other') });
    assert.equal(other.status, 'failed');
    assert.match(String(other.msg), /^lock ops\/one-node for node node1: this node is already being remediated by another run: node1 since/);
    assert.equal(k.api.lease('ops', 'one-node-1'), undefined);
    assert.equal((await k.run(lock, args, { host: 'node2', access: k.access('run-other2') })).status, 'changed');
  });

  test('renewed while held: a short TTL does not let another node in; released: renewals stop', async () => {
    const clock = new TestClock(NOW);
    const access = k.access('run-renew', { clock });
    const args = { name: 'renew', namespace: 'ops', ttl: '3s' };
    assert.equal((await k.run(lock, args, { host: 'node1', access })).status, 'changed');
    const first = k.api.lease('ops', 'renew-0')!.spec.renewTime;
    for (let i = 0; i < 3; i++) {
      await clock.sleeping(1);
      const n = k.api.count((q) => q.resource === 'leases' && q.method === 'PUT' && q.name === 'renew-0');
      await clock.advance(1000);
      while (k.api.count((q) => q.resource === 'leases' && q.method === 'PUT' && q.name === 'renew-0') === n) await new Promise((r) => setTimeout(r, 5));
    }
    assert.notEqual(k.api.lease('ops', 'renew-0')!.spec.renewTime, first);
    assert.equal(k.api.lease('ops', 'renew-0')!.spec.renewTime, microTime(new Date(NOW.getTime() + 3000)));
    // 3 s after acquiring, the TTL would have run out without the renewals
    assert.equal((await k.run(lock, args, { host: 'node2', access: k.access('run-renew-2', { clock }) })).status, 'failed');
    assert.equal((await k.run(lock, { ...args, state: 'released' }, { host: 'node1', access })).status, 'changed');
    assert.equal(clock.pending(), 0, 'no renewal scheduled after the release');
    assert.equal(k.api.lease('ops', 'renew-0')!.spec.holderIdentity, undefined);
  });

  test('check mode writes nothing', async () => {
    const before = k.writes();
    const r = await k.run(lock, { name: 'chk', namespace: 'ops' }, { host: 'node1', check: true });
    assert.equal(r.status, 'changed');
    assert.match(String(r.msg), /would acquire ops\/chk-0/);
    assert.equal(k.writes(), before);
    assert.equal(k.api.lease('ops', 'chk-0'), undefined);
  });

  test('403 and API down: failed, naming the lock, node and cause', async () => {
    k.api.forbid = (r) => r.resource === 'leases';
    try {
      const r = await k.run(lock, { name: 'rbac', namespace: 'ops' }, { host: 'node1' });
      assert.equal(r.status, 'failed');
      assert.match(String(r.msg), /^lock ops\/rbac for node node1: forbidden: the kubeconfig's user may not get leases in namespace ops \(RBAC/);
    } finally {
      k.api.forbid = undefined;
    }
    await k.api.setDown(true);
    try {
      const r = await k.run(lock, { name: 'down', namespace: 'ops' }, { host: 'node1' });
      assert.equal(r.status, 'failed');
      assert.match(String(r.msg), /cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    } finally {
      await k.api.setDown(false);
    }
  });
});
