/**
 * `kube_lock`: a cluster-wide semaphore on coordination.k8s.io/v1 Leases so that only `max_holders` nodes are
 * remediated at once, across hosts of one run (whatever --forks) and across concurrent runs on other machines.
 */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { acquireLock, choiceBusyMessage, inspectLock, releaseLock, takeoverReason, type LockSpec } from '../kube/lock.js';
import { durationParam, kubeAccess, kubeRun, ms, nodeName } from './kube_common.js';

export const kubeLockSchema = z
  .object({
    state: z.enum(['acquired', 'released']).default('acquired'),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a lowercase DNS name (a-z, 0-9, -, .)').default('nodesweep-remediation'),
    namespace: z.string().min(1).default('kube-system'),
    max_holders: z.number().int().min(1).max(100).default(1),
    ttl: durationParam().default('30m'),
    wait: durationParam().default(0),
    poll_interval: durationParam().default('2s'),
    node: z.string().min(1).optional(),
  })
  .strict();
export type KubeLockParams = z.infer<typeof kubeLockSchema>;

export function kubeLockModule(): ModuleDefinition<KubeLockParams> {
  return {
    name: 'kube_lock',
    aliases: ['nodesweep.kube_lock'],
    schema: kubeLockSchema,
    controllerOnly: true,
    usesCluster: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      const spec: LockSpec = { name: p.name, namespace: p.namespace, maxHolders: p.max_holders, ttlMs: ms(p.ttl) };
      return kubeRun(
        ctx,
        async () => {
          const kube = kubeAccess(ctx);
          const client = await kube.client();
          const identity = kube.identityFor(node);
          const inspect = { ...(ctx.signal ? { signal: ctx.signal } : {}), now: new Date(kube.clock.now()), isDead: kube.isDead };
          const base = { node, lock: `${p.namespace}/${p.name}`, holder: identity };
          if (p.state === 'released') {
            if (ctx.check) {
              const choice = await inspectLock(client, spec, identity, inspect);
              const held = choice.kind === 'held';
              return { status: held ? 'changed' : 'ok', changed: held, ...base, msg: held ? `would release ${choice.slot.name}` : 'not held' };
            }
            const r = await releaseLock(client, kube.locks, spec, identity, ctx.signal);
            const res: ModuleResult = { status: r.changed ? 'changed' : 'ok', changed: r.changed, ...base, msg: r.changed ? `released ${p.namespace}/${r.slot}` : 'not held' };
            if (r.slot) res.slot = r.slot;
            if (r.lost) {
              res.msg = `not held any more: ${r.lost}`;
              res.lost = r.lost;
            }
            return res;
          }
          if (ctx.check) {
            const choice = await inspectLock(client, spec, identity, inspect);
            switch (choice.kind) {
              case 'held':
                return { status: 'ok', changed: false, ...base, slot: choice.slot.name, msg: `already held: ${choice.slot.name}` };
              case 'create':
              case 'take':
                return { status: 'changed', changed: true, ...base, slot: choice.slot.name, msg: `would acquire ${p.namespace}/${choice.slot.name}` };
              case 'busy':
              case 'node-busy':
                return { status: 'ok', changed: false, ...base, msg: `would wait up to ${p.wait}: ${choiceBusyMessage(choice, spec)}`, holders: choice.holders.map((h) => h.identity) };
            }
          }
          const r = await acquireLock(client, kube.locks, spec, identity, { waitMs: ms(p.wait), pollMs: ms(p.poll_interval), signal: ctx.signal, clock: kube.clock, isDead: kube.isDead });
          const res: ModuleResult = {
            status: r.changed ? 'changed' : 'ok',
            changed: r.changed,
            ...base,
            slot: r.slot,
            waited_s: Math.round(r.waitedMs / 100) / 10,
            msg: r.changed ? `acquired ${p.namespace}/${r.slot}` : `already held: ${p.namespace}/${r.slot}`,
          };
          if (r.tookOverFrom) {
            res.took_over_from = r.tookOverFrom.identity;
            res.msg += ` (taken over from ${r.tookOverFrom.identity}: ${takeoverReason(r.tookOverFrom, r.holderDead)})`;
          }
          return res;
        },
        `lock ${p.namespace}/${p.name} for node ${node}: `,
      );
    },
  };
}
