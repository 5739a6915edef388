/**
 * One redaction path for every sink: no_log results become Ansible's censored placeholder, and secret values
 * (ansible_password, ansible_become_password, --ask-become-pass, ...) never reach any output.
 */
import type { ModuleResult } from '../modules/types.js';
import type { RunEvent } from '../events/events.js';
import { NO_LOG_RESULT } from '../events/events.js';

/** Keys whose values are always replaced, wherever they appear in a result (e.g. a debug of hostvars). */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'ansible_password',
  'ansible_ssh_pass',
  'ansible_ssh_password',
  'ansible_become_password',
  'ansible_become_pass',
  'ansible_sudo_pass',
  'ansible_sudo_password',
  'ansible_ssh_private_key_passphrase',
]);
export const MASK = '********';

/** Result keys Ansible keeps in a censored (no_log) result. */
const NO_LOG_PRESERVE = ['attempts', 'changed', 'retries'];

export class Redactor {
  private readonly secrets: string[];
  constructor(secrets: Iterable<string | undefined> = []) {
    // longest first so a secret containing another is masked whole; very short values would mask noise
    this.secrets = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 3))].sort((a, b) => b.length - a.length);
  }

  /** Collect the secret values of hosts' variables (call with each host's merged vars). */
  static fromHostVars(hostVars: Iterable<Record<string, unknown>>, extra: Iterable<string | undefined> = []): Redactor {
    const found: (string | undefined)[] = [...extra];
    for (const vars of hostVars) {
      for (const k of SECRET_KEYS) {
        const v = vars[k];
        if (typeof v === 'string') found.push(v);
      }
    }
    return new Redactor(found);
  }

  /** Mask secret values inside a string. */
  text(s: string): string {
    let out = s;
    for (const sec of this.secrets) if (out.includes(sec)) out = out.split(sec).join(MASK);
    return out;
  }

  /** Deep copy with secret keys and secret values masked. */
  value<T>(v: T): T {
    const seen = new WeakMap<object, unknown>();
    const rec = (x: unknown): unknown => {
      if (typeof x === 'string') return this.text(x);
      if (x === null || typeof x !== 'object') return x;
      if (seen.has(x)) return seen.get(x);
      if (Array.isArray(x)) {
        const arr: unknown[] = [];
        seen.set(x, arr);
        for (const e of x) arr.push(rec(e));
        return arr;
      }
      if (x instanceof Date) return x;
      const obj: Record<string, unknown> = {};
      seen.set(x, obj);
      for (const [k, val] of Object.entries(x as Record<string, unknown>)) {
        obj[this.text(k)] = SECRET_KEYS.has(k) && val !== undefined && val !== null && val !== '' ? MASK : rec(val);
      }
      return obj;
    };
    return rec(v) as T;
  }

  /** The result as every sink may show it: censored when no_log, secrets masked always. */
  result(result: ModuleResult, noLog: boolean | undefined): ModuleResult {
    if (noLog) {
      const censored: ModuleResult = { status: result.status, ...NO_LOG_RESULT };
      for (const k of NO_LOG_PRESERVE) if (k in result) censored[k] = result[k];
      return censored;
    }
    return this.value(result);
  }

  /** An event with its result(s), item and messages redacted; sinks call this first. */
  event(ev: RunEvent): RunEvent {
    switch (ev.kind) {
      case 'task_result': {
        const out = { ...ev, result: this.result(ev.result, ev.noLog), task: this.text(ev.task) };
        if ('item' in ev) out.item = ev.noLog ? '(censored due to no_log)' : this.value(ev.item);
        return out;
      }
      case 'task_interrupted': {
        const out = { ...ev, task: this.text(ev.task) };
        if ('item' in ev) out.item = this.value(ev.item);
        return out;
      }
      case 'task_retry':
        return { ...ev, result: this.result(ev.result, ev.noLog), task: this.text(ev.task) };
      case 'warning':
        return { ...ev, message: this.text(ev.message) };
      case 'play_aborted':
        return { ...ev, reason: this.text(ev.reason) };
      default:
        return ev;
    }
  }
}
