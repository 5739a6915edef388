/**
 * `cgroup_scan`: find leaked pod cgroups on a CRI-O node and report the node's health, changing nothing.
 * One remote script (cgroup_collect.sh, a constant number of processes however many cgroups there are);
 * every decision is made here by the pure classifier of src/cgroup. Fails closed: if crictl fails or prints
 * something unparsable, nothing is leaked and the task fails with the reason.
 *
 * Also the shared plumbing of `cgroup_prune`: parameters, host-var defaults, durations, the collect call.
 */
import { performance } from 'node:perf_hooks';
import { parseDurationS } from '../util/duration.js';
import { z } from 'zod';
import type { ModuleContext, ModuleDefinition, ModuleResult } from './types.js';
import type { ExecResult } from '../transport/types.js';
import { shQuote } from '../transport/types.js';
import { loadScript, shAssignments } from './common.js';
import { classify, collectParams, nodeVerdict, parseCollectOutput } from '../cgroup/index.js';
import type { Classification, CollectedNode, CollectParams } from '../cgroup/index.js';
import { errorMessage } from '../errors.js';

// ---------------------------------------------------------------- durations

/** Kept under this name for the cgroup modules: seconds, or undefined when malformed. */
export const parseDuration = parseDurationS;

export const durationSchema = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, { message: 'expected a duration like 30s, 5m, 1h or 1h30m (or a number of seconds)' });

/** `since`: epoch seconds, an ISO date, or a duration ago (`1h` = an hour before now). */
export function parseSince(v: string | number, nowS: number): number | undefined {
  if (typeof v === 'number') return v > 1e9 ? v : nowS - v; // small numbers read as "seconds ago"
  const d = parseDuration(v);
  if (d !== undefined) return d > 1e9 ? d : nowS - d;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

// ---------------------------------------------------------------- parameters

/** Parameters both cgroup modules take; each path defaults to a host var, then to the real node's path. */
export const cgroupTargetShape = {
  cgroup_root: z.string().min(1).optional(),
  kubelet_root: z.string().min(1).optional(),
  crictl: z.string().min(1).optional(),
  min_age: durationSchema.default('5m'),
};

export const cgroupScanSchema = z
  .object({
    ...cgroupTargetShape,
    since: z
      .union([z.string(), z.number()])
      .refine((v) => parseSince(v, Date.now() / 1000) !== undefined, { message: 'expected epoch seconds, an ISO date or a duration ago like 1h' })
      .optional(),
    /** Seconds of kubelet CPU sampling (0 skips it). */
    cpu_sample: z.number().min(0).max(60).default(1),
  })
  .strict();
export type CgroupScanParams = z.infer<typeof cgroupScanSchema>;

export interface CgroupTargets {
  cgroupRoot: string;
  kubeletRoot: string;
  crictl: string;
}

/** Parameter, else host var `nodesweep_*`, else the path on a real node. */
export function resolveTargets(p: { cgroup_root?: string | undefined; kubelet_root?: string | undefined; crictl?: string | undefined }, vars: Record<string, unknown>): CgroupTargets {
  const hv = (k: string): string | undefined => {
    const v = vars[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return {
    cgroupRoot: p.cgroup_root ?? hv('nodesweep_cgroup_root') ?? '/sys/fs/cgroup',
    kubeletRoot: p.kubelet_root ?? hv('nodesweep_kubelet_root') ?? '/var/lib/kubelet',
    crictl: p.crictl ?? hv('nodesweep_crictl') ?? 'crictl',
  };
}

// ---------------------------------------------------------------- collect

/** The health functions (cgroup_health.sh) both cgroup scripts call; sent ahead of each. */
export function loadHealthScript(): string {
  return loadScript('cgroup_health.sh', import.meta.url);
}

/** cgroup_collect.sh as the node runs it: behind the health functions it calls. */
export function loadCollectScript(): string {
  return `${loadHealthScript()}\n${loadScript('cgroup_collect.sh', import.meta.url)}`;
}

export type CollectOutcome =
  | { ok: true; node: CollectedNode; exec: ExecResult; execMs: number; parseMs: number }
  | { ok: false; reason: string; exec?: ExecResult };

/** Run cgroup_collect.sh on the host and parse its report (a bad or cut report is an error, never "empty"). */
export async function collectNode(
  script: string,
  targets: CgroupTargets,
  extra: Omit<CollectParams, 'cgroupRoot' | 'kubeletRoot' | 'crictl'>,
  ctx: ModuleContext,
): Promise<CollectOutcome> {
  const prelude = shAssignments(collectParams({ ...targets, ...extra }), shQuote);
  const t0 = performance.now();
  const r = await ctx.transport.exec(`${prelude}\n${script}`, {
    timeoutMs: ctx.timeoutMs,
    ...(ctx.become ? { become: ctx.become } : {}),
    ...(ctx.environment ? { env: ctx.environment } : {}),
    signal: ctx.signal,
  });
  if (r.timedOut) return { ok: false, reason: `cgroup collection timed out after ${ctx.timeoutMs / 1000} s`, exec: r };
  if (r.rc !== 0) return { ok: false, reason: `cgroup collection failed (rc ${r.rc}): ${firstLine(r.stderr) || 'no error output'}`, exec: r };
  try {
    const t1 = performance.now();
    const node = parseCollectOutput(r.stdout);
    return { ok: true, node, exec: r, execMs: t1 - t0, parseMs: performance.now() - t1 };
  } catch (e) {
    const err = firstLine(r.stderr);
    return { ok: false, reason: `${errorMessage(e)}${err ? ` (stderr: ${err})` : ''}`, exec: r };
  }
}

/** Where a scan's time went (ms): the remote script (and its parts, as the node measured them), parse, classify. */
export interface ScanTimings {
  collect_ms: number;
  node_ms: Record<string, number>;
  parse_ms: number;
  classify_ms: number;
}

export const ms = (x: number): number => Math.round(x);
export function roundMs(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)]));
}

