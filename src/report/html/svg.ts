/**
 * Inline SVG charts for the HTML report, generated here (no chart library, no network). Every mark carries its
 * number in data attributes (`data-chart`, `data-node`, `data-series`, `data-value`, ...) so a test reads the
 * chart's numbers from the DOM and compares them with the JSON report.
 */

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Ticks from 0 to at least max, at 1/2/2.5/5 x 10^k steps. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  if (ticks[ticks.length - 1]! < max) ticks.push(+(ticks.length * step).toPrecision(12));
  return ticks;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Ticks for byte values at round MiB or GiB steps (not 238 MiB, 477 MiB, ...). */
export function byteTicks(max: number, target = 5): number[] {
  const unit = max >= 0.9 * GIB ? GIB : MIB;
  return niceTicks(max / unit, target).map((t) => t * unit);
}
export function formatBytes(n: number): string {
  if (Math.abs(n) >= GIB) return `${+(n / GIB).toFixed(2)} GiB`;
  if (Math.abs(n) >= MIB) return `${+(n / MIB).toFixed(n >= 100 * MIB ? 0 : 1)} MiB`;
  if (Math.abs(n) >= 1024) return `${+(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}
export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}
export function formatCores(n: number): string {
  return `${+n.toFixed(2)}`;
}

export type Formatter = (n: number) => string;

export interface Segment {
  /** e.g. the leak kind; becomes data-kind */
  kind: string;
  value: number;
  color: string;
}
export interface Bar {
  /** data-series (before/after, system.slice/crio) */
  series: string;
  label: string;
  segments: Segment[];
  /** Bar without a value: drawn as "not measured" (never as the other phase's value). */
  missing?: boolean;
}
export interface BarRow {
  node: string;
  bars: Bar[];
}

export interface HBarChartSpec {
  id: string;
  rows: BarRow[];
  format: Formatter;
  refLine?: { value: number; label: string };
  /** Axis ticks' formatter (default: format). */
  tickFormat?: Formatter;
  /** Tick positions for a maximum (default niceTicks). */
  ticks?: (max: number, target?: number) => number[];
  width?: number;
}

/** Horizontal (stacked) bars, one group per node: scales to many nodes by growing downwards. */
export function hbarChart(spec: HBarChartSpec): string {
  const width = spec.width ?? 1040;
  const left = 150;
  const right = 80;
  const top = 14;
  const barH = 14;
  const gap = 4;
  const groupGap = 14;
  const plotW = width - left - right;
  const totals = spec.rows.flatMap((r) => r.bars.map((b) => b.segments.reduce((s, x) => s + x.value, 0)));
  const max = Math.max(1, ...totals, spec.refLine ? spec.refLine.value * 1.08 : 0);
  const ticks = (spec.ticks ?? niceTicks)(max);
  const top_ = ticks[ticks.length - 1]!;
  const x = (v: number) => left + (v / top_) * plotW;
  const groupH = (r: BarRow) => r.bars.length * (barH + gap) - gap;
  const plotH = spec.rows.reduce((s, r) => s + groupH(r) + groupGap, 0) || 20;
  const height = top + plotH + 30;
  const fmtTick = spec.tickFormat ?? spec.format;
  const out: string[] = [];
  out.push(`<svg class="chart" data-chart="${esc(spec.id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`);
  // grid and axis
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(`<line class="grid" x1="${tx}" x2="${tx}" y1="${top - 4}" y2="${top + plotH}"/>`);
    out.push(`<text class="tick" x="${tx}" y="${top + plotH + 16}" text-anchor="middle">${esc(fmtTick(t))}</text>`);
  }
  let y = top;
  for (const row of spec.rows) {
    const gh = groupH(row);
    out.push(`<text class="node-label" x="${left - 10}" y="${(y + gh / 2 + 4).toFixed(1)}" text-anchor="end">${esc(row.node)}</text>`);
    for (const bar of row.bars) {
      let cx = left;
      const total = bar.segments.reduce((s, seg) => s + seg.value, 0);
      for (const seg of bar.segments) {
        const w = (seg.value / top_) * plotW;
        out.push(
          `<rect class="bar" data-chart="${esc(spec.id)}" data-node="${esc(row.node)}" data-series="${esc(bar.series)}" data-kind="${esc(seg.kind)}" data-value="${seg.value}" x="${cx.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" rx="2" fill="${seg.color}"><title>${esc(`${row.node} · ${bar.label} · ${seg.kind}: ${spec.format(seg.value)}`)}</title></rect>`,
        );
        cx += w;
      }
      const label = bar.missing ? 'not measured' : spec.format(total);
      out.push(`<text class="bar-value${bar.missing ? ' not-measured' : ''}" data-chart="${esc(spec.id)}" data-node="${esc(row.node)}" data-series="${esc(bar.series)}" x="${(cx + 6).toFixed(1)}" y="${y + barH - 3}">${esc(bar.label)} ${esc(label)}</text>`);
      y += barH + gap;
    }
    y += groupGap - gap;
  }
  if (spec.refLine) {
    const rx = x(spec.refLine.value).toFixed(1);
    out.push(`<line class="ref-line" data-ref="${spec.refLine.value}" x1="${rx}" x2="${rx}" y1="${top - 8}" y2="${top + plotH}"/>`);
    out.push(`<text class="ref-label" x="${rx}" y="${top - 2}" text-anchor="middle" dy="-2">${esc(spec.refLine.label)}</text>`);
  }
  out.push(`<line class="axis" x1="${left}" x2="${left}" y1="${top - 4}" y2="${top + plotH}"/>`);
  out.push('</svg>');
  return out.join('');
}

