/**
 * Runs one module task on one host, the way ansible-playbook's TaskExecutor does: when, tags, loop,
 * templated + re-validated args, retries/until, changed_when/failed_when, ignore_errors, register,
 * facts, check mode, become, timeout, no_log, notify. Emits task_start / task_retry / task_result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectError, errorMessage } from '../errors.js';
import type { ModuleContext, ModuleDefinition, ModuleResult, TaskStatus } from '../modules/types.js';
import type { Condition, Loc, ModuleTask, Play, TaskCommon } from '../playbook/types.js';
import type { BecomeSpec, ExecOptions, ExecResult, Transport } from '../transport/types.js';
import { OMIT } from '../playbook/template.js';
import type { RunEvent } from '../events/events.js';
import { interruptSignalName, type RunContext } from './context.js';
import type { RunLogger } from '../contracts/logger.js';
import type { TransportPool } from './connection.js';
import { HostState, mergeVarLayers, type Vars } from './host-state.js';
import { resolveBecome, resolveCheckMode, shouldRunByTags } from './plan.js';
import { resolveLazyVars, type TemplateEngine } from './template-engine.js';

/** Keywords a task inherits from its enclosing blocks and play. */
export interface TaskScope {
  /** Conditions of enclosing blocks: evaluated for every task inside, with the task's vars. */
  when: Condition[];
  tags: string[];
  /** Block vars, outermost first. */
  vars: Vars[];
  become?: boolean;
  becomeUser?: string;
  ignoreErrors?: Condition;
  noLog?: Condition;
  checkMode?: boolean;
  timeout?: number;
  /** `environment:` of the play and enclosing blocks, outermost first (merged, inner wins). */
  environment: Array<Record<string, unknown> | string>;
}

export function playScope(play: Play): TaskScope {
  const s: TaskScope = { when: [], tags: [...play.tags], vars: [], environment: [] };
  if (play.become !== undefined) s.become = play.become;
  if (play.becomeUser !== undefined) s.becomeUser = play.becomeUser;
  if (play.checkMode !== undefined) s.checkMode = play.checkMode;
  if (play.ignoreErrors !== undefined) s.ignoreErrors = play.ignoreErrors;
  if (play.timeout !== undefined) s.timeout = play.timeout;
  if (play.environment !== undefined) s.environment.push(play.environment);
  return s;
}

/** The scope for the children of a block (or the effective keywords of a task). */
export function innerScope(outer: TaskScope, node: TaskCommon): TaskScope {
  const s: TaskScope = {
    when: [...outer.when, ...node.when],
    tags: [...outer.tags, ...node.tags],
    vars: [...outer.vars, node.vars],
    environment: node.environment !== undefined ? [...outer.environment, node.environment] : outer.environment,
  };
  const pick = <K extends 'become' | 'becomeUser' | 'ignoreErrors' | 'noLog' | 'checkMode' | 'timeout'>(k: K) => {
    const v = (node[k] ?? outer[k]) as TaskScope[K];
    if (v !== undefined) s[k] = v;
  };
  pick('become');
  pick('becomeUser');
  pick('ignoreErrors');
  pick('noLog');
  pick('checkMode');
  pick('timeout');
  return s;
}

/** Validates templated parameters against the module schema; throws PlaybookError with file:line. */
export type ArgsValidator = (def: ModuleDefinition, args: Record<string, unknown>, loc: Loc) => unknown;

/** Everything a host needs to run tasks of one play. */
export interface HostEnv {
  ctx: RunContext;
  engine: TemplateEngine;
  pool: TransportPool;
  play: Play;
  state: HostState;
  /** inventory_hostname, groups, hostvars, play_hosts, omit... (getters allowed: read at each task). */
  magic: Vars;
  /** ctx.logger.child({ host }) */
  log: RunLogger;
  validate: ArgsValidator;
  /** Is a template error (TemplateError of the template layer)? */
  isTemplateError: (e: unknown) => boolean;
}

export type TaskOutcomeStatus = TaskStatus | 'not_selected' | 'interrupted';

export interface TaskOutcome {
  status: TaskOutcomeStatus;
  /** The registered shape (changed/failed booleans) of the final result. */
  result?: Vars;
  ignored?: boolean;
  /** Display name used in the events. */
  name?: string;
}

/** The value `omit` renders to; parameters equal to it are dropped (Ansible's `default(omit)`). */
export const OMIT_TOKEN = OMIT;

const SKIP_REASON = 'Conditional result was False';
export const CHECK_MODE_SKIP_MSG = 'skipped, running in check mode';

