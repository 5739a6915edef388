/**
 * A cluster-wide semaphore on coordination.k8s.io/v1 Leases: `max_holders` slots, Lease `<name>-<i>` each.
 * A slot is taken with optimistic concurrency (create, or replace with the resourceVersion read; 409 means someone
 * else won the race: re-read and decide again), renewed by a timer while held, and taken over only when its
 * holder's TTL has expired (a run killed with SIGKILL frees its slot that way). The decisions are pure functions.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeError } from '../errors.js';
import type { KubeClient, LeaseInfo } from './client.js';
import { formatDuration } from '../util/duration.js';

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
  /** The Lease exists but is free (released) or its holder's TTL expired: replace it. */
  | { kind: 'take'; slot: Slot; expiredHolder?: Holder }
  /** Every slot is held by a live holder. */
  | { kind: 'busy'; holders: Holder[] };

export function slotNames(spec: Pick<LockSpec, 'name' | 'maxHolders'>): string[] {
  return Array.from({ length: spec.maxHolders }, (_, i) => `${spec.name}-${i}`);
}

/** `<node>@<hostname>/<pid>/<runid>`: which node is remediated, and by which nodesweep process and run. */
export function holderIdentity(node: string, runId: string, host = hostname(), pid = process.pid): string {
  return `${node}@${host}/${pid}/${runId}`;
}

