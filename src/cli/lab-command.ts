/** `nodesweep lab up | down | serve`: the local fleet of src/lab (see lab.ts). */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../errors.js';
import type { LabMode } from '../lab/lab-node.js';
import type { CliIo } from './main.js';

export interface LabUpArgs {
  dir?: string;
  nodes: number;
  days: number;
  plain: boolean;
  'max-leaks': number;
}

/** --plain, else NODESWEEP_LAB_MODE (plain | cgroup-v1 | cgroup-v2), else what the machine allows. */
export function forcedMode(plain: boolean, env: Record<string, string | undefined> = process.env): LabMode | undefined {
  if (plain) return 'plain';
  const m = env.NODESWEEP_LAB_MODE;
  if (m === undefined || m === '' || m === 'auto') return undefined;
  if (m === 'plain' || m === 'cgroup-v1' || m === 'cgroup-v2') return m;
  throw new UsageError(`NODESWEEP_LAB_MODE must be plain, cgroup-v1, cgroup-v2 or auto, not ${JSON.stringify(m)}`);
}

// The lab (ssh2 servers, the Kubernetes API stand-in, node builders) loads only when a lab command runs.
const lab = () => import('../lab/lab.js');

export async function labUpCommand(a: LabUpArgs, io: CliIo): Promise<number> {
  const { defaultLabDir, LabError, labUp, usageText } = await lab();
  const dir = a.dir ?? defaultLabDir();
  const mode = forcedMode(a.plain);
  io.stdout.write(`Building the lab in ${dir} ...\n`);
  try {
    const r = await labUp({ dir, nodes: a.nodes, days: a.days, maxLeaksPerNode: a['max-leaks'], ...(mode ? { mode } : {}) });
    io.stdout.write(`(ready in ${(r.durationMs / 1000).toFixed(1)} s; lab server PID ${r.pid}, log ${r.paths.log})\n`);
    io.stdout.write(usageText(r.manifest, r.paths));
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof LabError) {
      io.stderr.write(`ERROR! lab up: ${e.message}\n`);
      return ExitCode.GENERIC;
    }
    throw e;
  }
}

export async function labDownCommand(a: { dir?: string }, io: CliIo): Promise<number> {
  const { defaultLabDir, LabError, labDown } = await lab();
  const dir = a.dir ?? defaultLabDir();
  try {
    const r = await labDown({ dir });
    if (r.stoppedPid === undefined && !r.removedDir && r.problems.length === 0) {
      io.stdout.write(`No lab in ${r.dir}: nothing to do.\n`);
      return ExitCode.OK;
    }
    if (r.stoppedPid !== undefined) io.stdout.write(`Stopped the lab server (PID ${r.stoppedPid}).\n`);
    if (r.removedCgroups) io.stdout.write(`Removed ${r.removedCgroups} leftover cgroup subtree(s).\n`);
    for (const p of r.problems) io.stderr.write(`[WARNING]: ${p}\n`);
    if (r.removedDir) io.stdout.write(`Removed ${r.dir}.\n`);
    else io.stderr.write(`Kept ${r.dir} (its lab.json lists what is left); run 'nodesweep lab down --dir ${r.dir}' again.\n`);
    return r.removedDir ? ExitCode.OK : ExitCode.GENERIC;
  } catch (e) {
    if (e instanceof LabError) {
      io.stderr.write(`ERROR! lab down: ${e.message}\n`);
      return ExitCode.GENERIC;
    }
    throw e;
  }
}

const dirOption = { type: 'string', describe: 'the lab dir (default: $TMPDIR/nodesweep-lab-$USER)' } as const;

/** Registers `lab up`, `lab down` and the internal `lab serve` on the `lab` command. */
export function labCommandBuilder(y: Argv, io: CliIo, setExit: (code: number) => void): Argv {
  return y
    .command(
      'up',
      'start a local fleet: one ssh2 server per node on 127.42.0.N, simulated nodes with leaked cgroups, a Kubernetes API stand-in',
      (b) =>
        b
          .option('nodes', { type: 'number', default: 3, describe: 'number of nodes' })
          .option('days', { type: 'number', default: 3, describe: 'days of the CronJob (a pod every 2 minutes) to simulate' })
          .option('dir', dirOption)
          .option('plain', { type: 'boolean', default: false, describe: 'plain directories instead of real cgroups (also NODESWEEP_LAB_MODE=plain)' })
          .option('max-leaks', { type: 'number', default: 240, describe: 'leaked pods built on the busy node at most (sampled evenly)' })
          .check((a) => {
            if (!Number.isInteger(a.nodes) || a.nodes < 1 || a.nodes > 50) throw new UsageError('--nodes must be a whole number from 1 to 50');
            if (!(a.days > 0) || a.days > 60) throw new UsageError('--days must be a number of days > 0 and <= 60');
            if (!Number.isInteger(a['max-leaks']) || a['max-leaks'] < 1 || a['max-leaks'] > 20_000) throw new UsageError('--max-leaks must be a whole number from 1 to 20000');
            return true;
          }),
      async (a) => setExit(await labUpCommand(a as unknown as LabUpArgs, io)),
    )
    .command(
      'down',
      'stop the lab and remove everything it made (processes, cgroups, files)',
      (b) => b.option('dir', dirOption),
      async (a) => setExit(await labDownCommand(a as { dir?: string }, io)),
    )
    .command(
      'serve',
      false, // internal: the detached lab server 'lab up' starts
      (b) => b.option('dir', { ...dirOption, demandOption: true }),
      async (a) => setExit(await (await lab()).labServe(String(a.dir))),
    )
    .demandCommand(1, 'give a lab command: up or down');
}
