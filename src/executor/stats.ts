/**
 * The recap numbers derived from the event stream, counted as ansible-playbook's strategy does:
 * changed also counts as ok; an ignored failure counts ok + ignored; a failure that sends the host into a
 * rescue section counts rescued instead of failed (host_rescued follows that failed result); loop items
 * are not counted, only the loop's aggregate result.
 */
import { emptyStats, type HostStats, type RunEvent } from '../report/events.js';

export class RecapCounter {
  readonly stats: Record<string, HostStats> = {};

  private of(host: string): HostStats {
    return (this.stats[host] ??= emptyStats());
  }

  handle(e: RunEvent): void {
    if (e.kind === 'task_result') {
      if ('item' in e) return; // per-item results: only the aggregate counts
      const s = this.of(e.host);
      switch (e.status) {
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
        case 'unreachable':
          s.unreachable++;
          break;
        case 'failed':
          if (e.ignored) {
            s.ok++;
            s.ignored++;
            if (e.result.changed === true) s.changed++;
          } else s.failed++;
          break;
      }
    } else if (e.kind === 'host_rescued') {
      const s = this.of(e.host);
      if (s.failed > 0) s.failed--;
      s.rescued++;
    } else if (e.kind === 'run_start') {
      for (const h of e.hosts) this.of(h);
    }
  }
}

/**
 * ansible-playbook's exit code: 99 interrupted; 4 if any host was unreachable (wins over 2);
 * 2 if any host failed or a play was aborted (any_errors_fatal, max_fail_percentage); else 0.
 */
export function exitCodeFromStats(stats: Record<string, HostStats>, opts: { interrupted: boolean; aborted: boolean }): number {
  if (opts.interrupted) return 99;
  const all = Object.values(stats);
  if (all.some((s) => s.unreachable > 0)) return 4;
  if (opts.aborted || all.some((s) => s.failed > 0)) return 2;
  return 0;
}
