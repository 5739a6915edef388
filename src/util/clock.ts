/**
 * Time as a dependency. Code that waits (retry delays, polls) or keeps a deadline asks a Clock instead of the
 * global timers, so a test can pass one whose time moves only when the code sleeps: retries and timeouts are
 * then counted exactly instead of raced against a busy machine. Production code takes `realClock` by default.
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
  /** Resolve after `ms`; reject with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A deadline `ms` from now. */
  deadline(ms: number): Deadline;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}),
  deadline(ms) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`deadline of ${ms} ms passed`)), ms);
    return { signal: ac.signal, clear: () => clearTimeout(timer) };
  },
};
