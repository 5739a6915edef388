/**
 * A cluster-wide semaphore on coordination.k8s.io/v1 Leases: `max_holders` slots, Lease `<name>-<i>` each.
 * A slot is taken with optimistic concurrency (create, or replace with the resourceVersion read; 409 means someone
 * else won the race: re-read and decide again), renewed by a timer while held, and taken over only when its
 * holder's TTL has expired or its holder is a dead process of this machine (src/kube/holder.ts); a node is never
 * remediated by two holders at once. The decisions are pure functions.
 */
import { KubeError } from '../errors.js';
import type { KubeClient, LeaseInfo } from './client.js';
import { formatDuration } from '../util/duration.js';
import { systemClock, type Clock } from '../util/clock.js';
import { describeHolder, nodeOfIdentity } from './holder.js';

export interface LockSpec {
  name: string;
  namespace: string;
  maxHolders: number;
  ttlMs: number;
}

export interface Holder {
  node: string;
  identity: string;
  since?: Date;
  expiresAt?: Date;
}

export interface Slot {
  /** Lease name `<name>-<i>`. */
  name: string;
  lease?: LeaseInfo;
}

export type SlotChoice =
  /** We already hold this slot (same identity): renew, nothing else. */
  | { kind: 'held'; slot: Slot }
  /** The Lease does not exist yet: create it. */
  | { kind: 'create'; slot: Slot }
  /** The Lease exists but is free (released), its holder's TTL expired, or its holder is dead: replace it. */
  | { kind: 'take'; slot: Slot; expiredHolder?: Holder; holderDead?: boolean }
  /** Every slot is held by a live holder. */
  | { kind: 'busy'; holders: Holder[] }
  /** Another live holder is remediating the same node (through another slot). */
  | { kind: 'node-busy'; holders: Holder[] };

export function slotNames(spec: Pick<LockSpec, 'name' | 'maxHolders'>): string[] {
  return Array.from({ length: spec.maxHolders }, (_, i) => `${spec.name}-${i}`);
}

/** When the holder's claim ends: last renewal (or acquisition) + lease duration. */
export function leaseExpiry(l: LeaseInfo): Date | undefined {
  const base = l.renewTime ?? l.acquireTime;
  if (!base || l.leaseDurationSeconds === undefined) return undefined;
  return new Date(base.getTime() + l.leaseDurationSeconds * 1000);
}

/** Free: no holder. Expired: holder whose renewal is older than its duration (or that never said when). */
export function leaseIsFree(l: LeaseInfo | undefined, now: Date): boolean {
  if (!l || !l.holderIdentity) return true;
  const exp = leaseExpiry(l);
  return exp === undefined || exp.getTime() <= now.getTime();
}

export function holderOf(l: LeaseInfo): Holder {
  const h: Holder = { node: nodeOfIdentity(l.holderIdentity ?? ''), identity: l.holderIdentity ?? '' };
  const since = l.acquireTime ?? l.renewTime;
  if (since) h.since = since;
  const exp = leaseExpiry(l);
  if (exp) h.expiresAt = exp;
  return h;
}

/**
 * Which slot to take: ours if we hold one; busy if another live holder works on our node; else the first missing
 * Lease; else the first free, expired or dead holder's one; else busy. Prefers a never-created slot over a
 * takeover so live leases are read, not raced. `isDead` says whether a holder is a dead process of this machine.
 */
export function chooseSlot(slots: Slot[], me: string, now: Date, isDead: (identity: string) => boolean = () => false): SlotChoice {
  const mine = slots.find((s) => s.lease?.holderIdentity === me);
  if (mine) return { kind: 'held', slot: mine };
  const dead = (s: Slot) => Boolean(s.lease?.holderIdentity) && isDead(s.lease!.holderIdentity!);
  const live = slots.filter((s) => !leaseIsFree(s.lease, now) && !dead(s));
  const node = nodeOfIdentity(me);
  const sameNode = live.filter((s) => nodeOfIdentity(s.lease!.holderIdentity!) === node);
  if (sameNode.length) return { kind: 'node-busy', holders: sameNode.map((s) => holderOf(s.lease!)) };
  const missing = slots.find((s) => !s.lease);
  if (missing) return { kind: 'create', slot: missing };
  const free = slots.find((s) => !live.includes(s));
  if (free) {
    const l = free.lease!;
    if (!l.holderIdentity) return { kind: 'take', slot: free };
    return dead(free) && !leaseIsFree(l, now)
      ? { kind: 'take', slot: free, expiredHolder: holderOf(l), holderDead: true }
      : { kind: 'take', slot: free, expiredHolder: holderOf(l) };
  }
  return { kind: 'busy', holders: slots.map((s) => holderOf(s.lease!)) };
}

