/** `--report-json FILE`: the whole run as one JSON document, written on close. */
import type { ClusterCleanupEvent, EventSink, HostStats, RunEvent } from '../events/events.js';
import { emptyStats, interruptedTaskMessage } from '../events/events.js';
import type { ModuleResult, TaskStatus } from '../modules/types.js';
import { Redactor } from './redact.js';
import { StatsAggregator, isItemResult } from '../events/stats.js';
import { writeFileAtomic } from './files.js';

export interface JsonTaskEntry {
  play: string;
  task: string;
  module: string;
  /** `interrupted`: the run was interrupted while the host ran this task (result.msg says so). */
  status: TaskStatus | 'interrupted';
  duration_ms: number;
  result: Record<string, unknown>;
  ignored?: boolean;
  /** Per-item results of a loop, in order. */
  items?: { item: unknown; status: TaskStatus; duration_ms: number; result: Record<string, unknown> }[];
}

export interface JsonReport {
  nodesweep_report: 1;
  playbook: string;
  check_mode: boolean;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  interrupted: boolean;
  hosts: Record<string, { stats: HostStats; tasks: JsonTaskEntry[] }>;
  /** What the run did about cordons and Leases left in the cluster (see ClusterCleanupEvent); absent when nothing. */
  cluster_cleanup?: Omit<ClusterCleanupEvent, 'kind'>[];
}

function resultBody(r: ModuleResult): Record<string, unknown> {
  const { status: _status, ...rest } = r;
  return rest;
}

export class JsonReportSink implements EventSink {
  private readonly path: string;
  private readonly redactor: Redactor;
  private readonly stats = new StatsAggregator();
  private readonly report: JsonReport;
  private readonly pendingItems = new Map<string, NonNullable<JsonTaskEntry['items']>>();
  private endStats: Record<string, HostStats> | undefined;

  constructor(path: string, opts: { playbook?: string; redactor?: Redactor } = {}) {
    this.path = path;
    this.redactor = opts.redactor ?? new Redactor();
    this.report = {
      nodesweep_report: 1,
      playbook: opts.playbook ?? '',
      check_mode: false,
      started_at: null,
      finished_at: null,
      exit_code: null,
      interrupted: false,
      hosts: {},
    };
  }

  private host(name: string) {
    let h = this.report.hosts[name];
    if (!h) {
      h = { stats: emptyStats(), tasks: [] };
      this.report.hosts[name] = h;
    }
    return h;
  }

  handle(raw: RunEvent): void {
    const ev = this.redactor.event(raw);
    this.stats.handle(ev);
    switch (ev.kind) {
      case 'run_start':
        if (!this.report.playbook) this.report.playbook = ev.playbook;
        this.report.check_mode = ev.checkMode;
        this.report.started_at = ev.startedAt;
        for (const h of ev.hosts) this.host(h);
        break;
      case 'task_result': {
        const key = `${ev.host}\0${ev.play}\0${ev.task}`;
        if (isItemResult(ev)) {
          const list = this.pendingItems.get(key) ?? [];
          list.push({ item: ev.item, status: ev.status, duration_ms: ev.durationMs, result: resultBody(ev.result) });
          this.pendingItems.set(key, list);
          break;
        }
        const entry: JsonTaskEntry = {
          play: ev.play,
          task: ev.task,
          module: ev.module,
          status: ev.status,
          duration_ms: ev.durationMs,
          result: resultBody(ev.result),
        };
        if (ev.ignored) entry.ignored = true;
        this.addTask(ev.host, key, entry);
        break;
      }
      case 'task_interrupted': {
        const result: Record<string, unknown> = { changed: false, msg: interruptedTaskMessage(ev) };
        if ('item' in ev) result.item = ev.item;
        const entry: JsonTaskEntry = { play: ev.play, task: ev.task, module: ev.module, status: 'interrupted', duration_ms: ev.durationMs, result };
        this.addTask(ev.host, `${ev.host}\0${ev.play}\0${ev.task}`, entry);
        break;
      }
      case 'interrupted':
        this.report.interrupted = true;
        break;
      case 'cluster_cleanup': {
        const { kind: _kind, ...entry } = ev;
        (this.report.cluster_cleanup ??= []).push(entry);
        break;
      }
      case 'run_end':
        this.report.finished_at = ev.finishedAt;
        this.report.exit_code = ev.exitCode;
        this.report.interrupted = ev.interrupted;
        this.endStats = ev.stats;
        break;
      default:
        break;
    }
  }

  /** A task's entry, with the per-item results of its loop that came before it. */
  private addTask(host: string, key: string, entry: JsonTaskEntry): void {
    const items = this.pendingItems.get(key);
    if (items) {
      entry.items = items;
      this.pendingItems.delete(key);
    }
    this.host(host).tasks.push(entry);
  }

  /** The report as it stands (also what close() writes). */
  snapshot(): JsonReport {
    const stats = this.endStats && Object.keys(this.endStats).length > 0 ? this.endStats : this.stats.stats();
    for (const [h, s] of Object.entries(stats)) this.host(h).stats = { ...s };
    const hosts: JsonReport['hosts'] = {};
    for (const h of Object.keys(this.report.hosts).sort()) hosts[h] = this.report.hosts[h]!;
    return { ...this.report, hosts };
  }

  async close(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(this.snapshot(), null, 2) + '\n');
  }
}
