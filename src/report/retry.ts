/** Retry file: failed and unreachable hosts, sorted, one per line; rerun with `--limit @FILE`. Written only if any. */
import type { EventSink, HostStats, RunEvent } from '../events/events.js';
import { StatsAggregator } from '../events/stats.js';
import { writeFileAtomic } from './files.js';

export function retryHosts(stats: Record<string, HostStats>): string[] {
  return Object.entries(stats)
    .filter(([, s]) => s.failed > 0 || s.unreachable > 0)
    .map(([h]) => h)
    .sort();
}

export class RetryFileSink implements EventSink {
  private readonly path: string;
  private readonly stats = new StatsAggregator();
  private endStats: Record<string, HostStats> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  handle(ev: RunEvent): void {
    this.stats.handle(ev);
    if (ev.kind === 'run_end' && Object.keys(ev.stats).length > 0) this.endStats = ev.stats;
  }

  async close(): Promise<void> {
    const hosts = retryHosts(this.endStats ?? this.stats.stats());
    if (hosts.length > 0) await writeFileAtomic(this.path, hosts.join('\n') + '\n');
  }
}
