/**
 * `nodesweep demo` (`npm run demo`): the story on a local fleet, for a newcomer, in under a minute.
 * lab up -> scan -> prune (the busy node's leaks are held by crio: the playbook's rescue takes the lock, cordons,
 * drains, restarts crio, prunes again, uncordons) -> scan again -> reports; the lab is always torn down (finally).
 * The steps run in this process through the same code as `nodesweep scan` / `run`; only the lab's servers run in
 * their own (detached) process.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { ExitCode } from '../errors.js';
import { labDown, labUp, LabError, type LabUpResult } from '../lab/lab.js';
import { forcedMode } from './lab-command.js';
import type { CliIo } from './main.js';
import { runCommand, type RunCommandArgs } from './run-command.js';
import { scanCommand, type ScanCommandArgs } from './scan-command.js';
import { historyCommand } from './history-command.js';
import { seedHistory } from '../lab/history-seed.js';
import { DEFAULT_FORKS } from '../contracts/run-options.js';

export interface DemoArgs {
  dir?: string;
  nodes: number;
  days: number;
  plain: boolean;
  keep: boolean;
}

export function prunePlaybookPath(): string {
  return fileURLToPath(new URL('../../playbooks/prune-leaked-cgroups.yml', import.meta.url));
}

/** A stream that passes lines through to `to`, cutting those longer than `max` characters (with a note). */
export function shortLines(to: NodeJS.WritableStream, max: number, note: string): Writable & { isTTY?: boolean } {
  let buf = '';
  const flushLine = (line: string) => {
    to.write(line.length <= max ? `${line}\n` : `${line.slice(0, max)} ... (${(line.length - max).toLocaleString('en-US')} more characters; ${note})\n`);
  };
  return new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        flushLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      cb();
    },
    final(cb) {
      if (buf) flushLine(buf);
      buf = '';
      cb();
    },
  });
}

class DemoInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

function header(io: CliIo, n: number, title: string, lines: string[] = []): void {
  const bar = '='.repeat(100);
  io.stdout.write(`\n${bar}\n  ${n}. ${title}\n${lines.map((l) => `     ${l}\n`).join('')}${bar}\n\n`);
}

