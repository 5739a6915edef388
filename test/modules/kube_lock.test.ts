/** kube_lock: pure slot decisions by table, then the Lease semaphore against the API stand-in. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubeEnv, type KubeEnv } from '../kube/setup.js';
import { kubeLockModule } from '../../src/modules/kube_lock.js';
import { busyMessage, chooseSlot, holderIdentity, leaseIsFree, nodeOfIdentity, type Slot } from '../../src/kube/lock.js';
import type { LeaseInfo } from '../../src/kube/client.js';

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
    ['same node, other run, live: busy (no takeover before the TTL)', [live('node2@ctl/99/old')], 'busy'],
  ];
  for (const [name, slots, kind, slot] of table) {
    test(`chooseSlot: ${name}`, () => {
      const c = chooseSlot(slots, me, NOW);
      assert.equal(c.kind, kind);
      if (slot) assert.equal(c.kind !== 'busy' && c.slot.name, slot);
    });
  }

  test('identity and busy message', () => {
    assert.equal(holderIdentity('worker-4', 'ab12', 'ctl', 42), 'worker-4@ctl/42/ab12');
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
    assert.match(l.spec.holderIdentity, new RegExp(`^${winner.node}@[^/]+/${process.pid}/run1$`));
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

  test('wait: the second node waits for the slot and gets it when the first releases', async () => {
    const args = { name: 'wait-a', namespace: 'ops', ttl: '1m', wait: '5s', poll_interval: '100ms' };
    assert.equal((await k.run(lock, args, { host: 'node1' })).status, 'changed');
    const t0 = Date.now();
    const second = k.run(lock, args, { host: 'node2' });
    await sleep(400);
    assert.equal((await k.run(lock, { ...args, state: 'released' }, { host: 'node1' })).status, 'changed');
    const r = await second;
    assert.equal(r.status, 'changed');
    assert.ok(Date.now() - t0 >= 400);
    assert.ok(Number(r.waited_s) >= 0.3);
    // and a wait that runs out names the holder
    const r3 = await k.run(lock, { ...args, wait: '300ms' }, { host: 'node3' });
    assert.equal(r3.status, 'failed');
    assert.match(String(r3.msg), /another node is being remediated: node2 since .*no slot freed within 300ms/);
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

  test('a dead holder\'s lease is taken only after its TTL expired', async () => {
    const renew = new Date(Date.now() - 500).toISOString().replace(/Z$/, '000Z');
    k.api.putLease('ops', 'dead-0', { holderIdentity: 'node9@gone/1234/old', leaseDurationSeconds: 1, acquireTime: renew, renewTime: renew, leaseTransitions: 3 });
    const early = await k.run(lock, { name: 'dead', namespace: 'ops' }, { host: 'node1' });
    assert.equal(early.status, 'failed');
    assert.match(String(early.msg), /another node is being remediated: node9 since/);
    const late = await k.run(lock, { name: 'dead', namespace: 'ops', wait: '3s', poll_interval: '100ms' }, { host: 'node1' });
    assert.equal(late.status, 'changed');
    assert.equal(late.took_over_from, 'node9@gone/1234/old');
    assert.equal(k.api.lease('ops', 'dead-0')!.spec.leaseTransitions, 4);
  });

  test('renewed while held: a short TTL does not let another node in', async () => {
    const args = { name: 'renew', namespace: 'ops', ttl: '900ms' };
    assert.equal((await k.run(lock, args, { host: 'node1' })).status, 'changed');
    const first = k.api.lease('ops', 'renew-0')!.spec.renewTime;
    await sleep(1500);
    assert.notEqual(k.api.lease('ops', 'renew-0')!.spec.renewTime, first);
    assert.equal((await k.run(lock, args, { host: 'node2' })).status, 'failed');
    assert.equal((await k.run(lock, { ...args, state: 'released' }, { host: 'node1' })).status, 'changed');
    // released: renewals stopped, the holder stays cleared
    await sleep(700);
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