export function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 300);
}

/** The fields a classification contributes to a module result (the per-dir decisions stay out: too large). */
export function classificationFields(c: Classification): Record<string, unknown> {
  return {
    cgroup_mode: c.cgroup_mode,
    runtime_ok: c.runtime_ok,
    runtime_error: c.runtime_error,
    leaked: c.leaked,
    counts: c.counts,
    live_pods: c.live_pods,
    terminating_pods: c.terminating_pods,
    busy: c.busy,
    too_young: c.too_young,
    restart_needed: c.restart_needed,
    reboot_required: c.reboot_required,
    unknown_names: c.unknown_names,
    health: c.health,
    warnings: c.warnings,
  };
}

// ---------------------------------------------------------------- the module

export function cgroupScanModule(): ModuleDefinition<CgroupScanParams> {
  const script = loadCollectScript();
  return {
    name: 'cgroup_scan',
    aliases: ['nodesweep.cgroup_scan'],
    schema: cgroupScanSchema,
    supportsCheckMode: true, // it never changes anything
    async run(p, ctx): Promise<ModuleResult> {
      const targets = resolveTargets(p, ctx.vars);
      const minAgeS = parseDuration(p.min_age)!;
      const since = p.since !== undefined ? parseSince(p.since, Date.now() / 1000) : undefined;
      const col = await collectNode(script, targets, { sampleS: p.cpu_sample, ...(since !== undefined ? { since } : {}) }, ctx);
      const base = { changed: false, cgroup_root: targets.cgroupRoot, kubelet_root: targets.kubeletRoot, crictl: targets.crictl, min_age_s: minAgeS };
      if (!col.ok) {
        return { ...base, status: 'failed', msg: `cgroup scan: ${col.reason}; nothing is reported as leaked`, ...(col.exec ? { stderr: col.exec.stderr.trim() } : {}) };
      }
      let c: Classification;
      const t0 = performance.now();
      try {
        c = classify(col.node, { minAgeS });
      } catch (e) {
        return { ...base, status: 'failed', msg: `cgroup scan: could not classify the node: ${errorMessage(e)}` };
      }
      const classifyMs = performance.now() - t0;
      const summary = nodeVerdict(c);
      const timings: ScanTimings = { collect_ms: ms(col.execMs), node_ms: roundMs(col.node.phasesMs ?? {}), parse_ms: ms(col.parseMs), classify_ms: ms(classifyMs) };
      const res: ModuleResult = { ...base, status: 'ok', ...classificationFields(c), summary, verdict: summary.verdict, timings };
      if (!c.runtime_ok) {
        res.status = 'failed';
        res.msg = `cannot tell live pods from leaked ones, so nothing is reported as leaked: ${c.runtime_error ?? 'runtime state unknown'}`;
        return res;
      }
      res.msg = scanMessage(c, summary.verdict);
      return res;
    },
  };
}

function scanMessage(c: Classification, verdict: string): string {
  const k = c.counts.by_kind;
  const parts = [`${c.counts.total} leaked cgroup${c.counts.total === 1 ? '' : 's'} (pod ${k.pod}, container ${k.container}, conmon ${k.conmon}, sandbox ${k.sandbox}, nested ${k.nested})`];
  if (c.counts.bogus_pids_tree) parts.push(`${c.counts.bogus_pids_tree} in the bogus pids/ tree`);
  if (c.busy.length) parts.push(`${c.busy.length} busy`);
  if (c.too_young.length) parts.push(`${c.too_young.length} younger than min_age`);
  return `${verdict}: ${parts.join(', ')}; ${c.live_pods.length} live pods`;
}
