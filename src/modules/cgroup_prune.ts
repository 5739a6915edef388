/**
 * `cgroup_prune`: remove leaked pod cgroups, never a live or populated one.
 *
 * It never trusts an older scan: it collects the node itself in prune mode (cgroup_collect.sh NS_MODE=prune: the
 * dirs with their mtimes, crictl, the kubelet pods dir; no health, no cgroup.procs) and classifies it with the pure
 * classifier (unreadProcs 'kernel-guard'), plans (deepest first, capped by max_removals), then hands the plan to
 * cgroup_prune.sh, which re-checks everything right before acting (crictl again, the kubelet pods dir, the path's
 * shape and scope, the age) and removes with rmdir in large batches (never rm -r). The kernel's EBUSY on a
 * populated cgroup (or one with children) is the last guard: the script reads cgroup.procs / cgroup.events only of
 * what the kernel refused and below it, and reports who holds it (busy, restart_needed, reboot_required); a
 * parent refused because of such a child is reported as blocked by it. kill_stragglers works from those pids.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { ModuleContext, ModuleDefinition, ModuleResult } from './types.js';
import { shQuote } from '../transport/types.js';
import { loadScript, newMarker, shAssignments } from './common.js';
import { classify, collectParams, healthFacts, parseHealthReport, planPruneDirs } from '../cgroup/index.js';
import type { BusyCgroup, Classification, HealthFacts, Hierarchy, PrunePlan, PruneSkip } from '../cgroup/index.js';
import { errorMessage } from '../errors.js';
import type { CgroupTargets } from './cgroup_scan.js';
import { cgroupTargetShape, classificationFields, collectNode, firstLine, loadCollectScript, loadHealthScript, ms, parseDuration, resolveTargets, roundMs } from './cgroup_scan.js';
import { CRIO_ARGV0_ERE, holderStatus, pruneScriptPatterns } from '../cgroup/names.js';

export const cgroupPruneSchema = z
  .object({
    ...cgroupTargetShape,
    max_removals: z.number().int().min(0).default(10_000),
    kill_stragglers: z.boolean().default(false),
    /** Seconds of kubelet CPU sampling in the health measurement after acting (0 skips it). */
    cpu_sample: z.number().min(0).max(60).default(1),
  })
  .strict();
export type CgroupPruneParams = z.infer<typeof cgroupPruneSchema>;

export interface HolderProcess {
  pid: number;
  state: string;
  cmdline: string;
  comm: string;
}
export interface BusyReport {
  path: string;
  pids: HolderProcess[];
  /** busy: an ordinary process; restart_needed: crio's own processes; reboot_required: a process in D state. */
  status: 'busy' | 'restart_needed' | 'reboot_required';
}

/** A leaked dir the kernel refused only because a dir below it is still there (busy, kept, or new). */
export interface BlockedReport {
  path: string;
  blocked_by: string;
}

/** Where a prune's time went (ms): collect (and its parts on the node), parse, classify, plan, act (and its parts). */
export interface PruneTimings {
  collect_ms: number;
  collect_node_ms: Record<string, number>;
  parse_ms: number;
  classify_ms: number;
  plan_ms: number;
  act_ms: number;
  act_node_ms: Record<string, number>;
}

/** What cgroup_prune.sh printed, parsed (pure). */
export interface PruneScriptReport {
  runtimeOk: boolean | null;
  runtimeError: string | null;
  fatal: string | null;
  removed: string[];
  wouldRemove: string[];
  vanished: string[];
  tooYoung: Array<{ path: string; age_s: number }>;
  refused: PruneSkip[];
  failed: string[];
  /** rmdir's complaints by path. */
  rmErrors: Map<string, string>;
  holders: Array<{ dir: string; pid: number }>;
  /** v2 `populated` of the refused dirs and the dirs below them. */
  populated: Map<string, boolean>;
  /** Dirs still there below the refused ones. */
  left: string[];
  procs: Map<number, HolderProcess>;
  killed: Array<{ pid: number; path: string }>;
  /** Time per part of the script on the node (ms, 10 ms resolution). */
  phasesMs: Record<string, number>;
  /** The lines between `health-begin` and `health-end` (cgroup_health.sh's sections); null: no measurement. */
  healthLines: string[] | null;
}

