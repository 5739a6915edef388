/**
 * The narrow interface every module talks to a host through. SSH and local implementations.
 * `exec` never throws on a non-zero exit or a timeout: it returns them; the step decides.
 * It throws ConnectError/AuthError/HostKeyError only when the host cannot be reached.
 */

export interface BecomeSpec {
  /** Target user, default root. */
  user: string;
  /** Only sudo is supported; always non-interactive (`sudo -n`, or `sudo -S` fed the password). */
  method: 'sudo';
  /** Never logged or echoed. */
  password?: string;
}

export interface ExecOptions {
  /** Kill the command after this many ms and return timedOut: true. */
  timeoutMs: number;
  become?: BecomeSpec;
  /** Bytes fed to the command's stdin. */
  stdin?: string;
  /** Extra environment for the command. */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ExecResult {
  rc: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface Transport {
  /** Inventory hostname this transport serves. */
  readonly host: string;
  /** Open the connection (idempotent). Throws ConnectError / AuthError / HostKeyError. */
  connect(): Promise<void>;
  /**
   * Run `script` (a POSIX sh script, may be multi-line) on the host and return its exit code and output.
   * A connection that dropped while idle is reopened once; a second drop, or a drop mid-command, throws ConnectError.
   */
  exec(script: string, opts: ExecOptions): Promise<ExecResult>;
  /** Write content to a file on the host (mode default 0600), as the become user if given. */
  put(content: string | Buffer, remotePath: string, opts?: { mode?: number; become?: BecomeSpec; timeoutMs?: number }): Promise<void>;
  /**
   * Close everything (idempotent, never throws): commands still running are killed, and the host side is given
   * up to `graceMs` to clean up (remote shells remove their temp dirs) before the connection is dropped.
   */
  close(opts?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  graceMs?: number;
}

/** Close every transport at once; never throws. */
export async function closeTransports(transports: Iterable<Transport>, opts: CloseOptions = {}): Promise<void> {
  await Promise.all(
    [...transports].map(async (t) => {
      try {
        await t.close(opts);
      } catch {
        /* close() must not throw; be safe anyway */
      }
    }),
  );
}

/** Quote a string for POSIX sh: 'it'\''s'. */
export function shQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Creates a host's transport from its merged vars and the run options (SSH or local). */
export interface TransportFactory {
  create(host: string, hostVars: Record<string, unknown>): Transport;
}
