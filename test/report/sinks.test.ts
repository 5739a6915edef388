import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../../src/events/events.js';
import { JsonReportSink } from '../../src/report/json-report.js';
import { JunitSink, xmlEscape } from '../../src/report/junit.js';
import { RetryFileSink } from '../../src/report/retry.js';
import { LogSink, openLogFile } from '../../src/report/log.js';
import { ConsoleSink } from '../../src/report/console.js';
import { Redactor, MASK } from '../../src/report/redact.js';
import { Scenario, collector } from './scenario.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-sinks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const exists = (p: string) => access(p).then(() => true, () => false);

function sample(): Scenario {
  return new Scenario('site.yml', ['web1', 'web2', 'db'])
    .startPlay('setup', ['web1', 'web2', 'db'])
    .result('hello', 'shell', 'web1', 'changed', { rc: 0, stdout: 'hi <there> & "you"', stderr: '' }, { durationMs: 1500 })
    .result('hello', 'shell', 'web2', 'failed', { rc: 2, stdout: '', stderr: 'oops\u001b[0m', msg: 'non-zero return code', changed: true }, { durationMs: 20 })
    .result('hello', 'shell', 'db', 'unreachable', { msg: 'connect refused' })
    .loop('items', 'command', 'web1', [['a', 'ok', { rc: 0 }], ['b', 'skipped']], { status: 'ok' })
    .result('maybe', 'debug', 'web1', 'skipped', { skip_reason: 'Conditional result was False' })
    .end();
}

describe('JsonReportSink', () => {
  test('writes the whole run on close', async () => {
    const path = join(dir, 'sub', 'report.json');
    const sink = new JsonReportSink(path, { playbook: 'playbooks/site.yml' });
    for (const e of sample().events) sink.handle(e);
    await sink.close();
    const doc = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(doc.nodesweep_report, 1);
    assert.equal(doc.playbook, 'playbooks/site.yml');
    assert.equal(doc.check_mode, false);
    assert.equal(doc.started_at, '2024-01-01T00:00:00.000Z');
    assert.equal(doc.finished_at, '2024-01-01T00:00:02.500Z');
    assert.equal(doc.exit_code, 4);
    assert.deepEqual(Object.keys(doc.hosts), ['db', 'web1', 'web2']);
    assert.deepEqual(doc.hosts.web1.stats, { ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 1, rescued: 0, ignored: 0 });
    assert.deepEqual(doc.hosts.web2.stats, { ok: 0, changed: 0, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 });
    assert.deepEqual(doc.hosts.web1.tasks[0], {
      play: 'setup',
      task: 'hello',
      module: 'shell',
      status: 'changed',
      duration_ms: 1500,
      result: { rc: 0, stdout: 'hi <there> & "you"', stderr: '' },
    });
    const loop = doc.hosts.web1.tasks[1];
    assert.equal(loop.task, 'items');
    assert.deepEqual(
      loop.items.map((i: { item: unknown; status: string }) => [i.item, i.status]),
      [['a', 'ok'], ['b', 'skipped']],
    );
    assert.equal(doc.hosts.web1.tasks.length, 3);
    assert.equal(doc.hosts.db.tasks[0].status, 'unreachable');
  });
});

