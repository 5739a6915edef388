/** Real ansible-playbook, the oracle for Ansible behaviour, run with no user config and its temp dirs in the test's. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface AnsibleRun {
  code: number;
  stdout: string;
}

/**
 * `ansible-playbook ARGS` in `dir` (temp dirs under it, no ansible.cfg, no retry files, no colour, no interpreter
 * warning); `env` adds to that (e.g. ANSIBLE_STDOUT_CALLBACK=json).
 */
export function ansiblePlaybook(dir: string, args: string[], env: Record<string, string> = {}): Promise<AnsibleRun> {
  return new Promise((resolve) => {
    execFile(
      'ansible-playbook',
      args,
      {
        cwd: dir,
        timeout: 180_000,
        maxBuffer: 16 << 20,
        env: {
          ...process.env,
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_RETRY_FILES_ENABLED: '0',
          ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
          ANSIBLE_REMOTE_TEMP: join(dir, 'rtmp'),
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
          ANSIBLE_CONFIG: join(dir, 'none.cfg'),
          ...env,
        },
      },
      (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
}
