/**
 * Real ansible-playbook is the oracle: run two small playbooks (fixtures/oracle) with ansible 2.14, then feed
 * ConsoleSink the events of the same outcomes (results made by our own modules where a command runs) and
 * compare. Hosts are not in lockstep in Ansible's worker pool either, so lines are compared per banner section,
 * sorted; the recap is compared byte for byte, and the exit code too.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleSink } from '../../src/report/console.js';
import { exitCodeFor } from '../../src/events/stats.js';
import { shellModule } from '../../src/modules/shell.js';
import { commandModule } from '../../src/modules/command.js';
import { debugModule } from '../../src/modules/debug.js';
import { assertModule } from '../../src/modules/assert.js';
import { setFactModule } from '../../src/modules/set_fact.js';
import { failModule } from '../../src/modules/fail.js';
import type { ModuleResult } from '../../src/modules/types.js';
import { runModule } from '../modules/ctx.js';
import { Scenario, collector, statsOf } from './scenario.js';

const FIX = fileURLToPath(new URL('./fixtures/oracle/', import.meta.url));

interface Run {
  code: number;
  stdout: string;
}

function ansiblePlaybook(args: string[], tmp: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      'ansible-playbook',
      args,
      {
        cwd: FIX,
        env: {
          ...process.env,
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_FORCE_COLOR: '0',
          ANSIBLE_HOST_KEY_CHECKING: 'False',
          ANSIBLE_RETRY_FILES_ENABLED: 'False',
          ANSIBLE_LOCAL_TEMP: join(tmp, 'local'),
          ANSIBLE_REMOTE_TEMP: join(tmp, 'remote'),
        },
        timeout: 120_000,
      },
      (err, stdout) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout });
      },
    );
  });
}

/** Volatile bits: times, and interpreter discovery (Ansible-only). */
function normalize(line: string): string {
  return line
    .replace(/"ansible_facts": \{"discovered_interpreter_python": "[^"]*"\}, /g, '')
    .replace(/"(delta|end|start)": "[^"]*"/g, '"$1": "X"');
}

/** [banner, sorted lines] per section; text before the first banner is dropped. */
function sections(text: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const raw of text.split('\n')) {
    const line = normalize(raw);
    if (/^(PLAY|TASK|RUNNING HANDLER|PLAY RECAP)\b.* \*{3,}$/.test(line)) out.push([line, []]);
    else if (out.length && line !== '') out[out.length - 1]![1].push(line);
  }
  return out.map(([b, ls]) => [b, b.startsWith('PLAY RECAP') ? ls : [...ls].sort()]);
}

function render(events: Scenario['events'], verbosity: number): string {
  const c = collector();
  const sink = new ConsoleSink(c.stream, { verbosity, isTTY: false, color: false });
  for (const e of events) sink.handle(e);
  return c.text();
}

const asOk = (r: ModuleResult): ModuleResult => ({ ...r, status: 'ok', changed: false }); // changed_when: false

