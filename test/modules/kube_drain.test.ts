/** kube_drain and kube_wait_ready against the API stand-in: pod rules, budgets, timeouts, failures. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kubeEnv, type KubeEnv } from '../kube/setup.js';
import { kubeDrainModule } from '../../src/modules/kube_drain.js';
import { kubeWaitReadyModule, readiness } from '../../src/modules/kube_wait_ready.js';
import type { KubeNode } from '../../src/kube/client.js';
import { until } from '../helpers/until.js';

const drain = kubeDrainModule();
const waitReady = kubeWaitReadyModule();
const fast = { retry_delay: '100ms', poll_interval: '50ms' };

describe('kube_drain', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  function workerNode(name: string) {
    k.api.addNode(name);
    k.api.addDaemonSet('kube-system', 'fluentd');
    k.api.addPod({ namespace: 'kube-system', name: `fluentd-${name}`, node: name, owner: { kind: 'DaemonSet', name: 'fluentd' } });
    k.api.addPod({ namespace: 'kube-system', name: `etcd-${name}`, node: name, mirror: true });
    k.api.addPod({ namespace: 'default', name: `web-${name}`, node: name, owner: { kind: 'ReplicaSet', name: 'web-1' }, labels: { app: 'web' }, terminationMs: 200 });
    k.api.addPod({ namespace: 'default', name: `cache-${name}`, node: name, owner: { kind: 'ReplicaSet', name: 'cache-1' }, emptyDir: true });
  }

  test('cordons, evicts what kubectl drain would, skips DaemonSet and mirror pods, waits until evicted pods are gone', async () => {
    workerNode('w1');
    const r = await k.run(drain, { ...fast }, { host: 'w1' });
    assert.equal(r.status, 'changed', String(r.msg));
    assert.equal(r.cordoned, true);
    assert.equal(k.api.node('w1')!.spec.unschedulable, true);
    assert.deepEqual((r.evicted as string[]).sort(), ['default/cache-w1', 'default/web-w1']);
    assert.deepEqual(r.skipped, [
      { pod: 'kube-system/fluentd-w1', reason: 'ignoring DaemonSet-managed Pods' },
      { pod: 'kube-system/etcd-w1', reason: 'mirror pod (a static pod the kubelet manages)' },
    ]);
    assert.deepEqual(k.api.podsOn('w1').map((p) => p.metadata.name).sort(), ['etcd-w1', 'fluentd-w1']);
    // through the Eviction API, listing by field selector
    assert.equal(k.api.count((q) => q.subresource === 'eviction' && q.name === 'web-w1'), 1);
    assert.ok(k.api.requests.some((q) => q.resource === 'pods' && q.verb === 'list' && q.query.fieldSelector === 'spec.nodeName=w1'));
    const ev = k.api.requests.find((q) => q.subresource === 'eviction')!;
    assert.deepEqual((ev.body as { apiVersion: string; kind: string }).apiVersion, 'policy/v1');
  });

  test('refusals name the parameter that overrides them; nothing is evicted', async () => {
    k.api.addNode('w2');
    k.api.addPod({ namespace: 'default', name: 'bare', node: 'w2' });
    k.api.addPod({ namespace: 'default', name: 'scratch', node: 'w2', owner: { kind: 'ReplicaSet', name: 'x' }, emptyDir: true });
    k.api.addDaemonSet('kube-system', 'agent');
    k.api.addPod({ namespace: 'kube-system', name: 'agent-w2', node: 'w2', owner: { kind: 'DaemonSet', name: 'agent' } });
    const r = await k.run(drain, { ...fast, ignore_daemonsets: false, delete_emptydir_data: false }, { host: 'w2' });
    assert.equal(r.status, 'failed');
    assert.equal(
      r.msg,
      'cannot drain node w2: cannot delete Pods declaring no controller (use force: true to override): default/bare; ' +
        'cannot delete Pods with local storage (use delete_emptydir_data: true to override): default/scratch; ' +
        'cannot delete DaemonSet-managed Pods (use ignore_daemonsets: true to ignore): kube-system/agent-w2',
    );
    assert.equal(k.api.count((q) => q.subresource === 'eviction' && q.path.includes('/w2')), 0);
    assert.equal(k.api.podsOn('w2').length, 3);
    // force + the defaults: the bare pod goes too
    const f = await k.run(drain, { ...fast, force: true }, { host: 'w2' });
    assert.equal(f.status, 'changed', String(f.msg));
    assert.deepEqual((f.evicted as string[]).sort(), ['default/bare', 'default/scratch']);
  });

  test('a budget that refuses (429) twice, then allows: retried until evicted', async () => {
    k.api.addNode('w3');
    k.api.addPod({ namespace: 'shop', name: 'api-w3', node: 'w3', owner: { kind: 'ReplicaSet', name: 'api-1' }, labels: { app: 'api' } });
    k.api.addPdb({ namespace: 'shop', name: 'api', matchLabels: { app: 'api' }, disruptionsAllowed: 0, opensAfterRefusals: 2 });
    const r = await k.run(drain, { ...fast, timeout: '10s' }, { host: 'w3' });
    assert.equal(r.status, 'changed', String(r.msg));
    assert.deepEqual(r.evicted, ['shop/api-w3']);
    assert.equal(k.api.requests.filter((q) => q.subresource === 'eviction' && q.name === 'api-w3').map((q) => q.status).join(','), '429,429,201');
  });

  test('a budget that never allows: times out; the node stays cordoned for the playbook to undo', async () => {
    // The retries and the message are counted on a fake clock in test/kube/drain.test.ts; here the module's result.
    k.api.addNode('w4');
    k.api.addPod({ namespace: 'shop', name: 'db-w4', node: 'w4', owner: { kind: 'StatefulSet', name: 'db' }, labels: { app: 'db' } });
    k.api.addPdb({ namespace: 'shop', name: 'db-pdb', matchLabels: { app: 'db' }, disruptionsAllowed: 0 });
    const r = await k.run(drain, { ...fast, timeout: '800ms' }, { host: 'w4' });
    assert.equal(r.status, 'failed');
    assert.equal(r.timed_out, true);
    assert.match(String(r.msg), /^drain of node w4 timed out after 800ms: /);
    assert.ok(k.api.pod('shop', 'db-w4'));
    assert.equal(k.api.node('w4')!.spec.unschedulable, true);
  });

  test('overlapping budgets (500 from the eviction API): fails at once with the API\'s reason', async () => {
    k.api.addNode('w5');
    k.api.addPod({ namespace: 'dup', name: 'x-w5', node: 'w5', owner: { kind: 'ReplicaSet', name: 'x' }, labels: { app: 'x' } });
    k.api.addPdb({ namespace: 'dup', name: 'one', matchLabels: { app: 'x' }, disruptionsAllowed: 1 });
    k.api.addPdb({ namespace: 'dup', name: 'two', matchLabels: { app: 'x' }, disruptionsAllowed: 1 });
    const r = await k.run(drain, { ...fast, timeout: '30s' }, { host: 'w5' });
    assert.equal(r.status, 'failed');
    assert.match(String(r.msg), /eviction refused: dup\/x-w5: This pod has more than one PodDisruptionBudget/);
  });

  test('disable_eviction deletes instead; pod_selector limits the drain; check mode writes nothing', async () => {
    k.api.addNode('w6');
    k.api.addPod({ namespace: 'a', name: 'keep', node: 'w6', owner: { kind: 'ReplicaSet', name: 'k' }, labels: { tier: 'db' } });
    k.api.addPod({ namespace: 'a', name: 'go', node: 'w6', owner: { kind: 'ReplicaSet', name: 'g' }, labels: { tier: 'web' } });
    const before = k.writes();
    const c = await k.run(drain, { ...fast }, { host: 'w6', check: true });
    assert.equal(c.status, 'changed');
    assert.deepEqual((c.would_evict as string[]).sort(), ['a/go', 'a/keep']);
    assert.equal(k.writes(), before);
    const r = await k.run(drain, { ...fast, pod_selector: 'tier=web', disable_eviction: true, grace_period: 0 }, { host: 'w6' });
    assert.equal(r.status, 'changed', String(r.msg));
    assert.deepEqual(r.evicted, ['a/go']);
    assert.ok(k.api.requests.some((q) => q.method === 'DELETE' && q.name === 'go'));
    assert.ok(k.api.pod('a', 'keep'));
  });

  test('node not found; 403 on eviction', async () => {
    const nf = await k.run(drain, { ...fast }, { host: 'nope' });
    assert.equal(nf.status, 'failed');
    assert.equal(nf.msg, 'node nope not found');
    k.api.addNode('w7');
    k.api.addPod({ namespace: 'a', name: 'p7', node: 'w7', owner: { kind: 'ReplicaSet', name: 'k' } });
    k.api.forbid = (q) => q.subresource === 'eviction';
    try {
      const r = await k.run(drain, { ...fast }, { host: 'w7' });
      assert.equal(r.status, 'failed');
      assert.match(String(r.msg), /^forbidden: the kubeconfig's user may not create pods\/eviction in namespace a \(RBAC.*\(pod a\/p7\)/);
    } finally {
      k.api.forbid = undefined;
    }
  });

  test('Ctrl-C mid-drain ends the module promptly', async () => {
    k.api.addNode('w8');
    k.api.addPod({ namespace: 'shop', name: 'db-w8', node: 'w8', owner: { kind: 'StatefulSet', name: 'db' }, labels: { app: 'db8' } });
    k.api.addPdb({ namespace: 'shop', name: 'db8', matchLabels: { app: 'db8' }, disruptionsAllowed: 0 });
    const ac = new AbortController();
    // interrupted while the budget refuses (not at a time: the first refusal may come late on a busy machine)
    const refused = () => k.api.count((q) => q.subresource === 'eviction' && q.name === 'db-w8' && q.status === 429) > 0;
    const abort = () => ac.abort();
    void until(refused, 'a refused eviction').then(abort, abort);
    // a timeout of an hour: only the interrupt can end it
    const r = await k.run(drain, { ...fast, timeout: '1h' }, { host: 'w8', signal: ac.signal });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, 'interrupted');
    assert.ok(refused(), 'interrupted mid-drain, not before it');
  });
});

describe('kube_wait_ready', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  test('readiness (pure): Ready and a heartbeat after since', () => {
    const since = new Date('2024-05-01T10:00:00.400Z');
    const node = (status: string, hb: string): KubeNode => ({ name: 'n', uid: 'u', resourceVersion: '1', unschedulable: false, labels: {}, annotations: {}, conditions: [{ type: 'Ready', status, lastHeartbeatTime: new Date(hb) }] });
    const rows: [string, KubeNode, Date | undefined, boolean, boolean][] = [
      ['ready, heartbeat next second', node('True', '2024-05-01T10:00:01Z'), undefined, true, true],
      ['ready, heartbeat same second (before since)', node('True', '2024-05-01T10:00:00Z'), undefined, true, false],
      ['ready, old heartbeat, fresh lease', node('True', '2024-05-01T09:00:00Z'), new Date('2024-05-01T10:00:00.500Z'), true, true],
      ['not ready, fresh heartbeat', node('False', '2024-05-01T10:00:05Z'), undefined, false, true],
    ];
    for (const [name, n, lease, ready, fresh] of rows) {
      const r = readiness(n, lease, since);
      assert.equal(r.ready, ready, name);
      assert.equal(r.fresh, fresh, name);
    }
  });

  test('waits until the kubelet reports Ready again; times out naming why', async () => {
    k.api.addNode('r1', { ready: false });
    // Ready again once the module has seen it not ready twice: it must have kept polling to notice
    const nodeGets = () => k.api.count((q) => q.resource === 'nodes' && q.name === 'r1' && q.verb === 'get');
    void until(() => nodeGets() >= 2, 'two polls of node r1').then(() => k.api.setNodeReady('r1', true), () => undefined);
    const r = await k.run(waitReady, { timeout: '10m', poll_interval: '100ms' }, { host: 'r1' });
    assert.equal(r.status, 'ok', String(r.msg));
    assert.ok(nodeGets() >= 3, `polled ${nodeGets()} times`);
    k.api.addNode('r2', { ready: false });
    const f = await k.run(waitReady, { timeout: '500ms', poll_interval: '100ms' }, { host: 'r2' });
    assert.equal(f.status, 'failed');
    assert.match(String(f.msg), /^node r2 did not become Ready within 500ms: Ready is not True \(KubeletNotReady: container runtime is down\)$/);
  });
});
