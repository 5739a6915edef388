/** `command`: run a program with arguments, no shell features (Ansible's ansible.builtin.command). */
import { z } from 'zod';
import type { ModuleDefinition } from './types.js';
import { shQuote } from '../transport/types.js';
import { loadScript } from './common.js';
import { ShlexError, shlexSplit } from '../util/shlex.js';
import { runCommand } from './run_command.js';

export const commandSchema = z
  .object({
    cmd: z.string().optional(),
    argv: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).min(1).optional(),
    chdir: z.string().optional(),
    creates: z.string().optional(),
    removes: z.string().optional(),
    stdin: z.string().optional(),
    stdin_add_newline: z.boolean().default(true),
    strip_empty_ends: z.boolean().default(true),
  })
  .strict()
  .refine((p) => !(p.cmd !== undefined && p.argv !== undefined), { message: 'only command or argv can be given, not both' })
  .refine((p) => (p.cmd !== undefined && p.cmd.trim() !== '') || p.argv !== undefined, { message: 'no command given' });
export type CommandParams = z.infer<typeof commandSchema>;

export function commandModule(): ModuleDefinition<CommandParams> {
  const script = loadScript('run_command.sh', import.meta.url);
  return {
    name: 'command',
    aliases: ['ansible.builtin.command'],
    freeForm: 'cmd',
    schema: commandSchema,
    supportsCheckMode: true,
    async run(p, ctx) {
      let argv: string[];
      try {
        argv = p.argv ?? shlexSplit(p.cmd ?? '');
      } catch (e) {
        if (e instanceof ShlexError) return { status: 'failed', changed: false, rc: 256, cmd: p.cmd, msg: `cannot split command line: ${e.message}` };
        throw e;
      }
      return runCommand(
        {
          cmd: argv,
          runBody: `exec ${argv.map(shQuote).join(' ')}`,
          ...(p.chdir !== undefined ? { chdir: p.chdir } : {}),
          ...(p.creates !== undefined ? { creates: p.creates } : {}),
          ...(p.removes !== undefined ? { removes: p.removes } : {}),
          ...(p.stdin !== undefined ? { stdin: p.stdin } : {}),
          stdinAddNewline: p.stdin_add_newline,
          stripEmptyEnds: p.strip_empty_ends,
        },
        script,
        ctx,
      );
    },
  };
}
