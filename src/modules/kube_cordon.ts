/**
 * `kube_cordon` / `kube_uncordon`: mark the host's node unschedulable and record that nodesweep did it (and
 * whether it already was); uncordon undoes only nodesweep's own cordon, so an admin's cordon stays.
 */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { applyNodeChange, CORDONED_AT, CORDONED_BY, WAS_UNSCHEDULABLE, decideCordon, decideUncordon } from '../kube/cordon.js';
import { kubeAccess, kubeRun, nodeName } from './kube_common.js';

export const kubeCordonSchema = z.object({ node: z.string().min(1).optional() }).strict();
export type KubeCordonParams = z.infer<typeof kubeCordonSchema>;

export function kubeCordonModule(): ModuleDefinition<KubeCordonParams> {
  return nodeChangeModule('kube_cordon', 'cordon', (n) => decideCordon(n, new Date()));
}

export function kubeUncordonModule(): ModuleDefinition<KubeCordonParams> {
  return nodeChangeModule('kube_uncordon', 'uncordon', decideUncordon);
}

/** Cordon and uncordon are the same module around a different pure decision (src/kube/cordon.ts). */
function nodeChangeModule(name: string, verb: string, decide: Parameters<typeof applyNodeChange>[2]): ModuleDefinition<KubeCordonParams> {
  return {
    name,
    aliases: [`nodesweep.${name}`],
    schema: kubeCordonSchema,
    controllerOnly: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      return kubeRun(ctx, async () => {
        const client = await kubeAccess(ctx).client();
        const r = await applyNodeChange(client, node, decide, { check: ctx.check, signal: ctx.signal });
        const res: ModuleResult = {
          status: r.changed ? 'changed' : 'ok',
          changed: r.changed,
          node,
          msg: ctx.check && r.changed ? `would ${verb}: ${r.msg}` : r.msg,
          unschedulable: ctx.check ? r.node.unschedulable : r.unschedulable,
          was_unschedulable: r.wasUnschedulable,
          annotations: pick(r.node.annotations),
        };
        return res;
      });
    },
  };
}

function pick(a: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [CORDONED_BY, WAS_UNSCHEDULABLE, CORDONED_AT]) if (a[k] !== undefined) out[k] = a[k];
  return out;
}
