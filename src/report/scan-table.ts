/**
 * `nodesweep scan`'s view: one row per node from the cgroup_scan results of a run (pure), as a table for
 * people or JSON for machines. A node whose scan did not run (unreachable, failed) gets a row saying why.
 */
import type { ModuleResult } from '../modules/types.js';
import type { RunEvent } from '../events/events.js';

export interface ScanTableRow {
  host: string;
  /** clean | leaking | busy | restart-needed | reboot-required | unknown, or unreachable / failed / not-scanned */
  verdict: string;
  leaked: number | null;
  leaked_by_kind: { pod: number; container: number; conmon: number; sandbox: number; nested: number } | null;
  busy: number | null;
  too_young: number | null;
  crio_memory_bytes: number | null;
  system_slice_memory_bytes: number | null;
  kubelet_cpu_cores: number | null;
  num_cgroups: number | null;
  nr_dying_descendants: number | null;
  crio_version: string | null;
  crio_version_leaking: boolean | null;
  cgroup_mode: string | null;
  live_pods: number | null;
  /** Why the row has no figures (unreachable, failed scan), else null. */
  reason: string | null;
}

const SCAN_MODULES = new Set(['cgroup_scan', 'nodesweep.cgroup_scan']);

/** Collects, per host, the last cgroup_scan result, and the first failure of a host whose scan did not run. */
export class ScanResultSink {
  readonly results = new Map<string, ModuleResult>();
  readonly problems = new Map<string, { status: string; msg: string }>();
  readonly hosts: string[] = [];

  handle(e: RunEvent): void {
    if (e.kind === 'run_start') this.hosts.push(...e.hosts);
    if (e.kind !== 'task_result' || e.item !== undefined) return;
    if (SCAN_MODULES.has(e.module)) this.results.set(e.host, e.result);
    else if ((e.status === 'unreachable' || e.status === 'failed') && !e.ignored && !this.problems.has(e.host)) {
      this.problems.set(e.host, { status: e.status, msg: String(e.result.msg ?? '') });
    }
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function scanRows(sink: Pick<ScanResultSink, 'results' | 'problems' | 'hosts'>): ScanTableRow[] {
  const hosts = [...new Set([...sink.hosts, ...sink.results.keys(), ...sink.problems.keys()])].sort();
  return hosts.map((host) => {
    const r = sink.results.get(host);
    const empty: ScanTableRow = {
      host,
      verdict: 'not-scanned',
      leaked: null,
      leaked_by_kind: null,
      busy: null,
      too_young: null,
      crio_memory_bytes: null,
      system_slice_memory_bytes: null,
      kubelet_cpu_cores: null,
      num_cgroups: null,
      nr_dying_descendants: null,
      crio_version: null,
      crio_version_leaking: null,
      cgroup_mode: null,
      live_pods: null,
      reason: null,
    };
    if (!r) {
      const p = sink.problems.get(host);
      return { ...empty, verdict: p?.status ?? 'not-scanned', reason: p?.msg ?? 'no scan result' };
    }
    if (r.status === 'unreachable') return { ...empty, verdict: 'unreachable', reason: String(r.msg ?? '') };
    const s = (r.summary ?? {}) as Record<string, unknown>;
    const kinds = s.leaked_by_kind as ScanTableRow['leaked_by_kind'] | undefined;
    const row: ScanTableRow = {
      ...empty,
      verdict: str(s.verdict) ?? (r.status === 'failed' ? 'failed' : 'unknown'),
      leaked: num(s.leaked),
      leaked_by_kind: kinds ?? null,
      busy: num(s.busy),
      too_young: num(s.too_young),
      crio_memory_bytes: num(s.crio_memory_bytes),
      system_slice_memory_bytes: num(s.system_slice_memory_bytes),
      kubelet_cpu_cores: num(s.kubelet_cpu_cores),
      num_cgroups: num(s.num_cgroups),
      nr_dying_descendants: num(s.nr_dying_descendants),
      crio_version: str(s.crio_version),
      crio_version_leaking: typeof s.crio_version_leaking === 'boolean' ? s.crio_version_leaking : null,
      cgroup_mode: str(r.cgroup_mode),
      live_pods: Array.isArray(r.live_pods) ? r.live_pods.length : null,
      reason: str(s.reason) ?? (r.status === 'failed' ? String(r.msg ?? 'scan failed') : null),
    };
    // an unknown verdict has no figures to trust (fail closed): show none
    if (row.verdict === 'unknown') Object.assign(row, { leaked: null, leaked_by_kind: null, busy: null, too_young: null });
    if (r.status === 'failed' && row.verdict !== 'unknown') row.verdict = 'failed';
    return row;
  });
}

export function formatBytes(b: number | null): string {
  if (b === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

const HEADERS = ['HOST', 'VERDICT', 'LEAKED', 'POD/CTR/CONMON/SBX', 'BUSY', 'CRIO MEM', 'KUBELET CPU', 'CGROUPS', 'NOTE'];

/** Fixed-width table, one row per node; the NOTE column says why a row has no figures. */
export function formatScanTable(rows: ScanTableRow[]): string {
  const cells = rows.map((r) => [
    r.host,
    r.verdict,
    r.leaked === null ? '-' : String(r.leaked),
    r.leaked_by_kind ? `${r.leaked_by_kind.pod}/${r.leaked_by_kind.container}/${r.leaked_by_kind.conmon}/${r.leaked_by_kind.sandbox}` : '-',
    r.busy === null ? '-' : String(r.busy),
    formatBytes(r.crio_memory_bytes),
    r.kubelet_cpu_cores === null ? '-' : r.kubelet_cpu_cores.toFixed(2),
    r.num_cgroups === null ? '-' : String(r.num_cgroups),
    note(r),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(HEADERS), ...cells.map(line)].join('\n') + '\n';
}

function note(r: ScanTableRow): string {
  if (r.reason) return r.reason.split('\n')[0]!.slice(0, 240);
  const parts: string[] = [];
  if (r.crio_version_leaking) parts.push(`crio ${r.crio_version ?? '?'} leaks`);
  if (r.too_young) parts.push(`${r.too_young} too young`);
  if (r.cgroup_mode) parts.push(r.cgroup_mode);
  return parts.join(', ');
}

export function scanJson(rows: ScanTableRow[]): string {
  return JSON.stringify({ nodesweep_scan: 1, nodes: rows }, null, 2) + '\n';
}
