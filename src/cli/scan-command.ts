/**
 * `nodesweep scan`: run playbooks/scan-leaked-cgroups.yml through the same code path as `run` (inventory,
 * connections, become, limits, exit codes), then print one row per node instead of the play transcript.
 */
import { fileURLToPath } from 'node:url';
import { runCommand, type FleetArgs, type RunCommandArgs } from './run-command.js';
import { ScanResultSink, formatScanTable, scanJson, scanRows } from '../report/scan-table.js';
import type { CliIo } from './main.js';
import type { FactsArgs } from '../report/facts-sink.js';

export interface ScanCommandArgs extends FleetArgs, FactsArgs {
  json: boolean;
  'min-age'?: string;
}

/** The shipped scan playbook: from src/cli (tsx) and dist/cli alike, ../../playbooks is the package's. */
export function scanPlaybookPath(): string {
  return fileURLToPath(new URL('../../playbooks/scan-leaked-cgroups.yml', import.meta.url));
}

export async function scanCommand(a: ScanCommandArgs, io: CliIo): Promise<number> {
  const { json, 'min-age': minAge, ...fleetAndFacts } = a;
  const extraVars = [...a['extra-vars']];
  if (minAge !== undefined) extraVars.push(JSON.stringify({ nodesweep_min_age: minAge }));
  const runArgs: RunCommandArgs = {
    ...fleetAndFacts,
    playbook: scanPlaybookPath(),
    check: false,
    'extra-vars': extraVars,
    tags: [],
    'skip-tags': [],
    become: false, // the playbook says become: true
    verbose: a.verbose ?? 0,
  };
  const sink = new ScanResultSink();
  const code = await runCommand(runArgs, io, { sinks: [sink], quietConsole: true, command: 'scan' });
  const rows = scanRows(sink);
  io.stdout.write(json ? scanJson(rows) : formatScanTable(rows));
  return code;
}
