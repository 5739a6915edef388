#!/usr/bin/env node
/**
 * nodesweep's command line. Parses options (yargs, strict), then hands a run context to the commands.
 * An expected error prints one line and its exit code; anything else is a bug: stack trace, exit 250.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import yargs from 'yargs';
import { ExitCode, NodesweepError, UsageError } from '../errors.js';
import type { RunCommandArgs } from './run-command.js';
import type { ScanCommandArgs } from './scan-command.js';
import type { HistoryCommandArgs } from './history-command.js';
import type { DemoArgs } from './demo-command.js';
import { labCommandBuilder } from './lab-command.js';
import { factsCliOptions } from '../history/options.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FORKS, DEFAULT_TASK_TIMEOUT_MS } from '../contracts/run-options.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
}

const connectionOptions = {
  user: { alias: 'u', type: 'string', describe: 'connect as this user (ansible_user wins when set per host)' },
  'private-key': { type: 'string', describe: 'private key file (ansible_ssh_private_key_file wins when set)' },
  connection: { alias: 'c', type: 'string', choices: ['ssh', 'local'], describe: 'connection type for every host' },
  'known-hosts': { type: 'string', describe: 'known_hosts file (default ~/.ssh/known_hosts)' },
  'host-key-checking': {
    type: 'string',
    choices: ['strict', 'accept-new', 'off'],
    default: 'strict',
    describe: 'strict: only known keys; accept-new: record unknown keys, refuse changed ones; off: accept anything',
  },
  'connect-timeout': { type: 'number', default: DEFAULT_CONNECT_TIMEOUT_MS / 1000, describe: 'seconds to wait for a host to connect' },
  'ask-key-passphrase': { type: 'boolean', default: false, describe: 'prompt for the private key passphrase (or set NODESWEEP_KEY_PASSPHRASE)' },
} as const;

/** Options every command that reaches the fleet shares (run, scan). */
const fleetOptions = {
  inventory: { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'inventory file, directory or host list "a,b,"; repeatable' },
  limit: { alias: 'l', type: 'string', describe: 'further limit hosts with a pattern (or @retryfile)' },
  forks: { alias: 'f', type: 'number', default: DEFAULT_FORKS, describe: 'hosts worked on in parallel' },
  // nargs 1: one value per -e, as ansible-playbook takes it (`-e a=1 pb.yml` leaves pb.yml alone), and a bare -e
  // is an error rather than nothing.
  'extra-vars': { alias: 'e', type: 'string', array: true, nargs: 1, default: [], describe: 'KEY=VALUE, a JSON/YAML mapping, or @file; repeatable' },
  'become-user': { type: 'string', describe: 'user to become (default root)' },
  'ask-become-pass': { alias: 'K', type: 'boolean', default: false, describe: 'prompt for the sudo password (never echoed or logged)' },
  ...connectionOptions,
  'task-timeout': { type: 'number', default: DEFAULT_TASK_TIMEOUT_MS / 1000, describe: 'seconds before a remote command is killed (task timeout: wins)' },
  verbose: { alias: 'v', type: 'count', describe: 'more output (-v: stdout/stderr of every task)' },
} as const;

function checkFleetArgs(a: { forks: number; 'task-timeout': number; 'connect-timeout': number }): true {
  if (!Number.isInteger(a.forks) || a.forks < 1) throw new UsageError('--forks must be a whole number >= 1');
  if (!(a['task-timeout'] > 0)) throw new UsageError('--task-timeout must be a number of seconds > 0');
  if (!(a['connect-timeout'] > 0)) throw new UsageError('--connect-timeout must be a number of seconds > 0');
  return true;
}

