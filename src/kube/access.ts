/**
 * The run's access to Kubernetes, passed down on RunContext / ModuleContext (no globals): a lazily created client
 * (the kubeconfig is read only if a kube module runs), the Leases this run holds, and the run id that goes
 * into holder identities.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient, KubeClientOptions } from './client.js';
import { HeldLocks } from './lock.js';

export interface KubeAccess {
  /**
   * The client; rejects with KubeError when no configuration can be found. Created once, on first use:
   * @kubernetes/client-node costs about half a second to import, which a run without kube modules never pays.
   */
  client(): Promise<KubeClient>;
  readonly locks: HeldLocks;
  /** Short random id of this run (holder identities, cordon annotations). */
  readonly runId: string;
  /** This machine's hostname (holder identities). */
  readonly controller: string;
  /** End of run: stop lease renewals. */
  close(): void;
}

export interface KubeAccessOptions extends KubeClientOptions {
  runId?: string;
  /** Instead of loading a kubeconfig (tests). */
  clientFactory?: () => KubeClient;
  log?: (msg: string) => void;
}

export function createKubeAccess(o: KubeAccessOptions = {}): KubeAccess {
  let client: Promise<KubeClient> | undefined;
  const locks = new HeldLocks(o.log);
  return {
    client() {
      client ??= o.clientFactory ? Promise.resolve().then(o.clientFactory) : import('./client.js').then((m) => m.createKubeClient(o));
      return client;
    },
    locks,
    runId: o.runId ?? randomBytes(4).toString('hex'),
    controller: hostname(),
    close() {
      locks.close();
    },
  };
}
