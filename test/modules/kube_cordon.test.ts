/** kube_cordon / kube_uncordon against the API stand-in: records, idempotence, admin cordons, failures. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kubeEnv, type KubeEnv } from '../kube/setup.js';
import { kubeCordonModule, kubeUncordonModule } from '../../src/modules/kube_cordon.js';
import { CORDONED_BY, WAS_UNSCHEDULABLE } from '../../src/kube/cordon.js';
import { createKubeAccess } from '../../src/kube/access.js';

const cordon = kubeCordonModule();
const uncordon = kubeUncordonModule();

describe('kube_cordon / kube_uncordon', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  test('cordon records who and what was; second run ok; uncordon undoes it; second uncordon ok', async () => {
    k.api.addNode('n-plain');
    const r1 = await k.run(cordon, {}, { host: 'n-plain' });
    assert.equal(r1.status, 'changed');
    const n = k.api.node('n-plain')!;
    assert.equal(n.spec.unschedulable, true);
    assert.equal(n.metadata.annotations[CORDONED_BY], 'nodesweep');
    assert.equal(n.metadata.annotations[WAS_UNSCHEDULABLE], 'false');
    assert.equal((await k.run(cordon, {}, { host: 'n-plain' })).status, 'ok');
    // merge patch, conditional on the resourceVersion read
    const patch = k.api.requests.find((r) => r.method === 'PATCH' && r.name === 'n-plain')!;
    assert.equal(patch.contentType, 'application/merge-patch+json');
    assert.ok((patch.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion);

    const u1 = await k.run(uncordon, {}, { host: 'n-plain' });
    assert.equal(u1.status, 'changed');
    assert.equal(u1.msg, 'node n-plain uncordoned');
    const after = k.api.node('n-plain')!;
    assert.equal(after.spec.unschedulable, undefined);
    assert.equal(after.metadata.annotations[CORDONED_BY], undefined);
    assert.equal(after.metadata.annotations[WAS_UNSCHEDULABLE], undefined);
    assert.equal((await k.run(uncordon, {}, { host: 'n-plain' })).status, 'ok');
  });

  test('a node an admin cordoned stays cordoned', async () => {
    k.api.addNode('n-admin', { unschedulable: true });
    const c = await k.run(cordon, {}, { host: 'n-admin' });
    assert.equal(c.was_unschedulable, true);
    assert.equal(k.api.node('n-admin')!.metadata.annotations[WAS_UNSCHEDULABLE], 'true');
    const u = await k.run(uncordon, {}, { host: 'n-admin' });
    assert.equal(u.status, 'changed'); // our record is removed
    assert.match(String(u.msg), /already cordoned before nodesweep.*left cordoned/);
    const n = k.api.node('n-admin')!;
    assert.equal(n.spec.unschedulable, true);
    assert.equal(n.metadata.annotations[CORDONED_BY], undefined);
  });

  test('a cordon without our record is not ours to undo', async () => {
    k.api.addNode('n-other', { unschedulable: true });
    const u = await k.run(uncordon, {}, { host: 'n-other' });
    assert.equal(u.status, 'ok');
    assert.match(String(u.msg), /not by nodesweep: left cordoned/);
    assert.equal(k.api.node('n-other')!.spec.unschedulable, true);
  });

  test('the record left by a killed run is what the next run uncordons by (a fresh run id)', async () => {
    k.api.addNode('n-killed', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false' } });
    // cordon again (the next run's rescue) keeps the original truth: it was schedulable before
    await k.run(cordon, {}, { host: 'n-killed', access: createKubeAccess({ kubeconfig: k.kubeconfig, runId: 'other' }) });
    assert.equal(k.api.node('n-killed')!.metadata.annotations[WAS_UNSCHEDULABLE], 'false');
    const u = await k.run(uncordon, {}, { host: 'n-killed' });
    assert.equal(u.status, 'changed');
    assert.equal(k.api.node('n-killed')!.spec.unschedulable, undefined);
  });

  test('node name from nodesweep_node_name; check mode writes nothing', async () => {
    k.api.addNode('real-name');
    const before = k.writes();
    const r = await k.run(cordon, {}, { host: 'inv-alias', vars: { nodesweep_node_name: 'real-name' }, check: true });
    assert.equal(r.status, 'changed');
    assert.match(String(r.msg), /^would cordon/);
    assert.equal(k.writes(), before);
    assert.equal(k.api.node('real-name')!.spec.unschedulable, undefined);
  });

  test('a concurrent change (409) is re-read and retried', async () => {
    k.api.addNode('n-race');
    k.api.inject({ match: (r) => r.verb === 'patch' && r.name === 'n-race', status: 409, reason: 'Conflict', message: 'Operation cannot be fulfilled on nodes "n-race": the object has been modified' });
    const r = await k.run(cordon, {}, { host: 'n-race' });
    assert.equal(r.status, 'changed');
    assert.equal(k.api.node('n-race')!.spec.unschedulable, true);
  });

  test('node not found, forbidden, API down: failed with an actionable message', async () => {
    const nf = await k.run(cordon, {}, { host: 'ghost' });
    assert.equal(nf.status, 'failed');
    assert.equal(nf.msg, 'node ghost not found');

    k.api.addNode('n-rbac');
    k.api.forbid = (r) => r.resource === 'nodes' && r.verb === 'patch';
    try {
      const f = await k.run(cordon, {}, { host: 'n-rbac' });
      assert.equal(f.status, 'failed');
      assert.match(String(f.msg), /^forbidden: the kubeconfig's user may not patch nodes \(RBAC.*\(node n-rbac\)/);
      assert.equal(f.http_status, 403);
    } finally {
      k.api.forbid = undefined;
    }

    await k.api.setDown(true);
    try {
      const d = await k.run(uncordon, {}, { host: 'n-rbac' });
      assert.equal(d.status, 'failed');
      assert.equal(d.msg, `cannot reach the Kubernetes API at ${k.api.url}: ECONNREFUSED (get node n-rbac)`);
    } finally {
      await k.api.setDown(false);
    }
  });
});
