/**
 * Typed errors. An expected error (bad input, unreachable host, API refusal) is one of these and
 * prints one line; anything else is a bug and the CLI prints its stack and exits 250.
 */

/** Exit codes, as ansible-playbook uses them (see README "Exit codes"). */
export const ExitCode = {
  OK: 0,
  GENERIC: 1,
  HOST_FAILED: 2,
  INVALID_INPUT: 3,
  HOST_UNREACHABLE: 4,
  BAD_OPTIONS: 5,
  INTERRUPTED: 99,
  INTERNAL: 250,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface SourcePosition {
  file: string;
  line?: number; // 1-based
  column?: number; // 1-based
}

export function formatPosition(pos: SourcePosition): string {
  let s = pos.file;
  if (pos.line !== undefined) s += `:${pos.line}`;
  if (pos.line !== undefined && pos.column !== undefined) s += `:${pos.column}`;
  return s;
}

export class NodesweepError extends Error {
  /** Stable machine-readable code, e.g. "INVENTORY_SYNTAX". */
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  constructor(code: string, message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** A malformed inventory; message starts with file:line. Exit 3. */
export class InventoryError extends NodesweepError {
  readonly position: SourcePosition;
  constructor(position: SourcePosition, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'INVENTORY_INVALID', `${formatPosition(position)}: ${message}`, ExitCode.INVALID_INPUT, options);
    this.position = position;
  }
}

/** A malformed playbook, bad task keyword or module parameter; message starts with file:line:column. Exit 3. */
export class PlaybookError extends NodesweepError {
  readonly position: SourcePosition;
  constructor(position: SourcePosition, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'PLAYBOOK_INVALID', `${formatPosition(position)}: ${message}`, ExitCode.INVALID_INPUT, options);
    this.position = position;
  }
}

/** Bad command-line usage. Exit 5. */
export class UsageError extends NodesweepError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, ExitCode.BAD_OPTIONS, options);
  }
}

/** Could not reach or keep a connection to a host (refused, timeout, dropped, proxy failed). Host is UNREACHABLE. */
export class ConnectError extends NodesweepError {
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'CONNECT', `${host}: ${message}`, ExitCode.HOST_UNREACHABLE, options);
    this.host = host;
  }
}

/** Host key unknown (strict) or mismatching known_hosts, revoked, or a CA entry. Host is UNREACHABLE. */
export class HostKeyError extends ConnectError {
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(host, message, { ...options, code: 'HOST_KEY' });
  }
}

/** Authentication refused (no key accepted, bad passphrase, agent empty). Host is UNREACHABLE. */
export class AuthError extends ConnectError {
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(host, message, { ...options, code: 'AUTH' });
  }
}

/** A Kubernetes API call failed (down, 403, 404, timeout). */
export class KubeError extends NodesweepError {
  readonly status?: number;
  constructor(message: string, options?: { cause?: unknown; status?: number; code?: string }) {
    super(options?.code ?? 'KUBE', message, ExitCode.GENERIC, options);
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** Thrown inside a run when the user pressed Ctrl-C / SIGTERM. Exit 99. */
export class InterruptedError extends NodesweepError {
  constructor(message = 'interrupted by user') {
    super('INTERRUPTED', message, ExitCode.INTERRUPTED);
  }
}

export function isNodesweepError(e: unknown): e is NodesweepError {
  return e instanceof NodesweepError;
}

/** The message of anything thrown, for one-line reports. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
