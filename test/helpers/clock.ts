/**
 * The one test clock. By hand (the default): `now()` stands still until `advance(ms)`, and every sleep resolves
 * when the time it waits for has been reached (`sleeping(n)` waits until the code under test reached its waits).
 * With `auto`: a foreground sleep of `ms` moves the time itself and resolves on the next turn of the event loop, so
 * retries and polls take no real time and are counted in `slept`. Deadlines fire when the time passes them.
 * No test waits out a real TTL or depends on how fast the machine is.
 */
import type { Clock, Deadline } from '../../src/util/clock.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

export class TestClock implements Clock {
  private t: number;
  private sleepers: Sleeper[] = [];
  private waiters: (() => void)[] = [];
  private readonly deadlines: { at: number; ac: AbortController }[] = [];
  /** Every foreground sleep asked for with `auto`, in order (ms). */
  readonly slept: number[] = [];

  constructor(
    start: Date | number = new Date('2026-01-01T00:00:00.000Z'),
    private readonly auto = false,
  ) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal, o?: { ref?: boolean }): Promise<void> {
    signal?.throwIfAborted();
    // Background waits (lease renewals) never move the time themselves: they would spin.
    if (this.auto && o?.ref !== false) {
      this.slept.push(ms);
      this.moveTo(this.t + Math.max(0, ms));
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
      return;
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

  deadline(ms: number): Deadline {
    const d = { at: this.t + ms, ac: new AbortController() };
    this.deadlines.push(d);
    return {
      signal: d.ac.signal,
      clear: () => {
        const i = this.deadlines.indexOf(d);
        if (i >= 0) this.deadlines.splice(i, 1);
      },
    };
  }

  /** Moves time forward and wakes every sleeper and deadline whose time has come (in order). */
  async advance(ms: number): Promise<void> {
    this.moveTo(this.t + ms);
    // let the woken code run up to its next await on I/O or on this clock
    await new Promise((r) => setImmediate(r));
  }

  private moveTo(t: number): void {
    this.t = Math.max(this.t, t);
    const due = this.sleepers.filter((s) => s.until <= this.t).sort((a, b) => a.until - b.until);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.resolve();
    for (const d of this.deadlines.filter((x) => x.at <= this.t)) {
      this.deadlines.splice(this.deadlines.indexOf(d), 1);
      d.ac.abort(new Error('test deadline passed'));
    }
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
