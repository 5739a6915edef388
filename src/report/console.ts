/**
 * The console printer, in ansible-playbook's words (plugins/callback/default.py) so people and CI scripts can
 * read and grep it as before. Hosts are not in lockstep: a TASK banner is printed whenever the next result line
 * belongs to another task than the previous line, so interleaved output stays readable.
 */
import type { Writable } from 'node:stream';
import type { ClusterCleanupEvent, EventSink, HostStats, RunEvent } from '../events/events.js';
import type { ModuleResult, TaskStatus } from '../modules/types.js';
import { Redactor } from './redact.js';
import { StatsAggregator, isItemResult, recapLine } from '../events/stats.js';
import { pyStr, resultDump } from '../compat/python.js';
import { displayDict, isVerboseAlways, abbreviateLists } from './view.js';

export interface ConsoleOptions {
  verbosity: number;
  isTTY: boolean;
  color: boolean;
  /** Masks secret values; no_log results are censored with or without it. */
  redactor?: Redactor;
  /** Banner width; default 79 (Ansible: max(79, terminal width - 1) on a TTY). */
  columns?: number;
}

/** Ansible's default colours (config/base.yml) as SGR codes (utils/color.py parsecolor). */
const C = {
  ok: '0;32',
  changed: '0;33',
  skip: '0;36',
  error: '0;31',
  unreachable: '1;31',
  warn: '1;35',
  debug: '1;30',
} as const;
type Color = (typeof C)[keyof typeof C];

type TaskResultEvent = Extract<RunEvent, { kind: 'task_result' }>;

export class ConsoleSink implements EventSink {
  private readonly out: Writable;
  private readonly opts: ConsoleOptions;
  private readonly redactor: Redactor;
  private readonly columns: number;
  private readonly fallbackStats = new StatsAggregator();
  /** play + task of the last banner printed, or null after a PLAY banner. */
  private lastTaskKey: string | null = null;
  private readonly handlers = new Set<string>();
  // live progress (TTY only)
  private progressShown = false;
  private ended = false;
  private totalHosts = 0;
  private readonly running = new Map<string, string>();
  private readonly done = new Set<string>();
  private readonly failedHosts = new Set<string>();
  private readonly cleanups: ClusterCleanupEvent[] = [];
  private readonly unreachableHosts = new Set<string>();

  constructor(out: Writable, opts: ConsoleOptions) {
    this.out = out;
    this.opts = opts;
    this.redactor = opts.redactor ?? new Redactor();
    const ttyCols = (out as Writable & { columns?: number }).columns;
    this.columns = opts.columns ?? (opts.isTTY && ttyCols ? Math.max(79, ttyCols - 1) : 79);
  }

