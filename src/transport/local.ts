/**
 * ansible_connection=local: run a host's tasks on this machine through the same Transport interface.
 * Every exec is a fresh `sh -c` (no connection to keep); become goes through sudo like on a remote host.
 */
import { spawn } from 'node:child_process';
import { writeFile, chmod } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { BecomeSpec, ExecOptions, ExecResult, Transport } from './types.js';
import { shQuote } from './types.js';

/** argv that runs `sh -c script` as the become user (or as ourselves). */
export function becomeArgv(script: string, become: BecomeSpec | undefined, currentUser: string): string[] {
  if (!become || become.user === currentUser) return ['sh', '-c', script];
  // -S reads the password from stdin (first line) when one is given; -n never prompts otherwise.
  const auth = become.password !== undefined ? ['-S', '-p', ''] : ['-n'];
  return ['sudo', ...auth, '-H', '-u', become.user, '--', 'sh', '-c', script];
}

export class LocalTransport implements Transport {
  readonly host: string;
  private readonly currentUser = userInfo().username;
  private closed = false;
  /** Process-group kills of the commands running now (close() kills them: nothing is left behind on a quit). */
  private readonly running = new Set<() => void>();

  constructor(host: string) {
    this.host = host;
  }

  async connect(): Promise<void> {
    this.closed = false;
  }

  exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const argv = becomeArgv(script, opts.become, this.currentUser);
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group, so a timeout kills the whole command tree
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const killTree = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      // A non-finite or huge timeout means none (setTimeout would fire at once on overflow).
      const timer =
        Number.isFinite(opts.timeoutMs) && opts.timeoutMs < 2 ** 31
          ? setTimeout(() => {
              timedOut = true;
              killTree();
            }, opts.timeoutMs)
          : undefined;
      this.running.add(killTree);
      const onAbort = () => killTree();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.stdin.on('error', () => {
        /* command exited before reading stdin */
      });
      let input = '';
      if (opts.become && opts.become.user !== this.currentUser && opts.become.password !== undefined) {
        input += opts.become.password + '\n';
      }
      if (opts.stdin !== undefined) input += opts.stdin;
      child.stdin.end(input);
      const finish = (rc: number) => {
        this.running.delete(killTree);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve({
          rc,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          durationMs: Date.now() - started,
        });
      };
      child.on('error', (e) => {
        err.push(Buffer.from(`${e.message}\n`));
        finish(127);
      });
      child.on('close', (code, signal) => finish(code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1)));
    });
  }

  async put(content: string | Buffer, remotePath: string, opts?: { mode?: number; become?: BecomeSpec; timeoutMs?: number }): Promise<void> {
    const mode = opts?.mode ?? 0o600;
    if (!opts?.become || opts.become.user === this.currentUser) {
      await writeFile(remotePath, content, { mode });
      await chmod(remotePath, mode);
      return;
    }
    const script = `umask 077 && cat > ${shQuote(remotePath)} && chmod ${mode.toString(8)} ${shQuote(remotePath)}`;
    const r = await this.exec(script, { timeoutMs: opts.timeoutMs ?? 60_000, become: opts.become, stdin: content.toString() });
    if (r.rc !== 0) throw new Error(`writing ${remotePath} as ${opts.become.user} failed (rc=${r.rc}): ${r.stderr.trim()}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const kill of this.running) kill();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
  return table[sig];
}
