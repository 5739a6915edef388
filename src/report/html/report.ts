/**
 * `--report-html FILE`: one self-contained page per run (inline CSS and SVG, no script, no network: the page's
 * Content-Security-Policy forbids any fetch). The data behind it is embedded as JSON in
 * `<script type="application/json" id="nodesweep-data">`, so tools and tests can read what the charts show.
 */
import type { NodeHistory } from '../../history/db.js';
import type { NodeFacts, NodeSnapshot, NodeVerdict, RunFacts } from '../../history/node-facts.js';
import { LEAK_KINDS, SYSTEM_RESERVATION_BYTES } from '../../history/node-facts.js';
import { crossingOrder, nodeTrend, type NodeTrend } from '../../history/trend.js';
import { byteTicks, esc, formatBytes, formatCores, formatCount, hbarChart, lineChart, type BarRow } from './svg.js';

export interface HtmlHistoryNode {
  node: string;
  samples: {
    ts: number;
    phase: 'before' | 'after';
    run_id: number;
    leaked_total: number;
    crio_memory_bytes: number | null;
    system_slice_memory_bytes: number | null;
    kubelet_cpu_cores: number | null;
    num_cgroups: number | null;
  }[];
  prunes: { ts: number; run_id: number; removed: number; remediations: number }[];
  trend: NodeTrend;
}

export interface HtmlReportData {
  nodesweep_html_report: 1;
  command: string;
  generated_at: number;
  reservation_bytes: number;
  run: Omit<RunFacts, 'nodes'>;
  nodes: Omit<NodeFacts, 'leaked_seen'>[];
  /** null: no history (--no-history or none stored yet). */
  history: HtmlHistoryNode[] | null;
}

export function buildHtmlData(run: RunFacts, history: NodeHistory[] | null, opts: { command: string; now: number }): HtmlReportData {
  const { nodes, ...runInfo } = run;
  return {
    nodesweep_html_report: 1,
    command: opts.command,
    generated_at: opts.now,
    reservation_bytes: SYSTEM_RESERVATION_BYTES,
    run: runInfo,
    nodes: nodes.map(({ leaked_seen: _seen, ...rest }) => rest),
    history: history
      ? history
          .filter((h) => h.samples.length > 0)
          .map((h) => ({
            node: h.node,
            samples: h.samples.map((s) => ({
              ts: s.ts,
              phase: s.phase,
              run_id: s.run_id,
              leaked_total: s.leaked_total,
              crio_memory_bytes: s.crio_memory_bytes,
              system_slice_memory_bytes: s.system_slice_memory_bytes,
              kubelet_cpu_cores: s.kubelet_cpu_cores,
              num_cgroups: s.num_cgroups,
            })),
            prunes: h.prunes.map((p) => ({ ts: p.ts, run_id: p.run_id, removed: p.removed, remediations: p.remediations })),
            trend: nodeTrend(h),
          }))
          // the node that crosses the line soonest first
          .sort((a, b) => crossingOrder(a.trend, b.trend))
      : null,
  };
}

export const VERDICT_STYLE: Record<NodeVerdict, { color: string; text: string }> = {
  unreachable: { color: '#6e7781', text: 'unreachable' },
  failed: { color: '#cf222e', text: 'failed' },
  'reboot-required': { color: '#a40e26', text: 'reboot required' },
  'restart-needed': { color: '#d1242f', text: 'crio restart needed' },
  busy: { color: '#d4761c', text: 'busy leaks' },
  leaking: { color: '#bf8700', text: 'leaking' },
  cleaned: { color: '#1a7f37', text: 'cleaned' },
  clean: { color: '#2da44e', text: 'clean' },
  'no-data': { color: '#8c959f', text: 'no data' },
};

