/**
 * drainNode's waits on a TestClock against the API stand-in: the retries a PodDisruptionBudget forces and the
 * drain's deadline are counted exactly, with no real waiting (kubectl's own 5 s retry delay, a 30 s timeout).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kubeEnv, type KubeEnv } from './setup.js';
import { drainNode, type DrainParams } from '../../src/kube/drain.js';
import { TestClock } from '../helpers/clock.js';

const params = (over: Partial<DrainParams> = {}): DrainParams => ({
  timeoutMs: 30_000,
  ignoreDaemonsets: true,
  deleteEmptydirData: true,
  force: false,
  disableEviction: false,
  retryDelayMs: 5_000,
  pollMs: 1_000,
  check: false,
  ...over,
});

describe('drainNode on a fake clock', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  const evictions = (pod: string) => k.api.requests.filter((q) => q.subresource === 'eviction' && q.name === pod).map((q) => q.status);

  test('a budget that never allows: one eviction every retry delay until the deadline, then the pod and the budget are named', async () => {
    k.api.addNode('c1');
    k.api.addPod({ namespace: 'shop', name: 'db-c1', node: 'c1', owner: { kind: 'StatefulSet', name: 'db' }, labels: { app: 'dbc1' } });
    k.api.addPdb({ namespace: 'shop', name: 'db-c1', matchLabels: { app: 'dbc1' }, disruptionsAllowed: 0 });
    const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'), true);
    const d = await drainNode(k.client, 'c1', params(), undefined, clock);
    assert.equal(d.ok, false);
    assert.equal(d.timedOut, true);
    // tries at 0, 5, 10, 15, 20 and 25 s; the sleep after the last one is cut short by the deadline at 30 s
    assert.deepEqual(evictions('db-c1'), [429, 429, 429, 429, 429, 429]);
    assert.deepEqual(clock.slept, [5000, 5000, 5000, 5000, 5000, 5000]);
    assert.equal(
      d.msg,
      'drain of node c1 timed out after 30s: evictions refused by PodDisruptionBudget: shop/db-c1 (budget shop/db-c1); ' +
        'budgets: shop/db-c1 (minAvailable 1, 0 disruptions allowed, 1 of 1 healthy)',
    );
    assert.deepEqual(d.blocking, [{ pod: 'shop/db-c1', budgets: ['shop/db-c1'], message: "Cannot evict pod as it would violate the pod's disruption budget." }]);
    assert.ok(k.api.pod('shop', 'db-c1'), 'nothing was evicted');
  });

  test('a budget that refuses twice, then allows: two retry delays, evicted 10 s after the start', async () => {
    k.api.addNode('c2');
    k.api.addPod({ namespace: 'shop', name: 'api-c2', node: 'c2', owner: { kind: 'ReplicaSet', name: 'api-1' }, labels: { app: 'apic2' }, terminationMs: 0 });
    k.api.addPdb({ namespace: 'shop', name: 'api-c2', matchLabels: { app: 'apic2' }, disruptionsAllowed: 0, opensAfterRefusals: 2 });
    const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'), true);
    const d = await drainNode(k.client, 'c2', params(), undefined, clock);
    assert.equal(d.ok, true, d.msg);
    assert.deepEqual(evictions('api-c2'), [429, 429, 201]);
    assert.deepEqual(clock.slept, [5000, 5000]);
    assert.equal(d.msg, 'node c2 drained: evicted 1 pod(s) in 10s');
  });
});
