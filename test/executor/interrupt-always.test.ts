/**
 * Ctrl-C / SIGTERM inside a block: the block's always: section still runs (bounded by its own task timeouts),
 * then the host stops; hosts outside such a block stop at once; the run exits 99.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlaybook } from '../../src/executor/run.js';
import { block, harness, interruptWhenRunning, inventory, play, playbook, results, running, sh, trail } from './harness.js';
import { endedProcessOf, startOfSelf } from '../helpers/proc.js';
import { until } from '../helpers/until.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'nodesweep-intr-'));
}

describe('interrupt inside a block with always:', () => {
  test('the always section of an interrupted block runs (nested: inner always, then outer always), then the host stops; exit 99', async () => {
    const dir = tmp();
    try {
      const h = harness();
      const mark = (name: string) => sh(`echo {{ inventory_hostname }} >> ${dir}/${name}`, { name });
      // interrupted while both hosts are in the drain
      const drainPids = ['host1', 'host2'].map((host) => join(dir, `drain.${host}`));
      interruptWhenRunning(h, drainPids);
      const s = await runPlaybook(
        playbook(
          play([
            block(
              [
                block([mark('before'), running(`${dir}/drain.{{ inventory_hostname }}`, 'sleep 20', { name: 'drain' }), mark('after-drain')], {
                  always: [mark('uncordon'), mark('release')],
                }),
                mark('after-inner'),
              ],
              { always: [mark('outer-always')] },
            ),
            mark('after-block'),
          ]),
          play([mark('next-play')], { name: 'next' }),
        ),
        inventory(2),
        h.ctx,
      );
      for (const p of drainPids) await until(() => endedProcessOf(p), `${p}: the interrupted command killed`);
      assert.equal(s.exitCode, 99);
      assert.equal(s.interrupted, true);
      for (const host of ['host1', 'host2']) {
        assert.deepEqual(trail(h.events, host), ['before:changed', 'uncordon:changed', 'release:changed', 'outer-always:changed'], host);
      }
      assert.deepEqual(readFileSync(join(dir, 'uncordon'), 'utf8').trim().split('\n').sort(), ['host1', 'host2']);
      assert.deepEqual(readFileSync(join(dir, 'release'), 'utf8').trim().split('\n').sort(), ['host1', 'host2']);
      for (const f of ['after-drain', 'after-inner', 'after-block', 'next-play']) assert.equal(existsSync(join(dir, f)), false, `${f} must not run`);
      const kinds = h.events.map((e) => e.kind);
      assert.ok(kinds.indexOf('interrupted') > kinds.lastIndexOf('task_result'), 'interrupted is reported after the always tasks');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('interrupted in rescue (the escalation): the rescue block\'s always runs; a host outside any block just stops', async () => {
    const dir = tmp();
    try {
      const h = harness();
      const mark = (name: string) => sh(`echo {{ inventory_hostname }} >> ${dir}/${name}`, { name });
      // interrupted while host1 drains (in its rescue) and host2 still prunes
      interruptWhenRunning(h, [join(dir, 'drain.host1'), join(dir, 'prune.host2')], 'SIGTERM');
      const s = await runPlaybook(
        playbook(
          play([
            block([sh(`echo ${startOfSelf} > ${dir}/prune.{{ inventory_hostname }}; [ {{ inventory_hostname }} != host1 ] && exec sleep 20 || exit 1`, { name: 'prune' })], {
              rescue: [block([mark('lock'), running(`${dir}/drain.{{ inventory_hostname }}`, 'sleep 20', { name: 'drain' })], { always: [mark('uncordon'), mark('release')] })],
            }),
          ]),
        ),
        inventory(2),
        h.ctx,
      );
      assert.equal(s.exitCode, 99);
      assert.deepEqual(trail(h.events, 'host1'), ['prune:failed', 'lock:changed', 'uncordon:changed', 'release:changed']);
      // host2 was still in the prune (a block without always: and its rescue never started): it just stops
      assert.deepEqual(trail(h.events, 'host2'), []);
      assert.equal(readFileSync(join(dir, 'release'), 'utf8').trim(), 'host1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an always task that hangs is bounded by its own timeout', async () => {
    const dir = tmp();
    try {
      const h = harness();
      interruptWhenRunning(h, [join(dir, 'work')]);
      const s = await runPlaybook(
        playbook(play([block([running(join(dir, 'work'), 'sleep 20', { name: 'work' })], { always: [sh('sleep 30', { name: 'stuck cleanup', timeout: 1 }), sh('true', { name: 'last' })] })])),
        inventory(1),
        h.ctx,
      );
      assert.equal(s.exitCode, 99);
      // a failed always task ends the always section, as it would without the interrupt; unbounded, it would
      // have slept its 30 s and succeeded
      assert.deepEqual(trail(h.events, 'host1'), ['stuck cleanup:failed']);
      const stuck = results(h.events, { task: 'stuck cleanup' })[0]!.result;
      assert.equal(stuck.msg, 'The shell action failed to execute in the expected time frame (1) and was terminated');
      assert.equal(stuck.timed_out, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no interrupt: always runs once, as before', async () => {
    const h = harness();
    const s = await runPlaybook(playbook(play([block([sh('true', { name: 'a' })], { always: [sh('true', { name: 'b' })] })])), inventory(1), h.ctx);
    assert.equal(s.exitCode, 0);
    assert.deepEqual(trail(h.events, 'host1'), ['a:changed', 'b:changed']);
  });
});