  handle(raw: RunEvent): void {
    const ev = this.redactor.event(raw);
    this.fallbackStats.handle(ev);
    switch (ev.kind) {
      case 'run_start':
        this.totalHosts = ev.hosts.length;
        break;
      case 'play_start':
        this.banner(ev.play.trim() ? `PLAY [${ev.play.trim()}]` : 'PLAY');
        this.lastTaskKey = null;
        this.running.clear();
        this.done.clear();
        break;
      case 'play_no_hosts':
        this.line('skipping: no hosts matched', C.skip);
        break;
      case 'batch_start':
        // Ansible runs each serial batch as its own play run: PLAY banner again, task banners anew
        if (ev.batch > 1) this.banner(ev.play.trim() ? `PLAY [${ev.play.trim()}]` : 'PLAY');
        this.lastTaskKey = null;
        break;
      case 'task_start':
        this.running.set(ev.host, ev.task);
        this.redrawProgress();
        break;
      case 'handler_start':
        this.handlers.add(`${ev.play}\0${ev.handler}`);
        this.running.set(ev.host, ev.handler);
        this.redrawProgress();
        break;
      case 'task_retry': {
        this.taskBanner(ev.play, ev.task);
        let msg = `FAILED - RETRYING: [${ev.host}]: ${ev.task} (${ev.retriesLeft} retries left).`;
        if (this.opts.verbosity > 2) msg += `Result was: ${this.dump('', 'failed', ev.result, 4)}`;
        this.line(msg, C.debug);
        break;
      }
      case 'task_result':
        this.taskResult(ev);
        break;
      case 'host_rescued':
        this.failedHosts.delete(ev.host);
        break;
      case 'host_done':
        this.running.delete(ev.host);
        this.done.add(ev.host);
        this.redrawProgress();
        break;
      case 'play_aborted':
        this.banner('NO MORE HOSTS LEFT');
        this.line(`play aborted: ${ev.reason}`, C.error);
        break;
      case 'warning':
        this.line(`[WARNING]: ${ev.host ? `${ev.host}: ` : ''}${ev.message}`, C.warn);
        break;
      case 'interrupted':
        this.line(`[ERROR]: User interrupted execution (${ev.signal})`, C.error);
        break;
      case 'cluster_cleanup':
        // Said when it happens, and again under the recap, where an operator reading a cron mail looks.
        this.cleanups.push(ev);
        this.line(`[CLUSTER]: ${ev.msg}`, ev.outcome === 'failed' || ev.outcome === 'left' ? C.warn : C.changed);
        break;
      case 'run_end':
        this.clearProgress();
        this.ended = true;
        this.recap(Object.keys(ev.stats).length > 0 ? ev.stats : this.fallbackStats.stats());
        break;
    }
  }

  private taskResult(ev: TaskResultEvent): void {
    const h = ev.host;
    if (!isItemResult(ev)) this.running.delete(h);
    if (ev.status === 'failed' && !ev.ignored && !isItemResult(ev)) this.failedHosts.add(h);
    if (ev.status === 'unreachable' && !ev.ignored) this.unreachableHosts.add(h);
    this.taskBanner(ev.play, ev.task);
    const r = ev.result;
    const verbose = this.opts.verbosity > 0 || isVerboseAlways(ev.module, r);
    const indent = isVerboseAlways(ev.module, r) || this.opts.verbosity > 2 ? 4 : undefined;

    if (ev.status === 'unreachable') {
      this.line(`fatal: [${h}]: UNREACHABLE! => ${this.dump(ev.module, ev.status, r, indent)}`, C.unreachable);
      if (ev.ignored) this.line('...ignoring', C.skip);
      return;
    }

    if (isItemResult(ev)) {
      const label = pyStr(r._ansible_item_label !== undefined ? r._ansible_item_label : ev.item);
      const withItem = { ...r, item: 'item' in r ? r.item : ev.item };
      const dump = () => this.dump(ev.module, ev.status, withItem, indent);
      switch (ev.status) {
        case 'ok':
        case 'changed':
          this.line(`${ev.status}: [${h}] => (item=${label})${verbose ? ` => ${dump()}` : ''}`, ev.status === 'ok' ? C.ok : C.changed);
          break;
        case 'failed':
          this.line(`failed: [${h}] (item=${label}) => ${dump()}`, C.error);
          break;
        case 'skipped':
          this.line(`skipping: [${h}] => (item=${label}) ${this.opts.verbosity > 0 ? ` => ${dump()}` : ''}`, C.skip);
          break;
      }
      return;
    }

    const loopAggregate = ev.loop === true;
    switch (ev.status) {
      case 'ok':
      case 'changed':
        // a loop's own result line is not printed: its items were
        if (!loopAggregate) {
          this.line(`${ev.status}: [${h}]${verbose ? ` => ${this.dump(ev.module, ev.status, r, indent)}` : ''}`, ev.status === 'ok' ? C.ok : C.changed);
        }
        break;
      case 'failed':
        if (!loopAggregate) this.line(`fatal: [${h}]: FAILED! => ${this.dump(ev.module, ev.status, r, indent)}`, C.error);
        if (ev.ignored) this.line('...ignoring', C.skip);
        break;
      case 'skipped':
        this.line(`skipping: [${h}]${this.opts.verbosity > 0 ? ` => ${this.dump(ev.module, ev.status, r, indent)}` : ''}`, C.skip);
        break;
    }
  }

