/**
 * A run is a stream of typed events; the console printer, JSON report, JUnit, log file and retry file
 * are sinks of it. Tests assert on events, not on formatted text.
 */
import type { ModuleResult, TaskStatus } from '../modules/types.js';
import type { ClusterCleanupEvent } from '../kube/recovery.js';

export type { ClusterCleanupEvent };

export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
}

export type RunEvent =
  | { kind: 'run_start'; playbook: string; checkMode: boolean; startedAt: string; hosts: string[] }
  | { kind: 'play_start'; play: string; hosts: string[] }
  | { kind: 'play_no_hosts'; play: string }
  | { kind: 'batch_start'; play: string; hosts: string[]; batch: number; batches: number }
  /** A host begins a task (hosts are not in lockstep; each walks its own tasks). */
  | { kind: 'task_start'; play: string; task: string; module: string; host: string }
  /** One attempt failed and `until` will retry. */
  | { kind: 'task_retry'; play: string; task: string; host: string; retriesLeft: number; result: ModuleResult; noLog?: boolean }
  /**
   * The outcome of a task on a host (for a loop, one per item with `item` set, then one aggregate without).
   * `ignored`: failed but ignore_errors; `noLog`: result must be redacted by every sink.
   */
  | {
      kind: 'task_result';
      play: string;
      task: string;
      module: string;
      host: string;
      status: TaskStatus;
      result: ModuleResult;
      durationMs: number;
      item?: unknown;
      ignored?: boolean;
      noLog?: boolean;
      /** set on the aggregate result of a looped task */
      loop?: boolean;
    }
  /**
   * A failed task's block went into `rescue:`. Emitted right after that failed task_result: the recap then counts
   * the failure as rescued (not failed), as Ansible does.
   */
  | { kind: 'host_rescued'; play: string; host: string }
  /**
   * The run was interrupted (Ctrl-C / SIGTERM) while this host was running this task: its commands were killed
   * and it has no result. The recap counts nothing for it (ansible-playbook has no counter for it); the reports
   * keep it, so that an interrupted host's last step is on record.
   */
  | { kind: 'task_interrupted'; play: string; task: string; module: string; host: string; durationMs: number; signal: string; item?: unknown }
  /** Optional: a host has finished (or left) the play's tasks; only used for the live progress line. */
  | { kind: 'host_done'; play: string; host: string }
  /** A play stopped for all its hosts (any_errors_fatal, max_fail_percentage). */
  | { kind: 'play_aborted'; play: string; reason: string }
  | { kind: 'handler_start'; play: string; handler: string; host: string }
  | { kind: 'warning'; message: string; host?: string }
  /**
   * What the run did in the cluster about what was left there: before its plays, the cordons and Leases of runs
   * that are gone (src/kube/recovery.ts); at its end, the Leases it still held. Printed under the recap and kept
   * in the JSON report and the history.
   */
  | ClusterCleanupEvent
  | { kind: 'interrupted'; signal: string }
  | {
      kind: 'run_end';
      finishedAt: string;
      exitCode: number;
      stats: Record<string, HostStats>;
      interrupted: boolean;
    };


export type RunEventKind = RunEvent['kind'];

export interface EventSink {
  /** Called synchronously for each event in order. */
  handle(event: RunEvent): void;
  /** Called once after run_end; flush files. */
  close?(): Promise<void>;
}

/** Fans events out to every sink. */
export class EventBus {
  private readonly sinks: EventSink[] = [];
  add(sink: EventSink): this {
    this.sinks.push(sink);
    return this;
  }
  emit(event: RunEvent): void {
    for (const s of this.sinks) s.handle(event);
  }
  /**
   * Closes every sink, also when one fails to (each output is written whatever happened to another), and returns
   * the failures; the caller decides how to report them.
   */
  async close(): Promise<unknown[]> {
    return settleEach(this.sinks.map((s) => () => s.close?.()));
  }
}

/** Runs every step in order even when one throws; returns what they threw (an AggregateError's errors flattened). */
export async function settleEach(steps: Iterable<() => Promise<unknown> | unknown>): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      failures.push(...(e instanceof AggregateError ? e.errors : [e]));
    }
  }
  return failures;
}

/** What the reports say of a task the interrupt stopped (one wording for every sink). */
export function interruptedTaskMessage(ev: Extract<RunEvent, { kind: 'task_interrupted' }>): string {
  return `interrupted by ${ev.signal} while the task was running: its commands were killed, it has no result`;
}

/** Placeholder Ansible shows for no_log results. */
export const NO_LOG_RESULT = {
  censored: "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
};
