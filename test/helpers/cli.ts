/** Run the real nodesweep CLI (src through tsx) as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Kill the CLI after this long (a hung CLI is a test failure, not a hung suite). */
  timeoutMs?: number;
  /** Called with the child once spawned (to send signals mid-run). */
  onSpawn?: (child: ChildProcess, output: { stdout: () => string }) => void;
}

let stateHome: string | undefined;
/**
 * `run` and `scan` record history by default under $XDG_STATE_HOME: point it at a temporary dir (removed when the
 * test process exits) so no test writes to the real home. A test that wants its own passes --state-db or env.
 */
function testStateHome(): string {
  if (!stateHome) {
    const dir = mkdtempSync(join(tmpdir(), 'ns-state-'));
    stateHome = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return stateHome;
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: testStateHome(), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  opts.onSpawn?.(child, { stdout: () => stdout });
  // a hung CLI's bound, sized for a loaded 2-core machine (a tsx start alone can take seconds there)
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

/** The PLAY RECAP lines, `host : ok=...`, as CI scripts grep them. */
export function recapLines(stdout: string): string[] {
  const i = stdout.lastIndexOf('PLAY RECAP');
  if (i < 0) return [];
  return stdout
    .slice(i)
    .split('\n')
    .slice(1)
    .filter((l) => / : ok=\d+/.test(l));
}
