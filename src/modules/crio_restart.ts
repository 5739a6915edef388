/**
 * `crio_restart` (over SSH, with the task's become): `systemctl restart crio`, then wait until the unit is active
 * and `crictl info` reports RuntimeReady true. Each probe is one short command; the decision is made here.
 */
import { z } from 'zod';
import { shQuote } from '../transport/types.js';
import type { ExecResult } from '../transport/types.js';
import type { ModuleContext, ModuleDefinition, ModuleResult } from './types.js';
import { loadScript, shAssignments } from './common.js';
import { parseDurationMs, formatDuration } from '../util/duration.js';
import { systemClock, type Clock } from '../util/clock.js';
import { durationParam } from './kube_common.js';

export const crioRestartSchema = z
  .object({
    name: z.string().min(1).default('crio'),
    timeout: durationParam().default('5m'),
    crictl: z.string().min(1).optional(),
    systemctl: z.string().min(1).optional(),
    poll_interval: durationParam().default('1s'),
  })
  .strict();
export type CrioRestartParams = z.infer<typeof crioRestartSchema>;

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason?: string;
  message?: string;
}

export interface ProbeResult {
  active: string;
  crictlRc?: number;
  /** undefined: crictl's output could not be read as `crictl info` JSON. */
  conditions?: RuntimeCondition[];
  crictlOutput: string;
  error?: string;
}

/** Parse the script's output: key=value lines plus the `crictl info` JSON between markers (pure). */
export function parseProbe(stdout: string): ProbeResult {
  const begin = stdout.indexOf('__NS_CRICTL_INFO_BEGIN__\n');
  const end = stdout.indexOf('__NS_CRICTL_INFO_END__');
  let info = '';
  let rest = stdout;
  if (begin >= 0 && end > begin) {
    info = stdout.slice(begin + '__NS_CRICTL_INFO_BEGIN__\n'.length, end);
    rest = stdout.slice(0, begin) + stdout.slice(end);
  }
  const fields: Record<string, string> = {};
  for (const line of rest.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const out: ProbeResult = { active: fields.active ?? 'unknown', crictlOutput: info.trim() };
  if (fields.crictl_rc !== undefined) out.crictlRc = Number(fields.crictl_rc);
  if (fields.error !== undefined) out.error = fields.error;
  const conds = parseCrictlInfo(info);
  if (conds) out.conditions = conds;
  return out;
}

/** `crictl info` prints {"status": {"conditions": [{"type": "RuntimeReady", "status": true, ...}]}, ...}. */
export function parseCrictlInfo(text: string): RuntimeCondition[] | undefined {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
  const conds = (v as { status?: { conditions?: unknown } })?.status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  return conds
    .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string')
    .map((c) => {
      const r: RuntimeCondition = { type: String(c.type), status: c.status === true || c.status === 'true' || c.status === 'True' };
      if (typeof c.reason === 'string' && c.reason) r.reason = c.reason;
      if (typeof c.message === 'string' && c.message) r.message = c.message;
      return r;
    });
}

export function runtimeReady(p: ProbeResult): boolean {
  return p.active === 'active' && p.crictlRc === 0 && (p.conditions?.some((c) => c.type === 'RuntimeReady' && c.status) ?? false);
}

function hostVar(ctx: ModuleContext, name: string): string | undefined {
  const v = ctx.vars[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `clock` times the wait for the runtime (a test passes a fake one to count the probes). */
export function crioRestartModule(clock: Clock = systemClock): ModuleDefinition<CrioRestartParams> {
  const script = loadScript('crio_restart.sh', import.meta.url);
  return {
    name: 'crio_restart',
    aliases: ['nodesweep.crio_restart'],
    schema: crioRestartSchema,
    supportsCheckMode: true,
    async run(p, ctx) {
      const timeoutMs = parseDurationMs(p.timeout)!;
      const pollMs = parseDurationMs(p.poll_interval)!;
      const crictl = p.crictl ?? hostVar(ctx, 'nodesweep_crictl') ?? 'crictl';
      const systemctl = p.systemctl ?? hostVar(ctx, 'nodesweep_systemctl') ?? 'systemctl';
      const started = clock.now();
      const exec = (mode: string, budgetMs: number): Promise<ExecResult> =>
        ctx.transport.exec(`${shAssignments({ NS_MODE: mode, NS_NAME: p.name, NS_SYSTEMCTL: systemctl, NS_CRICTL: crictl }, shQuote)}\n${script}`, {
          timeoutMs: Math.max(1000, budgetMs),
          ...(ctx.become ? { become: ctx.become } : {}),
          ...(ctx.environment ? { env: ctx.environment } : {}),
          signal: ctx.signal,
        });
      const base = { name: p.name, crictl };

      if (ctx.check) {
        const r = await exec('check', Math.min(30_000, timeoutMs));
        const pr = parseProbe(r.stdout);
        if (pr.error) return { status: 'failed', changed: false, ...base, msg: pr.error, rc: r.rc };
        return { status: 'changed', changed: true, ...base, active: pr.active, runtime_ready: runtimeReady(pr), msg: `would restart ${p.name} (now ${pr.active})` };
      }

      const restartedAt = new Date(clock.now());
      const r = await exec('restart', Math.min(timeoutMs, 120_000));
      const first = parseProbe(r.stdout);
      if (r.timedOut) return { status: 'failed', changed: true, ...base, msg: `systemctl restart ${p.name} did not return within ${formatDuration(Math.min(timeoutMs, 120_000))}` };
      if (r.rc !== 0 || first.error) {
        return { status: 'failed', changed: false, ...base, rc: r.rc, msg: first.error ?? `restart script failed (rc ${r.rc})`, stderr: r.stderr.trim() };
      }
      // Wait for the unit to be active and the runtime to report ready.
      let last: ProbeResult | undefined;
      let polls = 0;
      for (;;) {
        const left = timeoutMs - (clock.now() - started);
        const pr = await exec('probe', Math.min(30_000, Math.max(1000, left)));
        last = parseProbe(pr.stdout);
        polls++;
        if (runtimeReady(last)) {
          const res: ModuleResult = {
            status: 'changed',
            changed: true,
            ...base,
            restarted_at: restartedAt.toISOString(),
            active: last.active,
            runtime_ready: true,
            conditions: last.conditions,
            polls,
            msg: `${p.name} restarted; active and RuntimeReady after ${formatDuration(clock.now() - started)}`,
          };
          return res;
        }
        if (clock.now() - started >= timeoutMs) break;
        await clock.sleep(Math.min(pollMs, Math.max(10, timeoutMs - (clock.now() - started))), ctx.signal);
      }
      const why =
        last.active !== 'active'
          ? `unit is ${last.active}`
          : last.crictlRc !== 0
            ? `${crictl} info failed (rc ${last.crictlRc}): ${last.crictlOutput.split('\n').slice(-3).join(' ').slice(0, 300)}`
            : last.conditions === undefined
              ? `${crictl} info printed no runtime conditions`
              : `RuntimeReady is ${String(last.conditions.find((c) => c.type === 'RuntimeReady')?.status ?? 'missing')}${(() => {
                  const c = last.conditions.find((x) => x.type === 'RuntimeReady');
                  return c?.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : '';
                })()}`;
      return {
        status: 'failed',
        changed: true,
        ...base,
        restarted_at: restartedAt.toISOString(),
        active: last.active,
        runtime_ready: false,
        ...(last.conditions ? { conditions: last.conditions } : {}),
        polls,
        msg: `${p.name} was restarted but the runtime is not ready after ${formatDuration(timeoutMs)}: ${why}`,
      };
    },
  };
}