export async function demoCommand(a: DemoArgs, io: CliIo): Promise<number> {
  const started = Date.now();
  const base = a.dir ? resolve(a.dir) : mkdtempSync(join(tmpdir(), 'nodesweep-demo-'));
  const labDir = join(base, 'lab');
  const reports = join(base, 'reports');
  mkdirSync(reports, { recursive: true });
  const out = {
    html: join(reports, 'prune-report.html'),
    json: join(reports, 'prune-report.json'),
    metrics: join(reports, 'nodesweep.prom'),
    scanHtml: join(reports, 'scan-before.html'),
    db: join(reports, 'history.db'),
  };
  const mode = forcedMode(a.plain);
  let lab: LabUpResult | undefined;
  let code: number = ExitCode.OK;
  const problems: string[] = [];

  // Ctrl-C / SIGTERM: the step under way stops (a run stops its new work itself), the next ones are skipped, and
  // the lab is still torn down. (A second signal during a run exits at once, as `run` does: then 'lab down'.)
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!interrupted) io.stderr.write(`\n[nodesweep demo] ${sig}: stopping after this step, then tearing the lab down\n`);
    interrupted ??= sig;
  };
  const check = () => {
    if (interrupted) throw new DemoInterrupted(interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  io.stdout.write(
    [
      'nodesweep demo: leaked pod cgroups on CRI-O nodes, found and removed on a local fleet.',
      'The story: a CronJob started a short-lived pod every 2 minutes; each one left cgroup directories behind',
      '(cri-o issue 6349), crio memory climbed past the 1 GiB system reservation within days on the node that ran',
      'most of them, and the fix was to drain the node and restart crio, by hand, at night. nodesweep does it for you.',
      '',
    ].join('\n'),
  );
  try {
    header(io, 1, `Build a lab of ${a.nodes} nodes with ${a.days} day(s) of leaks   (nodesweep lab up)`, [
      'Each node: an SSH server on 127.42.0.N (ssh2, key auth), a simulated node root, crictl/systemctl stand-ins,',
      'and a Kubernetes API stand-in for the cordon/drain. Nothing here touches the machine\'s own cgroups.',
    ]);
    try {
      lab = await labUp({ dir: labDir, nodes: a.nodes, days: a.days, ...(mode ? { mode } : {}) });
    } catch (e) {
      if (e instanceof LabError) {
        io.stderr.write(`ERROR! lab up: ${e.message}\n`);
        return ExitCode.GENERIC;
      }
      throw e;
    }
    const m = lab.manifest;
    io.stdout.write(`Lab ${m.labId} ready in ${(lab.durationMs / 1000).toFixed(1)} s, mode ${m.mode}: ${m.modeWhy}.\n`);
    for (const n of m.nodes) {
      io.stdout.write(
        `  ${n.name}  ${`${n.host}:${n.port}`.padEnd(18)} ${String(n.cronPodsRun).padStart(5)} CronJob pods ran here; ${String(n.leakedPods).padStart(3)} of their leaks built${n.crioHeld ? `, ${n.crioHeld} still held by crio` : ''}${n.busy ? '   <- the busy node' : ''}\n`,
      );
    }
    io.stdout.write(`  (leaks sampled evenly over the ${m.cronPodsTotal} pods of the schedule to keep this fast)\n`);
    const seeded = seedHistory(out.db, m, { now: Math.floor(Date.now() / 1000) });
    io.stdout.write(
      `  The lab's past: ${seeded} simulated scans over those ${a.days} day(s) go into the demo's history database, as a cron'd\n` +
        `  'nodesweep scan' would have recorded them (leaks, crio memory at ~0.5 MiB a leaked pod, kubelet CPU).\n` +
        (m.mode === 'cgroup-v2' ? `  Today's memory figures are the lab's real ones: its processes use next to none.\n` : ''),
    );

    const conn = {
      inventory: [lab.paths.inventory],
      forks: DEFAULT_FORKS,
      'extra-vars': [] as string[],
      'ask-become-pass': false,
      'host-key-checking': 'strict' as const,
      'connect-timeout': 10,
      'ask-key-passphrase': false,
      'task-timeout': 120,
      verbose: 0,
      'state-db': out.db,
    };

    check();
    header(io, 2, 'Scan the fleet   (nodesweep scan -i inventory.ini)', [
      'Read-only: every pod cgroup under kubepods in every hierarchy, crictl pods/ps, the kubelet pods dir, then',
      'classified locally. "busy" = leaked but a process still sits in it; "restart-needed" = crio itself holds it.',
    ]);
    const scanArgs: ScanCommandArgs = { ...conn, json: false, 'report-html': out.scanHtml };
    const s1 = await scanCommand(scanArgs, io);
    if (s1 !== 0) problems.push(`the first scan exited ${s1}`);

    check();
    header(io, 3, 'The trend   (nodesweep history)', [
      'Every scan and prune is recorded per node: leaks per day, crio memory growth, when a node crosses the 1 GiB',
      'system reservation at this rate. This is what the operator in the story was graphing by hand.',
    ]);
    await historyCommand({ since: `${Math.ceil(a.days) + 1}d`, json: false, 'state-db': out.db, inventory: [lab.paths.inventory] }, io).catch((e: unknown) => {
      io.stderr.write(`[WARNING]: history: ${e instanceof Error ? e.message : String(e)}\n`);
    });

    check();
    header(io, 4, 'Prune, with the escalation where only a crio restart helps   (nodesweep run playbooks/prune-leaked-cgroups.yml)', [
      'Each node: scan, then rmdir every leaked cgroup (deepest first, re-checked right before, never a live one).',
      `On the busy node crio holds some leaks, so the prune fails and the playbook's rescue takes the lock, cordons,`,
      'drains (through the Kubernetes API stand-in), restarts crio, waits for Ready, prunes again and uncordons.',
    ]);
    const runArgs: RunCommandArgs = {
      ...conn,
      playbook: prunePlaybookPath(),
      check: false,
      tags: [],
      'skip-tags': [],
      become: false, // the playbook says become: true
      kubeconfig: lab.paths.kubeconfig,
      'report-json': out.json,
      'report-html': out.html,
      'metrics-file': out.metrics,
    };
    // A failed task prints its whole result, as ansible-playbook does: thousands of removed paths here. The demo
    // shortens such lines; the full results are in the JSON report.
    const shortened = shortLines(io.stdout, 400, `the full result is in ${out.json}`);
    const p = await runCommand(runArgs, { stdout: shortened, stderr: io.stderr });
    shortened.end();
    if (p !== 0) problems.push(`the prune exited ${p}`);

    check();
    header(io, 5, 'Scan again', ['What is left: only leaks younger than the 5 minute grace period (the CronJob\'s newest pods).']);
    const s2 = await scanCommand({ ...scanArgs, 'report-html': join(reports, 'scan-after.html') }, io);
    if (s2 !== 0) problems.push(`the second scan exited ${s2}`);

    check();
    header(io, 6, 'Reports');
    io.stdout.write(`  HTML report (open it in a browser): ${out.html}\n`);
    io.stdout.write(`  scan before / after:                ${out.scanHtml}\n                                      ${join(reports, 'scan-after.html')}\n`);
    io.stdout.write(`  JSON report:                        ${out.json}\n`);
    io.stdout.write(`  Prometheus metrics (textfile):      ${out.metrics}\n`);
    try {
      const metricLines = readFileSync(out.metrics, 'utf8')
        .split('\n')
        .filter((l) => /^nodesweep_(leaked_cgroups|removed_cgroups_total|remediations_total)\{/.test(l))
        .slice(0, 12);
      for (const l of metricLines) io.stdout.write(`      ${l}\n`);
    } catch {
      /* no metrics file: said above where it would be */
    }
    io.stdout.write(`  history database:                   ${out.db}\n`);
  } catch (e) {
    if (!(e instanceof DemoInterrupted)) throw e;
    code = ExitCode.INTERRUPTED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (lab && a.keep) {
      io.stdout.write(`\nThe lab keeps running (--keep). Stop it with: nodesweep lab down --dir ${labDir}\n`);
    } else if (lab || labDir) {
      header(io, 7, 'Tear the lab down   (nodesweep lab down)');
      try {
        const d = await labDown({ dir: labDir });
        for (const pr of d.problems) io.stderr.write(`[WARNING]: ${pr}\n`);
        io.stdout.write(d.removedDir ? `Lab stopped; its processes, cgroups and files are gone. Reports stay in ${reports}\n` : `Could not remove everything: run 'nodesweep lab down --dir ${labDir}'\n`);
        if (!d.removedDir) code = ExitCode.GENERIC;
      } catch (e) {
        io.stderr.write(`ERROR! lab down: ${e instanceof Error ? e.message : String(e)}\n`);
        code = ExitCode.GENERIC;
      }
    }
  }
  if (problems.length && code !== ExitCode.INTERRUPTED) {
    io.stderr.write(`\nThe demo did not go as planned: ${problems.join('; ')}\n`);
    code = ExitCode.GENERIC;
  }
  io.stdout.write(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s. HTML report: ${out.html}\n`);
  return code;
}
