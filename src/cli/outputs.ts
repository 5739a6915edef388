/**
 * The files a `run`/`scan` command line writes, checked before the first connection (exit 5 naming the option,
 * the path and the reason) and reported one `[ERROR]` line each when a write still fails at the end (a full disk):
 * the other outputs are still written and the run's exit code stands.
 */
import { UsageError } from '../errors.js';
import { OutputWriteError, checkWritable, ioReason } from '../report/files.js';
import type { FactsArgs } from '../history/options.js';
import type { CliIo } from './main.js';

export interface OutputFile {
  /** The option that names it, as the operator typed it (`--report-json`). */
  option: string;
  path: string;
  /** Written in place (appended log, SQLite database) rather than as a new file renamed over the old one. */
  inPlace?: boolean;
}

/** Beside the JSON report: report.json -> report.retry */
export function retryPathFor(reportPath: string): string {
  return reportPath.replace(/(\.json)?$/i, '.retry');
}

/** Every file the options ask for. The default history database is not one: a problem there is only a warning. */
export function outputFiles(a: FactsArgs & { 'report-json'?: string; junit?: string; 'log-file'?: string }): OutputFile[] {
  const out: OutputFile[] = [];
  if (a['report-json']) {
    out.push({ option: '--report-json', path: a['report-json'] });
    out.push({ option: '--report-json (its retry file)', path: retryPathFor(a['report-json']) });
  }
  if (a.junit) out.push({ option: '--junit', path: a.junit });
  if (a['log-file']) out.push({ option: '--log-file', path: a['log-file'], inPlace: true });
  if (a['metrics-file']) out.push({ option: '--metrics-file', path: a['metrics-file'] });
  if (a['report-html']) out.push({ option: '--report-html', path: a['report-html'] });
  if (a['state-db'] && a.history !== false) out.push({ option: '--state-db', path: a['state-db'], inPlace: true });
  return out;
}

/** Exit 5 on the first output that cannot be written, before anything else happens. */
export async function checkOutputFiles(files: readonly OutputFile[]): Promise<void> {
  for (const f of files) {
    try {
      await checkWritable(f.path, f.inPlace ? { inPlace: true } : {});
    } catch (e) {
      throw new UsageError(`${f.option} ${f.path}: cannot write: ${ioReason(e)}`, { cause: e });
    }
  }
}

/**
 * One `[ERROR]` line for each output that could not be written at the end. Anything else a sink threw is a bug:
 * rethrown (after every output had its chance), so it is not mistaken for a disk problem.
 */
export function reportOutputFailures(failures: readonly unknown[], files: readonly OutputFile[], io: CliIo): void {
  let bug: unknown;
  for (const e of failures) {
    if (!(e instanceof OutputWriteError)) {
      bug ??= e;
      continue;
    }
    const option = files.find((f) => f.path === e.path)?.option;
    io.stderr.write(`[ERROR]: ${option ? `${option} ` : ''}${e.path}: write failed: ${ioReason(e)}\n`);
  }
  if (bug !== undefined) throw bug;
}
