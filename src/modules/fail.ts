/** `fail`: fail the task with a message (Ansible's ansible.builtin.fail). */
import { z } from 'zod';
import type { ModuleDefinition, ModuleResult } from './types.js';
import { setMsg } from './lookup.js';

export const failSchema = z.object({ msg: z.unknown().default('Failed as requested from task') }).strict();
export type FailParams = z.infer<typeof failSchema>;

export function failModule(): ModuleDefinition<FailParams> {
  return {
    name: 'fail',
    aliases: ['ansible.builtin.fail'],
    schema: failSchema,
    controllerOnly: true,
    supportsCheckMode: true,
    async run(p) {
      const res: ModuleResult = { status: 'failed', changed: false };
      setMsg(res, p.msg ?? 'Failed as requested from task');
      return res;
    },
  };
}