  private dump(module: string, status: TaskStatus, result: ModuleResult, indent: number | undefined): string {
    const shown = displayDict(module, status, result);
    return resultDump(this.opts.verbosity >= 2 ? shown : (abbreviateLists(shown) as Record<string, unknown>), indent);
  }

  private taskBanner(play: string, task: string): void {
    const key = `${play}\0${task}`;
    if (key === this.lastTaskKey) return;
    this.lastTaskKey = key;
    const prefix = this.handlers.has(key) ? 'RUNNING HANDLER' : 'TASK';
    this.banner(`${prefix} [${task.trim()}]`);
  }

  private banner(msg: string): void {
    const m = msg.trim();
    const stars = Math.max(3, this.columns - [...m].length);
    this.write(`\n${m} ${'*'.repeat(stars)}`);
  }

  private recap(stats: Record<string, HostStats>): void {
    this.banner('PLAY RECAP');
    for (const host of Object.keys(stats).sort()) {
      const s = stats[host]!;
      this.write(this.opts.color ? this.colorRecap(host, s) : recapLine(host, s));
    }
    this.write('');
    if (this.cleanups.length === 0) return;
    // After Ansible's recap lines (kept byte-compatible for the greps that read them), what changed in the cluster.
    this.banner('CLUSTER RECAP');
    for (const c of this.cleanups) this.write(`${c.phase === 'start' ? 'left by a run that is gone' : 'held at the end'}: ${c.msg}`);
    this.write('');
  }

  /** default.py: hostcolor() pads the coloured name to 37, colorize() colours non-zero counters. */
  private colorRecap(host: string, s: HostStats): string {
    const hc = s.failed !== 0 || s.unreachable !== 0 ? C.error : s.changed !== 0 ? C.changed : C.ok;
    const f = (lead: string, n: number, c: Color) => {
      const t = `${lead}=${String(n).padEnd(4)}`;
      return n !== 0 ? this.paint(t, c) : t;
    };
    return (
      `${this.paint(host, hc).padEnd(37)} : ${f('ok', s.ok, C.ok)} ${f('changed', s.changed, C.changed)} ` +
      `${f('unreachable', s.unreachable, C.unreachable)} ${f('failed', s.failed, C.error)} ${f('skipped', s.skipped, C.skip)} ` +
      `${f('rescued', s.rescued, C.ok)} ${f('ignored', s.ignored, C.warn)}`
    );
  }

  private paint(text: string, color: Color): string {
    return text
      .split('\n')
      .map((t) => `\u001b[${color}m${t}\u001b[0m`)
      .join('\n');
  }

  private line(text: string, color: Color): void {
    this.write(this.opts.color ? this.paint(text, color) : text);
  }

  /** Every normal line goes through here: clear the progress line first, redraw it after (TTY only). */
  private write(text: string): void {
    this.clearProgress();
    this.out.write(`${text}\n`);
    this.redrawProgress();
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.out.write('\r\u001b[K');
      this.progressShown = false;
    }
  }

  private redrawProgress(): void {
    if (!this.opts.isTTY || this.ended || this.totalHosts === 0) return;
    const finished = new Set([...this.done, ...this.failedHosts, ...this.unreachableHosts]);
    const text =
      `[nodesweep] ${finished.size}/${this.totalHosts} hosts done, ${this.running.size} running, ` +
      `${this.failedHosts.size} failed, ${this.unreachableHosts.size} unreachable`;
    this.out.write(`\r\u001b[K${text.slice(0, this.columns)}`);
    this.progressShown = true;
  }

  async close(): Promise<void> {
    this.clearProgress();
  }
}