export function parsePruneOutput(stdout: string, mark: string): PruneScriptReport {
  const rep: PruneScriptReport = {
    runtimeOk: null,
    runtimeError: null,
    fatal: null,
    removed: [],
    wouldRemove: [],
    vanished: [],
    tooYoung: [],
    refused: [],
    failed: [],
    rmErrors: new Map(),
    holders: [],
    populated: new Map(),
    left: [],
    procs: new Map(),
    killed: [],
    phasesMs: {},
    healthLines: null,
  };
  const prefix = `${mark} `;
  let cmdBlock: string[] | null = null;
  let healthBlock: string[] | null = null;
  const stats = new Map<number, { state: string; comm: string }>();
  let now: number | null = null;
  for (const line of stdout.split('\n')) {
    if (healthBlock) {
      if (line === `${mark} health-end`) {
        rep.healthLines = healthBlock;
        healthBlock = null;
      } else healthBlock.push(line);
      continue;
    }
    if (cmdBlock) {
      if (line === `${mark} cmdlines-end`) {
        parseCmdlines(cmdBlock.join('\n'), rep, stats);
        cmdBlock = null;
      } else cmdBlock.push(line);
      continue;
    }
    if (!line.startsWith(prefix)) continue;
    const rest = line.slice(prefix.length);
    const sp = rest.indexOf(' ');
    const what = sp < 0 ? rest : rest.slice(0, sp);
    const arg = sp < 0 ? '' : rest.slice(sp + 1);
    switch (what) {
      case 'fatal':
        rep.fatal = arg;
        break;
      case 'runtime':
        rep.runtimeOk = arg === 'ok';
        if (arg !== 'ok') rep.runtimeError = arg.replace(/^fail /, '');
        break;
      case 'removed':
        rep.removed.push(arg);
        break;
      case 'would_remove':
        rep.wouldRemove.push(arg);
        break;
      case 'vanished':
        rep.vanished.push(arg);
        break;
      case 'failed':
        rep.failed.push(arg);
        break;
      case 'now':
        now = Number(arg);
        break;
      case 'too_young_mtime': {
        const [mt, ...p] = arg.split(' ');
        rep.tooYoung.push({ path: p.join(' '), age_s: now !== null ? Math.max(0, now - Number(mt)) : 0 });
        break;
      }
      case 'too_young': {
        const [age, ...p] = arg.split(' ');
        rep.tooYoung.push({ path: p.join(' '), age_s: Number(age) });
        break;
      }
      case 'refused': {
        const [reason, ...p] = arg.split(' ');
        rep.refused.push({ path: p.join(' '), reason: REFUSALS[reason!] ?? reason! });
        break;
      }
      case 'rmerr': {
        // GNU: rmdir: failed to remove '/p': Device or resource busy   busybox: rmdir: '/p': Device or resource busy
        const m = /^rmdir: (?:failed to remove )?'(.*)': (.*)$/.exec(arg);
        if (m) rep.rmErrors.set(m[1]!, m[2]!);
        break;
      }
      case 'holder': {
        const i = arg.lastIndexOf(' ');
        rep.holders.push({ dir: arg.slice(0, i), pid: Number(arg.slice(i + 1)) });
        break;
      }
      case 'populated': {
        const i = arg.lastIndexOf(' ');
        rep.populated.set(arg.slice(0, i), arg.slice(i + 1) === '1');
        break;
      }
      case 'left':
        rep.left.push(arg);
        break;
      case 'phase': {
        const [name, cs] = arg.split(' ');
        if (name && cs !== undefined && /^\d+$/.test(cs)) rep.phasesMs[name] = (rep.phasesMs[name] ?? 0) + Number(cs) * 10;
        break;
      }
      case 'killed': {
        const [pid, ...p] = arg.split(' ');
        rep.killed.push({ pid: Number(pid), path: p.join(' ') });
        break;
      }
      case 'stat': {
        const [pid, ...st] = arg.split(' ');
        const s = st.join(' ');
        const close = s.lastIndexOf(')');
        stats.set(Number(pid), { comm: s.slice(s.indexOf('(') + 1, close), state: s.slice(close + 2, close + 3) || '?' });
        break;
      }
      case 'cmdlines-begin':
        cmdBlock = [];
        break;
      case 'health-begin':
        healthBlock = [];
        break;
      default:
        break;
    }
  }
  for (const [pid, st] of stats) {
    if (!rep.procs.has(pid)) rep.procs.set(pid, { pid, state: st.state, comm: st.comm, cmdline: st.comm ? `[${st.comm}]` : '' });
  }
  for (const h of rep.holders) {
    if (!rep.procs.has(h.pid)) rep.procs.set(h.pid, { pid: h.pid, state: '?', comm: '', cmdline: '' });
  }
  return rep;
}