/** The node part of a holder identity (everything before the last '@'). */
export function nodeOfIdentity(identity: string): string {
  const at = identity.lastIndexOf('@');
  return at > 0 ? identity.slice(0, at) : identity;
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
 * Which slot to take: ours if we hold one; else the first missing Lease; else the first free or expired one;
 * else busy. Prefers a never-created slot over a takeover so live leases are read, not raced.
 */
export function chooseSlot(slots: Slot[], me: string, now: Date): SlotChoice {
  const mine = slots.find((s) => s.lease?.holderIdentity === me);
  if (mine) return { kind: 'held', slot: mine };
  const missing = slots.find((s) => !s.lease);
  if (missing) return { kind: 'create', slot: missing };
  const free = slots.find((s) => leaseIsFree(s.lease, now));
  if (free) {
    const l = free.lease!;
    return l.holderIdentity ? { kind: 'take', slot: free, expiredHolder: holderOf(l) } : { kind: 'take', slot: free };
  }
  return { kind: 'busy', holders: slots.map((s) => holderOf(s.lease!)) };
}

/** "another node is being remediated: node1 since 2024-05-01T10:00:00.000Z (holder ..., expires ...)" */
export function busyMessage(holders: Holder[], spec: Pick<LockSpec, 'name' | 'namespace'>): string {
  const parts = holders.map(
    (h) => `${h.node} since ${h.since ? h.since.toISOString() : 'an unknown time'} (holder ${h.identity}${h.expiresAt ? `, lease expires ${h.expiresAt.toISOString()} unless renewed` : ''})`,
  );
  return `another node is being remediated: ${parts.join('; ')} [lock ${spec.namespace}/${spec.name}]`;
}

// ---------- the run's held leases: renewal timers ----------

interface Held {
  spec: LockSpec;
  slot: string;
  identity: string;
  lease: LeaseInfo;
  timer: NodeJS.Timeout;
  lost?: string;
}

/** The slots this run holds, each renewed by a timer until released or the run ends. One per run (on KubeAccess). */
export class HeldLocks {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly log: (msg: string) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key(namespace: string, slot: string, identity: string): string {
    return `${namespace}/${slot}/${identity}`;
  }

  hold(client: KubeClient, spec: LockSpec, slot: string, identity: string, lease: LeaseInfo): void {
    const k = this.key(spec.namespace, slot, identity);
    this.stop(spec.namespace, slot, identity);
    // Renew at a third of the TTL: two renewals may fail before the lease can expire.
    const every = Math.max(200, Math.floor(spec.ttlMs / 3));
    const h: Held = { spec, slot, identity, lease, timer: setInterval(() => void this.renew(client, h), every) };
    h.timer.unref(); // never keeps the process alive
    this.held.set(k, h);
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
    const h = this.held.get(k);
    if (h) clearInterval(h.timer);
    this.held.delete(k);
  }

  /** Slots held now (for diagnostics and tests). */
  slots(): string[] {
    return [...this.held.values()].map((h) => `${h.spec.namespace}/${h.slot}`);
  }

  /** End of run: stop renewing (leases not released by the playbook then expire with their TTL). */
  close(): void {
    for (const h of this.held.values()) clearInterval(h.timer);
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
          });
          return;
        } catch (e) {
          if (!(e instanceof KubeError && (e.status === 409 || e.status === 404))) throw e;
          const cur = await client.getLease(h.spec.namespace, h.slot);
          if (!cur || cur.holderIdentity !== h.identity) {
            h.lost = `lease ${h.spec.namespace}/${h.slot} was taken over by ${cur?.holderIdentity ?? 'nobody (deleted)'}`;
            clearInterval(h.timer);
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

export interface AcquireOptions {
  /** How long to wait for a free slot (0: fail at once). */
  waitMs: number;
  pollMs: number;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface AcquireResult {
  changed: boolean;
  slot: string;
  identity: string;
  /** The expired holder whose slot we took. */
  tookOverFrom?: Holder;
  waitedMs: number;
  lease: LeaseInfo;
}

async function readSlots(client: KubeClient, spec: LockSpec, signal?: AbortSignal): Promise<Slot[]> {
  const names = slotNames(spec);
  const leases = await Promise.all(names.map((n) => client.getLease(spec.namespace, n, signal ? { signal } : {})));
  return names.map((name, i) => (leases[i] ? { name, lease: leases[i] } : { name }));
}

/** Read-only: what acquire would do now (check mode). */
export async function inspectLock(client: KubeClient, spec: LockSpec, identity: string, signal?: AbortSignal, now = new Date()): Promise<SlotChoice> {
  return chooseSlot(await readSlots(client, spec, signal), identity, now);
}

function isConflict(e: unknown): boolean {
  return e instanceof KubeError && e.status === 409;
}

export async function acquireLock(client: KubeClient, locks: HeldLocks, spec: LockSpec, identity: string, o: AcquireOptions): Promise<AcquireResult> {
  const now = o.now ?? (() => new Date());
  const started = Date.now();
  const co = o.signal ? { signal: o.signal } : {};
  const ttlS = Math.ceil(spec.ttlMs / 1000);
  for (;;) {
    o.signal?.throwIfAborted();
    const choice = chooseSlot(await readSlots(client, spec, o.signal), identity, now());
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
        return { changed: false, slot: choice.slot.name, identity, waitedMs: Date.now() - started, lease };
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
          labels: { 'app.kubernetes.io/managed-by': 'nodesweep', 'nodesweep.io/lock': spec.name },
        }, co);
        locks.hold(client, spec, choice.slot.name, identity, lease);
        return { changed: true, slot: choice.slot.name, identity, waitedMs: Date.now() - started, lease };
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
        const r: AcquireResult = { changed: true, slot: choice.slot.name, identity, waitedMs: Date.now() - started, lease };
        if (choice.expiredHolder) r.tookOverFrom = choice.expiredHolder;
        return r;
      }
    } catch (e) {
      if (isConflict(e)) continue; // someone else wrote first: read again and decide again
      throw e;
    }
    // busy
    const waited = Date.now() - started;
    if (waited >= o.waitMs) {
      const msg = busyMessage(choice.holders, spec);
      throw new KubeError(o.waitMs > 0 ? `${msg}; no slot freed within ${formatDuration(o.waitMs)}` : msg, { code: 'KUBE_LOCK_BUSY' });
    }
    await sleep(Math.min(o.pollMs, o.waitMs - waited), undefined, o.signal ? { signal: o.signal } : {});
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
    try {
      await client.replaceLease(spec.namespace, {
        name: mine.name,
        resourceVersion: l.resourceVersion,
        leaseDurationSeconds: l.leaseDurationSeconds ?? Math.ceil(spec.ttlMs / 1000),
        ...(l.leaseTransitions !== undefined ? { leaseTransitions: l.leaseTransitions } : {}),
      }, co);
      return { changed: true, slot: mine.name };
    } catch (e) {
      if (isConflict(e)) continue;
      throw e;
    }
  }
  throw new KubeError(`releasing lock ${spec.namespace}/${spec.name}: the Lease kept changing under us (10 conflicts)`, { code: 'KUBE_CONFLICT', status: 409 });
}
