import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { commandModule } from '../../src/modules/command.js';
import { ShlexError, shlexSplit } from '../../src/util/shlex.js';
import { runModule } from './ctx.js';

const command = commandModule();

/** Recorded from Python 3.11 shlex.split (what Ansible's command module uses). */
const SHLEX_TABLE: [string, string[]][] = [
  ["echo hi", ["echo", "hi"]],
  ["  a   b  ", ["a", "b"]],
  ["echo 'a b' c", ["echo", "a b", "c"]],
  ["echo \"a \\\"q\\\" \\$x\"", ["echo", "a \"q\" \\$x"]],
  ["a\\ b", ["a b"]],
  ["''", [""]],
  ["x\"\"y", ["xy"]],
  ["a=\"1 2\"", ["a=1 2"]],
  ["'it'\\''s'", ["it's"]],
  ["\"a\\\\b\"", ["a\\b"]],
  ["tab\tsep", ["tab", "sep"]],
  ["un\\\"q", ["un\"q"]],
  ["mixed'single'\"double\"", ["mixedsingledouble"]],
  ["new\nline", ["new", "line"]]
];

describe('shlexSplit', () => {
  for (const [input, expected] of SHLEX_TABLE) {
    test(JSON.stringify(input), () => assert.deepEqual(shlexSplit(input), expected));
  }
  for (const [input, msg] of [['"open', 'No closing quotation'], ["'open", 'No closing quotation'], ['end\\', 'No escaped character']] as const) {
    test(`error: ${JSON.stringify(input)}`, () => assert.throws(() => shlexSplit(input), (e: unknown) => e instanceof ShlexError && e.message === msg));
  }
});

describe('command', () => {
  test('no shell: variables and operators are passed literally', async () => {
    const r = await runModule(command, { cmd: 'echo $HOME "a;b" | x' });
    assert.equal(r.status, 'changed');
    assert.equal(r.stdout, '$HOME a;b | x');
    assert.deepEqual(r.cmd, ['echo', '$HOME', 'a;b', '|', 'x']);
  });

  test('argv list, quoting kept exact', async () => {
    const r = await runModule(command, { argv: ['printf', '%s|', "it's", 'a b', '$(id)'] });
    assert.equal(r.stdout, "it's|a b|$(id)|");
    assert.deepEqual(r.cmd, ['printf', '%s|', "it's", 'a b', '$(id)']);
  });

  test('non-zero rc fails; missing program fails', async () => {
    const r = await runModule(command, { cmd: 'false' });
    assert.equal(r.status, 'failed');
    assert.equal(r.rc, 1);
    assert.equal(r.msg, 'non-zero return code');
    const m = await runModule(command, { cmd: 'no-such-program-xyz' });
    assert.equal(m.status, 'failed');
    assert.equal(m.rc, 127);
  });

  test('unbalanced quotes fail the task', async () => {
    const r = await runModule(command, { cmd: 'echo "oops' });
    assert.equal(r.status, 'failed');
    assert.match(String(r.msg), /No closing quotation/);
  });

  test('check mode skips the command; creates/removes still decide', async () => {
    const r = await runModule(command, { cmd: 'touch /nonexistent-dir/x' }, { check: true });
    assert.equal(r.status, 'skipped');
    const c = await runModule(command, { cmd: 'true', removes: '/nonexistent-path-xyz' }, { check: true });
    assert.equal(c.status, 'ok');
    assert.equal(c.msg, "Would not run command since '/nonexistent-path-xyz' does not exist");
  });

  test('schema: cmd and argv are exclusive, one is required, unknown keys rejected', () => {
    assert.throws(() => command.schema.parse({ cmd: 'a', argv: ['a'] }), /only command or argv can be given, not both/);
    assert.throws(() => command.schema.parse({}), /no command given/);
    assert.throws(() => command.schema.parse({ cmd: 'a', executable: '/bin/bash' }));
    assert.ok(command.aliases?.includes('ansible.builtin.command'));
  });
});