/** `head -v` output: `==> /proc/PID/cmdline <==` then the NUL-separated argv. */
function parseCmdlines(block: string, rep: PruneScriptReport, stats: Map<number, { state: string; comm: string }>): void {
  const re = /==> \/proc\/(\d+)\/cmdline <==\n/g;
  const heads = [...block.matchAll(re)];
  heads.forEach((m, i) => {
    const pid = Number(m[1]);
    const start = m.index! + m[0].length;
    const end = i + 1 < heads.length ? heads[i + 1]!.index! : block.length;
    const raw = block.slice(start, end).replace(/\n+$/, '');
    const st = stats.get(pid);
    const cmd = raw.replace(/\0+$/, '').replace(/\0/g, ' ').trim();
    rep.procs.set(pid, { pid, state: st?.state ?? '?', comm: st?.comm ?? '', cmdline: cmd || (st?.comm ? `[${st.comm}]` : '') });
  });
}

const REFUSALS: Record<string, string> = {
  runtime: 'the runtime knows this pod or container now (re-check before rmdir)',
  'not-absolute': 'not an absolute path',
  'bad-path': 'unexpected characters or . / .. components in the path',
  'outside-hierarchy': 'not under a cgroup hierarchy of this node',
  'outside-kubepods': 'not under kubepods.slice, kubepods or the bogus pids/ tree',
  protected: 'kubepods root or QoS slice: never removed',
  'unknown-name': 'name matches no pod/container pattern',
  'kubelet-dir-unreadable': 'the kubelet pods dir cannot be read now (fail closed)',
  'kubelet-pod-dir': 'the kubelet pods dir has this pod now (terminating): not touched',
};

/** One stdin line for cgroup_prune.sh: `<g|l> <k|-> <uid|-> <cid|-> <path>`. */
export function planLine(l: { pod_uid: string | null; container_id: string | null } | undefined, path: string, livePods: Set<string>, kill: boolean): string {
  const uid = l?.pod_uid ?? null;
  // A pod the plan calls gone gets its UID and kubelet dir re-checked; under a live pod only the container id.
  const gone = uid !== null && !livePods.has(uid);
  return `${gone ? 'g' : 'l'} ${kill ? 'k' : '-'} ${uid ?? '-'} ${l?.container_id ?? '-'} ${path}`;
}

const parentOf = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i > 0 ? p.slice(0, i) : '';
};

/** Paths no rmdir may ever see: whitespace/quotes would split an xargs line. */
const SAFE_PATH = /^\/[A-Za-z0-9_.,:@/-]+$/;