export const KIND_COLOR: Record<(typeof LEAK_KINDS)[number], string> = {
  pod: '#0969da',
  container: '#8250df',
  conmon: '#bf3989',
  sandbox: '#1b7c83',
  nested: '#9a6700',
};
const MEM_COLOR = { 'system.slice': '#0550ae', crio: '#e16f24' } as const;
/** The same metrics before the run: lighter. */
const MEM_BEFORE_COLOR = { 'system.slice': '#9ec5f4', crio: '#f8c59c' } as const;
const PHASE_COLOR = { before: '#8c959f', after: '#0969da' } as const;

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#0d1117;color:#f0f6fc;padding:22px 32px 18px}
header h1{margin:0;font-size:22px;font-weight:600;letter-spacing:-.01em}
header .meta{color:#9198a1;margin-top:4px;font-size:13px}
header .meta b{color:#f0f6fc;font-weight:500}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff;vertical-align:1px}
main{max-width:1180px;margin:0 auto;padding:20px 32px 40px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:12px;margin:4px 0 22px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 2px;font-weight:600}
.sub{color:var(--muted);font-size:12.5px;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;text-align:right;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:7px 8px;border-bottom:1px solid #eaeef2;text-align:right;white-space:nowrap}
th:first-child,td:first-child,th.l,td.l{text-align:left}
td.tasks-cell{font-size:12.5px}
tr.node-row td:first-child{font-weight:600;border-left:4px solid var(--verdict);padding-left:10px}
.pill{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff;background:var(--verdict)}
.arrow{color:var(--muted)}
.over{color:#cf222e;font-weight:600}
.muted{color:var(--muted)}
.grid2{display:grid;grid-template-columns:1fr;gap:18px}
.chart{width:100%;height:auto;font-size:11px}
.hist-row{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.chart .grid{stroke:#eaeef2}
.chart .axis{stroke:#8c959f}
.chart .tick{fill:var(--muted);font-size:10.5px}
.chart .node-label{fill:var(--fg);font-size:12px;font-weight:600}
.chart .bar-value{fill:var(--muted);font-size:10.5px}
.chart .ref-line{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:5 4}
.chart .ref-label{fill:#cf222e;font-size:10.5px;font-weight:600}
.chart .chart-title{fill:var(--fg);font-size:12.5px;font-weight:600}
.chart .legend{fill:var(--muted);font-size:11px}
.chart .series-line{fill:none;stroke-width:2;stroke-linejoin:round}
.chart .prune-mark line{stroke:#1a7f37;stroke-width:1.5;stroke-dasharray:3 3}
.chart .prune-mark path{fill:#1a7f37}
.legend-row{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:-4px 0 8px}
.legend-row i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.hist{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.hist-card{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.hist-card h3{margin:0 0 2px;font-size:14px}
.trend{font-size:12.5px;color:var(--muted);margin-bottom:6px}
.trend b{color:var(--fg)}
details{border-top:1px solid #eaeef2;padding:8px 0}
details summary{cursor:pointer;font-weight:600}
details.paths{border:0;padding:4px 0 0}
details.paths summary{font-weight:500;color:var(--muted)}
h4{margin:12px 0 4px;font-size:13px}
details table td,details table th{text-align:left;white-space:normal}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:10px}
`;

function verdictVars(v: NodeVerdict): string {
  return `--verdict:${VERDICT_STYLE[v].color}`;
}

const dash = '<span class="muted">–</span>';
/** A fact the run did not measure (e.g. after a prune whose measurement failed): said so, never the value before. */
export const NOT_MEASURED_TEXT = 'not measured';
const notMeasured = `<span class="muted not-measured">${NOT_MEASURED_TEXT}</span>`;
const isoMin = (t: number | null) => (t === null ? '–' : new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC');

/** `before → after`; one value when they are the same snapshot's or equal; `not measured` for a missing after. */
function beforeAfter(b: number | null | undefined, a: number | null | undefined, fmt: (n: number) => string, sameSnapshot: boolean): string {
  if (a == null && b == null) return dash;
  if (a == null) return sameSnapshot ? esc(fmt(b!)) : `${esc(fmt(b!))} <span class="arrow">→</span> ${notMeasured}`;
  if (b == null || b === a) return esc(fmt(a));
  return `${esc(fmt(b))} <span class="arrow">→</span> ${esc(fmt(a))}`;
}

/** The value the run left; `not measured` when the node has an after snapshot without it. */
function memCell(v: number | null | undefined, hasAfter: boolean): string {
  if (v == null) return hasAfter ? notMeasured : dash;
  return v >= SYSTEM_RESERVATION_BYTES ? `<span class="over">${esc(formatBytes(v))}</span>` : esc(formatBytes(v));
}

function summaryTable(nodes: HtmlReportData['nodes']): string {
  const rows = nodes.map((n) => {
    const b = n.before;
    const a = n.after;
    const st = n.stats;
    return `<tr class="node-row" data-node="${esc(n.node)}" data-verdict="${n.verdict}" style="${verdictVars(n.verdict)}">
<td>${esc(n.node)}</td><td class="l"><span class="pill">${esc(VERDICT_STYLE[n.verdict].text)}</span></td>
<td>${beforeAfter(b?.leaked_total, a?.leaked_total, formatCount, b === a)}</td>
<td>${n.pruned ? formatCount(n.removed.length) : dash}</td>
<td>${n.busy.length ? `<b>${n.busy.length}</b>` : a ? '0' : dash}</td>
<td>${n.refused.length || (a ? '0' : dash)}</td>
<td>${memCell(a?.system_slice_memory_bytes, a != null)}</td>
<td>${memCell(a?.crio_memory_bytes, a != null)}</td>
<td>${beforeAfter(b?.kubelet_cpu_cores, a?.kubelet_cpu_cores, formatCores, b === a)}</td>
<td>${beforeAfter(b?.num_cgroups, a?.num_cgroups, formatCount, b === a)}</td>
<td class="l muted tasks-cell">${st.ok} ok, ${st.changed} changed${st.failed ? `, <span class="over">${st.failed} failed</span>` : ''}${st.unreachable ? `, <span class="over">${st.unreachable} unreachable</span>` : ''}${st.rescued ? `, ${st.rescued} rescued` : ''}</td>
</tr>`;
  });
  return `<table class="summary"><thead><tr><th>node</th><th class="l">verdict</th><th>leaked</th><th>removed</th><th>busy</th><th>refused</th><th>system.slice</th><th>crio</th><th>kubelet CPU</th><th>num_cgroups</th><th class="l">tasks</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function leakedRows(nodes: HtmlReportData['nodes']): BarRow[] {
  const bar = (series: 'before' | 'after', s: NodeSnapshot | null) => ({
    series,
    label: series,
    missing: s === null,
    segments: LEAK_KINDS.map((k) => ({ kind: k, value: s ? s.leaked_by_kind[k] : 0, color: KIND_COLOR[k] })),
  });
  return nodes.filter((n) => n.before || n.after).map((n) => ({ node: n.node, bars: [bar('before', n.before), bar('after', n.after)] }));
}

function metricRows(nodes: HtmlReportData['nodes'], pick: (s: NodeSnapshot) => number | null): BarRow[] {
  return nodes
    .filter((n) => n.before || n.after)
    .map((n) => ({
      node: n.node,
      bars: (['before', 'after'] as const).map((phase) => {
        const v = n[phase] ? pick(n[phase]!) : null;
        return { series: phase, label: phase, missing: v === null, segments: [{ kind: 'value', value: v ?? 0, color: PHASE_COLOR[phase] }] };
      }),
    }));
}

/** Per node and metric: the value the run left (series `system.slice`, `crio`), preceded by the value before the
 * run (series `system.slice:before`, ...) when a later measurement changed it. */
function memoryRows(nodes: HtmlReportData['nodes']): BarRow[] {
  const pick = (s: NodeSnapshot | null, m: 'system.slice' | 'crio') => (s ? (m === 'crio' ? s.crio_memory_bytes : s.system_slice_memory_bytes) : null);
  return nodes
    .filter((n) => n.after)
    .map((n) => ({
      node: n.node,
      bars: (['system.slice', 'crio'] as const).flatMap((m) => {
        const a = pick(n.after, m);
        const b = pick(n.before, m);
        const after = { series: m, label: b !== null && b !== a ? `${m} after` : m, missing: a === null, segments: [{ kind: 'memory', value: a ?? 0, color: MEM_COLOR[m] }] };
        if (b === null || b === a) return [after];
        return [{ series: `${m}:before`, label: `${m} before`, segments: [{ kind: 'memory', value: b, color: MEM_BEFORE_COLOR[m] }] }, after];
      }),
    }));
}

const legend = (items: [string, string][]) => `<div class="legend-row">${items.map(([c, l]) => `<span><i style="background:${c}"></i>${esc(l)}</span>`).join('')}</div>`;

function trendText(t: NodeTrend, now: number): string {
  const parts: string[] = [];
  if (t.leaked_per_day !== null) parts.push(`leaks <b>${t.leaked_per_day >= 0 ? '+' : ''}${formatCount(Math.round(t.leaked_per_day))}/day</b>`);
  if (t.crio_memory_per_day !== null) parts.push(`crio <b>${t.crio_memory_per_day >= 0 ? '+' : '−'}${esc(formatBytes(Math.abs(t.crio_memory_per_day)))}/day</b>`);
  if (t.crossing && t.crossing_metric) {
    const c = t.crossing;
    if (c.kind === 'crossed') parts.push(`<span class="over">${esc(t.crossing_metric)} over 1 GiB since ${esc(isoMin(c.at))}</span>`);
    else if (c.kind === 'at') parts.push(`${esc(t.crossing_metric)} crosses 1 GiB <b>${esc(isoMin(Math.round(c.at)))}</b> (in ${((c.at - now) / 86_400).toFixed(1)} days)`);
    else parts.push(c.reason === 'too-few-points' ? `${esc(t.crossing_metric)}: too few samples for a trend` : `${esc(t.crossing_metric)} not growing`);
  }
  if (t.last_prune) parts.push(`last prune ${esc(isoMin(t.last_prune.ts))}: ${formatCount(t.last_prune.removed)} removed`);
  return parts.join(' · ');
}

function historySection(history: HtmlHistoryNode[], now: number): string {
  if (history.length === 0) return '';
  const cards = history.map((h) => {
    const marks = h.prunes.map((p) => ({ t: p.ts, label: `prune: ${p.removed} removed${p.remediations ? `, crio restarted` : ''}` }));
    const pts = (pick: (s: HtmlHistoryNode['samples'][number]) => number | null) =>
      h.samples.flatMap((s) => {
        const v = pick(s);
        return v === null ? [] : [{ t: s.ts, v, phase: s.phase }];
      });
    const mem = lineChart({
      id: 'history-memory',
      node: h.node,
      title: 'memory',
      format: formatBytes,
      ticks: byteTicks,
      refLine: { value: SYSTEM_RESERVATION_BYTES, label: '1 GiB reservation' },
      marks,
      lines: [
        { series: 'system.slice', label: 'system.slice', color: MEM_COLOR['system.slice'], points: pts((s) => s.system_slice_memory_bytes) },
        { series: 'crio', label: 'crio', color: MEM_COLOR.crio, points: pts((s) => s.crio_memory_bytes) },
      ],
    });
    const cpu = lineChart({
      id: 'history-kubelet-cpu',
      node: h.node,
      title: 'kubelet CPU (cores)',
      format: formatCores,
      marks,
      width: 280,
      height: 180,
      lines: [{ series: 'kubelet', label: 'kubelet', color: '#8250df', points: pts((s) => s.kubelet_cpu_cores) }],
    });
    const leaks = lineChart({
      id: 'history-leaked',
      node: h.node,
      title: 'leaked cgroups',
      format: formatCount,
      marks,
      width: 280,
      height: 180,
      lines: [{ series: 'leaked', label: 'leaked', color: '#bf8700', points: pts((s) => s.leaked_total) }],
    });
    return `<div class="hist-card" data-node="${esc(h.node)}"><h3>${esc(h.node)}</h3><div class="trend">${trendText(h.trend, now)}</div>${mem}<div class="hist-row">${cpu}${leaks}</div></div>`;
  });
  return `<section id="history"><h2>Over time</h2><p class="sub">Every stored run of each node (history database); green markers are prunes. The dashed red line is kubelet's 1 GiB system reservation.</p><div class="hist">${cards.join('')}</div></section>`;
}

const LIST_CAP = 100;
function pathList(paths: string[]): string {
  const shown = paths.slice(0, LIST_CAP).map((p) => `<li><code>${esc(p)}</code></li>`).join('');
  const more = paths.length > LIST_CAP ? `<li class="muted">… and ${paths.length - LIST_CAP} more (see the JSON report)</li>` : '';
  return `<ul>${shown}${more}</ul>`;
}

function detailsSection(nodes: HtmlReportData['nodes']): string {
  const blocks = nodes.map((n) => {
    const tasks = n.tasks
      .map((t) => `<tr data-status="${t.status}"><td>${esc(t.task)}</td><td><code>${esc(t.module)}</code></td><td><span class="pill" style="${verdictVars(taskVerdict(t.status))}">${esc(t.status)}${t.ignored ? ' (ignored)' : ''}</span></td><td>${t.msg ? esc(t.msg) : ''}</td></tr>`)
      .join('');
    const busy = n.busy.length
      ? `<h4>Busy (${n.busy.length})</h4><table><tr><th>cgroup</th><th>status</th><th>pids</th><th>command</th></tr>${n.busy
          .slice(0, LIST_CAP)
          .map((b) => `<tr><td><code>${esc(b.path)}</code></td><td>${esc(b.status)}</td><td>${b.pids.join(' ')}</td><td><code>${esc(b.commands.join('; '))}</code></td></tr>`)
          .join('')}</table>`
      : '';
    const refused = n.refused.length
      ? `<h4>Refused (${n.refused.length})</h4><table><tr><th>cgroup</th><th>reason</th></tr>${n.refused
          .slice(0, LIST_CAP)
          .map((r) => `<tr><td><code>${esc(r.path)}</code></td><td>${esc(r.reason)}</td></tr>`)
          .join('')}</table>`
      : '';
    const removed = n.removed.length ? `<details class="paths"><summary>Removed (${formatCount(n.removed.length)})</summary>${pathList(n.removed)}</details>` : '';
    const would = n.would_remove.length ? `<details class="paths"><summary>Would remove (check mode, ${formatCount(n.would_remove.length)})</summary>${pathList(n.would_remove)}</details>` : '';
    const rem = n.remediations.length
      ? `<h4>Remediations</h4><ul>${n.remediations.map((r) => `<li>${esc(r.task)}: <b>${r.result}</b>${r.msg ? ` – ${esc(r.msg)}` : ''}</li>`).join('')}</ul>`
      : '';
    const facts = [
      n.cgroup_mode && `cgroup ${esc(n.cgroup_mode)}`,
      n.crio_version && `${esc(n.crio_version)}${n.crio_version_leaking ? ' <span class="over">(a leaking version)</span>' : ''}`,
      n.kubelet_version && esc(n.kubelet_version),
      n.after?.nr_dying_descendants != null && `dying cgroups ${formatCount(n.after.nr_dying_descendants)}`,
      n.too_young ? `${n.too_young} too young` : '',
      n.vanished ? `${n.vanished} vanished` : '',
    ].filter(Boolean);
    const calm = n.verdict === 'clean' || n.verdict === 'cleaned' || n.verdict === 'no-data';
    return `<details class="node" data-node="${esc(n.node)}"${calm ? '' : ' open'}><summary><span class="pill" style="${verdictVars(n.verdict)}">${esc(VERDICT_STYLE[n.verdict].text)}</span> ${esc(n.node)} <span class="muted">${facts.join(' · ')}</span></summary>
<table class="tasks"><tr><th>task</th><th>module</th><th>status</th><th>message</th></tr>${tasks}</table>${rem}${busy}${refused}${removed}${would}</details>`;
  });
  return `<section id="details"><h2>Per node</h2><p class="sub">Task outcomes, and what was removed, busy (holding processes) or refused.</p>${blocks.join('')}</section>`;
}

function taskVerdict(s: string): NodeVerdict {
  return s === 'failed' ? 'failed' : s === 'unreachable' ? 'unreachable' : s === 'changed' ? 'leaking' : s === 'skipped' ? 'no-data' : 'clean';
}

/** JSON safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderHtmlReport(data: HtmlReportData): string {
  const nodes = data.nodes;
  const sum = (f: (n: HtmlReportData['nodes'][number]) => number) => nodes.reduce((s, n) => s + f(n), 0);
  const leakedBefore = sum((n) => n.before?.leaked_total ?? 0);
  const leakedAfter = sum((n) => n.after?.leaked_total ?? 0);
  const overLine = (s: NodeSnapshot | null) => (s?.system_slice_memory_bytes ?? s?.crio_memory_bytes ?? 0) >= SYSTEM_RESERVATION_BYTES;
  const overBefore = nodes.filter((n) => overLine(n.before)).length;
  const overAfter = nodes.filter((n) => overLine(n.after)).length;
  const tiles: [string, string][] = [
    [String(nodes.length), 'nodes'],
    [`${formatCount(leakedBefore)} → ${formatCount(leakedAfter)}`, 'leaked cgroups'],
    [formatCount(sum((n) => n.removed.length)), data.run.check_mode ? 'removed (check mode)' : 'removed'],
    [formatCount(sum((n) => n.busy.length)), 'busy'],
    [overBefore === overAfter ? String(overAfter) : `${overBefore} → ${overAfter}`, 'over 1 GiB'],
    [String(sum((n) => n.remediations.filter((r) => r.result === 'success').length)), 'crio restarts'],
    [String(nodes.filter((n) => n.unreachable).length), 'unreachable'],
  ];
  const withData = nodes.some((n) => n.before || n.after);
  const charts = withData
    ? `<section id="charts"><h2>Leaked cgroups by kind</h2><p class="sub">Per node, before the run (first scan) and after it (last scan or prune).</p>
${legend(LEAK_KINDS.map((k) => [KIND_COLOR[k], k]))}${hbarChart({ id: 'leaked', rows: leakedRows(nodes), format: formatCount })}</section>
<section><h2>Memory against the 1 GiB system reservation</h2><p class="sub">system.slice and crio.service before the run (light) and as the run left them; past the red line kubelet's reservation no longer covers the system.</p>
${legend([[MEM_BEFORE_COLOR['system.slice'], 'system.slice before'], [MEM_COLOR['system.slice'], 'system.slice'], [MEM_BEFORE_COLOR.crio, 'crio before'], [MEM_COLOR.crio, 'crio']])}${hbarChart({ id: 'memory', rows: memoryRows(nodes), format: formatBytes, ticks: byteTicks, refLine: { value: SYSTEM_RESERVATION_BYTES, label: '1 GiB' } })}</section>
<section><h2>kubelet CPU</h2><p class="sub">Cores kubelet used over a short sample, before and right after the prune: it burns CPU retrying work on pods that are gone while their cgroups remain.</p>
${legend([[PHASE_COLOR.before, 'before'], [PHASE_COLOR.after, 'after']])}${hbarChart({ id: 'kubelet-cpu', rows: metricRows(nodes, (s) => s.kubelet_cpu_cores), format: formatCores })}</section>
<section><h2>num_cgroups</h2><p class="sub">Highest num_cgroups over the controllers (/proc/cgroups, or the node's own subtree when its cgroup root is one), before and after the prune measured it.</p>
${legend([[PHASE_COLOR.before, 'before'], [PHASE_COLOR.after, 'after']])}${hbarChart({ id: 'num-cgroups', rows: metricRows(nodes, (s) => s.num_cgroups), format: formatCount })}</section>`
    : `<section><h2>No cgroup data</h2><p class="sub">No cgroup_scan or cgroup_prune result in this run.</p></section>`;
  const r = data.run;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>nodesweep ${esc(data.command)} · ${esc(r.playbook)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>nodesweep · leaked cgroups</h1>
<div class="meta"><b>${esc(r.playbook)}</b> · ${esc(data.command)} · ${esc(isoMin(r.started_at))} → ${esc(isoMin(r.finished_at))}${r.check_mode ? ' · <span class="badge" style="background:#9a6700">check mode</span>' : ''} · exit <b>${r.exit_code ?? '–'}</b></div></header>
<main>
<div class="tiles">${tiles.map(([v, l]) => `<div class="tile"><div class="v">${esc(v)}</div><div class="l">${esc(l)}</div></div>`).join('')}</div>
<section id="summary"><h2>Nodes</h2><p class="sub">One row per node, coloured by verdict.</p>${summaryTable(nodes)}</section>
${charts}
${data.history ? historySection(data.history, data.generated_at) : ''}
${detailsSection(nodes)}
<footer>generated by nodesweep · ${esc(isoMin(data.generated_at))}</footer>
</main>
<script type="application/json" id="nodesweep-data">${scriptJson(data)}</script>
</body></html>
`;
}