/** Why a slot was taken over: "its lease expired 2024-..." or "process 4242 on ctl is no longer running". */
export function takeoverReason(h: Holder, holderDead: boolean | undefined): string {
  return holderDead
    ? `${describeHolder(h.identity)} is no longer running`
    : `its lease expired${h.expiresAt ? ` ${h.expiresAt.toISOString()}` : ''}`;
}

/** "another node is being remediated: node1 since 2024-05-01T10:00:00.000Z (holder ..., expires ...)" */
export function busyMessage(holders: Holder[], spec: Pick<LockSpec, 'name' | 'namespace'>, sameNode = false): string {
  const parts = holders.map(
    (h) => `${h.node} since ${h.since ? h.since.toISOString() : 'an unknown time'} (holder ${h.identity}${h.expiresAt ? `, lease expires ${h.expiresAt.toISOString()} unless renewed` : ''})`,
  );
  return `${sameNode ? 'this node is already being remediated by another run' : 'another node is being remediated'}: ${parts.join('; ')} [lock ${spec.namespace}/${spec.name}]`;
}

/** The busy message of a choice that is busy, else undefined. */
export function choiceBusyMessage(c: SlotChoice, spec: Pick<LockSpec, 'name' | 'namespace'>): string | undefined {
  if (c.kind === 'busy') return busyMessage(c.holders, spec);
  if (c.kind === 'node-busy') return busyMessage(c.holders, spec, true);
  return undefined;
}

// ---------- the run's held leases: renewal timers ----------

interface Held {
  spec: LockSpec;
  slot: string;
  identity: string;
  lease: LeaseInfo;
  /** Ends the renewal loop. */
  stop: AbortController;
  lost?: string;
}

/** The slots this run holds, each renewed in the background until released or the run ends. One per run (on KubeAccess). */
export class HeldLocks {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly log: (msg: string) => void = () => undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  private now(): Date {
    return new Date(this.clock.now());
  }

  private key(namespace: string, slot: string, identity: string): string {
    return `${namespace}/${slot}/${identity}`;
  }

  hold(client: KubeClient, spec: LockSpec, slot: string, identity: string, lease: LeaseInfo): void {
    const k = this.key(spec.namespace, slot, identity);
    this.stop(spec.namespace, slot, identity);
    const h: Held = { spec, slot, identity, lease, stop: new AbortController() };
    this.held.set(k, h);
    void this.renewLoop(client, h);
  }

  /** Renew at a third of the TTL: two renewals may fail before the lease can expire. Never keeps the process alive. */
  private async renewLoop(client: KubeClient, h: Held): Promise<void> {
    const every = Math.max(200, Math.floor(h.spec.ttlMs / 3));
    const signal = h.stop.signal;
    while (!signal.aborted && !h.lost) {
      try {
        await this.clock.sleep(every, signal, { ref: false });
      } catch {
        return; // stopped
      }
      if (!signal.aborted) await this.renew(client, h);
    }
  }

  /** Whether the renewals found someone else holding the slot (the TTL expired under us). */
  lostReason(namespace: string, slot: string, identity: string): string | undefined {
    return this.held.get(this.key(namespace, slot, identity))?.lost;
  }

  update(namespace: string, slot: string, identity: string, lease: LeaseInfo): void {
    const h = this.held.get(this.key(namespace, slot, identity));
    if (h) h.lease = lease;
  }

  stop(namespace: string, slot: string, identity: string): void {
    const k = this.key(namespace, slot, identity);
    this.held.get(k)?.stop.abort();
    this.held.delete(k);
  }

  /** Slots held now (for diagnostics and tests). */
  slots(): string[] {
    return [...this.held.values()].map((h) => `${h.spec.namespace}/${h.slot}`);
  }

  /** The Lease this run holds under `identity` (one node's), if any: what a cordon record names. */
  heldBy(identity: string): { namespace: string; name: string } | undefined {
    for (const h of this.held.values()) if (h.identity === identity && !h.lost) return { namespace: h.spec.namespace, name: h.slot };
    return undefined;
  }

  /** What is held now, to release at the end of a run. */
  holdings(): { spec: LockSpec; identity: string }[] {
    return [...this.held.values()].map((h) => ({ spec: h.spec, identity: h.identity }));
  }

  /** Stop renewing (leases not released then expire with their TTL). */
  close(): void {
    for (const h of this.held.values()) h.stop.abort();
    this.held.clear();
  }

