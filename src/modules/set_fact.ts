/** `set_fact`: set host variables on the controller; the executor merges `ansible_facts` into the host's vars. */
import { z } from 'zod';
import type { ModuleDefinition } from './types.js';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const setFactSchema = z
  .record(z.string(), z.unknown())
  .superRefine((rec, zctx) => {
    for (const k of Object.keys(rec)) {
      if (k !== 'cacheable' && !VAR_NAME.test(k)) {
        zctx.addIssue({ code: 'custom', path: [k], message: `The variable name '${k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.` });
      }
    }
    if ('cacheable' in rec && typeof rec.cacheable !== 'boolean') {
      zctx.addIssue({ code: 'custom', path: ['cacheable'], message: 'cacheable must be a boolean' });
    }
    if (Object.keys(rec).filter((k) => k !== 'cacheable').length === 0) {
      zctx.addIssue({ code: 'custom', message: 'No key/value pairs provided, at least one is required for this action to succeed' });
    }
  });
export type SetFactParams = z.infer<typeof setFactSchema>;

export function setFactModule(): ModuleDefinition<SetFactParams> {
  return {
    name: 'set_fact',
    aliases: ['ansible.builtin.set_fact'],
    schema: setFactSchema,
    controllerOnly: true,
    supportsCheckMode: true,
    async run(p) {
      const facts: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(p)) if (k !== 'cacheable') facts[k] = v;
      return { status: 'ok', changed: false, ansible_facts: facts };
    },
  };
}
