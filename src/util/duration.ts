/** Durations as operators write them in playbooks and options: `30s`, `5m`, `1h30m`, `2d`, `2w`, `500ms`, or seconds. */

const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds, or undefined when the text is not a duration. A bare number is seconds. */
export function parseDurationS(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const s = v.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s === '' || !/^(\d+(\.\d+)?(ms|s|m|h|d|w)\s*)+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * UNIT_S[m[2]!]!;
  return total;
}

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDurationMs(v: string | number): number | undefined {
  const s = parseDurationS(v);
  return s === undefined ? undefined : Math.round(s * 1000);
}

/** `10m`, `1h5m`, `2.5s`: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.round((ms % 60_000) / 1000);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}` || '0s';
}
