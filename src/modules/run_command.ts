/** The shared engine of `shell`, `command` and `raw`: one remote script run, Ansible's result fields. */
import { performance } from 'node:perf_hooks';
import type { ModuleContext, ModuleResult } from './types.js';
import { shQuote } from '../transport/types.js';
import { ansibleDelta, ansibleTimestamp, newMarker, shAssignments, splitLines } from './common.js';

export interface CommandSpec {
  /** What `cmd` reports (string for shell/raw, argv for command). */
  cmd: string | string[];
  /** sh body of `ns_run()`: execs the command. */
  runBody: string;
  chdir?: string;
  creates?: string;
  removes?: string;
  stdin?: string;
  stdinAddNewline: boolean;
  stripEmptyEnds: boolean;
}

/** Runs the command through the transport with the run_command.sh wrapper (chdir/creates/removes/check in one round trip). */
export async function runCommand(spec: CommandSpec, script: string, ctx: ModuleContext): Promise<ModuleResult> {
  const mark = newMarker();
  const prelude = shAssignments(
    {
      NS_MARK: mark,
      NS_CHDIR: spec.chdir ?? '',
      NS_CREATES: spec.creates ?? '',
      NS_REMOVES: spec.removes ?? '',
      NS_CHECK: ctx.check ? '1' : '0',
    },
    shQuote,
  );
  const full = `${prelude}\nns_run() {\n${spec.runBody}\n}\n${script}`;
  let stdin = spec.stdin;
  if (stdin !== undefined && spec.stdinAddNewline && !stdin.endsWith('\n')) stdin += '\n';

  const t0 = performance.now();
  const r = await ctx.transport.exec(full, {
    timeoutMs: ctx.timeoutMs,
    ...(ctx.become ? { become: ctx.become } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
    ...(ctx.environment ? { env: ctx.environment } : {}),
    signal: ctx.signal,
  });
  const elapsed = performance.now() - t0;

  const base: ModuleResult = { status: 'ok', changed: false, cmd: spec.cmd, msg: '' };
  const prefix = `${mark} `;
  if (!r.timedOut && r.stdout.startsWith(prefix)) {
    const line = r.stdout.slice(prefix.length).replace(/\n$/, '');
    const [what, ...rest] = line.split(' ');
    const detail = rest.join(' ');
    const would = ctx.check ? 'Would' : 'Did';
    const skipFields = { stdout: '', stderr: '', stdout_lines: [] as string[], stderr_lines: [] as string[], start: null, end: null, delta: null };
    switch (what) {
      case 'chdir':
        return { ...base, ...skipFields, status: 'failed', msg: `Unable to change directory before execution: ${detail}` };
      case 'creates': {
        const stdout = `skipped, since ${spec.creates} exists`;
        return { ...base, ...skipFields, rc: 0, stdout, stdout_lines: [stdout], msg: `${would} not run command since '${spec.creates}' exists` };
      }
      case 'removes': {
        const stdout = `skipped, since ${spec.removes} does not exist`;
        return { ...base, ...skipFields, rc: 0, stdout, stdout_lines: [stdout], msg: `${would} not run command since '${spec.removes}' does not exist` };
      }
      case 'check': {
        // Ansible: without creates/removes the task is skipped; with them (undecided) it would change.
        const decidable = spec.creates !== undefined || spec.removes !== undefined;
        return {
          ...base,
          ...skipFields,
          status: decidable ? 'changed' : 'skipped',
          changed: decidable,
          ...(decidable ? {} : { skipped: true }),
          rc: 0,
          msg: 'Command would have run if not in check mode',
        };
      }
      default:
        break; // not ours after all: fall through to a normal result
    }
  }

  const strip = (s: string) => (spec.stripEmptyEnds ? s.replace(/[\r\n]+$/, '') : s);
  const stdout = strip(r.stdout);
  const stderr = strip(r.stderr);
  const res: ModuleResult = {
    ...base,
    status: 'changed',
    changed: true,
    rc: r.rc,
    stdout,
    stderr,
    stdout_lines: splitLines(stdout),
    stderr_lines: splitLines(stderr),
    start: preciseTimestamp(t0),
    end: preciseTimestamp(t0 + elapsed),
    delta: ansibleDelta(elapsed),
  };
  if (r.timedOut) {
    res.status = 'failed';
    res.msg = `command timed out after ${formatSeconds(ctx.timeoutMs)} seconds`;
    res.timed_out = true;
  } else if (r.rc !== 0) {
    res.status = 'failed';
    res.msg = 'non-zero return code';
  }
  return res;
}

/** Wall-clock time of a performance.now() reading, to the microsecond like Python's datetime. */
function preciseTimestamp(perfMs: number): string {
  const epochMs = performance.timeOrigin + perfMs;
  const d = new Date(Math.floor(epochMs));
  return ansibleTimestamp(d, Math.floor((epochMs - Math.floor(epochMs / 1000) * 1000) * 1000));
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(3).replace(/0+$/, '');
}
