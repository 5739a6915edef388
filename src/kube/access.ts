/**
 * The run's access to Kubernetes, passed down on RunContext / ModuleContext (no globals): a lazily created client
 * (the kubeconfig is read only if a kube module runs), the Leases this run holds, the run id and this process's
 * identity that go into holder identities, the clock the waits use, and the probe that tells dead holders.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeClientOptions } from './client.js';
import { HeldLocks, releaseHoldings } from './lock.js';
import { formatHolder, holderLiveness, type ProcessProbe } from './holder.js';
import { procProbe } from './process-probe.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface KubeAccess {
  /**
   * The client; rejects with KubeError when no configuration can be found. Created once, on first use:
   * @kubernetes/client-node costs about half a second to import, which a run without kube modules never pays.
   */
  client(): Promise<KubeClient>;
  readonly locks: HeldLocks;
  /** Short random id of this run (holder identities, cordon records). */
  readonly runId: string;
  readonly clock: Clock;
  readonly probe: ProcessProbe;
  /** This run's holder identity when it works on `node` (src/kube/holder.ts). */
  identityFor(node: string): string;
  /** Whether a holder identity is a process of this machine that is certainly dead. */
  isDead(identity: string): boolean;
  /** Whether the client was ever asked for (only then is there anything to release). */
  used(): boolean;
  /** End of run: release the Leases still held (bounded by `signal`) and stop renewals. */
  finish(signal?: AbortSignal): Promise<{ lease: string; identity: string; released: boolean; error?: string }[]>;
  /** Stop renewals without releasing (the run is being torn down). */
  close(): void;
}

export interface KubeAccessOptions extends KubeClientOptions {
  runId?: string;
  /** Instead of loading a kubeconfig (tests). */
  clientFactory?: () => KubeClient;
  log?: (msg: string) => void;
  clock?: Clock;
  probe?: ProcessProbe;
}

export function createKubeAccess(o: KubeAccessOptions = {}): KubeAccess {
  let client: Promise<KubeClient> | undefined;
  const clock = o.clock ?? systemClock;
  const probe = o.probe ?? procProbe();
  const locks = new HeldLocks(o.log, clock);
  const runId = o.runId ?? randomBytes(4).toString('hex');
  return {
    client() {
      client ??= o.clientFactory ? Promise.resolve().then(o.clientFactory) : import('./client.js').then((m) => m.createKubeClient(o));
      return client;
    },
    locks,
    runId,
    clock,
    probe,
    identityFor(node) {
      const me = probe.self();
      return formatHolder({ node, host: me.host, pid: me.pid, ...(me.start !== undefined ? { start: me.start } : {}), runId });
    },
    isDead: (identity) => holderLiveness(identity, probe) === 'dead',
    used: () => client !== undefined,
    async finish(signal) {
      if (!client || locks.holdings().length === 0) {
        locks.close();
        return [];
      }
      return releaseHoldings(await client, locks, signal);
    },
    close() {
      locks.close();
    },
  };
}
