/**
 * Drain a node as `kubectl drain` does: list its pods, run the filter chain, evict through policy/v1 Eviction
 * (429 = a PodDisruptionBudget blocks: retried until the timeout), wait until evicted pods are gone. On timeout,
 * name the pods and the budgets that blocked.
 */
import type { KubeClient, PdbInfo, PodInfo } from './client.js';
import { budgetsFor, describeBudget, parseLabelSelector, planDrain, podKey, type DrainPlan } from './drain-filters.js';
import { formatDuration } from '../util/duration.js';
import { systemClock, type Clock } from '../util/clock.js';

export interface DrainParams {
  timeoutMs: number;
  gracePeriodSeconds?: number;
  ignoreDaemonsets: boolean;
  deleteEmptydirData: boolean;
  force: boolean;
  podSelector?: string;
  disableEviction: boolean;
  /** Pause between refused evictions (kubectl: 5 s). */
  retryDelayMs: number;
  /** Poll interval while waiting for evicted pods to go. */
  pollMs: number;
  check: boolean;
}

export interface BlockedPod {
  pod: string;
  /** Budgets named by the API's 429, else those whose selector covers the pod. */
  budgets: string[];
  message: string;
}

export interface DrainOutcome {
  ok: boolean;
  timedOut: boolean;
  msg: string;
  evicted: string[];
  /** Check mode: what would be evicted. */
  wouldEvict: string[];
  skipped: DrainPlan['skipped'];
  warnings: string[];
  errors: string[];
  blocking: BlockedPod[];
  /** Evicted but still terminating at the timeout. */
  terminating: string[];
  /** Budgets covering the pods we evict (or blocked), described. */
  budgets: string[];
}

interface PodProgress {
  pod: PodInfo;
  state: 'pending' | 'blocked' | 'evicting' | 'gone' | 'refused';
  blockMessage?: string;
  blockBudgets?: string[];
  refusal?: string;
}

