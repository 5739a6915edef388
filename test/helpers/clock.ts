/**
 * A clock the test moves by hand: `now()` stands still until `advance(ms)`, and every `sleep` resolves when the
 * time it waits for has been reached. No test waits out a real TTL or depends on how fast the machine is.
 */
import type { Clock } from '../../src/util/clock.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

export class TestClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];
  private waiters: (() => void)[] = [];

  /** `auto`: every foreground sleep moves the time forward itself and resolves at once (retries, polls run instantly). */
  constructor(
    start: Date | number = new Date('2026-01-01T00:00:00.000Z'),
    private readonly auto = false,
  ) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }

  /** Every sleep taken so far, in ms (with `auto`). */
  readonly slept: number[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal, o?: { ref?: boolean }): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Background waits (lease renewals) never advance time themselves: they would spin.
    if (this.auto && o?.ref !== false) {
      this.slept.push(ms);
      this.t += Math.max(0, ms);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const s: Sleeper = { until: this.t + Math.max(0, ms), resolve: () => resolve() };
      this.sleepers.push(s);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((x) => x !== s);
          reject(signal.reason);
        },
        { once: true },
      );
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Moves time forward and wakes every sleeper whose time has come (in order). */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.until <= this.t).sort((a, b) => a.until - b.until);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.resolve();
    // let the woken code run up to its next await on I/O or on this clock
    await new Promise((r) => setImmediate(r));
  }

  /** How many sleeps are pending. */
  pending(): number {
    return this.sleepers.length;
  }

  /** Resolves once at least `n` sleeps are pending (code under test reached its wait). */
  async sleeping(n = 1): Promise<void> {
    while (this.sleepers.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }
}
