/** `nodesweep run`: load and validate everything, then connect and run, with the sinks the options ask for. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { EventBus, settleEach, type EventSink } from '../events/events.js';
import type { RunContext } from '../executor/context.js';
import type { RunOptions, HostKeyChecking } from '../contracts/run-options.js';
import { SILENT_LOGGER, type RunLogger } from '../contracts/logger.js';
import { loadInventory } from '../inventory/load.js';
import { hostVars } from '../inventory/vars.js';
import { Redactor } from '../report/redact.js';
import { loadPlaybook } from '../playbook/load.js';
import { builtinModules } from '../modules/index.js';
import { runPlaybook } from '../executor/run.js';
import { DefaultTransportFactory } from '../transport/factory.js';
import { createKubeAccess } from '../kube/access.js';
import { ConsoleSink } from '../report/console.js';
import { JsonReportSink } from '../report/json-report.js';
import { JunitSink } from '../report/junit.js';
import { RetryFileSink } from '../report/retry.js';
import { LogSink, openLogFile } from '../report/log.js';
import { factsSinkFor, type FactsArgs } from '../report/facts-sink.js';
import { clusterAroundPlays } from '../kube/recovery.js';
import { lockNamespacesOf, usesCluster } from '../executor/cluster-use.js';
import { loadExtraVars } from './extra-vars.js';
import { checkOutputFiles, outputFiles, reportOutputFailures, retryPathFor } from './outputs.js';
import { promptHidden } from './prompt.js';
import type { CliIo } from './main.js';

/** The options of every command that reaches the fleet (run, scan): see fleetOptions in main.ts. */
export interface FleetArgs {
  inventory: string[];
  limit?: string;
  forks: number;
  'extra-vars': string[];
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

export interface RunCommandArgs extends FleetArgs, FactsArgs {
  playbook: string;
  check: boolean;
  tags: string[];
  'skip-tags': string[];
  become: boolean;
  /** --kubeconfig / --context for the kube_* modules */
  kubeconfig?: string;
  context?: string;
  'report-json'?: string;
  junit?: string;
  'log-file'?: string;
}

/** How long a second Ctrl-C waits for the hosts' cleanup before exiting. */
const QUIT_CLEANUP_MS = 800;

/** `--tags a,b --tags c` -> [a, b, c] */
export function splitTags(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== '');
}

export async function buildRunOptions(a: RunCommandArgs): Promise<RunOptions> {
  const options: RunOptions = {
    forks: a.forks,
    check: a.check,
    tags: splitTags(a.tags),
    skipTags: splitTags(a['skip-tags']),
    extraVars: await loadExtraVars(a['extra-vars']),
    taskTimeoutMs: Math.round(a['task-timeout'] * 1000),
    connectTimeoutMs: Math.round(a['connect-timeout'] * 1000),
    become: a.become,
    knownHosts: a['known-hosts'] ?? join(homedir(), '.ssh', 'known_hosts'),
    hostKeyChecking: a['host-key-checking'],
    verbosity: a.verbose ?? 0,
  };
  if (a.limit !== undefined) options.limit = a.limit;
  if (a['become-user'] !== undefined) options.becomeUser = a['become-user'];
  if (a.user !== undefined) options.user = a.user;
  if (a['private-key'] !== undefined) options.privateKey = a['private-key'];
  if (a.connection !== undefined) options.connection = a.connection;
  if (a.kubeconfig !== undefined) options.kubeconfig = a.kubeconfig;
  if (a.context !== undefined) options.kubeContext = a.context;
  if (a['ask-become-pass']) options.becomePassword = await promptHidden('BECOME password: ');
  if (a['ask-key-passphrase'] && process.env.NODESWEEP_KEY_PASSPHRASE === undefined) {
    options.keyPassphrase = await promptHidden('Private key passphrase: ');
  }
  return options;
}

/** What a command built on `run` (e.g. `scan`) adds: its own event sinks, and no console transcript. */
export interface RunHooks {
  sinks?: EventSink[];
  /** Leave the console sink out (the caller prints its own view of the results). */
  quietConsole?: boolean;
  /** The command name stored with the run in the history database (default `run`). */
  command?: string;
}

