/**
 * Runs one play: hosts, serial batches, a plain async walk per host (bounded by forks, no lockstep),
 * block/rescue/always, handlers, any_errors_fatal and max_fail_percentage.
 */
import { dirname } from 'node:path';
import type { LimitFunction } from 'p-limit';
import type { BlockTask, ModuleTask, Play, TaskNode } from '../playbook/types.js';
import type { RunContext } from './context.js';
import type { TransportPool } from './connection.js';
import { HostState, type Vars } from './host-state.js';
import { computeBatches, exceedsMaxFail } from './plan.js';
import { innerScope, playScope, runTask, type ArgsValidator, type HostEnv, type TaskScope } from './task-runner.js';
import type { TemplateEngine } from './template-engine.js';

/** What the executor needs from an inventory. */
export interface InventoryView {
  /** All hosts, inventory order. */
  hosts(): string[];
  /** Merged inventory vars of a host (all < parent groups < child groups < host). */
  hostVars(host: string): Vars;
  /** Group name -> hosts (descendants included), for the `groups` variable. */
  groups(): Record<string, string[]>;
  /** Hosts matching an Ansible host pattern, inventory order. */
  select(pattern: string): string[];
}

export interface ExecutorDeps {
  engine: TemplateEngine;
  validate: ArgsValidator;
  isTemplateError: (e: unknown) => boolean;
  omit: string;
}

/** Shared by all plays of one run. */
export interface RunState {
  ctx: RunContext;
  deps: ExecutorDeps;
  inventory: InventoryView;
  pool: TransportPool;
  limiter: LimitFunction;
  playbookFile: string;
  states: Map<string, HostState>;
  /** hostvars: one getter per host, read when a template looks. */
  hostvars: Vars;
  groups: Record<string, string[]>;
  /** A host was stopped by an internal error (no failed result to count): the run must not exit 0. */
  internalError?: boolean;
  /** Bumped whenever a host fails or becomes unreachable: invalidates the cached live-host lists. */
  generation: number;
  /** host -> group_names, computed once. */
  groupNames?: Map<string, string[]>;
}

export type PlayOutcome = 'continue' | 'stop' | 'aborted' | 'interrupted';

type WalkResult = 'ok' | 'failed' | 'unreachable' | 'stopped';

interface BatchControl {
  /** any_errors_fatal or max_fail_percentage tripped: no host starts a new task. */
  fatal: boolean;
  /** Why, for play_aborted. */
  reason?: string;
  size: number;
  /** Hosts of the batch whose failure is final (not rescued, not ignored). */
  failedHosts: Set<string>;
}

interface Walk {
  env: HostEnv;
  batch: BatchControl;
  /** Inside a block that has a rescue section (a failure is not final). */
  rescuable: boolean;
  /** The last failed task and result, for ansible_failed_task / ansible_failed_result (shared by reference). */
  failure: { last?: { task: ModuleTask; name: string; result: Vars } };
}

export function hostState(run: RunState, host: string): HostState {
  let s = run.states.get(host);
  if (!s) {
    s = new HostState(host, run.inventory.hostVars(host));
    run.states.set(host, s);
  }
  return s;
}

/** Hosts a play runs on: its pattern, intersected with --limit. */
export function playHosts(run: RunState, play: Play): string[] {
  const matched = run.inventory.select(play.hosts);
  const limit = run.ctx.options.limit;
  if (limit === undefined || limit === '') return matched;
  const allowed = new Set(run.inventory.select(limit));
  return matched.filter((h) => allowed.has(h));
}

export async function runPlay(play: Play, run: RunState): Promise<PlayOutcome> {
  const { ctx } = run;
  const matched = playHosts(run, play);
  const live = matched.filter((h) => hostState(run, h).alive);
  ctx.events.emit({ kind: 'play_start', play: play.name, hosts: live });
  if (live.length === 0) {
    ctx.events.emit({ kind: 'play_no_hosts', play: play.name });
    return 'continue';
  }
  for (const h of live) hostState(run, h).startPlay();

  const batches = computeBatches(live, play.serial);
  for (let i = 0; i < batches.length; i++) {
    if (ctx.signal.aborted) return 'interrupted';
    const batch = batches[i]!;
    ctx.events.emit({ kind: 'batch_start', play: play.name, hosts: batch, batch: i + 1, batches: batches.length });
    const control: BatchControl = { fatal: false, size: batch.length, failedHosts: new Set() };
    await Promise.all(batch.map((h) => run.limiter(() => runHostPlay(play, h, batch, live, control, run))));
    if (ctx.signal.aborted) return 'interrupted';

    const failed = batch.filter((h) => hostState(run, h).failed).length;
    const unreachable = batch.filter((h) => hostState(run, h).unreachable).length;
    if (!control.fatal && exceedsMaxFail(failed, batch.length, play.maxFailPercentage)) {
      control.fatal = true;
      control.reason = maxFailReason(play, failed, batch.length);
    }
    if (control.fatal) {
      ctx.events.emit({ kind: 'play_aborted', play: play.name, reason: control.reason ?? 'aborted' });
      return 'aborted';
    }
    // ansible-playbook ends the whole run when every host of a batch failed ("NO MORE HOSTS LEFT")
    if (failed + unreachable === batch.length) return 'stop';
  }
  return 'continue';
}

