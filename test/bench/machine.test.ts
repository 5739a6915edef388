/** The machine line every benchmark prints before and after (bench/machine.ts): measured, not assumed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { machineFacts, machineLine } from '../../bench/machine.js';

test('machineFacts measures a fork+exec and reads the load, cores and Node; machineLine says them in one line', () => {
  const f = machineFacts();
  assert.ok(f.forkExecMs > 0 && Number.isFinite(f.forkExecMs), String(f.forkExecMs));
  assert.equal(f.cores, cpus().length);
  assert.equal(f.node, process.version);
  const line = machineLine('after', { forkExecMs: 4.7, load1: 1.25, cores: 2, node: 'v20.19.0' });
  assert.equal(line, 'machine (after): fork+exec 4.70 ms (200 in 0.94 s), load 1.25, 2 cores, node v20.19.0');
});