  private async renew(client: KubeClient, h: Held): Promise<void> {
    if (h.lost) return;
    try {
      for (let i = 0; i < 5; i++) {
        try {
          h.lease = await client.replaceLease(h.spec.namespace, {
            name: h.slot,
            resourceVersion: h.lease.resourceVersion,
            holderIdentity: h.identity,
            leaseDurationSeconds: Math.ceil(h.spec.ttlMs / 1000),
            ...(h.lease.acquireTime ? { acquireTime: h.lease.acquireTime } : {}),
            renewTime: this.now(),
            ...(h.lease.leaseTransitions !== undefined ? { leaseTransitions: h.lease.leaseTransitions } : {}),
          }, { signal: h.stop.signal });
          return;
        } catch (e) {
          if (h.stop.signal.aborted) return;
          if (!(e instanceof KubeError && (e.status === 409 || e.status === 404))) throw e;
          const cur = await client.getLease(h.spec.namespace, h.slot);
          if (!cur || cur.holderIdentity !== h.identity) {
            h.lost = `lease ${h.spec.namespace}/${h.slot} was taken over by ${cur?.holderIdentity ?? 'nobody (deleted)'}`;
            this.log(h.lost);
            return;
          }
          h.lease = cur;
        }
      }
    } catch (e) {
      // A failed renewal is retried at the next tick; the TTL leaves room for two misses.
      this.log(`renewing lease ${h.spec.namespace}/${h.slot} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

// ---------- acquire / release ----------

/** The label every nodesweep lock Lease carries (recovery lists them by it). */
const LOCK_LABEL = { 'app.kubernetes.io/managed-by': 'nodesweep' };
export const LOCK_LABELS = Object.entries(LOCK_LABEL).map(([k, v]) => `${k}=${v}`).join(',');

/**
 * Clear the holder of a Lease as read (conditional on its resourceVersion): true when cleared, false when it
 * changed meanwhile (409: someone else wrote it; theirs now).
 */
export async function clearHolder(client: KubeClient, l: LeaseInfo, co: { signal?: AbortSignal } = {}): Promise<boolean> {
  try {
    await client.replaceLease(l.namespace, {
      name: l.name,
      resourceVersion: l.resourceVersion,
      ...(l.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: l.leaseDurationSeconds } : {}),
      ...(l.leaseTransitions !== undefined ? { leaseTransitions: l.leaseTransitions } : {}),
    }, co);
    return true;
  } catch (e) {
    if (isConflict(e)) return false;
    throw e;
  }
}

export interface AcquireOptions {
  /** How long to wait for a free slot (0: fail at once). */
  waitMs: number;
  pollMs: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** Whether a holder identity is a dead process of this machine (its slot is taken over at once). */
  isDead?: (identity: string) => boolean;
}

export interface AcquireResult {
  changed: boolean;
  slot: string;
  identity: string;
  /** The expired (or dead) holder whose slot we took. */
  tookOverFrom?: Holder;
  /** Taken over because its holder is a dead process of this machine, before its TTL. */
  holderDead?: boolean;
  waitedMs: number;
  lease: LeaseInfo;
}

async function readSlots(client: KubeClient, spec: LockSpec, signal?: AbortSignal): Promise<Slot[]> {
  const names = slotNames(spec);
  const leases = await Promise.all(names.map((n) => client.getLease(spec.namespace, n, signal ? { signal } : {})));
  return names.map((name, i) => (leases[i] ? { name, lease: leases[i] } : { name }));
}

/** Read-only: what acquire would do now (check mode). */
export async function inspectLock(
  client: KubeClient,
  spec: LockSpec,
  identity: string,
  o: { signal?: AbortSignal; now?: Date; isDead?: (identity: string) => boolean } = {},
): Promise<SlotChoice> {
  return chooseSlot(await readSlots(client, spec, o.signal), identity, o.now ?? new Date(), o.isDead);
}

function isConflict(e: unknown): boolean {
  return e instanceof KubeError && e.status === 409;
}

export async function acquireLock(client: KubeClient, locks: HeldLocks, spec: LockSpec, identity: string, o: AcquireOptions): Promise<AcquireResult> {
  const clock = o.clock ?? systemClock;
  const now = () => new Date(clock.now());
  const started = clock.now();
  const co = o.signal ? { signal: o.signal } : {};
  const ttlS = Math.ceil(spec.ttlMs / 1000);
  for (;;) {
    o.signal?.throwIfAborted();
    const choice = chooseSlot(await readSlots(client, spec, o.signal), identity, now(), o.isDead);
    try {
      if (choice.kind === 'held') {
        const l = choice.slot.lease!;
        const lease = await client.replaceLease(spec.namespace, {
          name: choice.slot.name,
          resourceVersion: l.resourceVersion,
          holderIdentity: identity,
          leaseDurationSeconds: ttlS,
          ...(l.acquireTime ? { acquireTime: l.acquireTime } : {}),
          renewTime: now(),
          ...(l.leaseTransitions !== undefined ? { leaseTransitions: l.leaseTransitions } : {}),
        }, co);
        locks.hold(client, spec, choice.slot.name, identity, lease);
        return { changed: false, slot: choice.slot.name, identity, waitedMs: clock.now() - started, lease };
      }
      if (choice.kind === 'create') {
        const t = now();
        const lease = await client.createLease(spec.namespace, {
          name: choice.slot.name,
          holderIdentity: identity,
          leaseDurationSeconds: ttlS,
          acquireTime: t,
          renewTime: t,
          leaseTransitions: 0,
          labels: { ...LOCK_LABEL, 'nodesweep.io/lock': spec.name },
        }, co);
        locks.hold(client, spec, choice.slot.name, identity, lease);
        return { changed: true, slot: choice.slot.name, identity, waitedMs: clock.now() - started, lease };
      }
      if (choice.kind === 'take') {
        const l = choice.slot.lease!;
        const t = now();
        const lease = await client.replaceLease(spec.namespace, {
          name: choice.slot.name,
          resourceVersion: l.resourceVersion,
          holderIdentity: identity,
          leaseDurationSeconds: ttlS,
          acquireTime: t,
          renewTime: t,
          leaseTransitions: (l.leaseTransitions ?? 0) + 1,
        }, co);
        locks.hold(client, spec, choice.slot.name, identity, lease);
        const r: AcquireResult = { changed: true, slot: choice.slot.name, identity, waitedMs: clock.now() - started, lease };
        if (choice.expiredHolder) r.tookOverFrom = choice.expiredHolder;
        if (choice.holderDead) r.holderDead = true;
        return r;
      }
    } catch (e) {
      if (isConflict(e)) continue; // someone else wrote first: read again and decide again
      throw e;
    }
    // busy
    const waited = clock.now() - started;
    if (waited >= o.waitMs) {
      const msg = choiceBusyMessage(choice, spec)!;
      throw new KubeError(o.waitMs > 0 ? `${msg}; no slot freed within ${formatDuration(o.waitMs)}` : msg, { code: 'KUBE_LOCK_BUSY' });
    }
    await clock.sleep(Math.min(o.pollMs, o.waitMs - waited), o.signal);
  }
}

export interface ReleaseResult {
  changed: boolean;
  slot?: string;
  /** We no longer held it: the TTL expired and someone else took it. */
  lost?: string;
}

/** Clear our holder identity from the slot we hold (idempotent: nothing held -> unchanged). */
export async function releaseLock(client: KubeClient, locks: HeldLocks, spec: LockSpec, identity: string, signal?: AbortSignal): Promise<ReleaseResult> {
  const co = signal ? { signal } : {};
  for (let attempt = 0; attempt < 10; attempt++) {
    const slots = await readSlots(client, spec, signal);
    const mine = slots.find((s) => s.lease?.holderIdentity === identity);
    if (!mine) {
      const lost = slotNames(spec).map((n) => locks.lostReason(spec.namespace, n, identity)).find((x) => x !== undefined);
      for (const n of slotNames(spec)) locks.stop(spec.namespace, n, identity);
      return lost ? { changed: false, lost } : { changed: false };
    }
    // Stop renewing first: a renewal racing the release would re-take the slot.
    locks.stop(spec.namespace, mine.name, identity);
    const l = mine.lease!;
    if (await clearHolder(client, { ...l, leaseDurationSeconds: l.leaseDurationSeconds ?? Math.ceil(spec.ttlMs / 1000) }, co)) return { changed: true, slot: mine.name };
  }
  throw new KubeError(`releasing lock ${spec.namespace}/${spec.name}: the Lease kept changing under us (10 conflicts)`, { code: 'KUBE_CONFLICT', status: 409 });
}

/**
 * End of run: release whatever this run still holds (a playbook that never reached its release, a failed step
 * before it, Ctrl-C). A lock is never held past the run that took it; errors are returned, not thrown.
 */
export async function releaseHoldings(client: KubeClient, locks: HeldLocks, signal?: AbortSignal): Promise<{ lease: string; identity: string; released: boolean; error?: string }[]> {
  const out: { lease: string; identity: string; released: boolean; error?: string }[] = [];
  for (const h of locks.holdings()) {
    const held = locks.heldBy(h.identity);
    const lease = held ? `${held.namespace}/${held.name}` : `${h.spec.namespace}/${h.spec.name}`;
    try {
      out.push({ lease, identity: h.identity, released: (await releaseLock(client, locks, h.spec, h.identity, signal)).changed });
    } catch (e) {
      out.push({ lease, identity: h.identity, released: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  locks.close();
  return out;
}
