/**
 * The pure core at the story's scale: 100,000 kubepods dirs parsed, classified and planned, every count exact.
 * How fast is the core bench's question (npm run bench:core), not a test's: a wall-clock bound here fails on a
 * busy machine, and a change that made the core quadratic would still end this test by its own timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectOutput } from '../../src/cgroup/collect-parse.js';
import { classify, planPrune } from '../../src/cgroup/classify.js';
import { asReport, bigNode } from './big-node.js';

test('100,000 dirs: the report parses back to the same dirs; classify + planPrune count every leak', { timeout: 300_000 }, () => {
  const node = bigNode();
  assert.ok(node.dirs.length >= 100_000, `${node.dirs.length} dirs`);
  const parsed = parseCollectOutput(asReport(node));
  const c = classify(parsed, { minAgeS: 300 });
  const plan = planPrune(c, { maxRemovals: 1_000_000 });

  assert.equal(parsed.dirs.length, node.dirs.length);
  // 7,499 gone pods x 3 dirs x 4 hierarchies, minus the busy scopes' pods (slice + scope + conmon stay)
  const gone = 8333 - 834;
  const busyGone = Array.from({ length: 8333 }, (_, i) => i).filter((i) => i % 97 === 0 && i % 10 !== 0).length;
  assert.equal(c.counts.total, gone * 3 * 4);
  assert.equal(c.busy.length, busyGone * 4);
  assert.equal(plan.remove.length, (gone - busyGone) * 3 * 4 + busyGone * 4);
});
