/** Shared by the kube_* modules: duration parameters, the node name, Kubernetes access, failures as results. */
import { z } from 'zod';
import { KubeError, errorMessage } from '../errors.js';
import type { KubeAccess } from '../kube/access.js';
import { parseDurationMs } from '../util/duration.js';
import type { ModuleContext, ModuleResult } from './types.js';

/** `30s`, `10m`, `1h30m` or a number of seconds. */
export function durationParam() {
  return z.union([z.string(), z.number()]).refine((v) => parseDurationMs(v) !== undefined, {
    message: 'expected a duration such as 30s, 10m, 1h30m or a number of seconds',
  });
}

export function ms(v: string | number): number {
  const r = parseDurationMs(v);
  if (r === undefined) throw new KubeError(`invalid duration ${JSON.stringify(v)}`);
  return r;
}

/** The Kubernetes node behind an inventory host: `node` param, host var nodesweep_node_name, or the inventory hostname. */
export function nodeName(ctx: ModuleContext, explicit?: string): string {
  if (explicit) return explicit;
  const v = ctx.vars.nodesweep_node_name;
  return typeof v === 'string' && v !== '' ? v : ctx.host;
}

export function kubeAccess(ctx: ModuleContext): KubeAccess {
  if (!ctx.kube) throw new KubeError('no Kubernetes access in this run (the kube_* modules need the CLI\'s --kubeconfig / KUBECONFIG)');
  return ctx.kube;
}

/**
 * Run a kube module body; a KubeError (API down, 403, 404, busy lock) becomes a failed result with its message.
 * Ctrl-C also ends as a failed result (the executor reports the task as interrupted).
 */
export async function kubeRun(ctx: ModuleContext, body: () => Promise<ModuleResult>, prefix = ''): Promise<ModuleResult> {
  try {
    return await body();
  } catch (e) {
    if (ctx.signal.aborted) return { status: 'failed', changed: false, msg: 'interrupted' };
    if (e instanceof KubeError) return { status: 'failed', changed: false, msg: prefix + e.message, ...(e.status !== undefined ? { http_status: e.status } : {}), error_code: e.code };
    if (e instanceof Error && e.name === 'AbortError') return { status: 'failed', changed: false, msg: prefix + `aborted: ${errorMessage(e)}` };
    throw e;
  }
}
