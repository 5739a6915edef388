import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlaybook } from '../../src/executor/run.js';
import { block, harness, inventory, play, playbook, results, sh, task, trail } from './harness.js';

describe('runPlaybook: failures, rescue, ignore_errors', () => {
  test('a failure stops only that host, for the rest of the play and later plays', async () => {
    const h = harness();
    const pb = playbook(
      play([sh('true', { name: 'one', failedWhen: ["inventory_hostname == 'host2'"] }), sh('true', { name: 'two' })]),
      play([task('debug', { msg: 'hi' }, { name: 'three' })], { name: 'second' }),
    );
    const s = await runPlaybook(pb, inventory(3), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['one:changed', 'two:changed', 'three:ok']);
    assert.deepEqual(trail(h.events, 'host2'), ['one:failed']);
    assert.deepEqual(trail(h.events, 'host3'), ['one:changed', 'two:changed', 'three:ok']);
    assert.equal(s.exitCode, 2);
    assert.deepEqual(s.stats.host2, { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 });
    assert.deepEqual(s.stats.host1, { ok: 3, changed: 2, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 });
    const second = h.events.find((e) => e.kind === 'play_start' && e.play === 'second');
    assert.deepEqual(second && second.kind === 'play_start' ? second.hosts : null, ['host1', 'host3']);
    const end = h.events.at(-1)!;
    assert.equal(end.kind, 'run_end');
  });

  test('rescue: counted rescued, not failed; always runs; ansible_failed_task/result visible', async () => {
    const h = harness();
    const pb = playbook(
      play([
        block(
          [sh('exit 3', { name: 'boom', when: ["inventory_hostname == 'host1'"] }), sh('true', { name: 'after boom' })],
          {
            rescue: [task('debug', { msg: '{{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}' }, { name: 'rescuer', register: 'rescued_msg' })],
            always: [task('debug', { msg: 'always' }, { name: 'finally' })],
          },
        ),
        task('debug', { msg: 'next' }, { name: 'next' }),
      ]),
    );
    const s = await runPlaybook(pb, inventory(2), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['boom:failed', 'rescuer:ok', 'finally:ok', 'next:ok']);
    assert.deepEqual(trail(h.events, 'host2'), ['boom:skipped', 'after boom:changed', 'finally:ok', 'next:ok']);
    const rescuer = results(h.events, { host: 'host1', task: 'rescuer' })[0]!;
    assert.equal(rescuer.result.msg, 'boom rc=3');
    assert.equal(h.events.filter((e) => e.kind === 'host_rescued').length, 1);
    assert.deepEqual(s.stats.host1, { ok: 3, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 1, ignored: 0 });
    assert.equal(s.exitCode, 0);
  });

  test('a failure in rescue fails the host, always still runs', async () => {
    const h = harness();
    const pb = playbook(
      play([
        block([sh('exit 1', { name: 'b' })], {
          rescue: [sh('exit 2', { name: 'r' })],
          always: [task('debug', { msg: 'x' }, { name: 'a' })],
        }),
        task('debug', { msg: 'never' }, { name: 'after' }),
      ]),
    );
    const s = await runPlaybook(pb, inventory(1), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['b:failed', 'r:failed', 'a:ok']);
    // as Ansible: entering rescue counts rescued=1; the rescue task's failure counts failed=1
    assert.deepEqual(s.stats.host1, { ok: 1, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 1, ignored: 0 });
    assert.equal(s.exitCode, 2);
  });

  test('ignore_errors: reported ignored, host continues, counted ok+ignored', async () => {
    const h = harness();
    const pb = playbook(play([sh('exit 5', { name: 'bad', ignoreErrors: true, register: 'r' }), task('debug', { msg: 'rc was {{ r.rc }} failed={{ r.failed }}' }, { name: 'show' })]));
    const s = await runPlaybook(pb, inventory(1), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['bad:failed(ignored)', 'show:ok']);
    assert.equal(results(h.events, { task: 'show' })[0]!.result.msg, 'rc was 5 failed=True');
    // a failed command still reports changed: true (as Ansible's command module), so the ignored failure counts changed
    assert.deepEqual(s.stats.host1, { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 1 });
    assert.equal(s.exitCode, 0);
  });
});

