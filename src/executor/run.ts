/**
 * `runPlaybook`: every play in order over the inventory's hosts, emitting the run's events; closes every
 * connection at the end (also on Ctrl-C and on exceptions). Exit codes as ansible-playbook's.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { Inventory } from '../inventory/types.js';
import type { Playbook } from '../playbook/types.js';
import { OMIT, TemplateError, Templar } from '../playbook/template.js';
import { EventBus, type HostStats, type RunEvent } from '../events/events.js';
import { interruptSignalName, type RunContext } from './context.js';
import { TransportPool } from './connection.js';
import { hostVars, groupsMap } from '../inventory/vars.js';
import { selectHosts } from '../inventory/patterns.js';
import { validateModuleArgs } from '../playbook/load.js';
import { StatsAggregator, exitCodeFor } from '../events/stats.js';
import { ExitCode } from '../errors.js';
import type { Vars } from './host-state.js';
import { inventoryView, type InventoryResolvers } from './inventory-view.js';
import { hostState, playHosts, runPlay, type ExecutorDeps, type InventoryView, type RunState } from './play-runner.js';

export interface RunSummary {
  exitCode: number;
  stats: Record<string, HostStats>;
  interrupted: boolean;
}

export interface RunPlaybookOverrides {
  deps?: Partial<ExecutorDeps>;
  inventory?: InventoryResolvers;
  around?: AroundPlays;
}

/**
 * Work a command does around the plays, with the run's events: `before` after run_start and before the first
 * play; `after` once the plays ended (Ctrl-C included) and connections closed, before run_end, so the recap and
 * every report include what it emitted. Neither may throw: they report through events.
 */
export interface AroundPlays {
  before?(emit: (e: RunEvent) => void, signal: AbortSignal): Promise<void>;
  after?(emit: (e: RunEvent) => void): Promise<void>;
}

/** The inventory layer's own resolvers (Ansible's precedence, patterns, @retry files). */
export const inventoryResolvers: InventoryResolvers = {
  hostVars,
  groupsMap,
  selectHosts: (inv, pattern) => selectHosts(inv, pattern),
};

export function defaultDeps(): ExecutorDeps {
  return {
    engine: new Templar(),
    // again after templating: a value that was a template at load time is checked now
    validate: (def, args, loc) => validateModuleArgs(def, args, loc, { allowTemplates: false }),
    isTemplateError: (e) => e instanceof TemplateError,
    omit: OMIT,
  };
}

export async function runPlaybook(playbook: Playbook, inventory: Inventory, ctx: RunContext, overrides: RunPlaybookOverrides = {}): Promise<RunSummary> {
  const deps: ExecutorDeps = { ...defaultDeps(), ...overrides.deps };
  const view = inventoryView(inventory, overrides.inventory ?? inventoryResolvers);
  const recap = new StatsAggregator();
  // Our own bus: the recap counter sees every event first, then the caller's sinks.
  const events = new EventBus();
  events.add({ handle: (e: RunEvent) => recap.handle(e) });
  events.add({ handle: (e: RunEvent) => ctx.events.emit(e) });
  const runCtx: RunContext = { ...ctx, events };
  // Every running task listens to the run's signal (Ctrl-C), up to --forks at once: not a leak.
  setMaxListeners(0, ctx.signal);

  const pool = new TransportPool(ctx.transports);
  const run: RunState = {
    ctx: runCtx,
    deps,
    inventory: view,
    pool,
    limiter: pLimit(Math.max(1, ctx.options.forks)),
    playbookFile: playbook.file,
    states: new Map(),
    hostvars: {},
    groups: view.groups(),
    generation: 0,
  };
  run.hostvars = hostvarsView(view, run);

  const allHosts = new Set<string>();
  for (const play of playbook.plays) for (const h of playHosts(run, play)) allHosts.add(h);
  events.emit({
    kind: 'run_start',
    playbook: playbook.file,
    checkMode: ctx.options.check,
    startedAt: new Date().toISOString(),
    hosts: view.hosts().filter((h) => allHosts.has(h)),
  });

  let aborted = false;
  let interrupted = false;
  const emit = (e: RunEvent) => events.emit(e);
  try {
    await overrides.around?.before?.(emit, ctx.signal);
    for (const play of playbook.plays) {
      if (ctx.signal.aborted) break;
      const outcome = await runPlay(play, run);
      if (outcome === 'aborted') aborted = true;
      if (outcome !== 'continue') break;
    }
  } finally {
    interrupted = ctx.signal.aborted;
    if (interrupted) events.emit({ kind: 'interrupted', signal: interruptSignalName(ctx.signal) });
    await pool.closeAll();
    await overrides.around?.after?.(emit);
  }

  // An interrupted run's recap lists every host of the run, those stopped before their first result with zeros.
  const stats = recap.stats(interrupted ? allHosts : []);
  let exitCode = exitCodeFor(stats, interrupted);
  // a play stopped by any_errors_fatal / max_fail_percentage is a failed run even if no host counted a failure
  if ((aborted || run.internalError) && exitCode === ExitCode.OK) exitCode = ExitCode.HOST_FAILED;
  events.emit({ kind: 'run_end', finishedAt: new Date().toISOString(), exitCode, stats, interrupted });
  return { exitCode, stats, interrupted };
}

/** `hostvars[h]`: a host's inventory vars plus its registered vars and facts, read live. */
function hostvarsView(view: InventoryView, run: RunState): Vars {
  const out: Vars = {};
  for (const h of view.hosts()) {
    Object.defineProperty(out, h, {
      enumerable: true,
      get: () => {
        const s = hostState(run, h);
        return { ...s.inventoryVars, ...s.factsLayer(), ...run.ctx.options.extraVars, inventory_hostname: h };
      },
    });
  }
  return out;
}
