import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The command-line options `run` and `scan` share for what is built from node facts (history, metrics, HTML),
 * kept apart from outputs.ts so the CLI can declare them without loading SQLite or the report renderer.
 */
export interface FactsArgs {
  'metrics-file'?: string;
  'report-html'?: string;
  'state-db'?: string;
  /** false with --no-history */
  history?: boolean;
}

export const factsCliOptions = {
  'metrics-file': { type: 'string', describe: "write Prometheus metrics here (node_exporter textfile collector: a *.prom file in its directory)" },
  'report-html': { type: 'string', describe: 'write a self-contained HTML report with charts here' },
  'state-db': { type: 'string', describe: 'history database (default $XDG_STATE_HOME/nodesweep/history.db)' },
  history: { type: 'boolean', default: true, describe: 'record per-node facts in the history database (--no-history: do not)' },
} as const;

/** `$XDG_STATE_HOME/nodesweep/history.db`, else `~/.local/state/nodesweep/history.db`. */
export function defaultStateDbPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_STATE_HOME;
  // the XDG spec: a relative value is invalid and must be ignored
  const base = xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'state');
  return join(base, 'nodesweep', 'history.db');
}
