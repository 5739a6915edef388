/**
 * Ansible's two boolean conversions, in one place for the inventory, the playbook loader, the executor, the
 * templates and the transports (ansible-core 2.14):
 * - `ansibleBoolean` is module_utils/parsing/convert_bool.py's `boolean()`: keywords (`become: yes`), module
 *   arguments of type bool, `ansible_become`; strings are lower-cased and stripped, `t`/`f` and `y`/`n` count, and
 *   the strict form refuses anything else with Ansible's own message;
 * - `boolFilter` is the `bool` filter (plugins/filter/core.py `to_bool`): narrower on purpose (no strip, no `y`, no
 *   `t`; None stays None; anything unknown is False), because that is what playbooks that pipe through `| bool` get.
 */
const BOOLEANS_TRUE = new Set<unknown>(['y', 'yes', 'on', '1', 'true', 't', 1]);
const BOOLEANS_FALSE = new Set<unknown>(['n', 'no', 'off', '0', 'false', 'f', 0]);
/** ansible-core prints a frozenset here, in an order that changes from run to run; this is its source's order. */
const BOOLEANS_LISTED = "'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False";

export class NotABooleanError extends TypeError {
  constructor(readonly value: unknown) {
    super(`The value '${typeof value === 'string' ? value : JSON.stringify(value)}' is not a valid boolean.  Valid booleans include: ${BOOLEANS_LISTED}`);
  }
}

/** convert_bool.boolean(value, strict): throws NotABooleanError when strict and the value is not a boolean. */
export function ansibleBoolean(value: unknown, strict = true): boolean {
  if (typeof value === 'boolean') return value;
  const normalized = typeof value === 'string' ? value.toLowerCase().trim() : value;
  if (BOOLEANS_TRUE.has(normalized)) return true;
  if (BOOLEANS_FALSE.has(normalized) || !strict) return false;
  throw new NotABooleanError(value);
}

/** The `bool` filter: booleans and None unchanged; 'yes'/'on'/'1'/'true' (any case) and 1 are True; all else False. */
export function boolFilter(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  const a = typeof value === 'string' ? value.toLowerCase() : value;
  return a === 'yes' || a === 'on' || a === '1' || a === 'true' || a === 1;
}