async function runHostPlay(play: Play, host: string, batch: string[], allHosts: string[], control: BatchControl, run: RunState): Promise<void> {
  const { ctx } = run;
  const state = hostState(run, host);
  if (!state.alive || control.fatal || ctx.signal.aborted) return;
  // Live host lists, recomputed only when some host failed since (thousands of hosts x tasks).
  const aliveCache = new Map<string[], { gen: number; hosts: string[] }>();
  const aliveOf = (hosts: string[]) => {
    const c = aliveCache.get(hosts);
    if (c && c.gen === run.generation) return c.hosts;
    const fresh = hosts.filter((h) => hostState(run, h).alive);
    aliveCache.set(hosts, { gen: run.generation, hosts: fresh });
    return fresh;
  };
  const groupNames = groupNamesOf(run).get(host) ?? [];
  const magic: Vars = {
    inventory_hostname: host,
    inventory_hostname_short: host.split('.')[0],
    group_names: groupNames,
    groups: run.groups,
    hostvars: run.hostvars,
    ansible_play_name: play.name,
    ansible_play_hosts_all: allHosts,
    playbook_dir: dirname(run.playbookFile),
    omit: run.deps.omit,
    ansible_run_tags: ctx.options.tags.length > 0 ? ctx.options.tags : ['all'],
    ansible_skip_tags: ctx.options.skipTags,
  };
  // Live views: read each time a task's vars are built.
  Object.defineProperty(magic, 'ansible_play_hosts', { enumerable: true, get: () => aliveOf(allHosts) });
  Object.defineProperty(magic, 'play_hosts', { enumerable: true, get: () => aliveOf(batch) });
  Object.defineProperty(magic, 'ansible_play_batch', { enumerable: true, get: () => aliveOf(batch) });

  const env: HostEnv = {
    ctx,
    engine: run.deps.engine,
    pool: run.pool,
    play,
    state,
    magic,
    log: ctx.logger.child({ host }),
    validate: run.deps.validate,
    isTemplateError: run.deps.isTemplateError,
  };
  const w: Walk = { env, batch: control, rescuable: false, failure: {} };
  let r: WalkResult;
  try {
    r = await walk(play.tasks, playScope(play), w);
    if (r === 'ok') r = await runHandlers(play, w);
  } catch (e) {
    // A bug of ours while walking one host: that host fails, the others go on; the stack goes to the log.
    env.log.error('internal error while running the host', { error: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined });
    ctx.events.emit({ kind: 'warning', host, message: `internal error, host stopped: ${e instanceof Error ? e.message : String(e)}` });
    r = 'failed';
    run.internalError = true;
  }
  settle(r, w, run);
  ctx.events.emit({ kind: 'host_done', play: play.name, host });
}

function groupNamesOf(run: RunState): Map<string, string[]> {
  if (!run.groupNames) {
    const m = new Map<string, string[]>();
    for (const [g, hs] of Object.entries(run.groups)) {
      if (g === 'all') continue;
      for (const h of hs) {
        let l = m.get(h);
        if (!l) m.set(h, (l = []));
        l.push(g);
      }
    }
    for (const l of m.values()) l.sort();
    run.groupNames = m;
  }
  return run.groupNames;
}

/** Record a host's final state for this play. */
function settle(r: WalkResult, w: Walk, run: RunState): void {
  const { state } = w.env;
  if (r === 'failed') state.markFailed();
  if (r === 'unreachable') state.markUnreachable();
  if (r === 'failed' || r === 'unreachable') run.generation++;
}

function maxFailReason(play: Play, failed: number, size: number): string {
  return `max_fail_percentage ${play.maxFailPercentage}% exceeded: ${failed} of ${size} hosts failed`;
}

/**
 * A failure that is final for the host. any_errors_fatal (failed or unreachable) stops the batch; so does
 * passing max_fail_percentage (failures only), checked as each host fails, as Ansible checks after each
 * task: the other hosts finish the task they are running and start no new one.
 */
