/** A stand-in API server, a kubeconfig for it, and module contexts that reach it (fast retries for tests). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestKubeApi } from './apiserver.js';
import { createKubeAccess, type KubeAccess, type KubeAccessOptions } from '../../src/kube/access.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import type { ModuleContext, ModuleDefinition, ModuleResult } from '../../src/modules/types.js';
import { makeCtx } from '../modules/ctx.js';

export interface KubeEnv {
  api: TestKubeApi;
  dir: string;
  kubeconfig: string;
  client: KubeClient;
  /** Another run's access (its own run id; the env's clock unless `o` says otherwise). */
  access(runId?: string, o?: Partial<KubeAccessOptions>): KubeAccess;
  /** Run a module as host `host` (its node name) with check mode or extra vars. */
  run(def: ModuleDefinition, args: Record<string, unknown>, o?: { host?: string; check?: boolean; access?: KubeAccess; vars?: Record<string, unknown>; signal?: AbortSignal }): Promise<ModuleResult>;
  /** Requests that write (anything but GET). */
  writes(): number;
  close(): Promise<void>;
}

export const FAST = { attempts: 3, backoffMs: 20, requestTimeoutMs: 3000 };

/** `clock`: the time every access of this env uses (a TestClock: leases, waits and retries without real waiting). */
export async function kubeEnv(o: Partial<KubeAccessOptions> = {}): Promise<KubeEnv> {
  const api = await TestKubeApi.start();
  const dir = mkdtempSync(join(tmpdir(), 'nodesweep-kube-'));
  const kubeconfig = api.writeKubeconfig(dir);
  const accesses: KubeAccess[] = [];
  const access = (runId?: string, extra: Partial<KubeAccessOptions> = {}) => {
    const a = createKubeAccess({ kubeconfig, ...FAST, ...o, ...extra, ...(runId ? { runId } : {}) });
    accesses.push(a);
    return a;
  };
  const shared = access('run1');
  return {
    api,
    dir,
    kubeconfig,
    client: createKubeClient({ kubeconfig, ...FAST }),
    access,
    async run(def, args, o = {}) {
      const params = def.schema.parse(args);
      const over: Partial<ModuleContext> = { host: o.host ?? 'node1', check: o.check ?? false, kube: o.access ?? shared, vars: o.vars ?? {} };
      if (o.signal) over.signal = o.signal;
      return def.run(params, makeCtx(over));
    },
    writes() {
      return api.requests.filter((r) => r.method !== 'GET').length;
    },
    async close() {
      for (const a of accesses) a.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
