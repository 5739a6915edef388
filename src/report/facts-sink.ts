/**
 * One sink for everything built from node facts: the history database, `--metrics-file` and `--report-html`.
 * It keeps the run's (redacted) events, derives the facts once on close, records them, then writes the files,
 * so the page's history curves include this run.
 */
import { settleEach, type EventSink, type RunEvent } from '../events/events.js';
import type { Redactor } from './redact.js';
import { writeFileAtomic } from './files.js';
import { FACT_MODULES, moduleBase, nodeFacts, shownMessage, type RunFacts } from '../history/node-facts.js';
import { playbookUses } from '../playbook/walk.js';
import { defaultStateDbPath } from '../history/options.js';
import type { NodeHistory } from '../history/db.js';
import { errorMessage } from '../errors.js';
import type { FactsArgs } from '../history/options.js';
import type { Playbook } from '../playbook/types.js';

export type { FactsArgs } from '../history/options.js';

/** How far back the HTML report draws each node's curve. */
export const HTML_HISTORY_DAYS = 30;

export interface FactsOutputOptions {
  /** `run` or `scan` (stored with the run). */
  command: string;
  metricsFile?: string;
  reportHtml?: string;
  /** History database path; undefined: no history. */
  stateDb?: string;
  /**
   * Record in stateDb even when the playbook gathers no node facts. True when --state-db was given; by default
   * only runs of playbooks that use the cgroup or remediation modules are recorded (a playbook of shell tasks
   * has nothing for `nodesweep history`, and does not pay for opening the database).
   */
  recordAlways?: boolean;
  /** The playbook uses a module whose results are node facts (see playbookGathersFacts). */
  gathersFacts?: boolean;
  redactor: Redactor;
  /** History problems never fail a run: they are reported here. */
  warn: (message: string) => void;
  /** Epoch seconds (tests pin it). */
  now?: () => number;
}


export class FactsSink implements EventSink {
  private readonly events: RunEvent[] = [];
  private facts: RunFacts | undefined;
  private prefetched = false;
  constructor(private readonly opts: FactsOutputOptions) {}

  handle(raw: RunEvent): void {
    // Load SQLite while the other hosts are busy with their handshakes rather than after the last one finished
    // (not at run_start: that would delay the first connections).
    if (raw.kind === 'task_result' && !this.prefetched && recordsHistory(this.opts)) {
      this.prefetched = true;
      void import('../history/db.js').catch(() => undefined);
    }
    const ev = this.opts.redactor.event(raw);
    // The facts need the full results of the fact modules only: of the others, status + the message shown.
    if (ev.kind === 'task_result' && !FACT_MODULES.has(moduleBase(ev.module))) {
      const msg = shownMessage(ev.result);
      this.events.push({ ...ev, result: { status: ev.result.status, ...(msg !== null ? { msg } : {}) } });
      return;
    }
    this.events.push(ev);
  }

  /** The facts of the run so far. */
  runFacts(): RunFacts {
    return (this.facts ??= nodeFacts(this.events));
  }

  async close(): Promise<void> {
    const run = this.runFacts();
    const now = this.opts.now?.() ?? Math.round(Date.now() / 1000);
    let history: NodeHistory[] | null = null;
    // SQLite, prom-client and the page renderer load here, when a run asks for them, not at start-up.
    if (recordsHistory(this.opts)) history = await this.recordHistory(run, now);
    const { metricsFile, reportHtml } = this.opts;
    // A metrics file that cannot be written must not cost the HTML report, nor the other way round.
    const failures = await settleEach([
      async () => {
        if (metricsFile) await (await import('./metrics.js')).writeMetricsFile(metricsFile, run);
      },
      async () => {
        if (!reportHtml) return;
        const { buildHtmlData, renderHtmlReport } = await import('./html/report.js');
        await writeFileAtomic(reportHtml, renderHtmlReport(buildHtmlData(run, history, { command: this.opts.command, now })));
      },
    ]);
    if (failures.length > 0) throw new AggregateError(failures, 'outputs not written');
  }

  private async recordHistory(run: RunFacts, now: number): Promise<NodeHistory[] | null> {
    const path = this.opts.stateDb!;
    try {
      const { openHistory, queryHistory, recordRun } = await import('../history/db.js');
      const db = openHistory(path);
      try {
        recordRun(db, run, { command: this.opts.command, now });
        if (!this.opts.reportHtml) return null;
        return queryHistory(db, { since: now - HTML_HISTORY_DAYS * 86_400, nodes: run.nodes.map((n) => n.node) });
      } finally {
        db.close();
      }
    } catch (e) {
      this.opts.warn(`history not recorded (${path}): ${errorMessage(e)}`);
      return null;
    }
  }
}

/** The run goes into the history database: there is one, and --state-db named it or the playbook gathers facts. */
function recordsHistory(o: FactsOutputOptions): boolean {
  return o.stateDb !== undefined && (o.recordAlways === true || o.gathersFacts !== false);
}

/** Does any task or handler of the playbook (blocks included) use a module whose results are node facts? */
export function playbookGathersFacts(playbook: Playbook): boolean {
  return playbookUses(playbook, FACT_MODULES);
}

/**
 * The facts sink for a `run`/`scan` command line; null when it has nothing to do (--no-history, no files, or
 * only the default history database for a playbook that gathers no node facts).
 */
export function factsSinkFor(
  a: FactsArgs,
  command: string,
  redactor: Redactor,
  warn: (m: string) => void,
  playbook?: Playbook,
  /** The run works on the cluster: what it recovers there (src/kube/recovery.ts) is history too. */
  usesCluster = false,
): FactsSink | null {
  const opts: FactsOutputOptions = { command, redactor, warn };
  if (a['metrics-file']) opts.metricsFile = a['metrics-file'];
  if (a['report-html']) opts.reportHtml = a['report-html'];
  if (a.history !== false) opts.stateDb = a['state-db'] ?? defaultStateDbPath();
  opts.recordAlways = a['state-db'] !== undefined;
  if (playbook) opts.gathersFacts = usesCluster || playbookGathersFacts(playbook);
  return opts.metricsFile || opts.reportHtml || recordsHistory(opts) ? new FactsSink(opts) : null;
}
