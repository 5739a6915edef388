/**
 * Cordon and uncordon decisions (pure), by ownership: nodesweep records on the node who cordoned it (the holder
 * identity of the run, and the Lease it held for the node) and whether the node was already unschedulable. A run
 * uncordons only a node it cordoned itself, or one whose recorded holder is gone (its Lease free or expired, or
 * its process on this machine dead); a node an admin cordoned stays cordoned; a live holder's cordon is left to
 * it. `applyNodeChange` is the I/O around the decisions: read, gather the owner's facts, decide, patch.
 */
import type { KubeClient, KubeNode, LeaseInfo } from './client.js';
import type { KubeAccess } from './access.js';
import { describeHolder, holderLiveness, type Liveness, type ProcessProbe } from './holder.js';
import { leaseExpiry, leaseIsFree } from './lock.js';

export const CORDONED_BY = 'nodesweep.io/cordoned-by';
export const WAS_UNSCHEDULABLE = 'nodesweep.io/was-unschedulable';
export const CORDONED_AT = 'nodesweep.io/cordoned-at';
/** The holder identity of the run that cordoned (src/kube/holder.ts). */
export const CORDON_HOLDER = 'nodesweep.io/cordon-holder';
/** `namespace/name` of the Lease that run held for the node when it cordoned; absent when it held none. */
export const CORDON_LEASE = 'nodesweep.io/cordon-lease';
export const CORDONED_BY_VALUE = 'nodesweep';
/** Every annotation of the record, in the order results show them. */
export const CORDON_RECORD_KEYS = [CORDONED_BY, WAS_UNSCHEDULABLE, CORDONED_AT, CORDON_HOLDER, CORDON_LEASE] as const;

export interface CordonRecord {
  wasUnschedulable: boolean;
  /** Absent in records written before ownership was recorded. */
  holder?: string;
  lease?: { namespace: string; name: string };
  at?: string;
}

/** The run asking: its holder identity for the node and the Lease it holds for the node, if any. */
export interface Claimant {
  identity: string;
  lease?: { namespace: string; name: string };
}

export type OwnerVerdict =
  /** This run wrote the record. */
  | { kind: 'mine' }
  /** The run that wrote it is gone: its cordon may be taken over or undone. */
  | { kind: 'gone'; reason: string }
  /** Its holder may still be working on the node (or it cannot be told): leave it. */
  | { kind: 'alive'; reason: string };

/** What the verdict needs beyond the record, read right before deciding. */
export interface OwnerFacts {
  /** The record's Lease as read now ('missing': it does not exist); undefined when the record names none. */
  lease?: LeaseInfo | 'missing';
  liveness: Liveness;
  now: Date;
}

export interface NodeChange {
  /** Merge patch to send (conditional on the resourceVersion read); undefined: nothing to do. */
  patch?: Record<string, unknown>;
  /** Human summary for msg. */
  msg: string;
  /** The node was unschedulable before nodesweep touched it. */
  wasUnschedulable: boolean;
  /** After the change, is the node unschedulable? */
  unschedulable: boolean;
  /** The record's holder, when the node carried another run's record. */
  previousHolder?: string;
  /** Set when another live run owns the node: the module fails (cordon) or leaves it (uncordon). */
  ownedElsewhere?: boolean;
  /** Why another run's record was taken over or undone. */
  goneReason?: string;
}

export function leaseRef(l: { namespace: string; name: string }): string {
  return `${l.namespace}/${l.name}`;
}

export function cordonRecord(n: KubeNode): CordonRecord | undefined {
  const a = n.annotations;
  if (a[CORDONED_BY] !== CORDONED_BY_VALUE) return undefined;
  const r: CordonRecord = { wasUnschedulable: a[WAS_UNSCHEDULABLE] === 'true' };
  if (a[CORDON_HOLDER]) r.holder = a[CORDON_HOLDER];
  const slash = (a[CORDON_LEASE] ?? '').indexOf('/');
  if (slash > 0) r.lease = { namespace: a[CORDON_LEASE]!.slice(0, slash), name: a[CORDON_LEASE]!.slice(slash + 1) };
  if (a[CORDONED_AT]) r.at = a[CORDONED_AT];
  return r;
}