export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const parser = yargs(argv)
    .scriptName('nodesweep')
    .usage('$0 <command> [options]\n\nAgentless fleet runner: Ansible inventories, YAML playbooks over SSH.')
    .command(
      'run <playbook>',
      'run a playbook against the hosts of an inventory',
      (y) =>
        y
          .positional('playbook', { type: 'string', demandOption: true, describe: 'playbook YAML file' })
          .options(fleetOptions)
          .option('check', { alias: 'C', type: 'boolean', default: false, describe: 'dry run: change nothing, report what would change' })
          .option('tags', { alias: 't', type: 'string', array: true, default: [], describe: 'only tasks with these tags (comma lists allowed)' })
          .option('skip-tags', { type: 'string', array: true, default: [], describe: 'skip tasks with these tags' })
          .option('become', { alias: 'b', type: 'boolean', default: false, describe: 'become (sudo -n) for every task' })
          .option('kubeconfig', { type: 'string', describe: 'kubeconfig for the kube_* modules (default: KUBECONFIG, ~/.kube/config, in-cluster)' })
          .option('context', { type: 'string', describe: 'kubeconfig context for the kube_* modules' })
          .option('report-json', { type: 'string', describe: 'write a JSON report here (and a .retry file beside it)' })
          .option('junit', { type: 'string', describe: 'write a JUnit XML report here' })
          .option('log-file', { type: 'string', describe: 'write JSON-lines logs here (host and task on every entry)' })
          .options(factsCliOptions)
          .check(checkFleetArgs),
    )
    .command(
      'scan',
      'scan nodes for leaked pod cgroups: one row per node (leaked by kind, busy, crio memory, kubelet CPU, num_cgroups, verdict)',
      (y) =>
        y
          .options(fleetOptions)
          .option('json', { type: 'boolean', default: false, describe: 'print JSON for machines instead of the table' })
          .options(factsCliOptions)
          .option('min-age', { type: 'string', describe: 'grace period before a leak counts as removable (default 5m, or nodesweep_min_age)' })
          .check(checkFleetArgs),
    )
    .command(
      'history',
      'per node from the history database: leaks per day, crio memory growth, when it crosses 1 GiB, the last prune',
      (y) =>
        y
          .option('inventory', { alias: 'i', type: 'string', array: true, describe: 'only the hosts of this inventory; repeatable' })
          .option('node', { alias: 'n', type: 'string', array: true, describe: 'only this node; repeatable' })
          .option('since', { type: 'string', default: '14d', describe: 'how far back (14d, 36h, 2w)' })
          .option('json', { type: 'boolean', default: false, describe: 'print JSON for machines instead of the table' })
          .option('state-db', factsCliOptions['state-db']),
    )
    .command('lab', 'a local fleet to try nodesweep on: lab up, lab down', (y) =>
      labCommandBuilder(y, io, (c) => {
        exitCode = c;
      }),
    )
    .command(
      'demo',
      'build a lab, scan it, prune it (with the crio-restart escalation), write the reports, tear the lab down',
      (y) =>
        y
          .option('dir', { type: 'string', describe: 'where the lab and the reports go (default: a new temp dir)' })
          .option('nodes', { type: 'number', default: 3, describe: 'number of lab nodes' })
          .option('days', { type: 'number', default: 3, describe: 'days of the CronJob to simulate' })
          .option('plain', { type: 'boolean', default: false, describe: 'plain directories instead of real cgroups' })
          .option('keep', { type: 'boolean', default: false, describe: 'leave the lab running at the end (stop it with lab down)' }),
    )
    .command(
      'inventory',
      'show an inventory as Ansible sees it (--list JSON or --graph)',
      (y) =>
        y
          .option('inventory', { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'inventory file, directory or host list; repeatable' })
          .option('list', { type: 'boolean', default: false, describe: 'print JSON like ansible-inventory --list' })
          .option('graph', { type: 'boolean', default: false, describe: 'print the group tree like ansible-inventory --graph' })
          .option('limit', { alias: 'l', type: 'string', describe: 'only hosts matching this pattern' })
          .check((a) => {
            if (a.list === a.graph) throw new UsageError('give exactly one of --list or --graph');
            return true;
          }),
    )
    .demandCommand(1, 'give a command: run, scan, history, inventory, lab or demo')
    .strict()
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((msg, err) => {
      // A YError is yargs' own complaint about the command line (e.g. an option's missing value), not a bug.
      if (err && err.name !== 'YError') throw err;
      // yargs spreads some messages over several lines ("Invalid values:\n  Argument: ..."): keep one line.
      throw new UsageError(operatorMessage((msg ?? err?.message ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ')));
    });

  parser.showHelpOnFail(false);
  skipHelpCache(parser);
  let parsed: Record<string, unknown> & { _: (string | number)[] };
  try {
    parsed = (await parser.parseAsync()) as typeof parsed;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`ERROR! ${e.message}\nRun 'nodesweep --help' for usage.\n`);
      return ExitCode.BAD_OPTIONS;
    }
    return reportError(e, io);
  }
  if (parsed.help || argv.includes('--help') || argv.includes('-h') || argv.includes('--version')) return ExitCode.OK;
  try {
    return (await dispatch(String(parsed._[0]), parsed, io)) ?? exitCode;
  } catch (e) {
    return reportError(e, io);
  }
}

