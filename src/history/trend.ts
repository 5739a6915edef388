/**
 * Trend math for `nodesweep history` and the HTML report (pure): least-squares growth per day, and when a
 * growing series crosses a line "at this rate". Fitted only on the points since the node's last prune: a prune
 * resets the leak, and a fit across it would average the sawtooth into a meaningless slope.
 */
import { parseDurationS } from '../util/duration.js';
import type { HistoryPrune, HistorySample, NodeHistory } from './db.js';
import { SYSTEM_RESERVATION_BYTES } from './node-facts.js';

export const DAY_S = 86_400;

export interface Point {
  /** Epoch seconds. */
  t: number;
  v: number;
}

export interface Fit {
  /** Units per second. */
  slope: number;
  /** Value at t = 0. */
  intercept: number;
}

/** Ordinary least squares; null with fewer than two distinct times. Centred on the mean time to keep precision. */
export function leastSquares(points: readonly Point[]): Fit | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.t - mt) ** 2;
    sxy += (p.t - mt) * (p.v - mv);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: mv - slope * mt };
}

/** Growth per day; null when it cannot be told (fewer than two times). */
export function perDay(points: readonly Point[]): number | null {
  const fit = leastSquares(points);
  return fit ? fit.slope * DAY_S : null;
}

export type Crossing =
  | { kind: 'crossed'; at: number } // the last value is already at or above the line
  | { kind: 'at'; at: number } // at this rate, it reaches the line then
  | { kind: 'none'; reason: 'flat' | 'decreasing' | 'too-few-points' };

/**
 * When the series crosses `line` at its fitted rate, projected from its last value (the operator's "at this
 * rate"). Flat or decreasing series never cross. `fitOn`: the points the rate is fitted on (default all).
 */
export function crossing(points: readonly Point[], line: number, fitOn: readonly Point[] = points): Crossing {
  const last = points.at(-1);
  if (last && last.v >= line) {
    // the first point of the run of values at or above the line that ends with the last one
    let i = points.length - 1;
    while (i > 0 && points[i - 1]!.v >= line) i--;
    return { kind: 'crossed', at: points[i]!.t };
  }
  const fit = leastSquares(fitOn);
  if (!fit || !last) return { kind: 'none', reason: 'too-few-points' };
  if (fit.slope === 0) return { kind: 'none', reason: 'flat' };
  if (fit.slope < 0) return { kind: 'none', reason: 'decreasing' };
  return { kind: 'at', at: last.t + (line - last.v) / fit.slope };
}

/** The points at or after the last prune (the prune's own after-sample starts the new segment). */
export function sinceLastPrune<T extends { ts: number; phase?: string; run_id?: number }>(samples: readonly T[], prunes: readonly HistoryPrune[]): T[] {
  const last = prunes.at(-1);
  if (!last) return [...samples];
  const i = samples.findIndex((s) => s.run_id === last.run_id && s.phase === 'after');
  if (i >= 0) return samples.slice(i);
  return samples.filter((s) => s.ts >= last.ts);
}

/** Enough to tell a rate: three samples at distinct times over at least six hours. */
function enough(samples: readonly { ts: number }[]): boolean {
  const ts = new Set(samples.map((s) => s.ts));
  return ts.size >= 3 && Math.max(...ts) - Math.min(...ts) >= 6 * 3600;
}

/**
 * The samples to fit rates on: since the last prune, or, when that is too short to tell, the stretch before it
 * (up to the prune's before-sample): the same pod churn, measured earlier. Right after a prune that is the
 * operator's "at this rate".
 */
export function trendSegment(samples: readonly HistorySample[], prunes: readonly HistoryPrune[]): HistorySample[] {
  const seg = sinceLastPrune(samples, prunes);
  const last = prunes.at(-1);
  if (!last || enough(seg)) return seg;
  const i = samples.findIndex((s) => s.run_id === last.run_id && s.phase === 'after');
  const earlier = i >= 0 ? samples.slice(0, i) : samples.filter((s) => s.ts < last.ts);
  const prev = sinceLastPrune(earlier, prunes.slice(0, -1));
  return enough(prev) ? prev : seg;
}

function series(samples: readonly HistorySample[], pick: (s: HistorySample) => number | null): Point[] {
  const out: Point[] = [];
  for (const s of samples) {
    const v = pick(s);
    if (v !== null) out.push({ t: s.ts, v });
  }
  return out;
}

