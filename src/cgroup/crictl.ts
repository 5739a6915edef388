/** Parse `crictl pods -o json` and `crictl ps -a -o json` (pure). Anything unexpected: not ok (fail closed). */
import type { CommandOutput, RuntimeState } from './types.js';

export function parseRuntimeState(pods: CommandOutput, containers: CommandOutput): RuntimeState {
  void pods;
  void containers;
  return { ok: false, reason: 'not implemented yet' };
}
