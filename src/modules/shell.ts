/** `shell`: run a command line through a shell on the host (Ansible's ansible.builtin.shell). */
import { z } from 'zod';
import type { ModuleDefinition } from './types.js';
import { shQuote } from '../transport/types.js';
import { loadScript } from './common.js';
import { runCommand } from './run_command.js';

export const shellSchema = z
  .object({
    cmd: z.string().min(1, 'no command given'),
    chdir: z.string().optional(),
    creates: z.string().optional(),
    removes: z.string().optional(),
    executable: z.string().default('/bin/sh'),
    stdin: z.string().optional(),
    stdin_add_newline: z.boolean().default(true),
    strip_empty_ends: z.boolean().default(true),
  })
  .strict();
export type ShellParams = z.infer<typeof shellSchema>;

export function shellModule(): ModuleDefinition<ShellParams> {
  const script = loadScript('run_command.sh', import.meta.url);
  return {
    name: 'shell',
    aliases: ['ansible.builtin.shell'],
    freeForm: 'cmd',
    schema: shellSchema,
    supportsCheckMode: true,
    run(p, ctx) {
      return runCommand(
        {
          cmd: p.cmd,
          runBody: `exec ${shQuote(p.executable)} -c ${shQuote(p.cmd)}`,
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