export function cgroupPruneModule(): ModuleDefinition<CgroupPruneParams> {
  const collectScript = loadCollectScript();
  const healthScript = loadHealthScript();
  const pruneScript = `${healthScript}\n${loadScript('cgroup_prune.sh', import.meta.url)}`;
  return {
    name: 'cgroup_prune',
    aliases: ['nodesweep.cgroup_prune'],
    schema: cgroupPruneSchema,
    supportsCheckMode: true,
    async run(p, ctx): Promise<ModuleResult> {
      const targets = resolveTargets(p, ctx.vars);
      const minAgeS = parseDuration(p.min_age)!;
      const base = {
        changed: false,
        cgroup_root: targets.cgroupRoot,
        kubelet_root: targets.kubeletRoot,
        min_age_s: minAgeS,
        max_removals: p.max_removals,
        check_mode: ctx.check,
      };
      // 1. collect (prune mode: dirs, crictl, kubelet pods dir; no processes, no health) and classify now
      const col = await collectNode(collectScript, targets, { mode: 'prune', sampleS: 0, journalctl: '' }, ctx);
      if (!col.ok) return { ...base, status: 'failed', msg: `cgroup prune: nothing removed: ${col.reason}`, removed: [] };
      let c: Classification;
      const t0 = performance.now();
      try {
        // the processes were not read: the kernel's EBUSY on rmdir is the guard, the script reports the holders
        c = classify(col.node, { minAgeS, unreadProcs: 'kernel-guard' });
      } catch (e) {
        return { ...base, status: 'failed', msg: `cgroup prune: nothing removed: could not classify the node: ${errorMessage(e)}`, removed: [] };
      }
      if (!c.runtime_ok) {
        return {
          ...base,
          ...classificationFields(c),
          status: 'failed',
          removed: [],
          msg: `nothing removed: cannot tell live pods from leaked ones: ${c.runtime_error ?? 'runtime state unknown'}`,
        };
      }
      const t1 = performance.now();
      // 2. plan. Every planned dir is a confirmed orphan: with kill_stragglers, the script may kill the processes it
      // finds in one the kernel refused (never D state, never crio).
      const planned = planPruneDirs(c, { maxRemovals: p.max_removals });
      const plan: PrunePlan = { remove: planned.remove.map((d) => d.path), skipped: planned.skipped };
      const live = new Set(c.live_pods);
      const lines: string[] = [];
      const refused: PruneSkip[] = [];
      for (const d of planned.remove) {
        if (!SAFE_PATH.test(d.path)) {
          refused.push({ path: d.path, reason: 'unexpected characters in the path' });
          continue;
        }
        lines.push(planLine(d, d.path, live, p.kill_stragglers));
      }
      const t2 = performance.now();
      const timings: PruneTimings = {
        collect_ms: ms(col.execMs),
        collect_node_ms: roundMs(col.node.phasesMs ?? {}),
        parse_ms: ms(col.parseMs),
        classify_ms: ms(t1 - t0),
        plan_ms: ms(t2 - t1),
        act_ms: 0,
        act_node_ms: {},
      };
      // 3. re-check and act, in one remote script, which then measures the node's health (not in check mode:
      // nothing was changed, so there is no "after")
      let rep: PruneScriptReport | null = null;
      let stderr = '';
      const mark = newMarker();
      const health = healthParams(targets, p.cpu_sample, col.node.hierarchies, !ctx.check);
      if (lines.length > 0) {
        const names = pruneScriptPatterns(col.node.hierarchies);
        const prelude = shAssignments(
          {
            NS_MARK: mark,
            NS_PROTECTED_ERE: names.protected,
            NS_LEAKABLE_ERE: names.leakable,
            NS_CRIO_ARGV0_ERE: CRIO_ARGV0_ERE,
            NS_CRICTL: targets.crictl,
            NS_KUBELET_ROOT: targets.kubeletRoot,
            NS_MIN_AGE_S: String(Math.ceil(minAgeS)),
            NS_CHECK: ctx.check ? '1' : '0',
            NS_KILL: p.kill_stragglers ? '1' : '0',
            NS_BASES: col.node.hierarchies.map((h) => h.path).join('\n'),
            ...health,
          },
          shQuote,
        );
        const ta = performance.now();
        const r = await ctx.transport.exec(`${prelude}\n${pruneScript}`, {
          timeoutMs: ctx.timeoutMs,
          ...(ctx.become ? { become: ctx.become } : {}),
          ...(ctx.environment ? { env: ctx.environment } : {}),
          stdin: lines.join('\n') + '\n',
          signal: ctx.signal,
        });
        stderr = r.stderr.trim();
        rep = parsePruneOutput(r.stdout, mark);
        timings.act_ms = ms(performance.now() - ta);
        timings.act_node_ms = roundMs(rep.phasesMs);
        if (r.timedOut || r.rc !== 0 || rep.runtimeOk === null || rep.fatal) {
          // The script may have removed some before it died: report what it said it removed.
          const why = r.timedOut ? `timed out after ${ctx.timeoutMs / 1000} s` : rep.fatal ?? `rc ${r.rc}: ${firstLine(r.stderr) || 'no output'}`;
          return {
            ...base,
            status: 'failed',
            changed: rep.removed.length > 0,
            removed: rep.removed,
            msg: `cgroup prune script failed (${why}); removed ${rep.removed.length} before that`,
            ...(stderr ? { stderr } : {}),
          };
        }
        if (!rep.runtimeOk) {
          return {
            ...base,
            ...classificationFields(c),
            status: 'failed',
            removed: [],
            msg: `nothing removed: the re-check right before rmdir could not read the runtime: ${rep.runtimeError ?? 'unknown error'}`,
          };
        }
      }
      let healthLines = rep?.healthLines ?? null;
      if (lines.length === 0 && !ctx.check) {
        // nothing to remove: the node's health now is still this run's "after"
        const r = await ctx.transport.exec(`${shAssignments({ NS_MARK: mark, ...health }, shQuote)}\n${healthScript}\nns_health_block "$NS_MARK" "$NS_HIERS"\n`, {
          timeoutMs: ctx.timeoutMs,
          ...(ctx.become ? { become: ctx.become } : {}),
          ...(ctx.environment ? { env: ctx.environment } : {}),
          signal: ctx.signal,
        });
        healthLines = r.rc === 0 && !r.timedOut ? parsePruneOutput(r.stdout, mark).healthLines : null;
      }
      return { ...composeResult(base, c, plan, refused, rep, ctx), ...healthAfterFields(healthLines, ctx.check), timings };
    },
  };
}