export async function runCommand(a: RunCommandArgs, io: CliIo, hooks: RunHooks = {}): Promise<number> {
  // Every output path is checked before anything else happens (before a password prompt too): a report that
  // cannot be written is exit 5 now, not a lost report (or a crash) after the fleet was changed.
  const outputs = outputFiles(a);
  await checkOutputFiles(outputs);
  const options = await buildRunOptions(a);
  const modules = builtinModules();
  // Validate everything before any connection opens: inventory, playbook, every module's parameters.
  const inventory = await loadInventory(a.inventory);
  for (const w of inventory.warnings ?? []) io.stderr.write(`[WARNING]: ${w}\n`);
  const playbook = await loadPlaybook(a.playbook, { modules });

  // winston loads only when there is a log file to write (it costs a run about 40 ms of start-up otherwise).
  const log = a['log-file'] ? await openLogFile(a['log-file']) : undefined;
  const logger: RunLogger = log?.logger ?? SILENT_LOGGER;
  // Secret values (passwords from the inventory or prompts) are masked wherever they appear in any sink.
  const redactor = Redactor.fromHostVars(
    [...inventory.hosts.keys()].map((h) => hostVars(inventory, h)),
    [options.becomePassword, options.keyPassphrase, process.env.NODESWEEP_KEY_PASSPHRASE],
  );

  const events = new EventBus();
  if (!hooks.quietConsole) {
    events.add(
      new ConsoleSink(io.stdout, {
        verbosity: options.verbosity,
        isTTY: Boolean(io.stdout.isTTY),
        color: Boolean(io.stdout.isTTY) && process.env.NO_COLOR === undefined,
        redactor,
      }),
    );
  }
  for (const s of hooks.sinks ?? []) events.add(s);
  if (a['report-json']) {
    events.add(new JsonReportSink(a['report-json'], { playbook: a.playbook, redactor }));
    events.add(new RetryFileSink(retryPathFor(a['report-json'])));
  }
  if (a.junit) events.add(new JunitSink(a.junit, { redactor }));
  if (log) events.add(new LogSink(log.logger, { redactor }));
  // history, --metrics-file, --report-html: last, so a write error there cannot keep another report from closing
  const cluster = usesCluster(playbook, modules);
  const facts = factsSinkFor(a, hooks.command ?? 'run', redactor, (m) => io.stderr.write(`[WARNING]: ${m}\n`), playbook, cluster);
  if (facts) events.add(facts);

  // First Ctrl-C/SIGTERM: stop new work, close connections, print the recap (exit 99). Second: quit, after at most
  // about a second of killing what still runs on the hosts and ending the remote shells (their temp dirs go too).
  const abort = new AbortController();
  const transports = new DefaultTransportFactory(options);
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      io.stderr.write(`\n[nodesweep] ${sig}: stopping new work, closing connections (again to quit at once)\n`);
      abort.abort(sig);
    } else if (signals === 2) {
      io.stderr.write(`[nodesweep] ${sig} again: quitting\n`);
      const quit = () => process.exit(ExitCode.INTERRUPTED);
      setTimeout(quit, QUIT_CLEANUP_MS + 200);
      void transports.closeAll({ graceMs: QUIT_CLEANUP_MS }).then(quit);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx: RunContext = {
    options,
    logger,
    events,
    modules,
    transports,
    signal: abort.signal,
    // The kubeconfig is read only when a kube_* module first needs it.
    kube: createKubeAccess({
      ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.kubeContext !== undefined ? { context: options.kubeContext } : {}),
      log: (msg) => logger.warn(msg),
    }),
  };
  try {
    // A playbook that works on the cluster first recovers what crashed runs left there, and releases its own
    // locks at the end (src/kube/recovery.ts).
    const around = cluster && ctx.kube ? clusterAroundPlays(ctx.kube, { check: options.check, lockNamespaces: lockNamespacesOf(playbook) }) : undefined;
    const summary = await runPlaybook(playbook, inventory, ctx, around ? { around } : {});
    return summary.exitCode;
  } finally {
    ctx.kube?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const failures = await events.close();
    // A write that fails at the end is reported; the run's exit code stands.
    reportOutputFailures([...failures, ...(await settleEach([() => log?.close()]))], outputs, io);
  }
}

export { UsageError };