export interface NodeTrend {
  node: string;
  samples: number;
  first_ts: number | null;
  last_ts: number | null;
  leaked_now: number | null;
  leaked_per_day: number | null;
  crio_memory_now: number | null;
  crio_memory_per_day: number | null;
  system_slice_memory_now: number | null;
  system_slice_memory_per_day: number | null;
  kubelet_cpu_now: number | null;
  /** Which memory the crossing is about: system.slice when measured (the 1 GiB reservation covers it), else crio. */
  crossing_metric: 'system.slice' | 'crio' | null;
  crossing: Crossing | null;
  last_prune: {
    ts: number;
    removed: number;
    remediations: number;
    leaked_before: number | null;
    leaked_after: number | null;
    crio_memory_freed_bytes: number | null;
    system_slice_memory_freed_bytes: number | null;
    kubelet_cpu_before: number | null;
    kubelet_cpu_after: number | null;
  } | null;
}

const diff = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null ? null : a - b);

/** Everything `nodesweep history` says about one node. */
export function nodeTrend(h: NodeHistory, line = SYSTEM_RESERVATION_BYTES): NodeTrend {
  const seg = trendSegment(h.samples, h.prunes);
  const leaked = series(seg, (s) => s.leaked_total);
  const crio = series(seg, (s) => s.crio_memory_bytes);
  const sys = series(seg, (s) => s.system_slice_memory_bytes);
  // the crossing is projected from the node's latest value, at the segment's rate
  const allCrio = series(h.samples, (s) => s.crio_memory_bytes);
  const allSys = series(h.samples, (s) => s.system_slice_memory_bytes);
  const last = h.samples.at(-1);
  const lastWith = (pick: (s: HistorySample) => number | null): number | null => {
    for (let i = h.samples.length - 1; i >= 0; i--) {
      const v = pick(h.samples[i]!);
      if (v !== null) return v;
    }
    return null;
  };
  const metric = allSys.length > 0 ? 'system.slice' : allCrio.length > 0 ? 'crio' : null;
  const p = h.prunes.at(-1);
  return {
    node: h.node,
    samples: h.samples.length,
    first_ts: h.samples[0]?.ts ?? null,
    last_ts: last?.ts ?? null,
    leaked_now: last?.leaked_total ?? null,
    leaked_per_day: perDay(leaked),
    crio_memory_now: lastWith((s) => s.crio_memory_bytes),
    crio_memory_per_day: perDay(crio),
    system_slice_memory_now: lastWith((s) => s.system_slice_memory_bytes),
    system_slice_memory_per_day: perDay(sys),
    kubelet_cpu_now: lastWith((s) => s.kubelet_cpu_cores),
    crossing_metric: metric,
    crossing: metric === 'system.slice' ? crossing(allSys, line, sys) : metric === 'crio' ? crossing(allCrio, line, crio) : null,
    last_prune: p
      ? {
          ts: p.ts,
          removed: p.removed,
          remediations: p.remediations,
          leaked_before: p.before?.leaked_total ?? null,
          leaked_after: p.after?.leaked_total ?? null,
          crio_memory_freed_bytes: diff(p.before?.crio_memory_bytes, p.after?.crio_memory_bytes),
          system_slice_memory_freed_bytes: diff(p.before?.system_slice_memory_bytes, p.after?.system_slice_memory_bytes),
          kubelet_cpu_before: p.before?.kubelet_cpu_cores ?? null,
          kubelet_cpu_after: p.after?.kubelet_cpu_cores ?? null,
        }
      : null,
  };
}

/** Soonest crossing first (already crossed before that), then nodes that do not cross, by name. */
export function crossingOrder(a: NodeTrend, b: NodeTrend): number {
  const rank = (t: NodeTrend) => (t.crossing?.kind === 'crossed' ? 0 : t.crossing?.kind === 'at' ? 1 : 2);
  const at = (t: NodeTrend) => (t.crossing && t.crossing.kind !== 'none' ? t.crossing.at : 0);
  return rank(a) - rank(b) || at(a) - at(b) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
}

/** `14d`, `36h`, `90m`, `2w`, `3600s` (or a bare number of seconds) -> seconds. null when malformed. */
export function parseSince(text: string): number | null {
  return parseDurationS(text) ?? null;
}