/** The sh assignments of the health measurement after acting (cgroup_health.sh's parameters, as a scan passes them). */
function healthParams(targets: CgroupTargets, sampleS: number, hierarchies: Hierarchy[], measure: boolean): Record<string, string> {
  if (!measure) return { NS_HEALTH: '0' };
  const cp = collectParams({ ...targets, sampleS });
  return {
    NS_HEALTH: '1',
    NS_HIERS: hierarchies.map((h) => `${h.version} ${h.name} ${h.path}`).join('\n'),
    CGROUP_ROOT: cp.CGROUP_ROOT!,
    KUBELET: cp.KUBELET!,
    SAMPLE_S: cp.SAMPLE_S!,
  };
}

/** The health facts a prune measures after acting: the scan's health shape, less what only a scan reads. */
export type HealthAfter = Pick<
  HealthFacts,
  'num_cgroups' | 'num_cgroups_source' | 'nr_descendants' | 'nr_dying_descendants' | 'system_slice_memory_bytes' | 'crio_memory_bytes' | 'kubelet_cpu_cores' | 'kubelet_found_by'
> & {
  /** The facts above that could not be measured (null; num_cgroups empty): shown as "not measured", never guessed. */
  not_measured: string[];
};

/** Fields that say something about a fact rather than being one. */
const ABOUT_A_FACT = new Set(['not_measured', 'num_cgroups_source', 'kubelet_found_by']);

/**
 * `health_after` of a prune result from the script's health block (pure). null with a reason when nothing was
 * measured (check mode, the script died before, or the block does not parse): never the values from before.
 */
