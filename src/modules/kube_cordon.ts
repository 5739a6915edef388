/**
 * `kube_cordon` / `kube_uncordon`: mark the host's node unschedulable and record who did it (this run's holder
 * identity and the Lease it holds for the node) and whether it already was; uncordon undoes only this run's
 * cordon or that of a run that is gone (src/kube/cordon.ts), so an admin's cordon and a live run's stay.
 * A failed uncordon is retried, then reported with the node and what to run.
 */
import { z } from 'zod';
import type { ModuleContext, ModuleDefinition, ModuleResult } from './types.js';
import { CORDON_RECORD_KEYS, cordonFor, uncordonFor, type Applied } from '../kube/cordon.js';
import { KubeError, errorMessage } from '../errors.js';
import { durationParam, kubeAccess, kubeRun, ms, nodeName } from './kube_common.js';

export const kubeCordonSchema = z.object({ node: z.string().min(1).optional() }).strict();
export type KubeCordonParams = z.infer<typeof kubeCordonSchema>;

export const kubeUncordonSchema = z
  .object({
    node: z.string().min(1).optional(),
    /** Further attempts after a failed one (API down, 5xx, timeouts); the client's own retries come first. */
    retries: z.number().int().min(0).max(100).default(5),
    delay: durationParam().default('5s'),
  })
  .strict();
export type KubeUncordonParams = z.infer<typeof kubeUncordonSchema>;

function nodeResult(ctx: ModuleContext, node: string, verb: string, r: Applied): ModuleResult {
  const res: ModuleResult = {
    status: r.changed ? 'changed' : 'ok',
    changed: r.changed,
    node,
    msg: ctx.check && r.changed ? `would ${verb}: ${r.msg}` : r.msg,
    unschedulable: ctx.check ? r.node.unschedulable : r.unschedulable,
    was_unschedulable: r.wasUnschedulable,
    annotations: pick(r.node.annotations),
  };
  if (r.previousHolder) res.previous_holder = r.previousHolder;
  if (r.goneReason) res.previous_holder_gone = r.goneReason;
  return res;
}

export function kubeCordonModule(): ModuleDefinition<KubeCordonParams> {
  return {
    name: 'kube_cordon',
    aliases: ['nodesweep.kube_cordon'],
    schema: kubeCordonSchema,
    controllerOnly: true,
    usesCluster: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      return kubeRun(ctx, async () => {
        const kube = kubeAccess(ctx);
        const r = await cordonFor(kube, await kube.client(), node, { check: ctx.check, signal: ctx.signal });
        const res = nodeResult(ctx, node, 'cordon', r);
        // Another live run works on this node: fail closed, so nothing after this (drain, restart) touches it.
        if (r.ownedElsewhere) res.status = 'failed';
        return res;
      });
    },
  };
}

export function kubeUncordonModule(): ModuleDefinition<KubeUncordonParams> {
  return {
    name: 'kube_uncordon',
    aliases: ['nodesweep.kube_uncordon'],
    schema: kubeUncordonSchema,
    controllerOnly: true,
    usesCluster: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      const kube = kubeAccess(ctx);
      return kubeRun(ctx, async () => {
        const client = await kube.client();
        const attempts = p.retries + 1;
        for (let attempt = 1; ; attempt++) {
          try {
            return nodeResult(ctx, node, 'uncordon', await uncordonFor(kube, client, node, { check: ctx.check, signal: ctx.signal }));
          } catch (e) {
            // A refusal that will not change by waiting (403, 404, a bad request) fails at once.
            const lasting = e instanceof KubeError && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 409 && e.status !== 429;
            if (ctx.signal.aborted) throw e;
            if (!lasting && attempt < attempts) {
              await kube.clock.sleep(ms(p.delay), ctx.signal);
              continue;
            }
            return {
              status: 'failed',
              changed: false,
              node,
              attempts: attempt,
              msg:
                `could not uncordon node ${node} after ${attempt} attempt(s): ${errorMessage(e).replace(/\.$/, '')}. ` +
                `If this run cordoned it, it is still cordoned: once the API answers, run \`kubectl uncordon ${node}\` ` +
                `(or let the next nodesweep run do it: it uncordons nodes whose holder is gone)`,
              ...(e instanceof KubeError && e.status !== undefined ? { http_status: e.status } : {}),
            };
          }
        }
      });
    },
  };
}

function pick(a: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CORDON_RECORD_KEYS) if (a[k] !== undefined) out[k] = a[k];
  return out;
}
