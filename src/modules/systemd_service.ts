/**
 * `systemd_service`: start/stop/restart/reload a unit, enable/disable it, daemon-reload, and wait until it
 * settles (Ansible's ansible.builtin.systemd_service, plus the wait Ansible lacks). One remote sh script.
 */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { shQuote } from '../transport/types.js';
import { loadScript, shAssignments } from './common.js';

export const systemdServiceSchema = z
  .object({
    name: z.string().min(1),
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
    enabled: z.boolean().optional(),
    daemon_reload: z.boolean().default(false),
  })
  .strict()
  .refine((p) => p.state !== undefined || p.enabled !== undefined || p.daemon_reload, {
    message: 'one of the following is required: state, enabled, daemon_reload',
  });
export type SystemdServiceParams = z.infer<typeof systemdServiceSchema>;

/** Seconds of polling for the target state: the task timeout less a margin, so the script reports before it is killed. */
export function waitPolls(timeoutMs: number): number {
  const t = timeoutMs / 1000;
  const wait = t - Math.min(5, 0.2 * t);
  return Math.max(1, Math.floor(wait / 0.5));
}

/** Parse the script's `key=value` lines (pure; status_line/journal_line repeat). */
export function parseServiceOutput(stdout: string): { fields: Record<string, string>; statusLines: string[]; journalLines: string[] } {
  const fields: Record<string, string> = {};
  const statusLines: string[] = [];
  const journalLines: string[] = [];
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'status_line') statusLines.push(v);
    else if (k === 'journal_line') journalLines.push(v);
    else fields[k] = v;
  }
  return { fields, statusLines, journalLines };
}

export function systemdServiceModule(): ModuleDefinition<SystemdServiceParams> {
  const script = loadScript('systemd_service.sh', import.meta.url);
  return {
    name: 'systemd_service',
    aliases: ['systemd', 'service', 'ansible.builtin.systemd_service', 'ansible.builtin.systemd', 'ansible.builtin.service'],
    schema: systemdServiceSchema,
    supportsCheckMode: true,
    async run(p, ctx) {
      const prelude = shAssignments(
        {
          NS_NAME: p.name,
          NS_STATE: p.state ?? '',
          NS_ENABLED: p.enabled === undefined ? '' : String(p.enabled),
          NS_DAEMON_RELOAD: p.daemon_reload ? '1' : '0',
          NS_CHECK: ctx.check ? '1' : '0',
          NS_POLLS: String(waitPolls(ctx.timeoutMs)),
        },
        shQuote,
      );
      const r = await ctx.transport.exec(`${prelude}\n${script}`, {
        timeoutMs: ctx.timeoutMs,
        ...(ctx.become ? { become: ctx.become } : {}),
        ...(ctx.environment ? { env: ctx.environment } : {}),
        signal: ctx.signal,
      });
      const { fields, statusLines, journalLines } = parseServiceOutput(r.stdout);
      const changed = fields.changed === '1' || (fields.changed === undefined && fields.action !== undefined);
      const status: Record<string, string> = { ActiveState: fields.after ?? fields.before ?? 'unknown' };
      if (fields.enabled_after !== undefined) status.UnitFileState = fields.enabled_after;
      // Ansible returns the unit's properties as `status`, but `status` is the task status in ModuleResult,
      // so they go under `unit_status`.
      const res: ModuleResult = {
        status: changed ? 'changed' : 'ok',
        changed,
        name: p.name,
        ...(p.state !== undefined ? { state: p.state } : {}),
        ...(p.enabled !== undefined ? { enabled: p.enabled } : {}),
        unit_status: status,
      };
      if (fields.action !== undefined) res.action = fields.action;
      if (r.timedOut) {
        return { ...res, status: 'failed', msg: `systemd_service ${p.name} timed out after ${ctx.timeoutMs / 1000} seconds`, stderr: r.stderr };
      }
      if (r.rc !== 0) {
        return {
          ...res,
          status: 'failed',
          rc: r.rc,
          msg: fields.error ?? `systemd_service script failed (rc ${r.rc})`,
          stderr: r.stderr.replace(/\n+$/, ''),
          ...(statusLines.length ? { status_lines: statusLines } : {}),
          ...(journalLines.length ? { journal_lines: journalLines } : {}),
        };
      }
      return res;
    },
  };
}
