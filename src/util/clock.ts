/**
 * Time as a dependency. Code that waits (lease renewals and polls, retry delays) or keeps a deadline asks a Clock
 * instead of the global timers, so a test can pass one it moves itself (test/helpers/clock.ts): no test waits out
 * a real TTL or races a busy machine, and retries and timeouts are counted exactly. Production code takes
 * `systemClock` by default.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Deadline {
  /** Aborts when the time is up (also cuts short whatever is in flight with it). */
  signal: AbortSignal;
  /** Stop the timer (the work ended first). */
  clear(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` (rejects with the signal's reason when it aborts first). `ref: false`: the wait does not
   * keep the process alive (background renewals).
   */
  sleep(ms: number, signal?: AbortSignal, o?: { ref?: boolean }): Promise<void>;
  /** A deadline `ms` from now. */
  deadline(ms: number): Deadline;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal, o) => sleep(ms, undefined, { ...(signal ? { signal } : {}), ...(o?.ref === false ? { ref: false } : {}) }),
  deadline(ms) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`deadline of ${ms} ms passed`)), ms);
    return { signal: ac.signal, clear: () => clearTimeout(timer) };
  },
};
