/**
 * What a lab fleet holds, decided before anything is built (pure, seeded, so a lab is reproducible):
 * the story's CronJob (a short-lived pod every 2 minutes for `days`, the scheduler putting most of them on one
 * node), each finished pod leaving its pod slice and `crio-<sandbox>.scope` behind (cri-o issue 6349), a few
 * live pods per node, one terminating pod, and on the busy node a few leaked scopes still held by crio's own
 * processes, so that only a crio restart (the escalation) frees them.
 *
 * Building every leaked dir of three days (2,160 pods, 7 hierarchies) would take longer than a demo should, so
 * each node's leaks are sampled evenly over the schedule up to a cap; the plan keeps the true totals.
 */
import { createHash } from 'node:crypto';
import { rng } from '../util/rng.js';
import type { Qos } from '../cgroup/names.js';

export type { Qos };

export interface LabPlanOptions {
  nodes: number;
  days: number;
  /** Cap of leaked pods built on the busy node (others get a quarter of it). */
  maxLeaksPerNode?: number;
  /** Leaked scopes held by crio on the busy node. */
  crioHeld?: number;
  seed?: number;
  /** Names: PREFIX-01, PREFIX-02... */
  namePrefix?: string;
}

export interface PlannedLeak {
  uid: string;
  sandboxId: string;
  qos: Qos;
  ageS: number;
  /** A process of crio's sits in the leaked scope: rmdir gets EBUSY until crio restarts. */
  heldByCrio: boolean;
}

export interface PlannedPod {
  uid: string;
  name: string;
  namespace: string;
  qos: Qos;
  sandboxId: string;
  containerId: string;
  containerName: string;
  owner: { kind: 'DaemonSet' | 'ReplicaSet' | 'Job'; name: string; apiVersion: string };
  labels: Record<string, string>;
  ageS: number;
}

export interface PlannedNode {
  name: string;
  /** Where the scheduler put most of the CronJob's pods. */
  busy: boolean;
  /** CronJob pods that ran (and leaked) here over the whole schedule. */
  cronPodsRun: number;
  /** The sample that is built. */
  leaks: PlannedLeak[];
  live: PlannedPod[];
  /** Known only to the kubelet (its pods dir): being torn down; a prune must leave it alone. */
  terminating: PlannedPod[];
}

export interface LabPlan {
  days: number;
  /** Pods the CronJob started over the schedule (one every 2 minutes). */
  cronPodsTotal: number;
  nodes: PlannedNode[];
}

export const CRON_INTERVAL_S = 120;

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
export function hex64(s: string): string {
  return hash(s);
}
export function uuidOf(s: string): string {
  const h = hash(`uid:${s}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `n` indices spread evenly over [0, len) (all of them when len <= n), in order. */
export function sampleEvenly(len: number, n: number): number[] {
  if (n <= 0 || len <= 0) return [];
  if (len <= n) return Array.from({ length: len }, (_, i) => i);
  if (n === 1) return [len - 1];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.round((i * (len - 1)) / (n - 1)));
  return out;
}

export function planLab(o: LabPlanOptions): LabPlan {
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new Error('nodes must be a whole number >= 1');
  if (!(o.days > 0)) throw new Error('days must be > 0');
  const seed = o.seed ?? 6349;
  const rand = rng(seed);
  const prefix = o.namePrefix ?? 'worker';
  const names = Array.from({ length: o.nodes }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);
  const busyIdx = o.nodes - 1;
  const cap = o.maxLeaksPerNode ?? 240;
  const lightCap = Math.max(4, Math.round(cap / 4));
  const crioHeld = o.crioHeld ?? 2;

  // The CronJob: pod k started k*2min after the schedule began; the newest is still running.
  const cronPodsTotal = Math.max(1, Math.floor((o.days * 86_400) / CRON_INTERVAL_S));
  const perNode: number[][] = names.map(() => []); // ages (s) of finished pods, oldest first
  let runningOn = busyIdx;
  for (let k = 0; k < cronPodsTotal; k++) {
    const ageS = (cronPodsTotal - 1 - k) * CRON_INTERVAL_S + 30;
    // "The scheduler almost always chose node 4": 85% on the busy node, the rest spread over the others.
    const onBusy = o.nodes === 1 || rand() < 0.85;
    const idx = onBusy ? busyIdx : Math.floor(rand() * (o.nodes - 1));
    if (k === cronPodsTotal - 1) runningOn = idx;
    else perNode[idx]!.push(ageS);
  }

  const nodes: PlannedNode[] = names.map((name, i) => {
    const busy = i === busyIdx;
    const ages = perNode[i]!;
    const picks = sampleEvenly(ages.length, busy ? cap : lightCap);
    const leaks: PlannedLeak[] = picks.map((j) => {
      const key = `${seed}/${name}/leak/${j}`;
      return { uid: uuidOf(key), sandboxId: hex64(`${key}/sandbox`), qos: 'burstable', ageS: ages[j]!, heldByCrio: false };
    });
    if (busy) {
      // The newest leaks older than 10 minutes are the ones crio still holds.
      let held = 0;
      for (let j = leaks.length - 1; j >= 0 && held < crioHeld; j--) {
        if (leaks[j]!.ageS >= 600) {
          leaks[j]!.heldByCrio = true;
          held++;
        }
      }
    }
    const pod = (app: string, ns: string, qos: Qos, owner: PlannedPod['owner'], ageS: number, podName: string): PlannedPod => {
      const key = `${seed}/${name}/${podName}`;
      return {
        uid: uuidOf(key),
        name: podName,
        namespace: ns,
        qos,
        sandboxId: hex64(`${key}/sandbox`),
        containerId: hex64(`${key}/container`),
        containerName: app,
        owner,
        labels: { app },
        ageS,
      };
    };
    const suffix = hash(`${seed}/${name}`).slice(0, 5);
    const live: PlannedPod[] = [
      pod('node-exporter', 'monitoring', 'burstable', { kind: 'DaemonSet', name: 'node-exporter', apiVersion: 'apps/v1' }, o.days * 86_400 + 3600, `node-exporter-${suffix}`),
      pod('web', 'shop', 'guaranteed', { kind: 'ReplicaSet', name: 'web-7d9f8', apiVersion: 'apps/v1' }, o.days * 86_400 + 1800, `web-7d9f8-${suffix}`),
    ];
    if (i === runningOn) {
      live.push(pod('report', 'batch', 'burstable', { kind: 'Job', name: `report-${cronPodsTotal}`, apiVersion: 'batch/v1' }, 30, `report-${cronPodsTotal}-${suffix}`));
    }
    const terminating = i === 0 && o.nodes > 1 ? [pod('cache', 'shop', 'besteffort', { kind: 'ReplicaSet', name: 'cache-5c4b2', apiVersion: 'apps/v1' }, 7200, `cache-5c4b2-${suffix}`)] : [];
    return { name, busy, cronPodsRun: ages.length, leaks, live, terminating };
  });
  return { days: o.days, cronPodsTotal, nodes };
}
