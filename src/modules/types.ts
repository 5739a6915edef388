/**
 * Modules are typed plugins: a zod schema for their parameters, a check-mode behaviour, and one
 * result shape for success and failure.
 */
import type { z } from 'zod';
import type { BecomeSpec, Transport } from '../transport/types.js';
import type { KubeAccess } from '../kube/access.js';
import type { RunLogger } from '../contracts/logger.js';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** The one result shape every module returns (also what `register:` stores, plus derived fields). */
export interface ModuleResult {
  status: TaskStatus;
  rc?: number;
  stdout?: string;
  stderr?: string;
  msg?: string;
  /** Module-specific fields (e.g. `cmd`, `delta`, `ansible_facts`). */
  [field: string]: unknown;
}

export interface ModuleContext {
  /** Inventory hostname. */
  host: string;
  /** Connection to the host; opened lazily by the executor before the first remote module. */
  transport: Transport;
  /** --check, or the task's `check_mode: true`. */
  check: boolean;
  become?: BecomeSpec;
  /** Per-command timeout in ms (task `timeout:` or --task-timeout). */
  timeoutMs: number;
  /** All variables visible to the task on this host (hostvars, play vars, registered, facts, item). */
  vars: Record<string, unknown>;
  log: RunLogger;
  signal: AbortSignal;
  /**
   * Optional: evaluate a Jinja-like expression (`debug: var:`) against the task's variables.
   * Without it, modules fall back to a plain dotted lookup in `vars`.
   */
  evalExpression?: (expr: string) => unknown;
  /** Optional: evaluate a condition (`assert: that:`) as `when:` does. Without it, a dotted lookup's truthiness. */
  evalCondition?: (expr: string | boolean) => boolean;
  /** Optional: run verbosity (-v count), for `debug: verbosity:`. Default 0. */
  verbosity?: number;
  /** Optional: the task's `environment:`; remote modules pass it to `transport.exec` as `env`. */
  environment?: Record<string, string>;
  /** Optional: the run's Kubernetes access (kube_* modules); absent when the run has none. */
  kube?: KubeAccess;
}

export interface ModuleDefinition<P = any> {
  name: string;
  /** Other names accepted in playbooks (e.g. `ansible.builtin.shell`, `systemd`). */
  aliases?: string[];
  /**
   * Free-form modules take a string (`shell: echo hi`) which becomes `{ [freeForm]: string }`,
   * merged with the task's `args:`.
   */
  freeForm?: string;
  /** zod schema of the parameters after templating. Unknown keys must be rejected (`.strict()`). */
  schema: z.ZodType<P>;
  /** Runs on the controller only (set_fact, debug, assert, fail): no connection is opened for it. */
  controllerOnly?: boolean;
  /**
   * Works on the cluster through the Kubernetes API (kube_*): a run whose playbook has one first recovers what
   * crashed runs left in the cluster, and releases its own locks at the end (src/kube/recovery.ts).
   */
  usesCluster?: boolean;
  /**
   * true: the module honours check mode itself (reports what it would do, changes nothing).
   * false: in check mode the task is skipped with msg "skipped: module does not support check mode".
   */
  supportsCheckMode: boolean;
  run(params: P, ctx: ModuleContext): Promise<ModuleResult>;
}