let tmp = '';
let recapRun: Run;
let verboseRun: Run;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ns-oracle-'));
  try {
    [recapRun, verboseRun] = await Promise.all([
      ansiblePlaybook(['-i', 'inventory.ini', 'recap.yml'], tmp),
      ansiblePlaybook(['-i', 'localhost,', '-c', 'local', 'verbose.yml', '-v'], tmp),
    ]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

describe('console output vs real ansible-playbook', () => {
  test('recap.yml: banners, result lines, recap bytes, exit code', async () => {
    const LONG = 'a-very-long-hostname-over-26-chars.example.com';
    const hosts = ['plain', 'ignorer', 'rescuer', 'looper', 'failer', LONG, 'gone'];
    const shell = shellModule();
    const command = commandModule();
    const s = new Scenario('recap.yml', hosts).startPlay('oracle play', hosts);
    const others = (except: string[]) => hosts.filter((h) => !except.includes(h));

    s.result('say hi', 'debug', 'plain', 'ok', await runModule(debugModule(), { msg: 'hello' }));
    for (const h of others(['plain'])) s.skip('say hi', 'debug', h);

    for (const h of ['plain', LONG]) s.result('change something', 'shell', h, 'changed', await runModule(shell, { cmd: 'echo changed' }));
    for (const h of others(['plain', LONG])) s.skip('change something', 'shell', h);

    const ignored = await runModule(shell, { cmd: 'echo out; exit 3' });
    s.result('ignored failure', 'shell', 'ignorer', 'failed', ignored, { ignored: true });
    for (const h of others(['ignorer'])) s.skip('ignored failure', 'shell', h);

    s.result('fails in block', 'command', 'rescuer', 'failed', await runModule(command, { cmd: '/bin/false' })).rescued('rescuer');
    for (const h of others(['rescuer'])) s.skip('fails in block', 'command', h);
    s.result('rescue task', 'debug', 'rescuer', 'ok', await runModule(debugModule(), { msg: 'rescued' }));

    for (const h of hosts) {
      if (h === 'looper') {
        const one = await runModule(command, { cmd: 'echo 1' });
        const three = await runModule(command, { cmd: 'echo 3' });
        s.loop('loop mixed', 'command', h, [[1, 'changed', one], [2, 'skipped'], [3, 'changed', three]], { status: 'changed', changed: true });
      } else {
        s.loop('loop mixed', 'command', h, [[1, 'skipped'], [2, 'skipped'], [3, 'skipped']], { status: 'skipped' });
      }
    }
    for (const h of hosts) s.loop('loop all skipped', 'command', h, [[1, 'skipped'], [2, 'skipped']], { status: 'skipped' });

    const never = await runModule(shell, { cmd: 'test -e /nonexistent/nodesweep-oracle-never' });
    s.retry('retry task', 'failer', 2, never).retry('retry task', 'failer', 1, never);
    s.result('retry task', 'shell', 'failer', 'failed', { ...never, attempts: 2 });
    for (const h of others(['failer'])) s.skip('retry task', 'shell', h);

    const alive = others(['failer', 'gone']);
    for (const h of alive) s.result('after failure', 'command', h, 'ok', asOk(await runModule(command, { cmd: '/bin/true' })));
    s.result('after failure', 'command', 'gone', 'unreachable', {
      changed: false,
      msg: 'Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused',
    });

    s.result('secret', 'shell', 'plain', 'changed', await runModule(shell, { cmd: 'echo secret' }), { noLog: true });
    for (const h of alive.filter((h) => h !== 'plain')) s.skip('secret', 'shell', h);
    s.end();

    const ours = render(s.events, 0);
    assert.deepEqual(sections(ours), sections(recapRun.stdout));
    const recap = (t: string) => t.slice(t.indexOf('\nPLAY RECAP'));
    assert.equal(recap(ours), recap(recapRun.stdout));
    assert.equal(exitCodeFor(statsOf(s.events), false), recapRun.code);
    assert.ok(!ours.includes('secret\n') && !ours.includes('"secret"'), 'no_log output hidden');
  });

  test('verbose.yml -v: item lines, debug var, censored failure, assert, set_fact, fail', async () => {
    const command = commandModule();
    const s = new Scenario('verbose.yml', ['localhost']).startPlay('verbose play', ['localhost']);
    const h = 'localhost';
    const t = await runModule(command, { cmd: '/bin/true' });
    const f = await runModule(command, { cmd: '/bin/false' });
    s.loop(
      'loop fail',
      'command',
      h,
      [
        ['/bin/true', 'changed', { ...t, ansible_loop_var: 'item' }],
        ['/bin/false', 'failed', { ...f, ansible_loop_var: 'item' }],
      ],
      { status: 'failed', ignored: true, changed: true },
    );
    const foo = { a: 1, b: [1, 'x'] };
    s.result('dbg var', 'debug', h, 'ok', await runModule(debugModule(), { var: 'foo' }, { vars: { foo } }));
    s.result('fail nolog', 'shell', h, 'failed', await runModule(shellModule(), { cmd: 'echo secret; exit 2' }), { ignored: true, noLog: true });
    s.result('assert', 'assert', h, 'failed', await runModule(assertModule(), { that: ['1 == 2'] }, { evalCondition: () => false }), { ignored: true });
    s.result('sf', 'set_fact', h, 'ok', await runModule(setFactModule(), { x: 1 }));
    s.result('fail', 'fail', h, 'failed', await runModule(failModule(), {}));
    s.end();

    const ours = render(s.events, 1);
    assert.deepEqual(sections(ours), sections(verboseRun.stdout));
    assert.equal(exitCodeFor(statsOf(s.events), false), verboseRun.code);
  });
});
