/**
 * Recovery of what crashed runs left (src/kube/recovery.ts) against the API stand-in: cordons and Leases of dead
 * processes of this machine (real processes, killed), of runs whose Lease expired (a clock moved by hand), of live
 * runs (left alone), --check, and the release of a run's own Leases at its end.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { kubeEnv, type KubeEnv } from './setup.js';
import { clusterAroundPlays, recoverCluster } from '../../src/kube/recovery.js';
import { CORDONED_BY, CORDON_HOLDER, CORDON_LEASE, WAS_UNSCHEDULABLE } from '../../src/kube/cordon.js';
import { formatHolder } from '../../src/kube/holder.js';
import { procProbe } from '../../src/kube/process-probe.js';
import { microTime } from '../../src/kube/client.js';
import { kubeLockModule } from '../../src/modules/kube_lock.js';
import { kubeCordonModule } from '../../src/modules/kube_cordon.js';
import type { ClusterCleanupEvent, RunEvent } from '../../src/events/events.js';
import { TestClock } from '../helpers/clock.js';

const LABELS = { 'app.kubernetes.io/managed-by': 'nodesweep', 'nodesweep.io/lock': 'nodesweep-remediation' };

/** A real process of this machine, then killed: its identity is certainly dead. */
async function deadIdentity(node: string): Promise<{ identity: string; pid: number }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const start = procProbe().startOf(child.pid!)!;
  child.kill('SIGKILL');
  await once(child, 'exit');
  return { identity: formatHolder({ node, host: hostname(), pid: child.pid!, start, runId: 'killed' }), pid: child.pid! };
}