export function healthAfterFields(lines: string[] | null, check: boolean): { health_after: HealthAfter | null; health_after_error?: string } {
  if (check) return { health_after: null, health_after_error: 'check mode: nothing was changed, nothing measured after' };
  if (lines === null) return { health_after: null, health_after_error: 'the prune script printed no health measurement' };
  let f: HealthFacts;
  try {
    f = healthFacts(parseHealthReport(lines).health, []);
  } catch (e) {
    return { health_after: null, health_after_error: `the health measurement after the prune does not parse: ${errorMessage(e)}` };
  }
  const h: HealthAfter = {
    num_cgroups: f.num_cgroups,
    num_cgroups_source: f.num_cgroups_source,
    nr_descendants: f.nr_descendants,
    nr_dying_descendants: f.nr_dying_descendants,
    system_slice_memory_bytes: f.system_slice_memory_bytes,
    crio_memory_bytes: f.crio_memory_bytes,
    kubelet_cpu_cores: f.kubelet_cpu_cores,
    kubelet_found_by: f.kubelet_found_by,
    not_measured: [],
  };
  h.not_measured = Object.entries(h)
    .filter(([k, v]) => !ABOUT_A_FACT.has(k) && (v === null || (k === 'num_cgroups' && Object.keys(v as object).length === 0)))
    .map(([k]) => k);
  return { health_after: h };
}

/** Merge the classification, the plan and what the script did into the module result (pure). */
export function composeResult(
  base: Record<string, unknown>,
  c: Classification,
  plan: PrunePlan,
  refusedEarly: PruneSkip[],
  rep: PruneScriptReport | null,
  ctx: Pick<ModuleContext, 'check'>,
): ModuleResult {
  const removed: string[] = [];
  const vanished = new Set(rep?.vanished ?? []);
  for (const p of rep?.removed ?? []) {
    // rmdir said ENOENT: someone else removed it between our stat and our rmdir
    if (/No such file or directory/i.test(rep?.rmErrors.get(p) ?? '')) vanished.add(p);
    else removed.push(p);
  }
  const refused: PruneSkip[] = [...refusedEarly, ...(rep?.refused ?? [])];
  const tooYoung = new Set([...c.too_young, ...(rep?.tooYoung ?? []).map((t) => t.path)]);

  // Busy: what the classification already saw populated (not planned), plus what the kernel refused now.
  const busy: BusyReport[] = [];
  const planned = new Set(plan.remove);
  for (const b of c.busy as BusyCgroup[]) {
    if (!planned.has(b.path)) busy.push({ path: b.path, status: b.status, pids: b.pids.map((x) => ({ pid: x.pid, state: x.state, cmdline: x.cmdline, comm: x.comm })) });
  }
  const kept = new Set<string>([...refused.map((r) => r.path), ...tooYoung]);
  // What the kernel refused. Its own processes make a dir busy; a dir still there below it makes it blocked (a
  // parent fails with EBUSY/ENOTEMPTY because of its child: it is not busy itself); v2 `populated 1` with no pid
  // listed is busy too; anything else is reported with rmdir's own message.
  const blocked: BlockedReport[] = [];
  const failed = rep?.failed ?? [];
  if (failed.length > 0) {
    const own = new Map<string, number[]>();
    for (const h of rep!.holders) {
      const l = own.get(h.dir);
      if (l) l.push(h.pid);
      else own.set(h.dir, [h.pid]);
    }
    const failedSet = new Set(failed);
    // For each refused dir, the first blocker below it, best reason first: a holder, a refused dir, a kept one, any.
    const blocker = new Map<string, string>();
    const mark = (below: string) => {
      for (let a = parentOf(below); a !== ''; a = parentOf(a)) if (failedSet.has(a) && !blocker.has(a)) blocker.set(a, below);
    };
    for (const d of own.keys()) mark(d);
    for (const d of failed) if (!/No such file or directory/i.test(rep!.rmErrors.get(d) ?? '')) mark(d);
    for (const d of kept) mark(d);
    for (const d of rep!.left) mark(d);
    for (const f of failed) {
      const err = rep!.rmErrors.get(f) ?? '';
      if (/No such file or directory/i.test(err)) {
        vanished.add(f); // someone else removed it between our stat and our rmdir
        continue;
      }
      const mine = own.get(f);
      if (mine && mine.length > 0) {
        const pids = [...new Set(mine)].map((pid) => rep!.procs.get(pid) ?? { pid, state: '?', comm: '', cmdline: '' });
        const status = holderStatus(pids);
        busy.push({ path: f, pids, status });
        continue;
      }
      const by = blocker.get(f);
      if (by !== undefined) {
        blocked.push({ path: f, blocked_by: by });
        continue;
      }
      if (rep!.populated.get(f) === true) {
        busy.push({ path: f, pids: [], status: 'busy' }); // v2 says populated, yet no process is listed in it
        continue;
      }
      refused.push({ path: f, reason: `rmdir: ${err || 'still there after rmdir'}` });
    }
  }
  const restartNeeded = busy.some((b) => b.status === 'restart_needed');
  const rebootRequired = busy.some((b) => b.status === 'reboot_required');
  const wouldRemove = rep?.wouldRemove ?? [];
  const deferred = plan.skipped.filter((s) => s.reason.startsWith('max_removals'));

  const counts = {
    leaked: c.counts.total,
    planned: plan.remove.length,
    removed: removed.length,
    would_remove: wouldRemove.length,
    busy: busy.length,
    too_young: tooYoung.size,
    vanished: vanished.size,
    refused: refused.length,
    blocked: blocked.length,
    deferred: deferred.length,
    killed: rep?.killed.length ?? 0,
  };
  const changed = ctx.check ? wouldRemove.length > 0 : removed.length > 0;
  const res: ModuleResult = {
    ...base,
    status: busy.length > 0 ? 'failed' : changed ? 'changed' : 'ok',
    changed,
    cgroup_mode: c.cgroup_mode,
    removed,
    ...(ctx.check ? { would_remove: wouldRemove } : {}),
    busy,
    too_young: [...tooYoung],
    vanished: [...vanished],
    refused,
    blocked,
    deferred,
    skipped: plan.skipped,
    killed: rep?.killed ?? [],
    restart_needed: restartNeeded,
    reboot_required: rebootRequired,
    counts,
    live_pods: c.live_pods,
    terminating_pods: c.terminating_pods,
  };
  res.msg = pruneMessage(res, counts, busy, ctx.check);
  return res;
}

