/**
 * What a crash must not leave for longer than the next run. Before its plays, a run that works on the cluster
 * recovers what runs that are gone left there: nodes carrying nodesweep's cordon record whose holder is gone
 * (Lease free or expired, or a dead process of this machine) are uncordoned as kube_uncordon would (re-read and
 * re-judged, conditional on what was read), and Leases held by a dead process of this machine are released. After
 * its plays (Ctrl-C included), it releases the Leases it still holds. --check only says what it would do.
 * Failures here never fail the run: they are said, and the modules themselves fail closed.
 */
import type { KubeAccess } from './access.js';
import type { KubeClient } from './client.js';
import { cordonRecord, judgeRecord, leaseRef, uncordonFor } from './cordon.js';
import { clearHolder, LOCK_LABELS } from './lock.js';
import { describeHolder } from './holder.js';
import { errorMessage } from '../errors.js';

export const DEFAULT_LOCK_NAMESPACE = 'kube-system';

/** One thing the recovery did or would do about what a run left in the cluster (an event of the run's stream). */
export interface ClusterCleanupEvent {
  kind: 'cluster_cleanup';
  /** start: left by runs that are gone; end: this run's own Leases, still held when its plays ended. */
  phase: 'start' | 'end';
  action: 'uncordon' | 'release';
  /** `node NAME` or `lease NAMESPACE/NAME` */
  target: string;
  /** The holder identity the record or Lease named. */
  holder: string;
  /** would: --check; left: nothing done, and why (an owner nodesweep cannot judge). */
  outcome: 'done' | 'would' | 'left' | 'failed';
  msg: string;
}

type Emit = (e: ClusterCleanupEvent) => void;

export interface RecoveryOptions {
  check: boolean;
  /** Namespaces whose nodesweep Leases are looked at (the playbook's kube_lock namespaces; kube-system by default). */
  lockNamespaces: string[];
  signal?: AbortSignal;
}

export async function recoverCluster(kube: KubeAccess, o: RecoveryOptions, emit: Emit): Promise<void> {
  const client = await kube.client();
  const co = o.signal ? { signal: o.signal } : {};
  const namespaces = new Set(o.lockNamespaces);
  for (const n of await client.listNodes(co)) {
    const rec = cordonRecord(n);
    if (!rec) continue;
    if (rec.lease) namespaces.add(rec.lease.namespace);
    const me = { identity: kube.identityFor(n.name) };
    const verdict = await judgeRecord(client, n, me, kube.probe, new Date(kube.clock.now()), o.signal);
    const holder = rec.holder ?? '';
    if (verdict?.kind !== 'gone') {
      // A live holder's cordon is its own; an owner that cannot be judged is said on every run until someone acts.
      if (!rec.holder) emit({ kind: 'cluster_cleanup', phase: 'start', action: 'uncordon', target: `node ${n.name}`, holder, outcome: 'left', msg: `node ${n.name} left cordoned: ${verdict?.kind === 'alive' ? verdict.reason : 'its record cannot be judged'}; if no nodesweep run works on it, run \`kubectl uncordon ${n.name}\`` });
      continue;
    }
    try {
      const r = await uncordonFor(kube, client, n.name, { check: o.check, ...(o.signal ? { signal: o.signal } : {}) });
      if (!r.changed) continue; // re-read and re-judged: someone else acted first
      emit({ kind: 'cluster_cleanup', phase: 'start', action: 'uncordon', target: `node ${n.name}`, holder, outcome: o.check ? 'would' : 'done', msg: o.check ? `would uncordon: ${r.msg}` : r.msg });
    } catch (e) {
      emit({ kind: 'cluster_cleanup', phase: 'start', action: 'uncordon', target: `node ${n.name}`, holder, outcome: 'failed', msg: `could not uncordon node ${n.name} (cordoned by ${holder}: ${verdict.reason}): ${errorMessage(e)}` });
    }
  }
  for (const ns of namespaces) await releaseDeadHolders(client, kube, ns, o, emit);
}

async function releaseDeadHolders(client: KubeClient, kube: KubeAccess, namespace: string, o: RecoveryOptions, emit: Emit): Promise<void> {
  const co = o.signal ? { signal: o.signal } : {};
  for (const l of await client.listLeases(namespace, LOCK_LABELS, co)) {
    const holder = l.holderIdentity;
    if (!holder || !kube.isDead(holder)) continue;
    const target = `lease ${leaseRef(l)}`;
    const why = `its holder ${holder}: ${describeHolder(holder)} is no longer running`;
    if (o.check) {
      emit({ kind: 'cluster_cleanup', phase: 'start', action: 'release', target, holder, outcome: 'would', msg: `would release ${target} (${why})` });
      continue;
    }
    try {
      // Conditional on what was read: if the Lease changed meanwhile, someone else acted and it is theirs now.
      if (await clearHolder(client, l, co)) emit({ kind: 'cluster_cleanup', phase: 'start', action: 'release', target, holder, outcome: 'done', msg: `released ${target} (${why})` });
    } catch (e) {
      emit({ kind: 'cluster_cleanup', phase: 'start', action: 'release', target, holder, outcome: 'failed', msg: `could not release ${target} (${why}): ${errorMessage(e)}` });
    }
  }
}

/** End of run: release what this run still holds; said as cluster_cleanup events of phase 'end'. */
export async function releaseAtEnd(kube: KubeAccess, emit: Emit, signal?: AbortSignal): Promise<void> {
  for (const r of await kube.finish(signal)) {
    const target = `lease ${r.lease}`;
    emit(
      r.error !== undefined
        ? { kind: 'cluster_cleanup', phase: 'end', action: 'release', target, holder: r.identity, outcome: 'failed', msg: `could not release ${target} held for ${r.identity}: ${r.error} (it expires with its TTL)` }
        : { kind: 'cluster_cleanup', phase: 'end', action: 'release', target, holder: r.identity, outcome: 'done', msg: `released ${target}, which this run still held when its plays ended` },
    );
  }
}

/** How long the end-of-run release may take (also after Ctrl-C: bounded, then the Leases expire with their TTL). */
const END_RELEASE_MS = 15_000;

/**
 * The work around a run's plays when its playbook works on the cluster: recovery before, release after. A
 * recovery that cannot reach the API is a warning: the modules fail closed on their own.
 */
export function clusterAroundPlays(kube: KubeAccess, o: Omit<RecoveryOptions, 'signal'>): {
  before(emit: (e: ClusterCleanupEvent | { kind: 'warning'; message: string }) => void, signal: AbortSignal): Promise<void>;
  after(emit: (e: ClusterCleanupEvent | { kind: 'warning'; message: string }) => void): Promise<void>;
} {
  return {
    async before(emit, signal) {
      try {
        await recoverCluster(kube, { ...o, signal }, emit);
      } catch (e) {
        if (signal.aborted) return;
        emit({ kind: 'warning', message: `could not look for cordons and locks left by crashed runs: ${errorMessage(e)}` });
      }
    },
    async after(emit) {
      if (!kube.used()) return kube.close();
      try {
        await releaseAtEnd(kube, emit, AbortSignal.timeout(END_RELEASE_MS));
      } catch (e) {
        kube.close();
        emit({ kind: 'warning', message: `could not release this run's locks: ${errorMessage(e)} (they expire with their TTL)` });
      }
    },
  };
}
