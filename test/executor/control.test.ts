import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { runPlaybook } from '../../src/executor/run.js';
import { AuthError, ConnectError } from '../../src/errors.js';
import { LocalTransport } from '../../src/transport/local.js';
import type { Transport } from '../../src/transport/types.js';
import type { TransportFactory } from '../../src/transport/types.js';
import type { RunEvent } from '../../src/events/events.js';
import { CountingFactory, harness, interruptWhenRunning, inventory, play, playbook, results, running, sh, task, touchOnResult, trail } from './harness.js';
import { endedProcessOf } from '../helpers/proc.js';
import { until } from '../helpers/until.js';

const kinds = (events: RunEvent[], k: RunEvent['kind']) => events.filter((e) => e.kind === k);

/** A temp dir for the test's marker files, removed after it. */
async function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nodesweep-control-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Shell: wait until `file` exists (a host held until another host's result is in, whatever the machine's speed). */
const waitFor = (file: string) => `while [ ! -e ${file} ]; do sleep 0.05; done`;

describe('serial, max_fail_percentage, any_errors_fatal', () => {
  test('serial batches run one after the other, last size repeating', async () => {
    const h = harness();
    const s = await runPlaybook(playbook(play([sh('true', { name: 'a' }), sh('true', { name: 'b' })], { serial: [1, 2] })), inventory(5), h.ctx);
    const batches = kinds(h.events, 'batch_start').map((e) => (e.kind === 'batch_start' ? e.hosts : []));
    assert.deepEqual(batches, [['host1'], ['host2', 'host3'], ['host4', 'host5']]);
    // every result of a batch comes before the first task of the next batch
    const pos = (pred: (e: RunEvent) => boolean) => h.events.findIndex(pred);
    const lastOfBatch2 = h.events.findLastIndex((e) => e.kind === 'task_result' && (e.host === 'host2' || e.host === 'host3'));
    const firstOfBatch3 = pos((e) => e.kind === 'task_start' && (e.host === 'host4' || e.host === 'host5'));
    assert.ok(lastOfBatch2 < firstOfBatch3);
    assert.equal(s.exitCode, 0);
  });

  test('max_fail_percentage: exceeding it in a batch aborts the play; later batches do not run (exit 2)', () =>
    inTmp(async (dir) => {
      const failOn = ["inventory_hostname in ['host1']"];
      const h = harness();
      // host2 is still running `a` when host1's failure is in
      const gate = join(dir, 'host1-failed');
      touchOnResult(h, 'host1', 'a', gate);
      const s = await runPlaybook(
        playbook(
          play([sh(`[ {{ inventory_hostname }} = host1 ] || ${waitFor(gate)}`, { name: 'a', failedWhen: failOn }), sh('true', { name: 'b' })], { serial: [2], maxFailPercentage: 49 }),
          play([task('debug', {}, { name: 'p2' })], { name: 'next' }),
        ),
        inventory(4),
        h.ctx,
      );
      assert.equal(kinds(h.events, 'batch_start').length, 1);
      const ab = kinds(h.events, 'play_aborted')[0];
      assert.ok(ab && ab.kind === 'play_aborted' && /max_fail_percentage 49% exceeded: 1 of 2/.test(ab.reason));
      // as Ansible checks after each task: host2 finishes the task it is running, starts no other
      assert.deepEqual(trail(h.events, 'host2'), ['a:changed']);
      assert.deepEqual(trail(h.events, 'host3'), []);
      assert.equal(results(h.events, { task: 'p2' }).length, 0);
      assert.equal(s.exitCode, 2);

      // exactly at the percentage is not "greater": the play goes on
      const h2 = harness();
      const s2 = await runPlaybook(playbook(play([sh('true', { name: 'a', failedWhen: failOn })], { serial: [2], maxFailPercentage: 50 })), inventory(4), h2.ctx);
      assert.equal(kinds(h2.events, 'batch_start').length, 2);
      assert.equal(kinds(h2.events, 'play_aborted').length, 0);
      assert.equal(s2.exitCode, 2); // host1 failed
  }));

  test('a batch where every host failed ends the run (as ansible-playbook)', async () => {
    const h = harness();
    const s = await runPlaybook(playbook(play([sh('false', { name: 'a' })], { serial: [1] })), inventory(3), h.ctx);
    assert.equal(kinds(h.events, 'batch_start').length, 1);
    assert.equal(s.exitCode, 2);
  });

  test('any_errors_fatal: the others finish their current task, start no new one; the play and run stop', () =>
    inTmp(async (dir) => {
      const h = harness();
      // host2 and host3 are still running `first` when host1's failure is in
      const gate = join(dir, 'host1-failed');
      touchOnResult(h, 'host1', 'first', gate);
      const slowUnlessHost1 = sh(`if [ {{ inventory_hostname }} = host1 ]; then exit 1; fi; ${waitFor(gate)}`, { name: 'first' });
      const s = await runPlaybook(
        playbook(play([slowUnlessHost1, sh('true', { name: 'second' })], { anyErrorsFatal: true }), play([task('debug', {}, { name: 'p2' })], { name: 'next' })),
        inventory(3),
        h.ctx,
      );
      assert.deepEqual(trail(h.events, 'host1'), ['first:failed']);
      assert.deepEqual(trail(h.events, 'host2'), ['first:changed']);
      assert.deepEqual(trail(h.events, 'host3'), ['first:changed']);
      assert.equal(kinds(h.events, 'task_start').filter((e) => e.kind === 'task_start' && e.task !== 'first').length, 0);
      assert.equal(kinds(h.events, 'play_aborted').length, 1);
      assert.equal(s.exitCode, 2);
  }));
});

