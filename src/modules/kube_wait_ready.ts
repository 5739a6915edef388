/**
 * `kube_wait_ready`: wait until the host's node is Ready and its kubelet has posted a heartbeat after `since`
 * (default: when the task started, i.e. after the preceding crio restart). The heartbeat is the Ready
 * condition's lastHeartbeatTime or the node's Lease in kube-node-lease (renewed every 10 s; node status itself
 * may be posted only every few minutes when nothing changes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { KubeError } from '../errors.js';
import type { KubeClient, KubeNode } from '../kube/client.js';
import { formatDuration } from '../util/duration.js';
import type { ModuleDefinition } from './types.js';
import { durationParam, kubeAccess, kubeRun, ms, nodeName } from './kube_common.js';

export const kubeWaitReadySchema = z
  .object({
    node: z.string().min(1).optional(),
    timeout: durationParam().default('5m'),
    since: z.string().refine((s) => !Number.isNaN(new Date(s).getTime()), 'an RFC 3339 timestamp').optional(),
    poll_interval: durationParam().default('2s'),
  })
  .strict();
export type KubeWaitReadyParams = z.infer<typeof kubeWaitReadySchema>;

export interface ReadyState {
  ready: boolean;
  reason?: string;
  message?: string;
  heartbeat?: Date;
}

/** Ready, and a heartbeat strictly after `since` (Ready's time has whole seconds: it counts from the next second). */
export function readiness(n: KubeNode, leaseRenew: Date | undefined, since: Date): ReadyState & { fresh: boolean } {
  const c = n.conditions.find((x) => x.type === 'Ready');
  const st: ReadyState = { ready: c?.status === 'True' };
  if (c?.reason) st.reason = c.reason;
  if (c?.message) st.message = c.message;
  const sinceCeilSec = Math.ceil(since.getTime() / 1000) * 1000;
  const hbFresh = c?.lastHeartbeatTime !== undefined && c.lastHeartbeatTime.getTime() >= sinceCeilSec && c.lastHeartbeatTime.getTime() > since.getTime();
  const leaseFresh = leaseRenew !== undefined && leaseRenew.getTime() > since.getTime();
  const candidates = [c?.lastHeartbeatTime, leaseRenew].filter((d): d is Date => d !== undefined);
  if (candidates.length) st.heartbeat = new Date(Math.max(...candidates.map((d) => d.getTime())));
  return { ...st, fresh: hbFresh || leaseFresh };
}

async function nodeLeaseRenew(client: KubeClient, node: string, signal: AbortSignal): Promise<Date | undefined> {
  try {
    return (await client.getLease('kube-node-lease', node, { signal }))?.renewTime;
  } catch (e) {
    // The Lease is a better heartbeat, not a required one: without read access to it, Ready's heartbeat decides.
    if (e instanceof KubeError && e.status === 403) return undefined;
    throw e;
  }
}

export function kubeWaitReadyModule(): ModuleDefinition<KubeWaitReadyParams> {
  return {
    name: 'kube_wait_ready',
    aliases: ['nodesweep.kube_wait_ready'],
    schema: kubeWaitReadySchema,
    controllerOnly: true,
    usesCluster: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const node = nodeName(ctx, p.node);
      const started = Date.now();
      const since = p.since ? new Date(p.since) : new Date(started);
      return kubeRun(ctx, async () => {
        const client = await kubeAccess(ctx).client();
        const timeoutMs = ms(p.timeout);
        for (;;) {
          const n = await client.getNode(node, { signal: ctx.signal });
          const r = readiness(n, await nodeLeaseRenew(client, node, ctx.signal), since);
          const fields = { node, ready: r.ready, ...(r.heartbeat ? { heartbeat: r.heartbeat.toISOString() } : {}), since: since.toISOString(), waited_s: Math.round((Date.now() - started) / 100) / 10 };
          if (ctx.check) return { status: 'ok', changed: false, ...fields, msg: `node ${node} is ${r.ready ? 'Ready' : 'not Ready'} (check mode: not waiting)` };
          if (r.ready && r.fresh) return { status: 'ok', changed: false, ...fields, msg: `node ${node} is Ready` };
          if (Date.now() - started >= timeoutMs) {
            const why = !r.ready
              ? `Ready is not True${r.reason ? ` (${r.reason}${r.message ? `: ${r.message}` : ''})` : ''}`
              : `the kubelet has not posted status since ${since.toISOString()} (last heartbeat ${r.heartbeat?.toISOString() ?? 'never'})`;
            return { status: 'failed', changed: false, ...fields, msg: `node ${node} did not become Ready within ${formatDuration(timeoutMs)}: ${why}` };
          }
          await sleep(Math.min(ms(p.poll_interval), Math.max(50, timeoutMs - (Date.now() - started))), undefined, { signal: ctx.signal });
        }
      });
    },
  };
}
