/** The run context passed down instead of globals: options, logger, event bus, modules, transports, abort signal. */
import type { EventBus } from '../events/events.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { TransportFactory } from '../transport/types.js';
import type { RunOptions } from '../contracts/run-options.js';
import type { RunLogger } from '../contracts/logger.js';
import type { KubeAccess } from '../kube/access.js';

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