/** yargs' "Not enough arguments following: e" named as the operator typed the option: "-e needs a value". */
function operatorMessage(msg: string): string {
  const m = /^Not enough arguments following: (\S+)$/.exec(msg);
  if (!m) return msg;
  return `${m[1]!.length === 1 ? '-' : '--'}${m[1]} needs a value`;
}

/**
 * yargs renders the matched command's whole help text before running it, in case the handler asks for it (ours
 * never do): about 20 ms of string measuring on every run. Help is still rendered when --help asks for it. If
 * a later yargs drops this internal hook, nothing changes but the 20 ms.
 */
function skipHelpCache(parser: unknown): void {
  const internals = (parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.();
  const usage = internals?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

/**
 * The commands yargs parsed (all but `lab`, whose subcommands keep their handlers) run here, each loading its
 * own code on demand: `run` does not pay for the lab, the history database or the HTML report at start-up, and
 * yargs does not render (and cache) the command's help text while the run opens its connections.
 */
async function dispatch(command: string, a: Record<string, unknown>, io: CliIo): Promise<number | undefined> {
  switch (command) {
    case 'run':
      return (await import('./run-command.js')).runCommand(a as unknown as RunCommandArgs, io);
    case 'scan':
      return (await import('./scan-command.js')).scanCommand(a as unknown as ScanCommandArgs, io);
    case 'history':
      return (await import('./history-command.js')).historyCommand(a as unknown as HistoryCommandArgs, io);
    case 'demo':
      return (await import('./demo-command.js')).demoCommand(a as unknown as DemoArgs, io);
    case 'inventory': {
      const { inventoryCommand } = await import('./inventory-command.js');
      const opts = { inventory: a.inventory as string[], list: Boolean(a.list), graph: Boolean(a.graph) };
      return inventoryCommand(a.limit !== undefined ? { ...opts, limit: String(a.limit) } : opts, io);
    }
    default:
      return undefined; // lab: its handlers already ran
  }
}

/** One line for expected errors, a stack for bugs. */
export function reportError(e: unknown, io: CliIo): number {
  if (e instanceof NodesweepError) {
    io.stderr.write(`ERROR! ${e.message}\n`);
    return e.exitCode;
  }
  io.stderr.write(`ERROR! internal error (a bug in nodesweep, please report it):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return ExitCode.INTERNAL;
}

/** From the package's own package.json (../../ from src/cli, dist/cli and the bundle in dist/bin alike). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Exit explicitly once output is flushed: a half-closed socket or a keepalive timer must not keep a
  // finished run (or an interrupted one) hanging in cron.
  const exit = (code: number) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  main(process.argv.slice(2)).then(exit, (e) => exit(reportError(e, { stdout: process.stdout, stderr: process.stderr })));
}