export interface LineSeries {
  series: string;
  label: string;
  color: string;
  points: { t: number; v: number; phase?: string }[];
}
export interface LineChartSpec {
  id: string;
  node: string;
  title: string;
  lines: LineSeries[];
  format: Formatter;
  refLine?: { value: number; label: string };
  /** Prunes: vertical markers. */
  marks: { t: number; label: string }[];
  ticks?: (max: number, target?: number) => number[];
  width?: number;
  height?: number;
}

function dateLabel(t: number, spanS: number): string {
  const d = new Date(t * 1000).toISOString();
  return spanS > 3 * 86_400 ? d.slice(5, 10) : spanS > 86_400 ? `${d.slice(5, 10)} ${d.slice(11, 16)}` : d.slice(11, 16);
}

/** Values over time with the reservation line and prunes marked (the story's two pictures). */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 560;
  const height = spec.height ?? 220;
  const left = 66;
  const right = 16;
  const top = 26;
  const bottom = 34;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const all = spec.lines.flatMap((l) => l.points);
  const ts = [...all.map((p) => p.t), ...spec.marks.map((m) => m.t)];
  let t0 = Math.min(...ts);
  let t1 = Math.max(...ts);
  if (!Number.isFinite(t0)) {
    t0 = 0;
    t1 = 1;
  }
  if (t1 === t0) {
    t0 -= 1800;
    t1 += 1800;
  }
  const vmax = Math.max(1e-9, ...all.map((p) => p.v), spec.refLine ? spec.refLine.value * 1.1 : 0);
  const ticks = (spec.ticks ?? niceTicks)(vmax, 4);
  const vtop = ticks[ticks.length - 1]!;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => top + plotH - (v / vtop) * plotH;
  const out: string[] = [];
  out.push(`<svg class="chart line-chart" data-chart="${esc(spec.id)}" data-node="${esc(spec.node)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`);
  out.push(`<text class="chart-title" x="${left}" y="14">${esc(spec.title)}</text>`);
  for (const t of ticks) {
    const ty = y(t).toFixed(1);
    out.push(`<line class="grid" x1="${left}" x2="${width - right}" y1="${ty}" y2="${ty}"/>`);
    out.push(`<text class="tick" x="${left - 6}" y="${(+ty + 4).toFixed(1)}" text-anchor="end">${esc(spec.format(t))}</text>`);
  }
  const nx = Math.max(2, Math.min(6, Math.floor(plotW / 90)));
  for (let i = 0; i <= nx; i++) {
    const t = t0 + ((t1 - t0) * i) / nx;
    out.push(`<text class="tick" x="${x(t).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${esc(dateLabel(t, t1 - t0))}</text>`);
  }
  if (spec.refLine) {
    const ry = y(spec.refLine.value).toFixed(1);
    out.push(`<line class="ref-line" data-ref="${spec.refLine.value}" x1="${left}" x2="${width - right}" y1="${ry}" y2="${ry}"/>`);
    out.push(`<text class="ref-label" x="${left + 4}" y="${(+ry - 4).toFixed(1)}">${esc(spec.refLine.label)}</text>`);
  }
  for (const m of spec.marks) {
    const mx = x(m.t).toFixed(1);
    out.push(
      `<g class="prune-mark" data-ts="${m.t}"><line x1="${mx}" x2="${mx}" y1="${top}" y2="${top + plotH}"/><path d="M${mx},${top} l-5,-7 h10 z"/><title>${esc(m.label)}</title></g>`,
    );
  }
  for (const l of spec.lines) {
    if (l.points.length === 0) continue;
    const d = l.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
    out.push(`<path class="series-line" d="${d}" stroke="${l.color}"/>`);
    for (const p of l.points) {
      out.push(
        `<circle class="point" data-chart="${esc(spec.id)}" data-node="${esc(spec.node)}" data-series="${esc(l.series)}" data-ts="${p.t}" data-value="${p.v}"${p.phase ? ` data-phase="${p.phase}"` : ''} cx="${x(p.t).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="2.6" fill="${l.color}"><title>${esc(`${l.label} ${new Date(p.t * 1000).toISOString().slice(0, 16).replace('T', ' ')}: ${spec.format(p.v)}`)}</title></circle>`,
      );
    }
  }
  out.push(`<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}"/><line class="axis" x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}"/>`);
  // legend
  let lx = left + 4;
  const legendY = top + 10;
  if (spec.lines.length > 1) {
    for (const l of spec.lines) {
      out.push(`<rect x="${lx}" y="${legendY - 8}" width="10" height="10" rx="2" fill="${l.color}"/><text class="legend" x="${lx + 14}" y="${legendY + 1}">${esc(l.label)}</text>`);
      lx += 24 + l.label.length * 6.5;
    }
  }
  out.push('</svg>');
  return out.join('');
}