/** Whose cordon is it, and may this run take it over or undo it? */
export function ownerVerdict(rec: CordonRecord, me: Claimant, f: OwnerFacts): OwnerVerdict {
  if (rec.holder === undefined) {
    // An older nodesweep wrote it; that version took the same Lease, so holding it now means that run is over.
    return me.lease
      ? { kind: 'gone', reason: `its record names no holder (an older nodesweep) and this run holds lease ${leaseRef(me.lease)}` }
      : { kind: 'alive', reason: 'its record names no holder (an older nodesweep wrote it): nothing tells whether that run still works on the node' };
  }
  if (rec.holder === me.identity) return { kind: 'mine' };
  if (f.liveness === 'dead') return { kind: 'gone', reason: `its holder, ${describeHolder(rec.holder)}, is no longer running` };
  if (rec.lease) {
    const ref = leaseRef(rec.lease);
    const l = f.lease;
    if (l === undefined || l === 'missing') return { kind: 'gone', reason: `its lease ${ref} no longer exists` };
    if (l.holderIdentity !== rec.holder) {
      return { kind: 'gone', reason: l.holderIdentity ? `its lease ${ref} is now held by ${l.holderIdentity}` : `its lease ${ref} was released` };
    }
    const exp = leaseExpiry(l);
    if (leaseIsFree(l, f.now)) return { kind: 'gone', reason: `its lease ${ref} expired${exp ? ` at ${exp.toISOString()}` : ''}` };
    return { kind: 'alive', reason: `${rec.holder} holds lease ${ref}${exp ? ` until ${exp.toISOString()} unless renewed` : ''}` };
  }
  return {
    kind: 'alive',
    reason:
      f.liveness === 'alive'
        ? `its holder, ${describeHolder(rec.holder)}, is running`
        : `${rec.holder} held no lock and runs elsewhere: nothing tells whether it still works on the node`,
  };
}

function recordAnnotations(me: Claimant, wasUnschedulable: boolean, now: Date): Record<string, string | null> {
  return {
    [CORDONED_BY]: CORDONED_BY_VALUE,
    [WAS_UNSCHEDULABLE]: String(wasUnschedulable),
    [CORDONED_AT]: now.toISOString(),
    [CORDON_HOLDER]: me.identity,
    [CORDON_LEASE]: me.lease ? leaseRef(me.lease) : null,
  };
}

const CLEARED = Object.fromEntries(CORDON_RECORD_KEYS.map((k) => [k, null]));

/** Cordon for `me`; `verdict` judges the node's record (see `judgeRecord`), undefined when it has none. */
export function decideCordon(n: KubeNode, me: Claimant, now: Date, verdict: OwnerVerdict | undefined): NodeChange {
  const rec = cordonRecord(n);
  if (rec && n.unschedulable) {
    const v = verdict ?? { kind: 'alive', reason: 'its record was not judged' };
    const base = { wasUnschedulable: rec.wasUnschedulable, unschedulable: true };
    if (v.kind === 'mine') return { ...base, msg: `node ${n.name} is already cordoned by this run` };
    const prev = rec.holder ?? 'an older nodesweep';
    if (v.kind === 'alive') {
      return { ...base, previousHolder: prev, ownedElsewhere: true, msg: `node ${n.name} is cordoned by another nodesweep run (${v.reason}): not touching it` };
    }
    // Taken over: the original truth (was it unschedulable before any nodesweep?) is kept.
    return {
      ...base,
      previousHolder: prev,
      goneReason: v.reason,
      patch: { metadata: { resourceVersion: n.resourceVersion, annotations: recordAnnotations(me, rec.wasUnschedulable, now) } },
      msg: `node ${n.name} was left cordoned by ${prev} (${v.reason}): this run takes the cordon over`,
    };
  }
  // No record, or a stale one on a schedulable node (someone uncordoned by hand): record the present truth.
  const was = n.unschedulable;
  return {
    patch: {
      metadata: { resourceVersion: n.resourceVersion, annotations: recordAnnotations(me, was, now) },
      spec: { unschedulable: true },
    },
    msg: was
      ? `node ${n.name} was already unschedulable (cordoned by someone else); recorded so it stays cordoned afterwards`
      : `node ${n.name} cordoned`,
    wasUnschedulable: was,
    unschedulable: true,
  };
}

