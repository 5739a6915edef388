/** `raw`: send the string to the host's shell as-is (Ansible's ansible.builtin.raw). No check mode, like Ansible. */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { shQuote } from '../transport/types.js';
import { splitLines } from './common.js';

export const rawSchema = z
  .object({
    cmd: z.string().min(1, 'no command given'),
    executable: z.string().optional(),
  })
  .strict();
export type RawParams = z.infer<typeof rawSchema>;

export function rawModule(): ModuleDefinition<RawParams> {
  return {
    name: 'raw',
    aliases: ['ansible.builtin.raw'],
    freeForm: 'cmd',
    schema: rawSchema,
    supportsCheckMode: false,
    async run(p, ctx) {
      const script = p.executable !== undefined ? `exec ${shQuote(p.executable)} -c ${shQuote(p.cmd)}` : p.cmd;
      const r = await ctx.transport.exec(script, {
        timeoutMs: ctx.timeoutMs,
        ...(ctx.become ? { become: ctx.become } : {}),
        ...(ctx.environment ? { env: ctx.environment } : {}),
        signal: ctx.signal,
      });
      const res: ModuleResult = {
        status: 'changed',
        changed: true,
        rc: r.rc,
        stdout: r.stdout,
        stderr: r.stderr,
        stdout_lines: splitLines(r.stdout),
        stderr_lines: splitLines(r.stderr),
      };
      if (r.timedOut) {
        res.status = 'failed';
        res.msg = `command timed out after ${ctx.timeoutMs / 1000} seconds`;
        res.timed_out = true;
      } else if (r.rc !== 0) {
        res.status = 'failed';
        res.msg = 'non-zero return code';
      }
      return res;
    },
  };
}
