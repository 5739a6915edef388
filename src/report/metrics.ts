/**
 * `--metrics-file FILE`: the run's node facts in Prometheus text format, for node_exporter's textfile collector
 * (`--collector.textfile.directory`; the file must end in `.prom`). Rendered with prom-client on a fresh Registry
 * per run (never the global default one), written whole via temp file + rename, as the collector requires.
 *
 * Gauges describe the nodes as the run left them. The two `_total` counters count across runs: each run adds
 * its own numbers to the values in the previous file, so `increase()` works over a cron-run fleet.
 */
import { readFile } from 'node:fs/promises';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunFacts } from '../history/node-facts.js';
import { LEAK_KINDS } from '../history/node-facts.js';
import { OutputWriteError, writeFileAtomic } from './files.js';

export const COUNTER_NAMES = ['nodesweep_removed_cgroups_total', 'nodesweep_remediations_total'] as const;

/** `name{a="x",b="y"}` with labels sorted: the identity of one series. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

function unescapeLabel(v: string): string {
  return v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * The counter series of a previous metrics file (only ours, by name). A line that does not parse is ignored:
 * a damaged file restarts the counters at this run's numbers, which Prometheus reads as a counter reset.
 */
export function previousCounters(text: string): Map<string, { name: string; labels: Record<string, string>; value: number }> {
  const out = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || !(COUNTER_NAMES as readonly string[]).includes(m[1]!)) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value) || value < 0) continue;
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let pos = 0;
    let lm: RegExpExecArray | null;
    while (pos < body.length && (lm = re.exec(body))) {
      labels[lm[1]!] = unescapeLabel(lm[2]!);
      pos = re.lastIndex;
    }
    if (pos !== body.length) continue;
    out.set(seriesKey(m[1]!, labels), { name: m[1]!, labels, value });
  }
  return out;
}

export interface MetricsOptions {
  /** Text of the previous metrics file, to carry the counters on. */
  previous?: string;
  /** Epoch seconds for nodesweep_last_run_timestamp_seconds when the run has no end time. */
  now?: number;
}

/** The metrics text for one run (pure apart from prom-client's formatting). */
export async function renderMetrics(run: RunFacts, opts: MetricsOptions = {}): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const leaked = new Gauge({ name: 'nodesweep_leaked_cgroups', help: 'Leaked pod cgroups left on the node after the run, by kind', labelNames: ['node', 'kind'], registers });
  const busy = new Gauge({ name: 'nodesweep_busy_cgroups', help: 'Leaked cgroups that still hold processes (not removable)', labelNames: ['node'], registers });
  const removed = new Counter({ name: 'nodesweep_removed_cgroups_total', help: 'Leaked cgroups removed by nodesweep (all runs)', labelNames: ['node'], registers });
  const crio = new Gauge({ name: 'nodesweep_crio_memory_bytes', help: 'Memory of system.slice/crio.service', labelNames: ['node'], registers });
  const systemSlice = new Gauge({ name: 'nodesweep_system_slice_memory_bytes', help: 'Memory of system.slice (kubelet reserves 1 GiB for it)', labelNames: ['node'], registers });
  const kubelet = new Gauge({ name: 'nodesweep_kubelet_cpu_cores', help: 'CPU cores used by kubelet over a short sample', labelNames: ['node'], registers });
  const numCgroups = new Gauge({ name: 'nodesweep_num_cgroups', help: 'Highest num_cgroups of /proc/cgroups over the controllers', labelNames: ['node'], registers });
  const remediations = new Counter({ name: 'nodesweep_remediations_total', help: 'crio restarts by nodesweep, by result (all runs)', labelNames: ['node', 'result'], registers });
  const lastRun = new Gauge({ name: 'nodesweep_last_run_timestamp_seconds', help: 'When the nodesweep run that wrote this file ended', registers });
  const unreachable = new Gauge({ name: 'nodesweep_host_unreachable', help: '1 when the node could not be reached in the run', labelNames: ['node'], registers });

  // counters: previous values first, then this run's numbers on top
  const counters = { nodesweep_removed_cgroups_total: removed, nodesweep_remediations_total: remediations } as const;
  for (const prev of previousCounters(opts.previous ?? '').values()) {
    const c = counters[prev.name as keyof typeof counters];
    c.inc(prev.labels, prev.value);
  }

  for (const n of run.nodes) {
    const node = n.node;
    unreachable.set({ node }, n.unreachable ? 1 : 0);
    if (n.pruned || n.removed.length > 0) removed.inc({ node }, n.removed.length);
    const byResult = { success: 0, failed: 0 };
    for (const r of n.remediations) byResult[r.result]++;
    for (const [result, count] of Object.entries(byResult)) if (count > 0) remediations.inc({ node, result }, count);
    const a = n.after;
    if (!a) continue;
    for (const kind of LEAK_KINDS) leaked.set({ node, kind }, a.leaked_by_kind[kind]);
    busy.set({ node }, n.busy.length);
    if (a.crio_memory_bytes !== null) crio.set({ node }, a.crio_memory_bytes);
    if (a.system_slice_memory_bytes !== null) systemSlice.set({ node }, a.system_slice_memory_bytes);
    if (a.kubelet_cpu_cores !== null) kubelet.set({ node }, a.kubelet_cpu_cores);
    if (a.num_cgroups !== null) numCgroups.set({ node }, a.num_cgroups);
  }
  lastRun.set(run.finished_at ?? opts.now ?? Math.round(Date.now() / 1000));
  return registry.metrics();
}

/** Render and write the metrics file atomically (0644: node_exporter reads it as another user). */
export async function writeMetricsFile(path: string, run: RunFacts): Promise<void> {
  let previous = '';
  try {
    previous = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutputWriteError(path, e);
  }
  await writeFileAtomic(path, await renderMetrics(run, { previous }), 0o644);
}