describe('timeouts, interruption, unreachable hosts, module bugs', () => {
  test('task timeout kills a long command: the task fails naming the timeout, the command is gone, the host stops', () =>
    inTmp(async (dir) => {
      const h = harness();
      const pid = join(dir, 'slow.pid');
      // 30 s of sleep against a 1 s timeout: only the timeout can end it before the test's own bound
      const s = await runPlaybook(playbook(play([running(pid, 'sleep 30', { name: 'slow', timeout: 1 }), task('debug', {}, { name: 'after' })])), inventory(1), h.ctx);
      const r = results(h.events, { task: 'slow' })[0]!;
      assert.equal(r.status, 'failed');
      assert.equal(r.result.msg, 'The shell action failed to execute in the expected time frame (1) and was terminated');
      await until(() => endedProcessOf(pid), 'the command killed');
      assert.deepEqual(trail(h.events, 'host1'), ['slow:failed']);
      assert.equal(s.exitCode, 2);
  }));


  test('a task timeout: and --task-timeout make the same result (status, msg, fields)', async () => {
    const byTask = harness();
    await runPlaybook(playbook(play([sh('sleep 30', { name: 'slow', timeout: 1 })])), inventory(1), byTask.ctx);
    const byOption = harness({ taskTimeoutMs: 1000 });
    await runPlaybook(playbook(play([sh('sleep 30', { name: 'slow' })])), inventory(1), byOption.ctx);
    const shape = (h: typeof byTask) => {
      const r = results(h.events, { task: 'slow' })[0]!;
      return { status: r.status, result: r.result };
    };
    const expected = {
      status: 'failed',
      result: { changed: false, failed: true, msg: 'The shell action failed to execute in the expected time frame (1) and was terminated', timed_out: true, status: 'failed' },
    };
    assert.deepEqual(shape(byTask), expected);
    assert.deepEqual(shape(byOption), expected);
  });

  test('Ctrl-C: running commands are killed, no new task starts, transports closed, exit 99', () =>
    inTmp(async (dir) => {
      const factory = new CountingFactory();
      const h = harness({}, factory);
      const pids = ['host1', 'host2', 'host3'].map((host) => join(dir, `${host}.pid`));
      interruptWhenRunning(h, pids);
      const slow = running(join(dir, '{{ inventory_hostname }}.pid'), 'sleep 20', { name: 'slow' });
      const s = await runPlaybook(playbook(play([slow, sh('true', { name: 'next' })]), play([task('debug', {}, { name: 'p2' })])), inventory(3), h.ctx);
      assert.equal(s.exitCode, 99);
      assert.equal(s.interrupted, true);
      for (const p of pids) await until(() => endedProcessOf(p), `${p}: the running command killed`);
      const abortedAt = h.events.findIndex((e) => e.kind === 'interrupted');
      assert.ok(abortedAt > 0);
      assert.equal(kinds(h.events, 'task_start').filter((e) => e.kind === 'task_start' && e.task !== 'slow').length, 0);
      const end = h.events.at(-1)!;
      assert.ok(end.kind === 'run_end' && end.interrupted && end.exitCode === 99);
      assert.deepEqual([...factory.closed].sort(), ['host1', 'host2', 'host3']);
  }));

  test('unreachable: the host stops, exit 4 wins over failures; connection opened lazily at the first remote task', async () => {
    class Factory implements TransportFactory {
      created: string[] = [];
      closed: string[] = [];
      create(host: string): Transport {
        this.created.push(host);
        const t = new LocalTransport(host);
        if (host === 'host2') t.connect = async () => Promise.reject(new ConnectError(host, 'connection refused (127.0.0.1:1)'));
        if (host === 'host3') t.connect = async () => Promise.reject(new AuthError(host, 'no key accepted'));
        const close = t.close.bind(t);
        t.close = async () => {
          this.closed.push(host);
          await close();
        };
        return t;
      }
    }
    const f = new Factory();
    const h = harness({}, f);
    const pb = playbook(
      play([
        task('set_fact', { x: 1 }, { name: 'controller' }),
        sh('true', { name: 'remote', failedWhen: ["inventory_hostname == 'host4'"] }),
        sh('true', { name: 'remote2' }),
      ]),
    );
    let createdAfterFirst: string[] | undefined;
    h.ctx.events.add({
      handle: (e) => {
        if (e.kind === 'task_start' && e.task === 'remote' && createdAfterFirst === undefined) createdAfterFirst = [...f.created];
      },
    });
    const s = await runPlaybook(pb, inventory(4), h.ctx);
    assert.deepEqual(createdAfterFirst, [], 'set_fact opened no connection');
    assert.deepEqual(trail(h.events, 'host2'), ['controller:ok', 'remote:unreachable']);
    assert.deepEqual(trail(h.events, 'host3'), ['controller:ok', 'remote:unreachable']);
    assert.deepEqual(trail(h.events, 'host4'), ['controller:ok', 'remote:failed']);
    assert.match(String(results(h.events, { host: 'host2', task: 'remote' })[0]!.result.msg), /connection refused/);
    assert.equal(s.stats.host2!.unreachable, 1);
    assert.equal(s.exitCode, 4);
    assert.deepEqual([...f.closed].sort(), ['host1', 'host2', 'host3', 'host4']);
  });

  test('a module that throws fails only its task on that host; the run goes on', async () => {
    const h = harness();
    h.ctx.modules.register({
      name: 'buggy',
      schema: z.object({}).strict(),
      controllerOnly: true,
      supportsCheckMode: true,
      async run(_p, ctx) {
        if (ctx.host === 'host1') throw new TypeError('cannot read properties of undefined');
        return { status: 'ok' };
      },
    });
    const s = await runPlaybook(playbook(play([task('buggy', {}, { name: 'b' }), task('debug', {}, { name: 'after' })])), inventory(2), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['b:failed']);
    assert.deepEqual(trail(h.events, 'host2'), ['b:ok', 'after:ok']);
    assert.match(String(results(h.events, { host: 'host1' })[0]!.result.msg), /MODULE FAILURE: cannot read properties/);
    assert.equal(s.exitCode, 2);
  });

  test('forks bounds parallel hosts; hosts do not wait for each other', async () => {
    const h = harness({ forks: 2 });
    let running = 0;
    let peak = 0;
    // host1's first task ends only after host2 has finished both of its tasks: a lockstep executor never gets there
    let host2Done!: () => void;
    const host2Finished = new Promise<void>((r) => (host2Done = r));
    h.ctx.modules.register({
      name: 'probe',
      schema: z.object({ step: z.number() }).strict(),
      controllerOnly: true,
      supportsCheckMode: true,
      async run(p, ctx) {
        running++;
        peak = Math.max(peak, running);
        if (ctx.host === 'host1' && p.step === 1) await host2Finished;
        else await new Promise((r) => setImmediate(r));
        running--;
        if (ctx.host === 'host2' && p.step === 2) host2Done();
        return { status: 'ok' };
      },
    });
    const pb = playbook(play([task('probe', { step: 1 }, { name: 'p1' }), task('probe', { step: 2 }, { name: 'p2' })]));
    await runPlaybook(pb, inventory(4), h.ctx);
    assert.equal(peak, 2);
    const host2Last = h.events.findIndex((e) => e.kind === 'task_result' && e.host === 'host2' && e.task === 'p2');
    const host1First = h.events.findIndex((e) => e.kind === 'task_result' && e.host === 'host1' && e.task === 'p1');
    assert.ok(host2Last >= 0 && host2Last < host1First, 'host2 finished both tasks before host1 finished its first');
  });

  test('no hosts matched: play_no_hosts, exit 0', async () => {
    const h = harness({ limit: 'nomatch' });
    const s = await runPlaybook(playbook(play([task('debug', {})])), inventory(2), h.ctx);
    assert.equal(kinds(h.events, 'play_no_hosts').length, 1);
    assert.equal(s.exitCode, 0);
  });

  test('--limit intersects the play pattern', async () => {
    const h = harness({ limit: 'host2,host3' });
    await runPlaybook(playbook(play([task('debug', {}, { name: 'd' })], { hosts: 'web' })), inventory(3, { web: ['host1', 'host2'] }), h.ctx);
    assert.deepEqual(results(h.events).map((e) => e.host), ['host2']);
  });
});