describe('recovery of what crashed runs left', () => {
  let k: KubeEnv;
  before(async () => {
    k = await kubeEnv();
  });
  after(async () => {
    await k.close();
  });

  const collect = () => {
    const events: ClusterCleanupEvent[] = [];
    return { events, emit: (e: ClusterCleanupEvent) => events.push(e) };
  };

  test('a SIGKILLed run of this machine: its node is uncordoned and its Lease released at once (--check first says so)', async () => {
    const { identity, pid } = await deadIdentity('w-dead');
    const fresh = microTime(new Date());
    k.api.putLease('rec1', 'nodesweep-remediation-0', { holderIdentity: identity, leaseDurationSeconds: 1800, acquireTime: fresh, renewTime: fresh, leaseTransitions: 2 });
    k.api.lease('rec1', 'nodesweep-remediation-0')!.metadata.labels = LABELS;
    k.api.addNode('w-dead', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false', [CORDON_HOLDER]: identity, [CORDON_LEASE]: 'rec1/nodesweep-remediation-0' } });

    const dry = collect();
    const writes = k.writes();
    await recoverCluster(k.access('rec-check'), { check: true, lockNamespaces: ['kube-system'] }, dry.emit);
    assert.equal(k.writes(), writes, '--check writes nothing');
    assert.deepEqual(dry.events.map((e) => [e.action, e.target, e.outcome]), [
      ['uncordon', 'node w-dead', 'would'],
      ['release', 'lease rec1/nodesweep-remediation-0', 'would'],
    ]);

    const r = collect();
    await recoverCluster(k.access('rec-run'), { check: false, lockNamespaces: ['kube-system'] }, r.emit);
    assert.deepEqual(r.events.map((e) => [e.phase, e.action, e.target, e.holder, e.outcome]), [
      ['start', 'uncordon', 'node w-dead', identity, 'done'],
      ['start', 'release', 'lease rec1/nodesweep-remediation-0', identity, 'done'],
    ]);
    assert.match(r.events[0]!.msg, new RegExp(`^node w-dead uncordoned \\(cordoned by .*: its holder, process ${pid} on ${hostname()}, is no longer running\\)$`));
    const n = k.api.node('w-dead')!;
    assert.equal(n.spec.unschedulable, undefined);
    assert.equal(n.metadata.annotations[CORDON_HOLDER], undefined);
    const l = k.api.lease('rec1', 'nodesweep-remediation-0')!;
    assert.equal(l.spec.holderIdentity, undefined);
    assert.equal(l.spec.leaseTransitions, 2);
    // nothing left to do: a second recovery is silent
    const again = collect();
    await recoverCluster(k.access('rec-again'), { check: false, lockNamespaces: ['kube-system'] }, again.emit);
    assert.deepEqual(again.events, []);
  });

  test('a run elsewhere whose Lease expired: uncordoned once the TTL is over, not before; its Lease is left to expire', async () => {
    const clock = new TestClock(new Date('2026-03-01T00:00:00.000Z'));
    const elsewhere = 'w-exp@other-host/77/1-abcdef01-1/gone';
    const renew = microTime(new Date(clock.now()));
    k.api.putLease('rec2', 'nodesweep-remediation-0', { holderIdentity: elsewhere, leaseDurationSeconds: 60, acquireTime: renew, renewTime: renew });
    k.api.lease('rec2', 'nodesweep-remediation-0')!.metadata.labels = LABELS;
    k.api.addNode('w-exp', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false', [CORDON_HOLDER]: elsewhere, [CORDON_LEASE]: 'rec2/nodesweep-remediation-0' } });
    const early = collect();
    await recoverCluster(k.access('rec-exp1', { clock }), { check: false, lockNamespaces: [] }, early.emit);
    assert.deepEqual(early.events, []);
    assert.equal(k.api.node('w-exp')!.spec.unschedulable, true);
    await clock.advance(60_000);
    const late = collect();
    await recoverCluster(k.access('rec-exp2', { clock }), { check: false, lockNamespaces: [] }, late.emit);
    assert.deepEqual(late.events.map((e) => [e.action, e.outcome]), [['uncordon', 'done']]);
    assert.match(late.events[0]!.msg, /its lease rec2\/nodesweep-remediation-0 expired at 2026-03-01T00:01:00.000Z/);
    assert.equal(k.api.node('w-exp')!.spec.unschedulable, undefined);
    assert.equal(k.api.lease('rec2', 'nodesweep-remediation-0')!.spec.holderIdentity, elsewhere);
  });

  test('a live run\'s cordon and an admin\'s cordon are left alone; an ownerless older record is reported, not undone', async () => {
    const live = k.access('rec-live');
    k.api.addNode('w-live');
    assert.equal((await k.run(kubeLockModule(), { namespace: 'rec3' }, { host: 'w-live', access: live })).status, 'changed');
    assert.equal((await k.run(kubeCordonModule(), {}, { host: 'w-live', access: live })).status, 'changed');
    k.api.addNode('w-admin', { unschedulable: true });
    k.api.addNode('w-old', { unschedulable: true, annotations: { [CORDONED_BY]: 'nodesweep', [WAS_UNSCHEDULABLE]: 'false' } });
    const r = collect();
    await recoverCluster(k.access('rec-other'), { check: false, lockNamespaces: ['rec3'] }, r.emit);
    assert.deepEqual(r.events.map((e) => [e.target, e.outcome]), [['node w-old', 'left']]);
    assert.match(r.events[0]!.msg, /names no holder.*run `kubectl uncordon w-old`/);
    assert.equal(k.api.node('w-live')!.spec.unschedulable, true);
    assert.equal(k.api.node('w-admin')!.spec.unschedulable, true);
    assert.equal(k.api.node('w-old')!.spec.unschedulable, true);
    assert.ok(k.api.lease('rec3', 'nodesweep-remediation-0')!.spec.holderIdentity);
    // at the live run's end, the Lease it still holds is released and said
    const events: RunEvent[] = [];
    await clusterAroundPlays(live, { check: false, lockNamespaces: [] }).after((e) => events.push(e));
    assert.deepEqual(events.map((e) => e.kind === 'cluster_cleanup' && [e.phase, e.target, e.outcome]), [['end', 'lease rec3/nodesweep-remediation-0', 'done']]);
    assert.equal(k.api.lease('rec3', 'nodesweep-remediation-0')!.spec.holderIdentity, undefined);
    assert.deepEqual(live.locks.slots(), []);
  });

  test('an API that cannot be reached: a warning, never a failed run', async () => {
    await k.api.setDown(true);
    try {
      const events: RunEvent[] = [];
      await clusterAroundPlays(k.access('rec-down'), { check: false, lockNamespaces: [] }).before((e) => events.push(e), new AbortController().signal);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.kind, 'warning');
      assert.match((events[0] as { message: string }).message, /^could not look for cordons and locks left by crashed runs: cannot reach the Kubernetes API at .*ECONNREFUSED/);
    } finally {
      await k.api.setDown(false);
    }
  });
});
