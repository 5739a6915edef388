/** Builds RunEvent sequences for report tests: a tiny script of what each host did. */
import { Writable } from 'node:stream';
import type { RunEvent, HostStats } from '../../src/events/events.js';
import type { ModuleResult, TaskStatus } from '../../src/modules/types.js';
import { StatsAggregator, exitCodeFor } from '../../src/events/stats.js';

export class Scenario {
  readonly events: RunEvent[] = [];
  play = '';
  constructor(playbook = 'site.yml', hosts: string[] = [], checkMode = false) {
    this.events.push({ kind: 'run_start', playbook, checkMode, startedAt: '2024-01-01T00:00:00.000Z', hosts });
  }
  startPlay(play: string, hosts: string[]): this {
    this.play = play;
    this.events.push({ kind: 'play_start', play, hosts });
    return this;
  }
  /** task_start + task_result for one host. */
  result(
    task: string,
    module: string,
    host: string,
    status: TaskStatus,
    result: Partial<ModuleResult> = {},
    extra: { item?: unknown; ignored?: boolean; noLog?: boolean; loop?: boolean; durationMs?: number; noStart?: boolean } = {},
  ): this {
    const { noStart, durationMs, ...flags } = extra;
    if (!noStart && flags.item === undefined && !flags.loop) this.events.push({ kind: 'task_start', play: this.play, task, module, host });
    this.events.push({
      kind: 'task_result',
      play: this.play,
      task,
      module,
      host,
      status,
      result: { status, ...result } as ModuleResult,
      durationMs: durationMs ?? 5,
      ...flags,
    });
    return this;
  }
  skip(task: string, module: string, host: string): this {
    return this.result(task, module, host, 'skipped', { changed: false, skip_reason: 'Conditional result was False' });
  }
  /** Loop: items (status per item), then the aggregate. */
  loop(task: string, module: string, host: string, items: [unknown, TaskStatus, Partial<ModuleResult>?][], agg: { status: TaskStatus; ignored?: boolean; changed?: boolean }): this {
    this.events.push({ kind: 'task_start', play: this.play, task, module, host });
    for (const [item, status, res] of items) this.result(task, module, host, status, res ?? {}, { item });
    const aggregateResult: Partial<ModuleResult> = { results: items.map(([item, status]) => ({ item, status })), changed: agg.changed ?? false };
    return this.result(task, module, host, agg.status, aggregateResult, { loop: true, ...(agg.ignored ? { ignored: true } : {}) });
  }
  retry(task: string, host: string, retriesLeft: number, result: Partial<ModuleResult> = {}): this {
    this.events.push({ kind: 'task_retry', play: this.play, task, host, retriesLeft, result: { status: 'failed', ...result } as ModuleResult });
    return this;
  }
  rescued(host: string): this {
    this.events.push({ kind: 'host_rescued', play: this.play, host });
    return this;
  }
  push(ev: RunEvent): this {
    this.events.push(ev);
    return this;
  }
  /** run_end with stats counted from the events so far. */
  end(interrupted = false): this {
    const stats = statsOf(this.events);
    this.events.push({ kind: 'run_end', finishedAt: '2024-01-01T00:00:02.500Z', exitCode: exitCodeFor(stats, interrupted), stats, interrupted });
    return this;
  }
}

export function statsOf(events: RunEvent[]): Record<string, HostStats> {
  const agg = new StatsAggregator();
  for (const e of events) agg.handle(e);
  return agg.stats();
}

/** A Writable that collects what a sink writes. */
export function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}