/** Undo this run's cordon, or the cordon of a run that is gone; leave everything else as it is. */
export function decideUncordon(n: KubeNode, verdict: OwnerVerdict | undefined): NodeChange {
  const rec = cordonRecord(n);
  if (!rec) {
    return {
      msg: n.unschedulable ? `node ${n.name} is cordoned, but not by nodesweep: left cordoned` : `node ${n.name} is schedulable`,
      wasUnschedulable: n.unschedulable,
      unschedulable: n.unschedulable,
    };
  }
  const v = verdict ?? { kind: 'alive', reason: 'its record was not judged' };
  const prev = rec.holder ?? 'an older nodesweep';
  if (v.kind === 'alive') {
    return {
      msg: `node ${n.name} is cordoned by another nodesweep run (${v.reason}): left cordoned`,
      wasUnschedulable: rec.wasUnschedulable,
      unschedulable: n.unschedulable,
      previousHolder: prev,
      ownedElsewhere: true,
    };
  }
  const whose = v.kind === 'gone' ? ` (cordoned by ${prev}: ${v.reason})` : '';
  const gone = v.kind === 'gone' ? { previousHolder: prev, goneReason: v.reason } : {};
  if (rec.wasUnschedulable) {
    return {
      patch: { metadata: { resourceVersion: n.resourceVersion, annotations: CLEARED } },
      msg: `node ${n.name} was already cordoned before nodesweep cordoned it: left cordoned${whose}`,
      wasUnschedulable: true,
      unschedulable: n.unschedulable,
      ...gone,
    };
  }
  return {
    patch: { metadata: { resourceVersion: n.resourceVersion, annotations: CLEARED }, spec: { unschedulable: null } },
    msg: (n.unschedulable ? `node ${n.name} uncordoned` : `node ${n.name} was already schedulable; nodesweep's cordon record removed`) + whose,
    wasUnschedulable: false,
    unschedulable: false,
    ...gone,
  };
}

/**
 * The owner verdict of a node's cordon record (undefined when it has none), from the facts read right now: the
 * record's Lease, and whether its holder's process runs.
 */
export async function judgeRecord(client: KubeClient, n: KubeNode, me: Claimant, probe: ProcessProbe, now: Date, signal?: AbortSignal): Promise<OwnerVerdict | undefined> {
  const rec = cordonRecord(n);
  if (!rec) return undefined;
  const f: OwnerFacts = { liveness: rec.holder ? holderLiveness(rec.holder, probe) : 'unknown', now };
  if (rec.lease) f.lease = (await client.getLease(rec.lease.namespace, rec.lease.name, signal ? { signal } : {})) ?? 'missing';
  return ownerVerdict(rec, me, f);
}

/**
 * Read the node, gather the facts about its record, decide, patch conditionally on what was read; a 409
 * (someone changed the node meanwhile) means read and decide again. In check mode nothing is written.
 */
export async function applyNodeChange(
  client: KubeClient,
  name: string,
  decide: (n: KubeNode) => NodeChange | Promise<NodeChange>,
  o: { check: boolean; signal?: AbortSignal },
): Promise<NodeChange & { changed: boolean; node: KubeNode }> {
  const co = o.signal ? { signal: o.signal } : {};
  for (let attempt = 0; ; attempt++) {
    const node = await client.getNode(name, co);
    const change = await decide(node);
    if (!change.patch) return { ...change, changed: false, node };
    if (o.check) return { ...change, changed: true, node };
    try {
      const after = await client.patchNode(name, change.patch, co);
      return { ...change, changed: true, node: after };
    } catch (e) {
      const conflict = (e as { status?: number }).status === 409;
      if (!conflict || attempt >= 9) throw e;
    }
  }
}

// ---------- for a run: its claimant, its cordon and uncordon ----------

/** This run as the claimant of `node`: its identity, and the Lease it holds for the node if any. */
export function claimantFor(kube: KubeAccess, node: string): Claimant {
  const identity = kube.identityFor(node);
  const lease = kube.locks.heldBy(identity);
  return lease ? { identity, lease } : { identity };
}

export type Applied = NodeChange & { changed: boolean; node: KubeNode };

/** Read the node, judge its record for this run, decide, patch (src/kube/cordon.ts applyNodeChange). */
function applyForRun(
  kube: KubeAccess,
  client: KubeClient,
  node: string,
  o: { check: boolean; signal?: AbortSignal },
  decide: (n: KubeNode, me: Claimant, now: Date, verdict: OwnerVerdict | undefined) => NodeChange,
): Promise<Applied> {
  const me = claimantFor(kube, node);
  return applyNodeChange(
    client,
    node,
    async (n) => {
      const now = new Date(kube.clock.now());
      return decide(n, me, now, await judgeRecord(client, n, me, kube.probe, now, o.signal));
    },
    o,
  );
}

/** Cordon `node` for this run (kube_cordon, and kube_drain before it evicts). */
export function cordonFor(kube: KubeAccess, client: KubeClient, node: string, o: { check: boolean; signal?: AbortSignal }): Promise<Applied> {
  return applyForRun(kube, client, node, o, decideCordon);
}

/** Uncordon `node` if this run may (see decideUncordon). */
export function uncordonFor(kube: KubeAccess, client: KubeClient, node: string, o: { check: boolean; signal?: AbortSignal }): Promise<Applied> {
  return applyForRun(kube, client, node, o, (n, _me, _now, verdict) => decideUncordon(n, verdict));
}
