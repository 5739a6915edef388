/**
 * Time as a dependency: what waits on leases, retries and polls asks of the clock. The system clock is the
 * default; tests pass their own so that no test waits out a real TTL or asserts on wall-clock time.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` (rejects with the signal's reason when it aborts first). `ref: false`: the wait does not
   * keep the process alive (background renewals).
   */
  sleep(ms: number, signal?: AbortSignal, o?: { ref?: boolean }): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal, o) => sleep(ms, undefined, { ...(signal ? { signal } : {}), ...(o?.ref === false ? { ref: false } : {}) }),
};
