/**
 * Wait for a condition, not for a time: polls `cond` until it holds. The bound only turns a condition that never
 * comes into a failure naming it; it is sized for a loaded 2-core machine, never a measure of speed.
 */
export async function until(cond: () => boolean, what = 'condition', boundMs = 60_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${boundMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
