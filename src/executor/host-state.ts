/**
 * The state one host carries through a run: its variable layers, failed/unreachable flags and the
 * handlers it notified. Pure (no I/O), so precedence and bookkeeping are table-tested on their own.
 * Per-host stats are not kept here: the StatsAggregator sink derives them from the event stream.
 */

export type Vars = Record<string, unknown>;

/**
 * The variable layers Ansible merges for a task, lowest precedence first:
 * inventory host vars < play vars < block vars (outer to inner) < task vars < registered vars and
 * set_fact facts < extra vars (always win). Magic variables (inventory_hostname, groups, ...) cannot be
 * overridden, and the loop variable is set last, as Ansible does.
 */
export interface VarLayers {
  inventory: Vars;
  play: Vars;
  /** Block vars from the outermost block inwards, then the task's own vars. */
  scopes: Vars[];
  facts: Vars;
  extra: Vars;
  magic: Vars;
  loop?: Vars;
}

/** Merge layers in precedence order (shallow per key, like Ansible's default hash_behaviour=replace). */
export function mergeVarLayers(l: VarLayers): Vars {
  const out: Vars = {};
  const layers = [l.inventory, l.play, ...l.scopes, l.facts, l.extra, l.magic, l.loop ?? {}];
  for (const layer of layers) Object.assign(out, layer);
  return out;
}

/** Why a host stopped working through its tasks. */
export type HostStop = 'failed' | 'unreachable' | undefined;

export class HostState {
  readonly host: string;
  /** Inventory vars of the host (all < groups < host), fixed for the run. */
  readonly inventoryVars: Vars;
  /** Registered results and set_fact facts: persist across plays, like Ansible's host facts. */
  private readonly facts: Vars = {};
  /** ansible_failed_task / ansible_failed_result: live until the end of the play. */
  private playFacts: Vars = {};
  private stopped: HostStop;
  private readonly notified: string[] = [];

  constructor(host: string, inventoryVars: Vars) {
    this.host = host;
    this.inventoryVars = inventoryVars;
  }

  /** Registered vars and facts, highest of the non-extra layers. */
  factsLayer(): Vars {
    return { ...this.facts, ...this.playFacts };
  }

  register(name: string, value: unknown): void {
    this.facts[name] = value;
  }

  setFacts(facts: Vars): void {
    Object.assign(this.facts, facts);
  }

  setPlayFacts(facts: Vars): void {
    Object.assign(this.playFacts, facts);
  }

  /** Called at the start of each play: non-persistent facts and pending notifications are per play. */
  startPlay(): void {
    this.playFacts = {};
    this.notified.length = 0;
  }

  get failed(): boolean {
    return this.stopped === 'failed';
  }

  get unreachable(): boolean {
    return this.stopped === 'unreachable';
  }

  /** Still takes part: neither failed nor unreachable (in this or an earlier play). */
  get alive(): boolean {
    return this.stopped === undefined;
  }

  get stopReason(): HostStop {
    return this.stopped;
  }

  markFailed(): void {
    // unreachable is the stronger state (exit 4 wins over 2); never downgrade it
    if (this.stopped === undefined) this.stopped = 'failed';
  }

  markUnreachable(): void {
    this.stopped = 'unreachable';
  }

  /** Queue a handler name or listen topic; order of first notification kept, duplicates dropped. */
  notify(name: string): void {
    if (!this.notified.includes(name)) this.notified.push(name);
  }

  notifications(): readonly string[] {
    return this.notified;
  }

  isNotified(name: string): boolean {
    return this.notified.includes(name);
  }

  /** Forget a notification once its handler ran, so a re-notification runs it again. */
  clearNotification(name: string): void {
    const i = this.notified.indexOf(name);
    if (i >= 0) this.notified.splice(i, 1);
  }
}
