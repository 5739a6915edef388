/** `assert`: fail unless every condition holds (Ansible's ansible.builtin.assert). */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { lookupVar, setMsg } from './lookup.js';
import { pyTruthy } from '../compat/python.js';

const msgType = z.union([z.string(), z.array(z.string())]);
export const assertSchema = z
  .object({
    that: z.union([z.string(), z.boolean(), z.array(z.union([z.string(), z.boolean()]))]),
    msg: msgType.optional(),
    fail_msg: msgType.optional(),
    success_msg: msgType.optional(),
    quiet: z.boolean().default(false),
  })
  .strict();
export type AssertParams = z.infer<typeof assertSchema>;

/** Without the executor's evaluator: booleans as is, `not x` / `x` as a variable's truthiness. */
function fallbackCondition(vars: Record<string, unknown>, cond: string | boolean): boolean {
  if (typeof cond === 'boolean') return cond;
  const s = cond.trim();
  if (s === 'true' || s === 'True') return true;
  if (s === 'false' || s === 'False') return false;
  const neg = /^not\s+(.+)$/.exec(s);
  if (neg) return !pyTruthy(lookupVar(vars, neg[1]!));
  return pyTruthy(lookupVar(vars, s));
}

export function assertModule(): ModuleDefinition<AssertParams> {
  return {
    name: 'assert',
    aliases: ['ansible.builtin.assert'],
    schema: assertSchema,
    controllerOnly: true,
    supportsCheckMode: true,
    async run(p, ctx) {
      const thats = Array.isArray(p.that) ? p.that : [p.that];
      const base: ModuleResult = { status: 'ok', changed: false };
      if (!p.quiet) base._ansible_verbose_always = true;
      for (const that of thats) {
        const ok = ctx.evalCondition ? ctx.evalCondition(that) : fallbackCondition(ctx.vars, that);
        if (!ok) {
          const res: ModuleResult = { ...base, status: 'failed', assertion: that, evaluated_to: false };
          setMsg(res, p.fail_msg ?? p.msg ?? 'Assertion failed');
          return res;
        }
      }
      const res: ModuleResult = { ...base };
      setMsg(res, p.success_msg ?? 'All assertions passed');
      return res;
    },
  };
}