/** `clock` keeps the deadline and the pauses between retries and polls (a test passes a fake one to count them). */
export async function drainNode(client: KubeClient, node: string, p: DrainParams, signal?: AbortSignal, clock: Clock = systemClock): Promise<DrainOutcome> {
  const co = signal ? { signal } : {};
  const started = clock.now();
  const base: DrainOutcome = { ok: true, timedOut: false, msg: '', evicted: [], wouldEvict: [], skipped: [], warnings: [], errors: [], blocking: [], terminating: [], budgets: [] };
  const selector = p.podSelector ? parseLabelSelector(p.podSelector) : undefined;

  const pods = await client.listPodsOnNode(node, p.podSelector, co);
  // kubectl treats pods of a DaemonSet that no longer exists as orphans; look each DaemonSet up once.
  const missing = new Set<string>();
  const dsKeys = new Set<string>();
  for (const pod of pods) {
    const c = pod.ownerReferences.find((o) => o.controller === true);
    if (c?.kind === 'DaemonSet' && pod.phase !== 'Succeeded' && pod.phase !== 'Failed') dsKeys.add(`${pod.namespace}/${c.name}`);
  }
  await Promise.all(
    [...dsKeys].map(async (k) => {
      const [ns, name] = k.split('/') as [string, string];
      if (!(await client.daemonSetExists(ns, name, co))) missing.add(k);
    }),
  );
  const plan = planDrain(
    pods,
    { ignoreDaemonsets: p.ignoreDaemonsets, deleteEmptydirData: p.deleteEmptydirData, force: p.force, ...(selector ? { podSelector: selector } : {}) },
    { missingDaemonSets: missing },
  );
  base.skipped = plan.skipped;
  base.warnings = plan.warnings;
  if (plan.errors.length > 0) {
    // Like kubectl: refuse the whole drain before evicting anything.
    return { ...base, ok: false, errors: plan.errors, msg: `cannot drain node ${node}: ${plan.errors.join('; ')}` };
  }

  const pdbCache = new Map<string, PdbInfo[]>();
  const pdbsOf = async (ns: string) => {
    let l = pdbCache.get(ns);
    if (!l) pdbCache.set(ns, (l = await client.listPDBs(ns, co)));
    return l;
  };
  const budgetsCovering = async (list: PodInfo[]) => {
    const out = new Map<string, string>();
    for (const pod of list) for (const b of budgetsFor(pod, await pdbsOf(pod.namespace))) out.set(`${b.namespace}/${b.name}`, describeBudget(b));
    return [...out.values()];
  };

  if (p.check) {
    const wouldEvict = plan.evict.map(podKey);
    const budgets = await budgetsCovering(plan.evict);
    return { ...base, wouldEvict, budgets, msg: wouldEvict.length ? `would evict ${wouldEvict.length} pod(s) from node ${node}` : `no pods to evict from node ${node}` };
  }

  // The drain's own deadline, on top of the caller's signal (Ctrl-C).
  const deadline = clock.deadline(p.timeoutMs);
  // An API failure on one pod (403, API down) stops the others at once and ends the drain with that error.
  const stop = new AbortController();
  const both = AbortSignal.any([...(signal ? [signal] : []), deadline.signal, stop.signal]);
  const progress: PodProgress[] = plan.evict.map((pod) => ({ pod, state: 'pending' }));
  let failure: { error: unknown } | undefined;
  try {
    await Promise.allSettled(
      progress.map((pp) =>
        evictOne(client, pp, p, both, clock).catch((e: unknown) => {
          if (!both.aborted) {
            failure ??= { error: e };
            stop.abort();
          }
        }),
      ),
    );
  } finally {
    deadline.clear();
  }
  signal?.throwIfAborted();
  if (failure) throw failure.error;

  const evicted = progress.filter((x) => x.state === 'gone').map((x) => podKey(x.pod));
  const refused = progress.filter((x) => x.state === 'refused');
  const blockedPods = progress.filter((x) => x.state === 'blocked' || (x.state === 'pending' && x.blockMessage));
  const terminating = progress.filter((x) => x.state === 'evicting').map((x) => podKey(x.pod));
  const blocking: BlockedPod[] = [];
  for (const x of blockedPods) {
    let budgets = x.blockBudgets?.map((b) => `${x.pod.namespace}/${b}`) ?? [];
    if (budgets.length === 0) budgets = budgetsFor(x.pod, await pdbsOf(x.pod.namespace)).map((b) => `${b.namespace}/${b.name}`);
    blocking.push({ pod: podKey(x.pod), budgets, message: x.blockMessage ?? 'eviction refused' });
  }
  const budgets = await budgetsCovering(plan.evict);
  const out: DrainOutcome = { ...base, evicted, blocking, terminating, budgets };
  if (refused.length > 0) {
    out.ok = false;
    out.errors = refused.map((x) => `${podKey(x.pod)}: ${x.refusal}`);
    out.msg = `drain of node ${node} failed: eviction refused: ${out.errors.join('; ')}`;
    return out;
  }
  if (blocking.length > 0 || terminating.length > 0 || progress.some((x) => x.state !== 'gone')) {
    out.ok = false;
    out.timedOut = true;
    const parts: string[] = [];
    if (blocking.length > 0) {
      const described = new Map<string, string>();
      for (const x of blockedPods) for (const b of budgetsFor(x.pod, await pdbsOf(x.pod.namespace))) described.set(`${b.namespace}/${b.name}`, describeBudget(b));
      parts.push(
        `evictions refused by PodDisruptionBudget: ${blocking.map((b) => `${b.pod} (budget ${b.budgets.join(', ') || 'unknown'})`).join(', ')}` +
          (described.size ? `; budgets: ${[...described.values()].join(', ')}` : ''),
      );
    }
    if (terminating.length > 0) parts.push(`pods still terminating: ${terminating.join(', ')}`);
    const pending = progress.filter((x) => x.state === 'pending' && !x.blockMessage).map((x) => podKey(x.pod));
    if (pending.length > 0) parts.push(`pods not yet evicted: ${pending.join(', ')}`);
    out.msg = `drain of node ${node} timed out after ${formatDuration(p.timeoutMs)}: ${parts.join('; ')}`;
    return out;
  }
  out.msg = evicted.length ? `node ${node} drained: evicted ${evicted.length} pod(s) in ${formatDuration(clock.now() - started)}` : `node ${node} drained: no pods to evict`;
  return out;
}

async function evictOne(client: KubeClient, pp: PodProgress, p: DrainParams, signal: AbortSignal, clock: Clock): Promise<void> {
  const co = { signal };
  const { namespace, name, uid } = pp.pod;
  const grace = p.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: p.gracePeriodSeconds } : {};
  for (;;) {
    signal.throwIfAborted();
    if (p.disableEviction) {
      await client.deletePod(namespace, name, grace, co);
      break;
    }
    const r = await client.evictPod(namespace, name, grace, co);
    if (r.kind === 'evicted') break;
    if (r.kind === 'gone') {
      pp.state = 'gone';
      return;
    }
    if (r.kind === 'refused') {
      pp.state = 'refused';
      pp.refusal = `${r.message} (HTTP ${r.status}; check the PodDisruptionBudgets covering it)`;
      return;
    }
    pp.state = 'blocked';
    pp.blockMessage = r.message;
    pp.blockBudgets = r.budgets;
    await clock.sleep(p.retryDelayMs, signal);
  }
  pp.state = 'evicting';
  // Gone: 404, or a new pod with the same name (a StatefulSet replacement) has a different uid.
  for (;;) {
    const cur = await client.getPod(namespace, name, co);
    if (!cur || cur.uid !== uid) {
      pp.state = 'gone';
      return;
    }
    await clock.sleep(p.pollMs, signal);
  }
}
