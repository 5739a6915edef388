/** Builds inventories, playbooks and run contexts for executor behaviour tests (real LocalTransport, real modules). */
import { writeFileSync } from 'node:fs';
import winston from 'winston';
import { EventBus, type RunEvent } from '../../src/events/events.js';
import type { RunContext } from '../../src/executor/context.js';
import type { RunOptions } from '../../src/contracts/run-options.js';
import type { TransportFactory } from '../../src/transport/types.js';
import { builtinModules } from '../../src/modules/index.js';
import { LocalTransport } from '../../src/transport/local.js';
import type { Transport } from '../../src/transport/types.js';
import type { Inventory } from '../../src/inventory/types.js';
import type { BlockTask, Loc, ModuleTask, Play, Playbook, TaskNode } from '../../src/playbook/types.js';
import { until } from '../helpers/until.js';
import { readPidFile, startOfSelf } from '../helpers/proc.js';

const loc: Loc = { file: 'test.yml', line: 1, column: 1 };

/** hosts host1..hostN (or named), all ansible_connection=local, with per-host vars. */
export function inventory(hosts: Record<string, Record<string, unknown>> | number, groups: Record<string, string[]> = {}): Inventory {
  const spec: Record<string, Record<string, unknown>> =
    typeof hosts === 'number' ? Object.fromEntries(Array.from({ length: hosts }, (_, i) => [`host${i + 1}`, {}])) : hosts;
  const inv: Inventory = { hosts: new Map(), groups: new Map(), sources: ['test'] };
  const names = Object.keys(spec);
  const grouped = new Set(Object.values(groups).flat());
  inv.groups.set('all', { name: 'all', hosts: [], children: ['ungrouped', ...Object.keys(groups)], vars: {} });
  inv.groups.set('ungrouped', { name: 'ungrouped', hosts: names.filter((h) => !grouped.has(h)), children: [], vars: {} });
  for (const [g, hs] of Object.entries(groups)) inv.groups.set(g, { name: g, hosts: hs, children: [], vars: {} });
  for (const h of names) inv.hosts.set(h, { name: h, vars: { ansible_connection: 'local', ...spec[h] } });
  return inv;
}

export function task(module: string, args: Record<string, unknown> = {}, extra: Partial<ModuleTask> = {}): ModuleTask {
  return { kind: 'module', module, args, when: [], tags: [], vars: {}, loc, loopVar: 'item', notify: [], listen: [], ...extra };
}

export function sh(cmd: string, extra: Partial<ModuleTask> = {}): ModuleTask {
  return task('shell', { cmd }, { name: extra.name ?? cmd, ...extra });
}

export function block(b: TaskNode[], extra: Partial<BlockTask> = {}): BlockTask {
  return { kind: 'block', block: b, rescue: [], always: [], when: [], tags: [], vars: {}, loc, ...extra };
}

export function play(tasks: TaskNode[], extra: Partial<Play> = {}): Play {
  return { name: 'test play', hosts: 'all', vars: {}, gatherFacts: false, serial: [], anyErrorsFatal: false, tags: [], tasks, handlers: [], loc, ...extra };
}

export function playbook(...plays: Play[]): Playbook {
  return { file: '/tmp/test-playbook.yml', plays };
}

export class CountingFactory implements TransportFactory {
  created: string[] = [];
  closed: string[] = [];
  create(host: string): Transport {
    this.created.push(host);
    const t = new LocalTransport(host);
    const close = t.close.bind(t);
    t.close = async () => {
      this.closed.push(host);
      await close();
    };
    return t;
  }
}

export interface Harness {
  ctx: RunContext;
  events: RunEvent[];
  factory: CountingFactory;
  abort: AbortController;
}

export function harness(opts: Partial<RunOptions> = {}, factory: TransportFactory = new CountingFactory()): Harness {
  const events: RunEvent[] = [];
  const bus = new EventBus();
  bus.add({ handle: (e) => events.push(e) });
  const abort = new AbortController();
  const options: RunOptions = {
    forks: 10,
    check: false,
    tags: [],
    skipTags: [],
    extraVars: {},
    taskTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    become: false,
    knownHosts: '/dev/null',
    hostKeyChecking: 'off',
    verbosity: 0,
    ...opts,
  };
  const logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console()] });
  const ctx: RunContext = { options, logger, events: bus, modules: builtinModules(), transports: factory, signal: abort.signal };
  return { ctx, events, factory: factory as CountingFactory, abort };
}

type TaskResultEvent = Extract<RunEvent, { kind: 'task_result' }>;

/** task_result events (aggregates and single results; per-item ones only with items=true). */
export function results(events: RunEvent[], filter: { host?: string; task?: string; items?: boolean } = {}): TaskResultEvent[] {
  return events.filter(
    (e): e is TaskResultEvent =>
      e.kind === 'task_result' &&
      (filter.host === undefined || e.host === filter.host) &&
      (filter.task === undefined || e.task === filter.task) &&
      (filter.items ? 'item' in e : !('item' in e)),
  );
}

/** "task:status" per host, in order. */
export function trail(events: RunEvent[], host: string): string[] {
  return results(events, { host }).map((e) => `${e.task}:${e.status}${e.ignored ? '(ignored)' : ''}`);
}

/**
 * A shell task that writes its PID and start time to `pidFile` and then becomes `cmd` (exec): the test knows when
 * it runs and can tell afterwards whether it was killed (endedProcessOf).
 */
export function running(pidFile: string, cmd: string, extra: Partial<ModuleTask> = {}): ModuleTask {
  return sh(`echo ${startOfSelf} > ${pidFile}; exec ${cmd}`, extra);
}

/**
 * Interrupt the run (`reason`, as the CLI's signal handler does) once every one of `pidFiles` names a running
 * task: at a point of the run, not at a time, which a busy machine would shift.
 */
export function interruptWhenRunning(h: Harness, pidFiles: string[], reason: 'SIGINT' | 'SIGTERM' = 'SIGINT'): void {
  const abort = () => h.abort.abort(reason);
  void until(() => pidFiles.every((f) => readPidFile(f) !== undefined), `tasks running (${pidFiles.join(', ')})`).then(abort, abort);
}

/** Create `file` when `host`'s result for `task` is reported (a task of another host can wait for it). */
export function touchOnResult(h: Harness, host: string, task: string, file: string): void {
  h.ctx.events.add({
    handle: (e) => {
      if (e.kind === 'task_result' && e.host === host && e.task === task) writeFileSync(file, '');
    },
  });
}
