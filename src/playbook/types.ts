/** The validated playbook model. Built by src/playbook/load.ts; every node knows where it came from. */

export interface Loc {
  file: string;
  line: number; // 1-based
  column: number; // 1-based
}

/** A `when:`/`changed_when:`/... condition: a bare Jinja2 expression, or a literal boolean. */
export type Condition = string | boolean;

export interface TaskCommon {
  /** The task's `name:`, templated at run time; absent = the module name is shown. */
  name?: string;
  /** All must be true (Ansible ANDs a list). */
  when: Condition[];
  tags: string[];
  become?: boolean;
  becomeUser?: string;
  ignoreErrors?: Condition;
  noLog?: Condition;
  /** Task-level `check_mode:` (true forces check mode, false forces a real run). */
  checkMode?: boolean;
  /** Seconds. */
  timeout?: number;
  vars: Record<string, unknown>;
  /** `environment:` for the task's commands: a mapping, or a template string that renders to one. */
  environment?: Record<string, unknown> | string;
  loc: Loc;
}

export interface ModuleTask extends TaskCommon {
  kind: 'module';
  module: string;
  /** Raw (untemplated) parameters, free-form string already turned into its key. */
  args: Record<string, unknown>;
  register?: string;
  /** A list, or a template string that renders to a list. */
  loop?: unknown;
  /** `loop_control.loop_var`, default `item`. */
  loopVar: string;
  /** `loop_control.index_var`: name of the 0-based index variable. */
  indexVar?: string;
  /** `loop_control.label`: template shown instead of the item. */
  loopLabel?: string;
  /** `loop_control.pause`: seconds between items. */
  loopPause?: number;
  changedWhen?: Condition[];
  failedWhen?: Condition[];
  /** `until:` conditions; retries default 3 when `until` is given, delay default 5 s. */
  until?: Condition[];
  retries?: number | string;
  delay?: number | string;
  notify: string[];
  /** Handlers only: `listen:` topics. */
  listen: string[];
}

export interface BlockTask extends TaskCommon {
  kind: 'block';
  block: TaskNode[];
  rescue: TaskNode[];
  always: TaskNode[];
}

export type TaskNode = ModuleTask | BlockTask;

export interface Play {
  name: string;
  /** Host pattern, e.g. `workers:!cordoned`. */
  hosts: string;
  vars: Record<string, unknown>;
  /** Accepted for compatibility; nodesweep gathers no facts. */
  gatherFacts: boolean;
  become?: boolean;
  becomeUser?: string;
  /** Batch sizes: numbers or percent strings ("30%"); the last repeats. Empty = all hosts at once. */
  serial: Array<number | string>;
  maxFailPercentage?: number;
  anyErrorsFatal: boolean;
  tags: string[];
  checkMode?: boolean;
  /** Play-level `environment:` (mapping or template string). */
  environment?: Record<string, unknown> | string;
  /** Play-level `ignore_errors:`. */
  ignoreErrors?: Condition;
  /** Play-level `no_log:` (a boolean or a template): censors every result below it unless a block or task says otherwise. */
  noLog?: Condition;
  /** Play-level `timeout:` in seconds (default for its tasks). */
  timeout?: number;
  tasks: TaskNode[];
  handlers: ModuleTask[];
  loc: Loc;
}

export interface Playbook {
  file: string;
  plays: Play[];
}