describe('runPlaybook: loops, retries, conditions, register', () => {
  test('loop: one result per item, then an aggregate; register holds results', async () => {
    const h = harness();
    const pb = playbook(
      play([
        sh('echo {{ item }}', { name: 'each', loop: ['a', 'b', 'c'], register: 'out', changedWhen: ["item != 'b'"] }),
        task('debug', { msg: "{{ out.results | map(attribute='stdout') | join(',') }} {{ out.changed }}" }, { name: 'joined' }),
        sh('test {{ item }} -lt 2', { name: 'some fail', loop: '{{ [1, 2] }}', ignoreErrors: true }),
      ]),
    );
    const s = await runPlaybook(pb, inventory(1), h.ctx);
    const items = results(h.events, { task: 'each', items: true });
    assert.deepEqual(items.map((e) => [e.item, e.status]), [['a', 'changed'], ['b', 'ok'], ['c', 'changed']]);
    const agg = results(h.events, { task: 'each' })[0]!;
    assert.equal(agg.loop, true);
    assert.equal(agg.status, 'changed');
    assert.equal((agg.result.results as unknown[]).length, 3);
    assert.equal(results(h.events, { task: 'joined' })[0]!.result.msg, 'a,b,c True');
    const someFail = results(h.events, { task: 'some fail' })[0]!;
    assert.equal(someFail.status, 'failed');
    assert.equal(someFail.ignored, true);
    assert.equal(someFail.result.msg, 'One or more items failed');
    assert.deepEqual(s.stats.host1, { ok: 3, changed: 2, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 1 });
  });

  test('when per item; all items skipped -> skipped aggregate; empty list -> skipped', async () => {
    const h = harness();
    const pb = playbook(
      play([
        task('debug', { msg: '{{ item }}' }, { name: 'odd only', loop: [1, 2, 3], when: ['item % 2 == 1'] }),
        task('debug', { msg: '{{ item }}' }, { name: 'none', loop: [1, 2], when: ['item > 5'] }),
        task('debug', { msg: '{{ item }}' }, { name: 'empty', loop: [] }),
      ]),
    );
    await runPlaybook(pb, inventory(1), h.ctx);
    assert.deepEqual(results(h.events, { task: 'odd only', items: true }).map((e) => e.status), ['ok', 'skipped', 'ok']);
    assert.equal(results(h.events, { task: 'none' })[0]!.status, 'skipped');
    assert.equal(results(h.events, { task: 'none' })[0]!.result.msg, 'All items skipped');
    assert.equal(results(h.events, { task: 'empty' })[0]!.status, 'skipped');
  });

  test('retries/until: task_retry events with retries left, attempts recorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-exec-'));
    try {
      const h = harness();
      const counter = join(dir, 'n');
      const pb = playbook(
        play([
          sh(`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo $n`, {
            name: 'count',
            register: 'c',
            until: ['c.stdout | int >= 3'],
            retries: 5,
            delay: 0,
          }),
          sh('false', { name: 'never ok', register: 'x', until: ['x.rc == 0'], retries: 2, delay: 0 }),
        ]),
      );
      const s = await runPlaybook(pb, inventory(1), h.ctx);
      const retries = h.events.filter((e) => e.kind === 'task_retry');
      assert.deepEqual(
        retries.map((e) => (e.kind === 'task_retry' ? [e.task, e.retriesLeft] : null)),
        [['count', 5], ['count', 4], ['never ok', 2], ['never ok', 1]],
      );
      const count = results(h.events, { task: 'count' })[0]!;
      assert.equal(count.status, 'changed');
      assert.equal(count.result.attempts, 3);
      assert.equal(readFileSync(counter, 'utf8').trim(), '3');
      const never = results(h.events, { task: 'never ok' })[0]!;
      assert.equal(never.status, 'failed');
      assert.equal(never.result.attempts, 3);
      assert.equal(s.exitCode, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('changed_when / failed_when see the registered name and the bare result fields', async () => {
    const h = harness();
    const pb = playbook(
      play([
        sh('echo hello; exit 1', { name: 'registered', register: 'r', failedWhen: ["'boom' in r.stdout"], changedWhen: ['r.rc == 0'] }),
        sh('echo boom', { name: 'bare', failedWhen: ["'boom' in stdout"] }),
      ]),
    );
    const s = await runPlaybook(pb, inventory(1), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['registered:ok', 'bare:failed']);
    assert.equal(results(h.events, { task: 'bare' })[0]!.result.failed_when_result, true);
    assert.equal(s.exitCode, 2);
  });

  test('set_fact and register across plays; extra vars always win; task vars below facts', async () => {
    const h = harness({ extraVars: { pinned: 'extra' } });
    const pb = playbook(
      play([task('set_fact', { fact1: '{{ base }}-x', pinned: 'fact' }, { name: 'facts' }), sh('echo {{ fact1 }}', { name: 'echo', register: 'said' })], {
        vars: { base: 'play', pinned: 'play' },
      }),
      play([task('debug', { msg: '{{ fact1 }} {{ said.stdout }} {{ pinned }} {{ tv }}' }, { name: 'later', vars: { tv: '{{ fact1 }}!', fact1: 'taskvar' } })], { name: 'p2' }),
    );
    await runPlaybook(pb, inventory({ host1: { base: 'inv' } }), h.ctx);
    assert.equal(results(h.events, { task: 'later' })[0]!.result.msg, 'play-x play-x extra play-x!');
  });

  test('task name is templated; a template error in args fails the task with the message', async () => {
    const h = harness();
    const pb = playbook(
      play([
        task('debug', { msg: 'x' }, { name: 'hello {{ who }}', vars: { who: 'world' } }),
        sh('{{ nope }}', { name: 'undefined var', ignoreErrors: true }),
        task('shell', { cmd: 'true', stdin_add_newline: "{{ 'maybe' }}" }, { name: 'bad type after templating' }),
      ]),
    );
    const s = await runPlaybook(pb, inventory(1), h.ctx);
    assert.deepEqual(trail(h.events, 'host1'), ['hello world:ok', 'undefined var:failed(ignored)', 'bad type after templating:failed']);
    assert.match(String(results(h.events, { task: 'undefined var' })[0]!.result.msg), /nope/);
    assert.match(String(results(h.events, { task: 'bad type after templating' })[0]!.result.msg), /stdin_add_newline/);
    assert.equal(s.exitCode, 2);
  });
});

describe('runPlaybook: handlers, check mode, tags, no_log, become', () => {
  test('handlers run once at the end, only when notified by a changed task, in definition order; listen topics', async () => {
    const h = harness();
    const handlers = [
      task('debug', { msg: 'h-first' }, { name: 'first handler', listen: ['topic'] }),
      task('debug', { msg: 'restart' }, { name: 'restart' }),
      task('debug', { msg: 'unchanged' }, { name: 'not notified' }),
    ];
    const pb = playbook(
      play(
        [
          sh('true', { name: 'changes', notify: ['restart'] }),
          sh('true', { name: 'changes again', notify: ['restart', 'topic'] }),
          sh('true', { name: 'no change', changedWhen: [false], notify: ['not notified'] }),
          sh('true', { name: 'changes on host1', changedWhen: ["inventory_hostname == 'host1'"], notify: ['topic'] }),
        ],
        { handlers },
      ),
    );
    await runPlaybook(pb, inventory(2), h.ctx);
    const started = h.events.filter((e) => e.kind === 'handler_start').map((e) => (e.kind === 'handler_start' ? `${e.host}:${e.handler}` : ''));
    assert.deepEqual(started.filter((x) => x.startsWith('host1')), ['host1:first handler', 'host1:restart']);
    assert.deepEqual(started.filter((x) => x.startsWith('host2')), ['host2:first handler', 'host2:restart']);
    // handlers come after the host's last task
    const idx = h.events.findIndex((e) => e.kind === 'handler_start' && e.host === 'host1');
    const lastTask = h.events.findLastIndex((e) => e.kind === 'task_start' && e.host === 'host1' && !e.task.includes('handler') && e.task !== 'restart');
    assert.ok(idx > lastTask);
  });

  test('a failed host does not run its handlers', async () => {
    const h = harness();
    const pb = playbook(play([sh('true', { name: 'c', notify: ['hh'] }), sh('false', { name: 'f', when: ["inventory_hostname == 'host2'"] })], { handlers: [task('debug', {}, { name: 'hh' })] }));
    await runPlaybook(pb, inventory(2), h.ctx);
    assert.deepEqual(h.events.filter((e) => e.kind === 'handler_start').map((e) => (e.kind === 'handler_start' ? e.host : '')), ['host1']);
  });

  test('check mode: remote commands do not run, raw (no check support) is skipped, check_mode: false runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-exec-'));
    try {
      const h = harness({ check: true });
      const pb = playbook(
        play([
          sh(`touch ${dir}/shell`, { name: 'shell' }),
          task('raw', { cmd: `touch ${dir}/raw` }, { name: 'raw' }),
          sh(`touch ${dir}/real`, { name: 'real', checkMode: false }),
          task('debug', { msg: '{{ ansible_check_mode }}' }, { name: 'flag' }),
        ]),
      );
      const s = await runPlaybook(pb, inventory(1), h.ctx);
      assert.deepEqual(trail(h.events, 'host1'), ['shell:skipped', 'raw:skipped', 'real:changed', 'flag:ok']);
      assert.equal(results(h.events, { task: 'raw' })[0]!.result.msg, 'skipped, running in check mode');
      assert.equal(results(h.events, { task: 'flag' })[0]!.result.msg, true);
      assert.equal(existsSync(join(dir, 'shell')), false);
      assert.equal(existsSync(join(dir, 'raw')), false);
      assert.equal(existsSync(join(dir, 'real')), true);
      assert.equal(s.exitCode, 0);
      const start = h.events[0]!;
      assert.ok(start.kind === 'run_start' && start.checkMode);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tags: --tags selects tagged tasks (inherited from blocks and plays), always runs, never needs its tag', async () => {
    const tasks = [
      task('debug', {}, { name: 'untagged' }),
      task('debug', {}, { name: 'tagged a', tags: ['a'] }),
      block([task('debug', {}, { name: 'in block b' })], { tags: ['b'] }),
      task('debug', {}, { name: 'always', tags: ['always'] }),
      task('debug', {}, { name: 'never debug', tags: ['never', 'debug'] }),
    ];
    const cases: Array<{ tags: string[]; skip: string[]; want: string[] }> = [
      { tags: [], skip: [], want: ['untagged', 'tagged a', 'in block b', 'always'] },
      { tags: ['a'], skip: [], want: ['tagged a', 'always'] },
      { tags: ['b', 'debug'], skip: [], want: ['in block b', 'always', 'never debug'] },
      { tags: [], skip: ['b', 'always'], want: ['untagged', 'tagged a'] },
    ];
    for (const c of cases) {
      const h = harness({ tags: c.tags, skipTags: c.skip });
      await runPlaybook(playbook(play(tasks)), inventory(1), h.ctx);
      assert.deepEqual(results(h.events).map((e) => e.task), c.want, JSON.stringify(c));
    }
    const h = harness({ tags: ['p'] });
    await runPlaybook(playbook(play([task('debug', {}, { name: 'via play tag' })], { tags: ['p'] })), inventory(1), h.ctx);
    assert.deepEqual(results(h.events).map((e) => e.task), ['via play tag']);
  });

  test('no_log marks the events; the result is still there for sinks to redact', async () => {
    const h = harness();
    await runPlaybook(playbook(play([sh('echo s3cret', { name: 'secret', noLog: true }), sh('echo open', { name: 'open' })])), inventory(1), h.ctx);
    assert.equal(results(h.events, { task: 'secret' })[0]!.noLog, true);
    assert.equal(results(h.events, { task: 'open' })[0]!.noLog, undefined);
  });

  test('become: the command runs as become_user', async () => {
    const h = harness();
    await runPlaybook(playbook(play([sh('id -un', { name: 'who', become: true, becomeUser: 'nobody' })])), inventory(1), h.ctx);
    assert.equal(results(h.events, { task: 'who' })[0]!.result.stdout, 'nobody');
  });
});