/** A module's outcome with Ansible's derived booleans. */
interface Outcome {
  status: TaskStatus;
  fields: Vars;
}

function isFailed(o: Outcome): boolean {
  return o.status === 'failed';
}

function condText(c: Condition): string {
  return typeof c === 'string' ? c : String(c);
}

/** `register:` value: result fields plus changed/failed booleans (and skipped: true), as Ansible stores it. */
export function registeredValue(o: Outcome): Vars {
  const v: Vars = { ...o.fields };
  delete v.status;
  v.changed = o.status === 'changed' || (o.status === 'failed' && o.fields.changed === true);
  v.failed = o.status === 'failed';
  if (o.status === 'skipped') v.skipped = true;
  if (o.status === 'unreachable') v.unreachable = true;
  if (typeof v.stdout === 'string' && v.stdout_lines === undefined) v.stdout_lines = splitLines(v.stdout);
  if (typeof v.stderr === 'string' && v.stderr_lines === undefined) v.stderr_lines = splitLines(v.stderr);
  return v;
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The result carried by events: the registered shape plus `status`. */
function eventResult(o: Outcome): ModuleResult {
  const r = registeredValue(o);
  if (!r.failed) delete r.failed;
  return { ...r, status: o.status } as ModuleResult;
}

/** Turn a module's result into an Outcome; a status missing or odd is derived from failed/changed/rc. */
function fromModule(r: ModuleResult): Outcome {
  const fields: Vars = { ...r };
  delete fields.status;
  let status: TaskStatus = r.status;
  if (!['ok', 'changed', 'failed', 'skipped', 'unreachable'].includes(status)) {
    if (r.failed === true || (typeof r.rc === 'number' && r.rc !== 0)) status = 'failed';
    else status = r.changed === true ? 'changed' : 'ok';
  }
  if (typeof fields.changed !== 'boolean') fields.changed = status === 'changed';
  return { status, fields };
}

function failed(msg: string, extra: Vars = {}): Outcome {
  return { status: 'failed', fields: { changed: false, msg, ...extra } };
}

/**
 * A task that ran out of time: ansible-playbook 2.14's result for a task `timeout:` (changed false, its msg word
 * for word), plus `timed_out`. Also what a command killed by --task-timeout makes of its task.
 */
function timedOut(module: string, seconds: number): Outcome {
  const n = Number(seconds.toFixed(3));
  return failed(`The ${module} action failed to execute in the expected time frame (${n}) and was terminated`, { timed_out: true });
}

/**
 * The module's view of the host's transport, noting whether a command was killed by the task's own time limit
 * (a module's shorter limits of its own, e.g. a poll, are the module's business). No extra work per command.
 */
class TimeoutWatch implements Transport {
  fired = false;
  constructor(
    private readonly inner: Transport,
    private readonly limitMs: number,
  ) {}
  get host(): string {
    return this.inner.host;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  async exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    const r = await this.inner.exec(script, opts);
    if (r.timedOut && opts.timeoutMs >= this.limitMs) this.fired = true;
    return r;
  }
  put(content: string | Buffer, remotePath: string, opts?: Parameters<Transport['put']>[2]): Promise<void> {
    return this.inner.put(content, remotePath, opts);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Drop parameters that rendered to the omit token (deep in mappings). */
export function removeOmitted(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== OMIT_TOKEN).map(removeOmitted);
  if (v !== null && typeof v === 'object') {
    const out: Vars = {};
    for (const [k, x] of Object.entries(v as Vars)) if (x !== OMIT_TOKEN) out[k] = removeOmitted(x);
    return out;
  }
  return v;
}

/** A transport for controller-only modules: they must never touch the host. */
class ControllerOnlyTransport implements Transport {
  constructor(readonly host: string) {}
  private refuse(): never {
    throw new Error('a controller-only module tried to use the connection');
  }
  async connect(): Promise<void> {
    this.refuse();
  }
  async exec(_script: string, _opts: ExecOptions): Promise<ExecResult> {
    this.refuse();
  }
  async put(): Promise<void> {
    this.refuse();
  }
  async close(): Promise<void> {
    /* nothing opened */
  }
}

function toInt(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(n)) throw new Error(`${what} must be a number, got ${JSON.stringify(v)}`);
  return Math.trunc(n);
}

/** The merged vars a task sees on a host (before any loop item). */
export function taskVars(env: HostEnv, scope: TaskScope, task: TaskCommon, extraMagic: Vars = {}): Vars {
  const { state, play, ctx } = env;
  const scopes = [...scope.vars, task.vars];
  const merged = mergeVarLayers({
    inventory: state.inventoryVars,
    play: play.vars,
    scopes,
    facts: state.factsLayer(),
    extra: ctx.options.extraVars,
    magic: { ...env.magic, ...extraMagic },
  });
  // Only user-written layers are templated lazily: registered results and facts are data (Ansible marks
  // them unsafe), and magic vars (hostvars!) are not walked.
  const facts = state.factsLayer();
  const candidates = new Set<string>(Object.keys(ctx.options.extraVars));
  for (const layer of [state.inventoryVars, play.vars, ...scopes]) {
    for (const k of Object.keys(layer)) if (!(k in facts)) candidates.add(k);
  }
  return resolveLazyVars(merged, candidates, env.engine);
}

export interface RunTaskOptions {
  /** Handlers are not filtered by tags. */
  handler?: boolean;
}

/** Run one task on one host. Never throws for a task's own failure. */
export async function runTask(task: ModuleTask, outer: TaskScope, env: HostEnv, opts: RunTaskOptions = {}): Promise<TaskOutcome> {
  const { ctx, engine, state, play } = env;
  const scope = innerScope(outer, task);
  // scope.vars now ends with task.vars; taskVars adds the task vars itself
  const blockScope: TaskScope = { ...scope, vars: scope.vars.slice(0, -1) };
  if (!opts.handler && !shouldRunByTags(scope.tags, ctx.options.tags, ctx.options.skipTags)) return { status: 'not_selected' };
  if (ctx.signal.aborted) return { status: 'interrupted' };

  const check = resolveCheckMode(scope.checkMode, ctx.options.check);
  const baseVars = taskVars(env, blockScope, task, { ansible_check_mode: check });

  let name = task.name ?? task.module;
  if (task.name !== undefined && task.name.includes('{')) {
    try {
      name = engine.renderString(task.name, baseVars);
    } catch {
      /* Ansible shows the raw name when it cannot be templated yet (e.g. uses the loop item) */
    }
  }
  const log = env.log.child({ host: state.host, task: name });
  let noLog = false;
  if (scope.noLog !== undefined) {
    try {
      noLog = engine.evalCondition(scope.noLog, baseVars);
    } catch {
      noLog = true; // when in doubt, hide
    }
  }

  const base = { play: play.name, task: name, module: task.module, host: state.host };
  ctx.events.emit({ kind: 'task_start', ...base });
  log.debug('task start', { module: task.module });

  const runner = new OneTask(task, scope, env, check, log, base, noLog);
  const started = Date.now();

  const evalIgnore = (vars: Vars): boolean => {
    if (scope.ignoreErrors === undefined) return false;
    try {
      return engine.evalCondition(scope.ignoreErrors, vars);
    } catch {
      return false;
    }
  };

  const emit = (o: Outcome, extra: { item?: unknown; ignored?: boolean; loop?: boolean; durationMs: number }) => {
    const ev: Extract<RunEvent, { kind: 'task_result' }> = {
      kind: 'task_result',
      ...base,
      status: o.status,
      result: eventResult(o),
      durationMs: extra.durationMs,
    };
    if ('item' in extra) ev.item = extra.item;
    if (extra.ignored) ev.ignored = true;
    if (noLog) ev.noLog = true;
    if (extra.loop) ev.loop = true;
    ctx.events.emit(ev);
    if (noLog) log.info('task result', { status: o.status, censored: true });
    else log.info('task result', { status: o.status, msg: o.fields.msg, rc: o.fields.rc });
  };

  // loop_control.label: what sinks show for an item (the registered result keeps the real item)
  const shownItem = (item: unknown, vars: Vars): unknown => {
    if (task.loopLabel === undefined) return item;
    try {
      return engine.render(task.loopLabel, vars);
    } catch {
      return task.loopLabel;
    }
  };

  // Interrupted after task_start: on record in the reports (no result, nothing counted), then the host stops.
  const interrupted = (extra: { item?: unknown } = {}): TaskOutcome => {
    ctx.events.emit({ kind: 'task_interrupted', ...base, durationMs: Date.now() - started, signal: interruptSignalName(ctx.signal), ...extra });
    log.warn('task interrupted', { signal: interruptSignalName(ctx.signal) });
    return { status: 'interrupted', name };
  };

  let final: Outcome;
  let ignored = false;
  if (task.loop === undefined) {
    const o = await runner.run(baseVars);
    if (o === 'interrupted') return interrupted();
    final = o;
    ignored = isFailed(final) && evalIgnore(baseVars);
    emit(final, { ignored, durationMs: Date.now() - started });
  } else {
    let items: unknown;
    try {
      items = engine.render(task.loop, baseVars);
    } catch (e) {
      items = e;
    }
    if (items instanceof Error || !Array.isArray(items)) {
      const msg =
        items instanceof Error
          ? `Error while evaluating the loop: ${errorMessage(items)}`
          : `Invalid data passed to 'loop', it requires a list, got this instead: ${JSON.stringify(items)}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.`;
      final = failed(msg);
      ignored = evalIgnore(baseVars);
      emit(final, { ignored, durationMs: Date.now() - started });
    } else if (items.length === 0) {
      final = { status: 'skipped', fields: { changed: false, skipped_reason: 'No items in the list', results: [] } };
      emit(final, { loop: true, durationMs: Date.now() - started });
    } else {
      const results: Vars[] = [];
      let loopVars = baseVars;
      let unreachable: Outcome | undefined;
      for (let index = 0; index < items.length; index++) {
        const item = items[index];
        const itemStarted = Date.now();
        if (index > 0 && task.loopPause !== undefined && task.loopPause > 0) {
          try {
            await sleep(task.loopPause * 1000, undefined, { signal: ctx.signal });
          } catch {
            return interrupted();
          }
        }
        const vars: Vars = {
          ...loopVars,
          [task.loopVar]: item,
          ansible_loop_var: task.loopVar,
          ansible_loop: { index: index + 1, index0: index, first: index === 0, last: index === items.length - 1, length: items.length },
        };
        if (task.indexVar !== undefined) {
          vars[task.indexVar] = index;
          vars.ansible_index_var = task.indexVar;
        }
        const o = await runner.run(vars);
        if (o === 'interrupted') return interrupted(noLog ? {} : { item: shownItem(item, vars) });
        if (o.status === 'unreachable') {
          unreachable = o;
          break;
        }
        const itemIgnored = isFailed(o) && evalIgnore(vars);
        emit(o, { item: shownItem(item, vars), ignored: itemIgnored, durationMs: Date.now() - itemStarted });
        results.push({ ...registeredValue(o), item, ansible_loop_var: task.loopVar });
        // facts set by one item are seen by the next (set_fact in a loop)
        const facts = o.fields.ansible_facts;
        if (facts && typeof facts === 'object') loopVars = { ...loopVars, ...(facts as Vars) };
      }
      if (unreachable) {
        final = unreachable;
        emit(final, { durationMs: Date.now() - started });
      } else {
        const anyFailed = results.some((r) => r.failed === true);
        const anyChanged = results.some((r) => r.changed === true);
        const allSkipped = results.every((r) => r.skipped === true);
        const status: TaskStatus = anyFailed ? 'failed' : allSkipped ? 'skipped' : anyChanged ? 'changed' : 'ok';
        const msg = anyFailed ? 'One or more items failed' : allSkipped ? 'All items skipped' : 'All items completed';
        final = { status, fields: { changed: anyChanged, msg, results } };
        ignored = anyFailed && evalIgnore(baseVars);
        emit(final, { ignored, loop: true, durationMs: Date.now() - started });
      }
    }
  }

  if (final.status === 'unreachable') return { status: 'unreachable', name };

  const reg = registeredValue(final);
  if (task.register) state.register(task.register, reg);
  if (final.status === 'changed' && task.notify.length > 0) {
    for (const n of task.notify) {
      let handler = n;
      try {
        handler = engine.renderString(n, baseVars);
      } catch {
        /* keep the raw name */
      }
      state.notify(handler);
    }
  }
  const out: TaskOutcome = { status: final.status, result: reg, name };
  if (ignored) out.ignored = true;
  return out;
}

/** One execution (one loop item): when, check mode, args, become, retries, changed/failed_when, facts. */
class OneTask {
  private readonly def: ModuleDefinition | undefined;

  constructor(
    private readonly task: ModuleTask,
    private readonly scope: TaskScope,
    private readonly env: HostEnv,
    private readonly check: boolean,
    private readonly log: RunLogger,
    private readonly base: { play: string; task: string; module: string; host: string },
    private readonly noLog: boolean,
  ) {
    this.def = env.ctx.modules.get(task.module);
  }

  async run(vars: Vars): Promise<Outcome | 'interrupted'> {
    const { engine, ctx } = this.env;
    const task = this.task;

    for (const c of [...this.scope.when]) {
      let ok: boolean;
      try {
        ok = engine.evalCondition(c, vars);
      } catch (e) {
        return failed(`The conditional check '${condText(c)}' failed. The error was: ${errorMessage(e)}`);
      }
      if (!ok) return { status: 'skipped', fields: { changed: false, skip_reason: SKIP_REASON, false_condition: c } };
    }

    const def = this.def;
    if (!def) return failed(`couldn't resolve module/action '${task.module}'`);
    if (this.check && !def.supportsCheckMode) return { status: 'skipped', fields: { changed: false, msg: CHECK_MODE_SKIP_MSG } };

    let params: unknown;
    try {
      const rendered = removeOmitted(engine.render(task.args, vars)) as Record<string, unknown>;
      params = this.env.validate(def, rendered, task.loc);
    } catch (e) {
      return failed(errorMessage(e));
    }

    const b = resolveBecome({
      keyword: this.scope.become,
      keywordUser: this.scope.becomeUser,
      varBecome: vars.ansible_become,
      varUser: vars.ansible_become_user,
      varPassword: vars.ansible_become_password ?? vars.ansible_become_pass,
      cliBecome: ctx.options.become,
      cliUser: ctx.options.becomeUser,
      cliPassword: ctx.options.becomePassword,
    });
    let become: BecomeSpec | undefined;
    if (b.become) {
      become = { user: b.user, method: 'sudo' };
      if (b.password !== undefined) become.password = b.password;
    }

    let environment: Record<string, string> | undefined;
    try {
      environment = this.renderEnvironment(vars);
    } catch (e) {
      return failed(errorMessage(e));
    }

    let retries = 1;
    let delayS = 5;
    try {
      if (task.until && task.until.length > 0) {
        const r = task.retries === undefined ? 3 : toInt(engine.render(task.retries, vars), 'retries');
        retries = r <= 0 ? 1 : r + 1;
      }
      if (task.delay !== undefined) delayS = toInt(engine.render(task.delay, vars), 'delay');
      if (delayS < 0) delayS = 1;
    } catch (e) {
      return failed(errorMessage(e));
    }

    let result: Outcome | undefined;
    let condVars: Vars = vars;
    for (let attempt = 1; attempt <= retries; attempt++) {
      const raw = await this.execModule(def, params, vars, become, environment);
      if (raw === 'interrupted') return raw;
      result = raw;
      if (result.status === 'unreachable') return result;

      condVars = { ...result.fields, ...vars };
      const facts = result.fields.ansible_facts;
      if (facts && typeof facts === 'object') {
        this.env.state.setFacts(facts as Vars);
        Object.assign(condVars, facts as Vars);
      }
      if (task.until && task.until.length > 0) result.fields.attempts = attempt;
      if (task.register) condVars[task.register] = registeredValue(result);

      if (result.status !== 'skipped') {
        let which = 'changed';
        try {
          if (task.changedWhen && task.changedWhen.length > 0) {
            const changed = task.changedWhen.every((c) => engine.evalCondition(c, condVars));
            result.fields.changed = changed;
            if (result.status !== 'failed') result.status = changed ? 'changed' : 'ok';
          }
          which = 'failed';
          if (task.failedWhen && task.failedWhen.length > 0) {
            const fw = task.failedWhen.some((c) => engine.evalCondition(c, condVars));
            result.fields.failed_when_result = fw;
            if (fw) result.status = 'failed';
            else if (result.status === 'failed') result.status = result.fields.changed === true ? 'changed' : 'ok';
          }
        } catch (e) {
          result.status = 'failed';
          result.fields[`${which}_when_result`] = errorMessage(e);
          if (result.fields.msg === undefined) result.fields.msg = errorMessage(e);
        }
        if (task.register) condVars[task.register] = registeredValue(result);
      }

      if (retries > 1) {
        let done: boolean;
        try {
          done = task.until!.every((c) => engine.evalCondition(c, condVars));
        } catch (e) {
          return failed(`The conditional check '${task.until!.map(condText).join(' and ')}' failed. The error was: ${errorMessage(e)}`);
        }
        if (done) break;
        if (attempt < retries) {
          this.env.ctx.events.emit({
            kind: 'task_retry',
            ...this.base,
            retriesLeft: retries - attempt,
            result: eventResult(result),
            ...(this.noLog ? { noLog: true } : {}),
          });
          this.log.info('retrying', { retriesLeft: retries - attempt });
          try {
            await sleep(delayS * 1000, undefined, { signal: ctx.signal });
          } catch {
            return 'interrupted';
          }
        } else {
          // out of attempts: failed, whatever the last result said
          result.status = 'failed';
          if (result.fields.msg === undefined) result.fields.msg = `Retries exhausted (${attempt} attempts), until condition never met`;
        }
      }
    }
    return result!;
  }

  /** The merged `environment:` (play < blocks < task), rendered; values become strings. */
  private renderEnvironment(vars: Vars): Record<string, string> | undefined {
    if (this.scope.environment.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const layer of this.scope.environment) {
      const v = this.env.engine.render(layer, vars);
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw new Error(`environment must be a mapping, got ${JSON.stringify(v)}`);
      }
      for (const [k, x] of Object.entries(v as Vars)) {
        if (x === null || x === undefined) continue;
        out[k] = typeof x === 'boolean' ? (x ? 'True' : 'False') : typeof x === 'object' ? JSON.stringify(x) : String(x);
      }
    }
    return out;
  }

  private async execModule(
    def: ModuleDefinition,
    params: unknown,
    vars: Vars,
    become: BecomeSpec | undefined,
    environment: Record<string, string> | undefined,
  ): Promise<Outcome | 'interrupted'> {
    const { ctx, engine, state, pool } = this.env;
    const task = this.task;
    const explicitTimeoutS = this.scope.timeout;
    // The module's signal: aborted by Ctrl-C (the run's signal) or by the task timeout below. Linked by hand:
    // AbortSignal.any() costs weak references and a registry per task.
    const taskAbort = new AbortController();
    const signal = taskAbort.signal;
    const onRunAbort = () => taskAbort.abort(ctx.signal.reason);
    if (ctx.signal.aborted) onRunAbort();
    else ctx.signal.addEventListener('abort', onRunAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      let transport: Transport;
      if (def.controllerOnly) transport = new ControllerOnlyTransport(state.host);
      else transport = await pool.get(state.host, vars);
      if (ctx.signal.aborted) return 'interrupted';

      // With a task timeout the executor's guard fires first and kills the command through the signal;
      // the transport's own timer is a backstop a moment later.
      const guarded = explicitTimeoutS !== undefined && explicitTimeoutS > 0;
      const limitS = guarded ? explicitTimeoutS : ctx.options.taskTimeoutMs / 1000;
      const timeoutMs = guarded ? explicitTimeoutS * 1000 + 1000 : ctx.options.taskTimeoutMs;
      const watched = new TimeoutWatch(transport, timeoutMs);
      const mctx: ModuleContext = {
        host: state.host,
        transport: watched,
        check: this.check,
        timeoutMs,
        vars,
        log: this.log,
        signal,
        evalExpression: (expr: string) => engine.evalExpression(expr, vars),
        evalCondition: (expr: string | boolean) => engine.evalCondition(expr, vars),
        verbosity: ctx.options.verbosity,
      };
      if (become) mctx.become = become;
      if (environment) mctx.environment = environment;
      if (ctx.kube) mctx.kube = ctx.kube;

      const running = def.run(params, mctx);
      running.catch(() => undefined); // a late rejection after a timeout must not go unhandled
      let r: ModuleResult | 'timeout';
      if (guarded) {
        const guard = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => {
            taskAbort.abort();
            resolve('timeout');
          }, limitS * 1000);
        });
        r = await Promise.race([running, guard]);
      } else {
        r = await running;
      }
      if (ctx.signal.aborted) return 'interrupted';
      // Whichever timeout fired, the task's `timeout:` (the guard) or --task-timeout (a command the transport
      // killed), the result is the same.
      if (r === 'timeout' || watched.fired) return timedOut(task.module, limitS);
      return fromModule(r);
    } catch (e) {
      if (ctx.signal.aborted) return 'interrupted';
      if (e instanceof ConnectError) {
        return { status: 'unreachable', fields: { changed: false, unreachable: true, msg: e.message } };
      }
      if (this.env.isTemplateError(e)) return failed(errorMessage(e));
      // A bug in a module: fail this task on this host, keep the run going, keep the stack in the log.
      this.log.error('module raised an exception', { error: errorMessage(e), stack: e instanceof Error ? e.stack : undefined });
      return failed(`MODULE FAILURE: ${errorMessage(e)}`, { exception: e instanceof Error ? e.stack : String(e) });
    } finally {
      if (timer) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onRunAbort);
    }
  }
}
