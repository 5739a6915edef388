/** `debug`: print a message or a variable (Ansible's ansible.builtin.debug). */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { lookupVar, setMsg } from './lookup.js';

export const debugSchema = z
  .object({
    msg: z.unknown().optional(),
    var: z.string().optional(),
    verbosity: z.coerce.number().int().min(0).default(0),
  })
  .strict()
  .refine((p) => !(p.msg !== undefined && p.var !== undefined), { message: "'msg' and 'var' are incompatible options" });
export type DebugParams = z.infer<typeof debugSchema>;

export function debugModule(): ModuleDefinition<DebugParams> {
  return {
    name: 'debug',
    aliases: ['ansible.builtin.debug'],
    schema: debugSchema,
    controllerOnly: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      if (p.verbosity > (ctx.verbosity ?? 0)) {
        return { status: 'skipped', changed: false, skipped: true, skipped_reason: 'Verbosity threshold not met.' };
      }
      // debug output is always shown in full, as Ansible's _ansible_verbose_always does
      const res: ModuleResult = { status: 'ok', changed: false, _ansible_verbose_always: true };
      if (p.var !== undefined) {
        let value: unknown;
        try {
          value = ctx.evalExpression ? ctx.evalExpression(p.var) : lookupVar(ctx.vars, p.var);
        } catch (e) {
          value = undefined;
          ctx.log.debug(`debug var ${p.var}: ${e instanceof Error ? e.message : String(e)}`);
        }
        res[p.var] = value === undefined ? 'VARIABLE IS NOT DEFINED!' : value;
      } else {
        setMsg(res, p.msg === undefined ? 'Hello world!' : p.msg);
      }
      return res;
    },
  };
}
