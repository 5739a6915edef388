/**
 * What a run was asked to do (the CLI's options): read by the executor, the transports and the modules alike, so
 * it lives below all three and none of them imports another for it.
 */
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

/** The CLI's defaults (--forks, --task-timeout, --connect-timeout): the one place they are set. */
export const DEFAULT_FORKS = 50;
export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
