/**
 * `nodesweep scan`: run playbooks/scan-leaked-cgroups.yml through the same code path as `run` (inventory,
 * connections, become, limits, exit codes), then print one row per node instead of the play transcript.
 */
import { fileURLToPath } from 'node:url';
import type { HostKeyChecking } from '../executor/context.js';
import { runCommand, type RunCommandArgs } from './run-command.js';
import { ScanResultSink, formatScanTable, scanJson, scanRows } from '../report/scan-table.js';
import type { CliIo } from './main.js';
import type { FactsArgs } from '../history/outputs.js';

export interface ScanCommandArgs extends FactsArgs {
  inventory: string[];
  limit?: string;
  forks: number;
  json: boolean;
  'extra-vars': string[];
  'min-age'?: string;
  'become-user'?: string;
  'ask-become-pass': boolean;
  user?: string;
  'private-key'?: string;
  connection?: 'ssh' | 'local';
  'known-hosts'?: string;
  'host-key-checking': HostKeyChecking;
  'connect-timeout': number;
  'ask-key-passphrase': boolean;
  'task-timeout': number;
  verbose: number;
}

/** The shipped scan playbook: from src/cli (tsx) and dist/cli alike, ../../playbooks is the package's. */
export function scanPlaybookPath(): string {
  return fileURLToPath(new URL('../../playbooks/scan-leaked-cgroups.yml', import.meta.url));
}

export async function scanCommand(a: ScanCommandArgs, io: CliIo): Promise<number> {
  const extraVars = [...a['extra-vars']];
  if (a['min-age'] !== undefined) extraVars.push(JSON.stringify({ nodesweep_min_age: a['min-age'] }));
  const runArgs: RunCommandArgs = {
    playbook: scanPlaybookPath(),
    inventory: a.inventory,
    forks: a.forks,
    check: false,
    'extra-vars': extraVars,
    tags: [],
    'skip-tags': [],
    become: false, // the playbook says become: true
    'ask-become-pass': a['ask-become-pass'],
    'host-key-checking': a['host-key-checking'],
    'connect-timeout': a['connect-timeout'],
    'ask-key-passphrase': a['ask-key-passphrase'],
    'task-timeout': a['task-timeout'],
    verbose: a.verbose ?? 0,
    ...(a.limit !== undefined ? { limit: a.limit } : {}),
    ...(a['become-user'] !== undefined ? { 'become-user': a['become-user'] } : {}),
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a['private-key'] !== undefined ? { 'private-key': a['private-key'] } : {}),
    ...(a.connection !== undefined ? { connection: a.connection } : {}),
    ...(a['known-hosts'] !== undefined ? { 'known-hosts': a['known-hosts'] } : {}),
    ...(a['metrics-file'] !== undefined ? { 'metrics-file': a['metrics-file'] } : {}),
    ...(a['report-html'] !== undefined ? { 'report-html': a['report-html'] } : {}),
    ...(a['state-db'] !== undefined ? { 'state-db': a['state-db'] } : {}),
    ...(a.history !== undefined ? { history: a.history } : {}),
  };
  const sink = new ScanResultSink();
  const code = await runCommand(runArgs, io, { sinks: [sink], quietConsole: true, command: 'scan' });
  const rows = scanRows(sink);
  io.stdout.write(a.json ? scanJson(rows) : formatScanTable(rows));
  return code;
}