function pruneMessage(res: ModuleResult, n: Record<string, number>, busy: BusyReport[], check: boolean): string {
  const parts: string[] = [];
  parts.push(check ? `would remove ${n.would_remove} leaked cgroups` : `removed ${n.removed} leaked cgroups`);
  if (n.too_young) parts.push(`${n.too_young} younger than min_age kept`);
  if (n.vanished) parts.push(`${n.vanished} vanished before we got there`);
  if (n.refused) parts.push(`${n.refused} refused at the re-check`);
  if (n.blocked) parts.push(`${n.blocked} kept because a dir below them is still there`);
  if (n.deferred) parts.push(`${n.deferred} left for the next run (max_removals)`);
  if (n.killed) parts.push(`killed ${n.killed} straggler processes`);
  if (busy.length) {
    const who = busy
      .slice(0, 3)
      .map((b) => `${b.path} held by ${b.pids.slice(0, 3).map((x) => `pid ${x.pid} (${x.state}) ${x.cmdline || x.comm}`).join(', ') || 'unknown processes'}`)
      .join('; ');
    parts.push(`${busy.length} leaked cgroups still hold processes: ${who}${busy.length > 3 ? '; ...' : ''}`);
    if (res.reboot_required) parts.push('a process in D state holds one: reboot required (no kill, no rmdir can clear it)');
    else if (res.restart_needed) parts.push("crio's own processes hold some: drain the node and restart crio");
    else parts.push('kill the stragglers (kill_stragglers: true) or drain the node and restart crio');
  }
  return parts.join('; ');
}
