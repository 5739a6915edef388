/** How a result reads in Ansible's output: the dict its callbacks dump (status folded into flags). */
import type { ModuleResult, TaskStatus } from '../modules/types.js';

/** Module names whose results Ansible always shows (debug/assert set _ansible_verbose_always). */
const VERBOSE_ALWAYS_MODULES = new Set(['debug', 'ansible.builtin.debug', 'assert', 'ansible.builtin.assert']);
const DEBUG_MODULES = new Set(['debug', 'ansible.builtin.debug']);
const DEBUG_ALLOWED = new Set(['msg', 'exception', 'warnings', 'deprecations']);
const HIDE_IN_DEBUG = ['changed', 'failed', 'skipped', 'invocation', 'skip_reason'];

export function isVerboseAlways(module: string, result: ModuleResult): boolean {
  if (result._ansible_verbose_override === true) return false;
  return result._ansible_verbose_always === true || (VERBOSE_ALWAYS_MODULES.has(module) && result._ansible_verbose_always !== false);
}

/**
 * The dict Ansible's default callback dumps for a result: `status` folded into `changed` (and `unreachable`),
 * `failed`/`skipped` dropped (the event kind says it), internal `_ansible*` keys removed, debug cleaned.
 */
export function displayDict(module: string, status: TaskStatus, result: ModuleResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    if (k === 'status' || k === 'failed' || k === 'skipped' || k.startsWith('_ansible') || v === undefined) continue;
    out[k] = v;
  }
  out.changed = status === 'changed' ? true : status === 'failed' ? result.changed === true : false;
  if (status === 'unreachable') out.unreachable = true;
  if (DEBUG_MODULES.has(module) && !('censored' in result)) {
    if ('msg' in out) {
      for (const k of Object.keys(out)) if (!DEBUG_ALLOWED.has(k)) delete out[k];
    } else {
      for (const k of HIDE_IN_DEBUG) delete out[k];
    }
  }
  return out;
}

/** Lists longer than this are cut on the console (a prune can remove thousands of paths); -vv shows all. */
export const CONSOLE_MAX_LIST_ITEMS = 50;
/** Ansible prints these in full; CI scripts read them. */
const NEVER_ABBREVIATED = new Set(['stdout_lines', 'stderr_lines']);

/**
 * A copy of a result whose long lists keep their first `max` items and a note of how many more there are,
 * so one fatal line stays readable at 500 hosts. The JSON report, JUnit and the log keep everything.
 */
export function abbreviateLists(value: unknown, max = CONSOLE_MAX_LIST_ITEMS, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => abbreviateLists(v, max));
    if (items.length <= max || (key !== undefined && NEVER_ABBREVIATED.has(key))) return items;
    return [...items.slice(0, max), `... ${items.length - max} more (the JSON report has them all)`];
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = abbreviateLists(v, max, k);
    return out;
  }
  return value;
}