describe('JunitSink', () => {
  test('one testcase per host per task, failures/errors/skipped, system-out, escaping', async () => {
    const path = join(dir, 'junit.xml');
    const sink = new JunitSink(path);
    for (const e of sample().events) sink.handle(e);
    await sink.close();
    const xml = await readFile(path, 'utf8');
    const attrs = 'name="site.yml" tests="5" failures="1" errors="1" skipped="1" time="2.500"';
    assert.equal(
      xml,
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites ${attrs}>`,
        `  <testsuite ${attrs}>`,
        '    <testcase classname="setup" name="web1: hello" time="1.500">',
        '      <system-out>hi &lt;there&gt; &amp; &quot;you&quot;</system-out>',
        '    </testcase>',
        '    <testcase classname="setup" name="web2: hello" time="0.020">',
        `      <failure message="non-zero return code" type="failed">{\n    &quot;changed&quot;: true,\n    &quot;msg&quot;: &quot;non-zero return code&quot;,\n    &quot;rc&quot;: 2,\n    &quot;stderr&quot;: &quot;oops\\u001b[0m&quot;,\n    &quot;stdout&quot;: &quot;&quot;\n}</failure>`,
        '      <system-err>oops[0m</system-err>',
        '    </testcase>',
        '    <testcase classname="setup" name="db: hello" time="0.005">',
        `      <error message="connect refused" type="unreachable">{\n    &quot;changed&quot;: false,\n    &quot;msg&quot;: &quot;connect refused&quot;,\n    &quot;unreachable&quot;: true\n}</error>`,
        '    </testcase>',
        '    <testcase classname="setup" name="web1: items" time="0.005"/>',
        '    <testcase classname="setup" name="web1: maybe" time="0.005">',
        '      <skipped message="Conditional result was False"/>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });
  test('xmlEscape table', () => {
    const table: [string, string][] = [
      ['a<b>&"\'', 'a&lt;b&gt;&amp;&quot;&apos;'],
      ['tab\tnl\ncr\r', 'tab\tnl\ncr\r'],
      ['esc\u001b[31m nul\u0000 bell\u0007', 'esc[31m nul bell'],
      ['ünïcødé ✓ 😀', 'ünïcødé ✓ 😀'],
    ];
    for (const [i, o] of table) assert.equal(xmlEscape(i), o);
  });
});

describe('RetryFileSink', () => {
  test('failed and unreachable hosts, sorted, one per line', async () => {
    const path = join(dir, 'site.retry');
    const sink = new RetryFileSink(path);
    for (const e of sample().events) sink.handle(e);
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), 'db\nweb2\n');
  });
  test('nothing written when every host succeeded; a rescued host is not retried', async () => {
    const path = join(dir, 'ok.retry');
    const sink = new RetryFileSink(path);
    const s = new Scenario().startPlay('p', ['a']).result('t', 'command', 'a', 'failed').rescued('a').result('r', 'debug', 'a', 'ok').end();
    for (const e of s.events) sink.handle(e);
    await sink.close();
    assert.equal(await exists(path), false);
  });
});

describe('LogSink', () => {
  test('JSON lines with play, host and task on every entry', async () => {
    const path = join(dir, 'run.log');
    const { logger, close: end } = await openLogFile(path);
    const sink = new LogSink(logger);
    for (const e of sample().events) sink.handle(e);
    await end();
    const lines = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 10);
    for (const l of lines) {
      assert.ok('host' in l && 'task' in l && 'play' in l, JSON.stringify(l));
      assert.ok(typeof l.timestamp === 'string');
    }
    const fail = lines.find((l) => l.message === 'task_result' && l.host === 'web2');
    assert.equal(fail.level, 'error');
    assert.equal(fail.task, 'hello');
    assert.equal(fail.status, 'failed');
    assert.equal(fail.result.rc, 2);
    const items = lines.filter((l) => l.message === 'task_result' && l.task === 'items');
    assert.deepEqual(items.map((l) => l.item ?? null), ['a', 'b', null]);
    const last = lines.find((l) => l.message === 'run_end');
    assert.equal(last.host, null);
    assert.equal(last.exit_code, 4);
  });
});

describe('redaction across every sink', () => {
  test('no_log results and secret values never reach console, JSON, JUnit, log or retry', async () => {
    const PW = 'hunter2-become';
    const SSHPW = 's3cret-ssh-pass';
    const redactor = Redactor.fromHostVars([{ ansible_become_password: PW }, { ansible_password: SSHPW, other: 'x' }]);
    const s = new Scenario('site.yml', ['a'])
      .startPlay('p', ['a'])
      .result('nolog', 'shell', 'a', 'failed', { stdout: 'NOLOG-OUTPUT', msg: 'NOLOG-OUTPUT' }, { noLog: true })
      .result('leak', 'shell', 'a', 'changed', { stdout: `echoed ${PW} and ${SSHPW}`, cmd: `sudo -S <<< ${PW}` })
      .result('dump', 'debug', 'a', 'ok', { hostvars: { a: { ansible_become_password: 'literal-in-vars', ansible_password: SSHPW } } })
      .retry('r', 'a', 1, { stderr: `bad ${PW}` })
      .push({ kind: 'warning', message: `warn ${SSHPW}` })
      .end();
    const logPath = join(dir, 'run.log');
    const { logger, close: end } = await openLogFile(logPath);
    const out = collector();
    const bus = new EventBus()
      .add(new ConsoleSink(out.stream, { verbosity: 4, isTTY: false, color: false, redactor }))
      .add(new JsonReportSink(join(dir, 'r.json'), { redactor }))
      .add(new JunitSink(join(dir, 'j.xml'), { redactor }))
      .add(new LogSink(logger, { redactor }))
      .add(new RetryFileSink(join(dir, 'r.retry')));
    for (const e of s.events) bus.emit(e);
    await bus.close();
    await end();
    const texts = {
      console: out.text(),
      json: await readFile(join(dir, 'r.json'), 'utf8'),
      junit: await readFile(join(dir, 'j.xml'), 'utf8'),
      log: await readFile(logPath, 'utf8'),
    };
    for (const [name, t] of Object.entries(texts)) {
      for (const secret of [PW, SSHPW, 'NOLOG-OUTPUT', 'literal-in-vars']) assert.ok(!t.includes(secret), `${name} leaks ${secret}`);
      assert.ok(t.includes(MASK) || name === 'junit', `${name} shows the mask`);
      assert.ok(t.includes('censored'), `${name} marks the no_log result`);
    }
    assert.equal(await readFile(join(dir, 'r.retry'), 'utf8'), 'a\n');
  });

  test('Redactor unit behaviour', () => {
    const r = new Redactor(['abcdef', 'ab', undefined, 'abcdefgh']);
    assert.equal(r.text('xx abcdefgh yy abcdef ab'), `xx ${MASK} yy ${MASK} ab`); // too-short values are not masked
    assert.deepEqual(r.value({ ansible_password: 'zz', n: 1, list: ['abcdef'], nested: { ansible_become_pass: '' } }), {
      ansible_password: MASK,
      n: 1,
      list: [MASK],
      nested: { ansible_become_pass: '' },
    });
    assert.deepEqual(r.result({ status: 'changed', stdout: 'x', attempts: 2, changed: true }, true), {
      status: 'changed',
      censored: "the output has been hidden due to the fact that 'no_log: true' was specified for this result",
      attempts: 2,
      changed: true,
    });
  });
});
