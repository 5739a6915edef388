/** kube_cordon / kube_uncordon against the API stand-in: records, idempotence, admin cordons, failures. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { kubeEnv, type KubeEnv } from '../kube/setup.js';
import { kubeCordonModule, kubeUncordonModule } from '../../src/modules/kube_cordon.js';
import { kubeLockModule } from '../../src/modules/kube_lock.js';
import { CORDONED_BY, CORDON_HOLDER, CORDON_LEASE, WAS_UNSCHEDULABLE, ownerVerdict, type CordonRecord, type OwnerFacts } from '../../src/kube/cordon.js';
import { formatHolder } from '../../src/kube/holder.js';
import { procProbe } from '../../src/kube/process-probe.js';
import type { LeaseInfo } from '../../src/kube/client.js';
import { TestClock } from '../helpers/clock.js';

const cordon = kubeCordonModule();
const uncordon = kubeUncordonModule();
const lock = kubeLockModule();

describe('owner verdicts (pure)', () => {
  const NOW = new Date('2026-01-01T10:00:00.000Z');
  const A = 'n1@ctl/100/5-abcdef01-1/runA';
  const B = 'n1@ctl/200/6-abcdef01-1/runB';
  const lease = (holder: string | undefined, renewedAgoS: number): LeaseInfo => ({
    namespace: 'kube-system', name: 'nodesweep-remediation-0', resourceVersion: '7',
    ...(holder ? { holderIdentity: holder } : {}), leaseDurationSeconds: 60, renewTime: new Date(NOW.getTime() - renewedAgoS * 1000),
  });
  const withLease: CordonRecord = { wasUnschedulable: false, holder: A, lease: { namespace: 'kube-system', name: 'nodesweep-remediation-0' } };
  const noLease: CordonRecord = { wasUnschedulable: false, holder: A };
  const legacy: CordonRecord = { wasUnschedulable: false };
  const facts = (o: Partial<OwnerFacts>): OwnerFacts => ({ liveness: 'unknown', now: NOW, ...o });
  const rows: [string, CordonRecord, string, OwnerFacts, string, RegExp?][] = [
    ['my own record', withLease, A, facts({ lease: lease(A, 1) }), 'mine'],
    ['holder holds its lease, renewed 10 s ago', withLease, B, facts({ lease: lease(A, 10) }), 'alive', /holds lease kube-system\/nodesweep-remediation-0 until 2026-01-01T10:00:50.000Z/],
    ['holder\'s lease expired', withLease, B, facts({ lease: lease(A, 61) }), 'gone', /its lease kube-system\/nodesweep-remediation-0 expired at 2026-01-01T09:59:59.000Z/],
    ['holder\'s lease released', withLease, B, facts({ lease: lease(undefined, 1) }), 'gone', /was released/],
    ['holder\'s lease now held by another run', withLease, B, facts({ lease: lease('n2@x/1/1-abcdef01-1/runC', 1) }), 'gone', /is now held by n2@x/],
    ['holder\'s lease deleted', withLease, B, facts({ lease: 'missing' }), 'gone', /no longer exists/],
    ['holder dead on this machine, lease fresh', withLease, B, facts({ lease: lease(A, 1), liveness: 'dead' }), 'gone', /process 100 on ctl, is no longer running/],
    ['no lease, holder alive here', noLease, B, facts({ liveness: 'alive' }), 'alive', /process 100 on ctl, is running/],
    ['no lease, holder elsewhere', noLease, B, facts({ liveness: 'unknown' }), 'alive', /held no lock and runs elsewhere/],
    ['no lease, holder dead here', noLease, B, facts({ liveness: 'dead' }), 'gone'],
    ['older record without holder, asker holds no lock', legacy, B, facts({}), 'alive', /names no holder/],
  ];
  for (const [name, rec, me, f, kind, why] of rows) {
    test(`ownerVerdict: ${name}`, () => {
      const v = ownerVerdict(rec, { identity: me }, f);
      assert.equal(v.kind, kind);
      if (why) assert.match((v as { reason: string }).reason, why);
    });
  }
  test('ownerVerdict: older record without holder, asker holds the lock: gone', () => {
    const v = ownerVerdict(legacy, { identity: B, lease: { namespace: 'kube-system', name: 'nodesweep-remediation-0' } }, facts({}));
    assert.equal(v.kind, 'gone');
  });
});

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
    assert.equal(n.metadata.annotations[CORDON_HOLDER], k.access('run1').identityFor('n-plain'));
    assert.equal(n.metadata.annotations[CORDON_LEASE], undefined, 'no lock held: none recorded');
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
    assert.equal(after.metadata.annotations[CORDON_HOLDER], undefined);
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

  test('a run that never held the lock does not uncordon a node another run is draining (issue 11, 1)', async () => {
    k.api.addNode('n-busy');
    const runA = k.access('runA');
    const runB = k.access('runB');
    const lockArgs = { name: 'own', namespace: 'ops', ttl: '30m' };
    assert.equal((await k.run(lock, lockArgs, { host: 'n-busy', access: runA })).status, 'changed');
    assert.equal((await k.run(cordon, {}, { host: 'n-busy', access: runA })).status, 'changed');
    const rec = k.api.node('n-busy')!.metadata.annotations;
    assert.equal(rec[CORDON_HOLDER], runA.identityFor('n-busy'));
    assert.equal(rec[CORDON_LEASE], 'ops/own-0');
    // B gives up on the lock, then its always: uncordons
    const b = await k.run(lock, lockArgs, { host: 'n-busy', access: runB });
    assert.equal(b.status, 'failed');
    const u = await k.run(uncordon, {}, { host: 'n-busy', access: runB });
    assert.equal(u.status, 'ok');
    assert.match(String(u.msg), /^node n-busy is cordoned by another nodesweep run \(n-busy@.*\/runA holds lease ops\/own-0 until .*\): left cordoned$/);
    assert.equal(k.api.node('n-busy')!.spec.unschedulable, true);
    // B's cordon (or drain) refuses to touch it
    const c = await k.run(cordon, {}, { host: 'n-busy', access: runB });
    assert.equal(c.status, 'failed');
    assert.match(String(c.msg), /not touching it/);
    assert.equal(k.api.node('n-busy')!.metadata.annotations[CORDON_HOLDER], runA.identityFor('n-busy'));
    // A undoes its own cordon
    assert.equal((await k.run(uncordon, {}, { host: 'n-busy', access: runA })).msg, 'node n-busy uncordoned');
    assert.equal(k.api.node('n-busy')!.spec.unschedulable, undefined);
    await k.run(lock, { ...lockArgs, state: 'released' }, { host: 'n-busy', access: runA });
  });

  test('a record whose holder\'s lease expired is undone by the next run, which says so', async () => {
    const clock = new TestClock(new Date('2026-01-01T10:00:00.000Z'));
    const runA = k.access('runA2', { clock });
    const runB = k.access('runB2', { clock });
    k.api.addNode('n-expired');
    assert.equal((await k.run(lock, { name: 'exp', namespace: 'ops', ttl: '1m' }, { host: 'n-expired', access: runA })).status, 'changed');
    assert.equal((await k.run(cordon, {}, { host: 'n-expired', access: runA })).status, 'changed');
    runA.close(); // A stops renewing, as a run on a lost machine does
    await clock.advance(59_000);
    assert.equal((await k.run(uncordon, {}, { host: 'n-expired', access: runB })).status, 'ok');
    assert.equal(k.api.node('n-expired')!.spec.unschedulable, true);
    await clock.advance(1_000);
    const u = await k.run(uncordon, {}, { host: 'n-expired', access: runB });
    assert.equal(u.status, 'changed');
    assert.match(String(u.msg), /^node n-expired uncordoned \(cordoned by n-expired@.*\/runA2: its lease ops\/exp-0 expired at 2026-01-01T10:01:00.000Z\)$/);
    assert.equal(u.previous_holder, runA.identityFor('n-expired'));
    assert.equal(k.api.node('n-expired')!.spec.unschedulable, undefined);
  });

  test('a record of a dead process of this machine is taken over by the next cordon, keeping what was before', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const start = procProbe().startOf(child.pid!)!;
    const dead = formatHolder({ node: 'n-killed', host: hostname(), pid: child.pid!, start, runId: 'killed' });
    k.api.addNode('n-killed', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false', [CORDON_HOLDER]: dead } });
    const runB = k.access('runB3');
    const alive = await k.run(cordon, {}, { host: 'n-killed', access: runB });
    assert.equal(alive.status, 'failed', 'its holder still runs');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const c = await k.run(cordon, {}, { host: 'n-killed', access: runB });
    assert.equal(c.status, 'changed');
    assert.match(String(c.msg), new RegExp(`was left cordoned by .* \\(its holder, process ${child.pid} on ${hostname()}, is no longer running\\): this run takes the cordon over$`));
    const a = k.api.node('n-killed')!.metadata.annotations;
    assert.equal(a[CORDON_HOLDER], runB.identityFor('n-killed'));
    assert.equal(a[WAS_UNSCHEDULABLE], 'false'); // the original truth: it was schedulable before
    assert.equal((await k.run(uncordon, {}, { host: 'n-killed', access: runB })).msg, 'node n-killed uncordoned');
  });

  test('an older record without a holder: left cordoned unless this run holds the lock for the node', async () => {
    k.api.addNode('n-legacy', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false' } });
    const u = await k.run(uncordon, {}, { host: 'n-legacy' });
    assert.equal(u.status, 'ok');
    assert.match(String(u.msg), /names no holder .*: left cordoned/);
    assert.equal(k.api.node('n-legacy')!.spec.unschedulable, true);
    const runL = k.access('runL');
    assert.equal((await k.run(lock, { name: 'legacy', namespace: 'ops' }, { host: 'n-legacy', access: runL })).status, 'changed');
    const u2 = await k.run(uncordon, {}, { host: 'n-legacy', access: runL });
    assert.equal(u2.status, 'changed');
    assert.equal(k.api.node('n-legacy')!.spec.unschedulable, undefined);
    await k.run(lock, { name: 'legacy', namespace: 'ops', state: 'released' }, { host: 'n-legacy', access: runL });
  });

  test('a failed uncordon is retried (clock moved by the retries), then reported with the node and what to run', async () => {
    const clock = new TestClock(new Date('2026-01-01T10:00:00.000Z'), true);
    const run = k.access('runR', { clock });
    k.api.addNode('n-blip');
    assert.equal((await k.run(cordon, {}, { host: 'n-blip', access: run })).status, 'changed');
    // the client's own 3 attempts fail twice over: the module's third attempt gets through
    k.api.inject({ match: (r) => r.verb === 'patch' && r.name === 'n-blip', status: 500, message: 'etcdserver: request timed out', times: 6 });
    const u = await k.run(uncordon, { delay: '5s' }, { host: 'n-blip', access: run });
    assert.equal(u.status, 'changed', String(u.msg));
    assert.deepEqual(clock.slept, [5000, 5000]);
    assert.equal(k.api.node('n-blip')!.spec.unschedulable, undefined);

    assert.equal((await k.run(cordon, {}, { host: 'n-blip', access: run })).status, 'changed');
    k.api.inject({ match: (r) => r.verb === 'patch' && r.name === 'n-blip', status: 503, message: 'the server is shutting down', times: 1000 });
    try {
      const f = await k.run(uncordon, { retries: 2, delay: '1s' }, { host: 'n-blip', access: run });
      assert.equal(f.status, 'failed');
      assert.equal(f.attempts, 3);
      assert.match(String(f.msg), /^could not uncordon node n-blip after 3 attempt\(s\): .*the server is shutting down.*If this run cordoned it, it is still cordoned: once the API answers, run `kubectl uncordon n-blip`/s);
      assert.equal(k.api.node('n-blip')!.spec.unschedulable, true);
    } finally {
      k.api.injections.splice(0);
    }
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
      const d = await k.run(uncordon, { retries: 0 }, { host: 'n-rbac' });
      assert.equal(d.status, 'failed');
      assert.match(String(d.msg), new RegExp(`^could not uncordon node n-rbac after 1 attempt\\(s\\): cannot reach the Kubernetes API at ${k.api.url}: ECONNREFUSED \\(get node n-rbac\\)\\. `));
      const c = await k.run(cordon, {}, { host: 'n-rbac' });
      assert.equal(c.msg, `cannot reach the Kubernetes API at ${k.api.url}: ECONNREFUSED (get node n-rbac)`);
    } finally {
      await k.api.setDown(false);
    }
  });
});
