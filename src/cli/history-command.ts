/**
 * `nodesweep history`: per node, from the history database: leaked cgroups per day, crio memory growth per day
 * (least squares since the last prune), when at this rate system.slice (else crio) crosses the 1 GiB reservation,
 * and the last prune with what it freed. Nodes that cross soonest come first.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { loadInventory } from '../inventory/load.js';
import { defaultStateDbPath, openHistory, queryHistory } from '../history/db.js';
import { crossingOrder, nodeTrend, parseSince, type NodeTrend } from '../history/trend.js';
import { formatBytes, formatCount } from '../report/html/svg.js';
import type { CliIo } from './main.js';

export interface HistoryCommandArgs {
  inventory?: string[];
  node?: string[];
  since: string;
  json: boolean;
  'state-db'?: string;
}

const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
const minute = (t: number) => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');
const signed = (n: number, fmt: (x: number) => string) => `${n >= 0 ? '+' : '-'}${fmt(Math.abs(n))}`;

function crossingText(t: NodeTrend, now: number): string {
  const c = t.crossing;
  if (!c || !t.crossing_metric) return '-';
  if (c.kind === 'crossed') return `${t.crossing_metric} over since ${minute(c.at)}`;
  if (c.kind === 'at') return `${t.crossing_metric} ${day(c.at)} (in ${((c.at - now) / 86_400).toFixed(1)} d)`;
  return `never (${c.reason})`;
}

function pruneText(t: NodeTrend): string {
  const p = t.last_prune;
  if (!p) return '-';
  const parts = [`${minute(p.ts)}: ${formatCount(p.removed)} removed`];
  if (p.remediations) parts.push('crio restarted');
  // equal before and after: the prune's run did not measure again (the prune itself measures nothing)
  if (p.crio_memory_freed_bytes) parts.push(`crio ${signed(-p.crio_memory_freed_bytes, formatBytes)}`);
  if (p.kubelet_cpu_before !== null && p.kubelet_cpu_after !== null && p.kubelet_cpu_before !== p.kubelet_cpu_after) parts.push(`kubelet ${+p.kubelet_cpu_before.toFixed(2)} -> ${+p.kubelet_cpu_after.toFixed(2)} cores`);
  return parts.join(', ');
}

/** The table `nodesweep history` prints. */
export function formatHistoryTable(trends: NodeTrend[], now: number): string {
  const head = ['NODE', 'SAMPLES', 'LEAKED', 'LEAKED/DAY', 'CRIO MEM', 'CRIO/DAY', 'SYSTEM.SLICE', 'CROSSES 1 GiB', 'LAST PRUNE'];
  const rows = trends.map((t) => [
    t.node,
    `${t.samples}`,
    t.leaked_now === null ? '-' : formatCount(t.leaked_now),
    t.leaked_per_day === null ? '-' : signed(Math.round(t.leaked_per_day), formatCount),
    t.crio_memory_now === null ? '-' : formatBytes(t.crio_memory_now),
    t.crio_memory_per_day === null ? '-' : signed(t.crio_memory_per_day, formatBytes),
    t.system_slice_memory_now === null ? '-' : formatBytes(t.system_slice_memory_now),
    crossingText(t, now),
    pruneText(t),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export async function historyCommand(a: HistoryCommandArgs, io: CliIo, now = Math.round(Date.now() / 1000)): Promise<number> {
  const sinceS = parseSince(a.since);
  if (sinceS === null) throw new UsageError(`--since ${JSON.stringify(a.since)}: expected a duration such as 14d, 36h, 90m or 2w`);
  const path = a['state-db'] ?? defaultStateDbPath();
  let nodes: string[] | undefined;
  if (a.inventory && a.inventory.length > 0) {
    const inv = await loadInventory(a.inventory);
    nodes = [...inv.hosts.keys()];
  }
  if (a.node && a.node.length > 0) nodes = nodes ? nodes.filter((n) => a.node!.includes(n)) : a.node;
  const since = now - sinceS;
  if (!existsSync(path)) {
    if (a.json) io.stdout.write(JSON.stringify({ state_db: path, since, nodes: [] }, null, 2) + '\n');
    else io.stderr.write(`no history yet at ${path}: every run and scan records it (unless --no-history)\n`);
    return 0;
  }
  const db = openHistory(path);
  let trends: NodeTrend[];
  try {
    trends = queryHistory(db, { since, ...(nodes ? { nodes } : {}) })
      .map((h) => nodeTrend(h))
      .sort(crossingOrder);
  } finally {
    db.close();
  }
  if (a.json) {
    io.stdout.write(JSON.stringify({ state_db: path, since, nodes: trends }, null, 2) + '\n');
  } else if (trends.length === 0) {
    io.stderr.write(`no samples since ${minute(since)} in ${path}${nodes ? ` for ${nodes.join(', ')}` : ''}\n`);
  } else {
    io.stdout.write(`history ${path} since ${minute(since)} UTC; rates since each node's last prune\n\n`);
    io.stdout.write(formatHistoryTable(trends, now));
  }
  return 0;
}
