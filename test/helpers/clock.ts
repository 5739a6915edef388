/**
 * A Clock whose time moves only when the code under test sleeps: a sleep of `ms` started at time T moves the clock
 * to T + ms (or leaves it where a later sleeper already moved it) and fires the deadlines passed, then resolves on
 * the next turn of the event loop. Waits take no real time and every retry is countable.
 */
import type { Clock, Deadline } from '../../src/util/clock.js';

export class FakeClock implements Clock {
  private t: number;
  /** Every sleep asked for, in order (ms). */
  readonly sleeps: number[] = [];
  private readonly deadlines: { at: number; ac: AbortController }[] = [];

  constructor(start = Date.parse('2024-05-01T10:00:00Z')) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.advanceTo(this.t + ms);
    await new Promise((r) => setImmediate(r));
    signal?.throwIfAborted();
  }

  deadline(ms: number): Deadline {
    const ac = new AbortController();
    const d = { at: this.t + ms, ac };
    this.deadlines.push(d);
    return {
      signal: ac.signal,
      clear: () => {
        const i = this.deadlines.indexOf(d);
        if (i >= 0) this.deadlines.splice(i, 1);
      },
    };
  }

  /** Move the clock forward (never back), firing the deadlines reached. */
  advanceTo(t: number): void {
    this.t = Math.max(this.t, t);
    for (const d of this.deadlines.filter((x) => x.at <= this.t)) {
      this.deadlines.splice(this.deadlines.indexOf(d), 1);
      d.ac.abort(new Error('fake deadline passed'));
    }
  }
}
