import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellModule } from '../../src/modules/shell.js';
import { runModule } from './ctx.js';

const shell = shellModule();
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-shell-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (p: string) => access(p).then(() => true, () => false);

describe('shell', () => {
  test('rc 0 is changed, output stripped and split, Ansible time fields', async () => {
    const r = await runModule(shell, { cmd: 'echo one; echo two; echo err >&2' });
    assert.equal(r.status, 'changed');
    assert.equal(r.changed, true);
    assert.equal(r.rc, 0);
    assert.equal(r.stdout, 'one\ntwo');
    assert.deepEqual(r.stdout_lines, ['one', 'two']);
    assert.equal(r.stderr, 'err');
    assert.deepEqual(r.stderr_lines, ['err']);
    assert.equal(r.cmd, 'echo one; echo two; echo err >&2');
    assert.equal(r.msg, '');
    assert.match(String(r.start), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    assert.match(String(r.end), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    assert.match(String(r.delta), /^0:00:0\d\.\d{6}$/);
  });

  test('shell features work (pipes, variables, globbing)', async () => {
    const r = await runModule(shell, { cmd: 'X=abc; printf "%s\\n" "$X" | tr a-z A-Z' });
    assert.equal(r.stdout, 'ABC');
  });

  test('non-zero rc fails with Ansible message and keeps output', async () => {
    const r = await runModule(shell, { cmd: 'echo out; exit 3' });
    assert.equal(r.status, 'failed');
    assert.equal(r.rc, 3);
    assert.equal(r.msg, 'non-zero return code');
    assert.equal(r.stdout, 'out');
  });

  test('chdir runs the command there; a missing dir fails before running', async () => {
    const r = await runModule(shell, { cmd: 'pwd', chdir: dir });
    assert.equal(r.stdout, dir);
    const bad = await runModule(shell, { cmd: `touch ${dir}/ran`, chdir: join(dir, 'nope') });
    assert.equal(bad.status, 'failed');
    assert.match(String(bad.msg), /^Unable to change directory before execution: /);
    assert.equal(await exists(join(dir, 'ran')), false);
  });

  test('creates: skips when the path (or a glob) exists, relative to chdir', async () => {
    await writeFile(join(dir, 'marker.txt'), 'x');
    const r = await runModule(shell, { cmd: `touch ${dir}/ran1`, creates: join(dir, 'marker.txt') });
    assert.equal(r.status, 'ok');
    assert.equal(r.changed, false);
    assert.equal(r.rc, 0);
    assert.equal(r.msg, `Did not run command since '${join(dir, 'marker.txt')}' exists`);
    assert.equal(r.stdout, `skipped, since ${join(dir, 'marker.txt')} exists`);
    assert.equal(await exists(join(dir, 'ran1')), false);

    const g = await runModule(shell, { cmd: `touch ${dir}/ran2`, creates: 'mark*.txt', chdir: dir });
    assert.equal(g.status, 'ok');
    assert.equal(await exists(join(dir, 'ran2')), false);

    const runs = await runModule(shell, { cmd: `touch ${dir}/ran3`, creates: join(dir, 'absent') });
    assert.equal(runs.status, 'changed');
    assert.equal(await exists(join(dir, 'ran3')), true);
  });

  test('removes: skips when the path does not exist', async () => {
    const r = await runModule(shell, { cmd: 'echo hi', removes: join(dir, 'absent') });
    assert.equal(r.status, 'ok');
    assert.equal(r.msg, `Did not run command since '${join(dir, 'absent')}' does not exist`);
    await writeFile(join(dir, 'victim'), 'x');
    const r2 = await runModule(shell, { cmd: `rm ${dir}/victim`, removes: join(dir, 'victim') });
    assert.equal(r2.status, 'changed');
    assert.equal(await exists(join(dir, 'victim')), false);
  });

  test('stdin is fed with a trailing newline by default', async () => {
    const r = await runModule(shell, { cmd: 'od -c | head -1', stdin: 'ab' });
    assert.match(String(r.stdout), /a\s+b\s+\\n/);
    const r2 = await runModule(shell, { cmd: 'wc -c', stdin: 'ab', stdin_add_newline: false });
    assert.equal(String(r2.stdout).trim(), '2');
  });

  test('executable chooses the shell', async () => {
    const r = await runModule(shell, { cmd: 'echo "$0"', executable: '/bin/sh' });
    assert.equal(r.stdout, '/bin/sh');
  });

  test('timeout fails with the Ansible-like message', async () => {
    const r = await runModule(shell, { cmd: 'sleep 5' }, { timeoutMs: 300 });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, 'command timed out after 0.3 seconds');
  });

  test('check mode: command not run, task skipped; creates still decides', async () => {
    const r = await runModule(shell, { cmd: `touch ${dir}/checkran` }, { check: true });
    assert.equal(r.status, 'skipped');
    assert.equal(r.msg, 'Command would have run if not in check mode');
    assert.equal(await exists(join(dir, 'checkran')), false);

    await writeFile(join(dir, 'made'), 'x');
    const c = await runModule(shell, { cmd: `touch ${dir}/checkran`, creates: join(dir, 'made') }, { check: true });
    assert.equal(c.status, 'ok');
    assert.equal(c.msg, `Would not run command since '${join(dir, 'made')}' exists`);

    const w = await runModule(shell, { cmd: `touch ${dir}/checkran`, creates: join(dir, 'absent') }, { check: true });
    assert.equal(w.status, 'changed');
    assert.equal(await exists(join(dir, 'checkran')), false);
  });

  test('environment is passed to the command', async () => {
    const r = await runModule(shell, { cmd: 'echo "$NS_TEST_VAR"' }, { environment: { NS_TEST_VAR: 'from-env' } });
    assert.equal(r.stdout, 'from-env');
  });

  test('output that looks like our marker is still the command output', async () => {
    const r = await runModule(shell, { cmd: 'echo "__NODESWEEP_0000000000000000__ creates"' });
    assert.equal(r.status, 'changed');
    assert.equal(r.stdout, '__NODESWEEP_0000000000000000__ creates');
  });

  test('schema rejects unknown keys and empty commands', () => {
    assert.throws(() => shell.schema.parse({ cmd: 'x', bogus: 1 }));
    assert.throws(() => shell.schema.parse({ cmd: '' }));
    assert.equal(shell.freeForm, 'cmd');
    assert.ok(shell.aliases?.includes('ansible.builtin.shell'));
  });

  test('file written by command is really there (sanity of the real transport)', async () => {
    await runModule(shell, { cmd: `printf data > ${dir}/out.txt` });
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'data');
  });
});