function finalFailure(w: Walk, kind: 'failed' | 'unreachable'): void {
  const { play, state } = w.env;
  const b = w.batch;
  if (kind === 'unreachable') state.markUnreachable();
  if (kind === 'failed') b.failedHosts.add(state.host);
  if (b.fatal) return;
  if (play.anyErrorsFatal) {
    b.fatal = true;
    b.reason = `any_errors_fatal: ${state.host} ${kind === 'failed' ? 'failed' : 'is unreachable'}`;
  } else if (kind === 'failed' && exceedsMaxFail(b.failedHosts.size, b.size, play.maxFailPercentage)) {
    b.fatal = true;
    b.reason = maxFailReason(play, b.failedHosts.size, b.size);
  }
}

async function walk(nodes: TaskNode[], scope: TaskScope, w: Walk): Promise<WalkResult> {
  const { ctx } = w.env;
  for (const node of nodes) {
    if (ctx.signal.aborted || w.batch.fatal) return 'stopped';
    let r: WalkResult;
    if (node.kind === 'block') r = await runBlock(node, scope, w);
    else {
      const o = await runTask(node, scope, w.env);
      if (o.status === 'interrupted') r = 'stopped';
      else if (o.status === 'unreachable') {
        finalFailure(w, 'unreachable');
        r = 'unreachable';
      } else if (o.status === 'failed' && !o.ignored) {
        w.failure.last = { task: node, name: o.name ?? node.module, result: o.result ?? {} };
        if (!w.rescuable) finalFailure(w, 'failed');
        r = 'failed';
      } else r = 'ok';
    }
    if (r !== 'ok') return r;
  }
  return 'ok';
}

async function runBlock(block: BlockTask, outer: TaskScope, w: Walk): Promise<WalkResult> {
  const { ctx, state, play } = w.env;
  const scope = innerScope(outer, block);
  const hasRescue = block.rescue.length > 0;
  let r = await walk(block.block, scope, { ...w, rescuable: w.rescuable || hasRescue });
  if (r === 'failed' && hasRescue) {
    // Counted as Ansible does: the failure becomes "rescued" as soon as the rescue section starts.
    ctx.events.emit({ kind: 'host_rescued', play: play.name, host: state.host });
    const f = w.failure.last;
    if (f) {
      state.setPlayFacts({
        ansible_failed_task: { name: f.name, action: f.task.module, args: f.task.args, tags: f.task.tags },
        ansible_failed_result: f.result,
      });
    }
    r = await walk(block.rescue, scope, w);
  }
  if (r === 'stopped' && ctx.signal.aborted && block.always.length > 0) {
    // Ctrl-C / SIGTERM inside a block: its always: section still runs (uncordon, release a lock), bounded by its
    // own task timeouts, then the host stops. A second Ctrl-C exits at once (run-command).
    await walk(block.always, scope, cleanupWalk(w));
    return 'stopped';
  }
  if (r === 'unreachable' || r === 'stopped') return r;
  if (block.always.length > 0) {
    const ra = await walk(block.always, scope, w);
    if (ra !== 'ok') return ra;
  }
  return r;
}

/** The same walk with a run context whose signal is not aborted: for always: sections after an interrupt. */
function cleanupWalk(w: Walk): Walk {
  const ctx = { ...w.env.ctx, signal: new AbortController().signal };
  return { ...w, env: { ...w.env, ctx } };
}

/** Handlers the host notified, in definition order; a handler may notify later ones. */
async function runHandlers(play: Play, w: Walk): Promise<WalkResult> {
  const { ctx, state } = w.env;
  const scope = playScope(play);
  for (let round = 0; round < 10 && state.notifications().length > 0; round++) {
    const pending = new Set(state.notifications());
    for (const n of pending) state.clearNotification(n);
    const known = new Set(play.handlers.flatMap((h) => [h.name ?? h.module, ...h.listen]));
    for (const n of pending) {
      if (!known.has(n)) ctx.events.emit({ kind: 'warning', host: state.host, message: `handler '${n}' was notified but no handler has that name or listens to it` });
    }
    for (const h of play.handlers) {
      if (ctx.signal.aborted || w.batch.fatal) return 'stopped';
      const names = [h.name ?? h.module, ...h.listen];
      if (!names.some((n) => pending.has(n))) continue;
      ctx.events.emit({ kind: 'handler_start', play: play.name, handler: h.name ?? h.module, host: state.host });
      const o = await runTask(h, scope, w.env, { handler: true });
      if (o.status === 'interrupted') return 'stopped';
      if (o.status === 'unreachable') {
        finalFailure(w, 'unreachable');
        return 'unreachable';
      }
      if (o.status === 'failed' && !o.ignored) {
        finalFailure(w, 'failed');
        return 'failed';
      }
    }
  }
  return 'ok';
}
