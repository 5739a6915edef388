import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ansibleDelta, ansibleTimestamp, loadScript, splitLines } from '../../src/modules/common.js';

describe('ansibleDelta (Python str(timedelta))', () => {
  const table: [number, string][] = [
    [0, '0:00:00.000000'],
    [4.497, '0:00:00.004497'],
    [1234.5678, '0:00:01.234568'],
    [61_000, '0:01:01.000000'],
    [3_600_000 * 25 + 1, '1 day, 1:00:00.001000'],
    [86_400_000 * 2, '2 days, 0:00:00.000000'],
  ];
  for (const [ms, want] of table) test(`${ms} ms`, () => assert.equal(ansibleDelta(ms), want));
});

test('ansibleTimestamp (Python str(datetime))', () => {
  assert.equal(ansibleTimestamp(new Date(2024, 0, 2, 3, 4, 5, 6)), '2024-01-02 03:04:05.006000');
  assert.equal(ansibleTimestamp(new Date(2024, 11, 31, 23, 59, 59, 999), 999_999), '2024-12-31 23:59:59.999999');
});

describe('splitLines (Python str.splitlines)', () => {
  const table: [string, string[]][] = [
    ['', []],
    ['a', ['a']],
    ['a\n', ['a']],
    ['a\n\nb', ['a', '', 'b']],
    ['a\r\nb\rc', ['a', 'b', 'c']],
  ];
  for (const [s, want] of table) test(JSON.stringify(s), () => assert.deepEqual(splitLines(s), want));
});

describe('loadScript finds the .sh files from src/ (tsx) and from dist/ (tsc output)', () => {
  const real = readFileSync(new URL('../../src/modules/scripts/run_command.sh', import.meta.url), 'utf8');
  for (const from of ['../../src/modules/shell.ts', '../../dist/modules/shell.js']) {
    test(from, () => assert.equal(loadScript('run_command.sh', new URL(from, import.meta.url).href), real));
  }
  test('a missing script names where it looked', () => {
    assert.throws(() => loadScript('nope.sh', new URL('../../src/modules/shell.ts', import.meta.url).href), /module script nope\.sh not found \(looked in .*src\/modules\/scripts\/nope\.sh/);
  });
});
