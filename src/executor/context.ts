/** The run context passed down instead of globals: options, logger, event bus, modules, transports, abort signal. */
import type { EventBus } from '../report/events.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { Transport } from '../transport/types.js';
import type { KubeAccess } from '../kube/access.js';

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';

export interface RunOptions {
  forks: number;
  check: boolean;
  tags: string[];
  skipTags: string[];
  limit?: string;
  extraVars: Record<string, unknown>;
  /** Default per-command timeout (ms); a task's `timeout:` overrides. */
  taskTimeoutMs: number;
  connectTimeoutMs: number;
  /** --become: become for every play/task that does not say otherwise. */
  become: boolean;
  becomeUser?: string;
  /** --ask-become-pass result; never logged. */
  becomePassword?: string;
  /** -u */
  user?: string;
  /** --private-key */
  privateKey?: string;
  /** Passphrase for encrypted keys (NODESWEEP_KEY_PASSPHRASE or --ask-key-passphrase); never logged. */
  keyPassphrase?: string;
  /** --known-hosts, default ~/.ssh/known_hosts */
  knownHosts: string;
  hostKeyChecking: HostKeyChecking;
  /** -c; default: per host ansible_connection, else ssh */
  connection?: 'ssh' | 'local';
  verbosity: number;
  /** --kubeconfig (else KUBECONFIG, ~/.kube/config, in-cluster) for the kube_* modules. */
  kubeconfig?: string;
  /** --context: the kubeconfig context to use. */
  kubeContext?: string;
}

export const DEFAULT_FORKS = 50;
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Creates a host's transport from its merged vars and the run options (SSH or local). */
export interface TransportFactory {
  create(host: string, hostVars: Record<string, unknown>): Transport;
}

/**
 * What the run needs of a logger: leveled methods and child loggers that add fields (host, task). A winston
 * Logger is one; a run without --log-file gets SILENT_LOGGER and never loads winston.
 */
export interface RunLogger {
  debug(message: string, ...meta: unknown[]): unknown;
  info(message: string, ...meta: unknown[]): unknown;
  warn(message: string, ...meta: unknown[]): unknown;
  error(message: string, ...meta: unknown[]): unknown;
  child(fields: Record<string, unknown>): RunLogger;
}

/** Drops everything (a run without --log-file). */
export const SILENT_LOGGER: RunLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => SILENT_LOGGER,
};

/** The signal name a run was interrupted by, from its AbortSignal's reason (run-command aborts with the name). */
export function interruptSignalName(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
}

export interface RunContext {
  options: RunOptions;
  logger: RunLogger;
  events: EventBus;
  modules: ModuleRegistry;
  transports: TransportFactory;
  /** Aborted on Ctrl-C / SIGTERM: no new task starts, running commands are killed, connections closed. */
  signal: AbortSignal;
  /** Kubernetes access for the kube_* modules (client created on first use, held Leases). */
  kube?: KubeAccess;
}
