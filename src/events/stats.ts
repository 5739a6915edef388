/** Per-host recap counters from the event stream, counted exactly as ansible-playbook 2.14 counts them. */
import { ExitCode } from '../errors.js';
import type { EventSink, HostStats, RunEvent } from './events.js';
import { emptyStats } from './events.js';

/** True for a per-item result of a loop (only the loop's aggregate result counts in the recap). */
export function isItemResult(ev: Extract<RunEvent, { kind: 'task_result' }>): boolean {
  return ev.item !== undefined && ev.loop !== true;
}

/**
 * Ansible's rules (plugins/strategy/__init__.py, verified against real ansible-playbook runs, see
 * test/report/fixtures): ok counts changed results too; an ignored failure counts ok + ignored (+ changed if
 * the result says changed), not failed; an ignored unreachable counts ok + ignored; a failure that a block
 * rescues counts rescued instead of failed; loop items are not counted, only the loop's result.
 */
export class StatsAggregator implements EventSink {
  private readonly byHost = new Map<string, HostStats>();

  private get(host: string): HostStats {
    let s = this.byHost.get(host);
    if (!s) {
      s = emptyStats();
      this.byHost.set(host, s);
    }
    return s;
  }

  handle(ev: RunEvent): void {
    if (ev.kind === 'task_result') {
      if (isItemResult(ev)) return;
      const s = this.get(ev.host);
      switch (ev.status) {
        case 'ok':
          s.ok++;
          break;
        case 'changed':
          s.ok++;
          s.changed++;
          break;
        case 'skipped':
          s.skipped++;
          break;
        case 'failed':
          if (ev.ignored) {
            s.ok++;
            s.ignored++;
            if (ev.result.changed === true) s.changed++;
          } else {
            s.failed++;
          }
          break;
        case 'unreachable':
          if (ev.ignored) {
            s.ok++;
            s.ignored++;
          } else {
            s.unreachable++;
          }
          break;
      }
    } else if (ev.kind === 'host_rescued') {
      const s = this.get(ev.host);
      if (s.failed > 0) s.failed--;
      s.rescued++;
    }
  }

  /** Hosts that had at least one counted result (and `alsoHosts`, zeros if none), with a copy of their counters. */
  stats(alsoHosts: Iterable<string> = []): Record<string, HostStats> {
    const out: Record<string, HostStats> = {};
    const hosts = new Set([...this.byHost.keys(), ...alsoHosts]);
    for (const h of [...hosts].sort()) out[h] = { ...(this.byHost.get(h) ?? emptyStats()) };
    return out;
  }
}

/** ansible-playbook's exit code for a finished run: 99 interrupted, 4 any unreachable (wins over 2), 2 any failed, else 0. */
export function exitCodeFor(stats: Record<string, HostStats>, interrupted: boolean): number {
  if (interrupted) return ExitCode.INTERRUPTED;
  const all = Object.values(stats);
  if (all.some((s) => s.unreachable > 0)) return ExitCode.HOST_UNREACHABLE;
  if (all.some((s) => s.failed > 0)) return ExitCode.HOST_FAILED;
  return ExitCode.OK;
}

/** One recap line, as default.py builds it without colour (note the trailing spaces of %-4s). */
export function recapLine(host: string, s: HostStats): string {
  const f = (lead: string, n: number) => `${lead}=${String(n).padEnd(4)}`;
  return (
    `${host.padEnd(26)} : ${f('ok', s.ok)} ${f('changed', s.changed)} ${f('unreachable', s.unreachable)} ` +
    `${f('failed', s.failed)} ${f('skipped', s.skipped)} ${f('rescued', s.rescued)} ${f('ignored', s.ignored)}`
  );
}
