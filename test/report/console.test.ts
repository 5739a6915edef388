import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleSink, type ConsoleOptions } from '../../src/report/console.js';
import type { RunEvent } from '../../src/events/events.js';
import { Scenario, collector } from './scenario.js';

function render(events: RunEvent[], opts: Partial<ConsoleOptions> = {}, columns?: number): string {
  const c = collector();
  if (columns !== undefined) Object.assign(c.stream, { columns });
  const sink = new ConsoleSink(c.stream, { verbosity: 0, isTTY: false, color: false, ...opts });
  for (const e of events) sink.handle(e);
  return c.text();
}
const stars = (msg: string, cols = 79) => `${msg} ${'*'.repeat(Math.max(3, cols - msg.length))}`;

describe('ConsoleSink', () => {
  test('a TASK banner whenever the task of the next line differs (hosts not in lockstep)', () => {
    const s = new Scenario('x.yml', ['h1', 'h2', 'h3'])
      .startPlay('web', ['h1', 'h2', 'h3'])
      .result('A', 'command', 'h1', 'ok')
      .result('B', 'command', 'h2', 'changed')
      .result('A', 'command', 'h3', 'skipped')
      .result('A', 'command', 'h2', 'ok');
    assert.equal(
      render(s.events),
      ['', stars('PLAY [web]'), '', stars('TASK [A]'), 'ok: [h1]', '', stars('TASK [B]'), 'changed: [h2]', '', stars('TASK [A]'), 'skipping: [h3]', 'ok: [h2]', ''].join('\n'),
    );
  });

  test('serial batches: PLAY banner per batch and task banners anew, as Ansible prints them', () => {
    const s = new Scenario('x.yml', ['h1', 'h2'])
      .startPlay('web', ['h1', 'h2'])
      .push({ kind: 'batch_start', play: 'web', hosts: ['h1'], batch: 1, batches: 2 })
      .result('A', 'command', 'h1', 'ok')
      .push({ kind: 'batch_start', play: 'web', hosts: ['h2'], batch: 2, batches: 2 })
      .result('A', 'command', 'h2', 'ok');
    assert.equal(
      render(s.events),
      ['', stars('PLAY [web]'), '', stars('TASK [A]'), 'ok: [h1]', '', stars('PLAY [web]'), '', stars('TASK [A]'), 'ok: [h2]', ''].join('\n'),
    );
  });

  test('an unnamed play, long names keep 3 stars, terminal width widens banners', () => {
    const long = 'x'.repeat(90);
    const s = new Scenario().startPlay('', ['h']).result(long, 'command', 'h', 'ok');
    assert.equal(render(s.events), ['', stars('PLAY'), '', `TASK [${long}] ***`, 'ok: [h]', ''].join('\n'));
    const wide = render(new Scenario().startPlay('p', ['h']).events, { isTTY: true }, 121);
    assert.ok(wide.includes(`\n${stars('PLAY [p]', 120)}\n`));
  });

  test('fatal, ...ignoring, unreachable, retries, handlers, no hosts, warnings, interruption', () => {
    const s = new Scenario()
      .startPlay('p', ['a', 'b'])
      .retry('wait', 'a', 2, { rc: 1 })
      .result('wait', 'command', 'a', 'failed', { rc: 1, msg: 'non-zero return code', attempts: 3, changed: true })
      .result('wait', 'command', 'b', 'failed', { msg: 'boom' }, { ignored: true })
      .push({ kind: 'handler_start', play: 'p', handler: 'restart crio', host: 'b' })
      .result('restart crio', 'systemd_service', 'b', 'unreachable', { msg: 'ssh: connect to host b port 22: Connection refused' })
      .push({ kind: 'warning', message: 'crictl not found', host: 'b' })
      .push({ kind: 'play_no_hosts', play: 'empty' })
      .push({ kind: 'interrupted', signal: 'SIGINT' });
    assert.equal(
      render(s.events),
      [
        '',
        stars('PLAY [p]'),
        '',
        stars('TASK [wait]'),
        'FAILED - RETRYING: [a]: wait (2 retries left).',
        'fatal: [a]: FAILED! => {"attempts": 3, "changed": true, "msg": "non-zero return code", "rc": 1}',
        'fatal: [b]: FAILED! => {"changed": false, "msg": "boom"}',
        '...ignoring',
        '',
        stars('RUNNING HANDLER [restart crio]'),
        'fatal: [b]: UNREACHABLE! => {"changed": false, "msg": "ssh: connect to host b port 22: Connection refused", "unreachable": true}',
        '[WARNING]: b: crictl not found',
        'skipping: no hosts matched',
        '[ERROR]: User interrupted execution (SIGINT)',
        '',
      ].join('\n'),
    );
  });

  test('loop items: ok/changed/failed/skipped item lines, dict items as Python repr, label override', () => {
    const s = new Scenario()
      .startPlay('p', ['h'])
      .loop('pkgs', 'command', 'h', [['a', 'ok'], [{ name: 'b', v: 1 }, 'changed'], ['c', 'failed', { msg: 'bad', rc: 2 }], [true, 'skipped'], ['d', 'ok', { _ansible_item_label: 'D!' }]], { status: 'failed' });
    assert.equal(
      render(s.events),
      [
        '',
        stars('PLAY [p]'),
        '',
        stars('TASK [pkgs]'),
        'ok: [h] => (item=a)',
        "changed: [h] => (item={'name': 'b', 'v': 1})",
        'failed: [h] (item=c) => {"changed": false, "item": "c", "msg": "bad", "rc": 2}',
        'skipping: [h] => (item=True) ',
        'ok: [h] => (item=D!)',
        '',
      ].join('\n'),
    );
  });

  test('-v adds the result to ok/changed lines; -vvv indents; debug is always shown', () => {
    const s = new Scenario()
      .startPlay('p', ['h'])
      .result('run', 'shell', 'h', 'changed', { rc: 0, stdout: 'hi', stdout_lines: ['hi'] })
      .result('show', 'debug', 'h', 'ok', { msg: 'x', changed: false, _ansible_verbose_always: true });
    const v1 = render(s.events, { verbosity: 1 });
    assert.ok(v1.includes('changed: [h] => {"changed": true, "rc": 0, "stdout": "hi", "stdout_lines": ["hi"]}\n'));
    assert.ok(v1.includes('ok: [h] => {\n    "msg": "x"\n}\n'));
    const v0 = render(s.events);
    assert.ok(v0.includes('changed: [h]\n'));
    assert.ok(v0.includes('ok: [h] => {\n    "msg": "x"\n}\n'));
    const v3 = render(s.events, { verbosity: 3 });
    assert.ok(v3.includes('changed: [h] => {\n    "changed": true,\n    "rc": 0,\n    "stdout": "hi",\n    "stdout_lines": [\n        "hi"\n    ]\n}\n'));
  });

  test('no_log results are censored everywhere, item labels too', () => {
    const s = new Scenario()
      .startPlay('p', ['h'])
      .result('secret', 'shell', 'h', 'changed', { stdout: 'TOPSECRET', cmd: 'echo TOPSECRET' }, { noLog: true })
      .result('secret', 'shell', 'h', 'failed', { stdout: 'TOPSECRET', changed: true }, { noLog: true })
      .result('secret', 'shell', 'h', 'ok', { stdout: 'TOPSECRET' }, { noLog: true, item: 'TOPSECRET' });
    const out = render(s.events, { verbosity: 3 });
    assert.ok(!out.includes('TOPSECRET'), out);
    assert.ok(out.includes('"censored": "the output has been hidden due to the fact that \'no_log: true\' was specified for this result"'));
    assert.ok(out.includes('ok: [h] => (item=(censored due to no_log)) => {'));
  });

  test('recap without colour, and with colour exactly as default.py builds it', () => {
    const s = new Scenario().startPlay('p', ['ok1', 'bad']).result('t', 'command', 'ok1', 'changed').result('t', 'command', 'bad', 'failed').end();
    const plain = render(s.events);
    assert.ok(
      plain.endsWith(
        [
          stars('PLAY RECAP'),
          'bad                        : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0   ',
          'ok1                        : ok=1    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   ',
          '',
          '',
        ].join('\n'),
      ),
    );
    const colored = render(s.events, { color: true });
    const E = '\u001b[';
    assert.ok(
      colored.includes(
        `${`${E}0;31mbad${E}0m`.padEnd(37)} : ok=0    changed=0    unreachable=0    ${E}0;31mfailed=1   ${E}0m skipped=0    rescued=0    ignored=0   \n`,
      ),
    );
    assert.ok(colored.includes(`${E}0;33mchanged: [ok1]${E}0m\n`));
    assert.ok(colored.includes(`${`${E}0;33mok1${E}0m`.padEnd(37)} : ${E}0;32mok=1   ${E}0m ${E}0;33mchanged=1   ${E}0m unreachable=0`));
  });

  test('TTY: a live progress line, cleared before each normal line, gone after the recap; never on a non-TTY', () => {
    const s = new Scenario('x.yml', ['a', 'b'])
      .startPlay('p', ['a', 'b'])
      .result('t', 'command', 'a', 'ok')
      .push({ kind: 'task_start', play: 'p', task: 't', module: 'command', host: 'b' })
      .push({ kind: 'host_done', play: 'p', host: 'a' })
      .result('t', 'command', 'b', 'failed', {}, { noStart: true })
      .end();
    const tty = render(s.events, { isTTY: true });
    assert.ok(tty.includes('\r\u001b[K[nodesweep] 1/2 hosts done, 1 running, 0 failed, 0 unreachable\r\u001b[Kfatal: [b]'));
    assert.ok(tty.includes('\r\u001b[K[nodesweep] 2/2 hosts done, 0 running, 1 failed, 0 unreachable'));
    const lastRecap = tty.lastIndexOf('PLAY RECAP');
    assert.ok(!tty.slice(lastRecap).includes('[nodesweep]'));
    // every progress draw is cleared before the next normal line
    for (const m of tty.matchAll(/\[nodesweep\][^\r\n]*/g)) {
      const after = tty.slice(m.index! + m[0].length);
      assert.ok(after === '' || after.startsWith('\r\u001b[K'), 'progress line followed by a clear');
    }
    const plain = render(s.events, { isTTY: false });
    assert.ok(!plain.includes('\r') && !plain.includes('[nodesweep]'));
  });

  test('long lists are cut on the console (not stdout_lines); -vv shows them all', () => {
    const removed = Array.from({ length: 120 }, (_, i) => `/sys/fs/cgroup/x/crio-${i}.scope`);
    const lines = Array.from({ length: 80 }, (_, i) => `line ${i}`);
    const s = new Scenario('x.yml', ['h1'])
      .startPlay('p', ['h1'])
      .result('prune', 'cgroup_prune', 'h1', 'failed', { removed, stdout_lines: lines, msg: 'busy' });
    const short = render(s.events);
    const fatal = short.split('\n').find((l) => l.startsWith('fatal: [h1]: FAILED! => '))!;
    const shown = JSON.parse(fatal.slice('fatal: [h1]: FAILED! => '.length));
    assert.equal(shown.removed.length, 51);
    assert.deepEqual(shown.removed.slice(0, 50), removed.slice(0, 50));
    assert.equal(shown.removed[50], '... 70 more (the JSON report has them all)');
    assert.deepEqual(shown.stdout_lines, lines);
    const full = render(s.events, { verbosity: 2 });
    assert.ok(full.includes(JSON.stringify(removed[119])), 'all items at -vv');
  });
});
