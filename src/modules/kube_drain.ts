/**
 * `kube_drain`: cordon (recorded, like kube_cordon) and drain the host's node with kubectl drain's pod rules,
 * evicting through policy/v1 Eviction so PodDisruptionBudgets are honoured; bounded by `timeout`.
 */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { drainNode } from '../kube/drain.js';
import { parseLabelSelector } from '../kube/drain-filters.js';
import { durationParam, kubeAccess, kubeRun, ms, nodeName } from './kube_common.js';
import { cordonFor } from '../kube/cordon.js';

export const kubeDrainSchema = z
  .object({
    node: z.string().min(1).optional(),
    timeout: durationParam().default('10m'),
    grace_period: z.number().int().min(0).optional(),
    ignore_daemonsets: z.boolean().default(true),
    delete_emptydir_data: z.boolean().default(true),
    force: z.boolean().default(false),
    pod_selector: z
      .string()
      .refine((s) => {
        try {
          parseLabelSelector(s);
          return true;
        } catch {
          return false;
        }
      }, 'a label selector such as app=web,tier!=db or env in (a,b)')
      .optional(),
    disable_eviction: z.boolean().default(false),
    retry_delay: durationParam().default('5s'),
    poll_interval: durationParam().default('1s'),
  })
  .strict();
export type KubeDrainParams = z.infer<typeof kubeDrainSchema>;

export function kubeDrainModule(): ModuleDefinition<KubeDrainParams> {
  return {
    name: 'kube_drain',
    aliases: ['nodesweep.kube_drain'],
    schema: kubeDrainSchema,
    controllerOnly: true,
    usesCluster: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      return kubeRun(ctx, async () => {
        const kube = kubeAccess(ctx);
        const client = await kube.client();
        // As kubectl drain does: cordon first, so nothing new lands while we evict (recorded for kube_uncordon).
        const c = await cordonFor(kube, client, node, { check: ctx.check, signal: ctx.signal });
        // Another live run works on this node: its drain is its own; fail closed.
        if (c.ownedElsewhere) return { status: 'failed', changed: false, node, msg: c.msg, cordoned: false };
        const d = await drainNode(
          client,
          node,
          {
            timeoutMs: ms(p.timeout),
            ...(p.grace_period !== undefined ? { gracePeriodSeconds: p.grace_period } : {}),
            ignoreDaemonsets: p.ignore_daemonsets,
            deleteEmptydirData: p.delete_emptydir_data,
            force: p.force,
            ...(p.pod_selector ? { podSelector: p.pod_selector } : {}),
            disableEviction: p.disable_eviction,
            retryDelayMs: ms(p.retry_delay),
            pollMs: ms(p.poll_interval),
            check: ctx.check,
          },
          ctx.signal,
        );
        const changed = c.changed || d.evicted.length > 0 || (ctx.check && d.wouldEvict.length > 0);
        const res: ModuleResult = {
          status: !d.ok ? 'failed' : changed ? 'changed' : 'ok',
          changed,
          node,
          msg: d.msg,
          cordoned: c.changed,
          evicted: d.evicted,
          skipped: d.skipped,
          blocking: d.blocking,
          budgets: d.budgets,
          warnings: d.warnings,
        };
        if (ctx.check) res.would_evict = d.wouldEvict;
        if (d.terminating.length) res.terminating = d.terminating;
        if (d.errors.length) res.errors = d.errors;
        if (d.timedOut) res.timed_out = true;
        return res;
      });
    },
  };
}
