/** Bad input through the real CLI: one clear line with file:line, the documented exit code, never a stack trace. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../helpers/cli.js';

const GOOD_PLAYBOOK = `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n`;
const GOOD_INVENTORY = `[local]\nlocalhost ansible_connection=local\n`;

interface Case {
  name: string;
  inventory?: string | Buffer;
  playbook?: string | Buffer;
  args?: string[];
  code: number;
  /** regex the single ERROR line must match; FILE is replaced by the file's path */
  message: RegExp | ((files: { inventory: string; playbook: string }) => RegExp);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const at = (which: 'inventory' | 'playbook', line: number, rest = '') => (f: { inventory: string; playbook: string }) =>
  new RegExp(`^ERROR! ${esc(f[which])}:${line}(:\\d+)?: ${rest}`);

const CASES: Case[] = [
  { name: 'playbook: unknown task keyword', playbook: `- hosts: all\n  tasks:\n    - command: "true"\n      whn: x\n`, code: 3, message: at('playbook', 4, '.*whn.*when') },
  { name: 'playbook: unknown module', playbook: `- hosts: all\n  tasks:\n    - name: x\n      shel: echo\n`, code: 3, message: at('playbook', 4, '.*shel.*did you mean .shell') },
  { name: 'playbook: wrong type for retries', playbook: `- hosts: all\n  tasks:\n    - command: "true"\n      retries: [1]\n`, code: 3, message: at('playbook', 4, '.*retries') },
  { name: 'playbook: bad module parameter', playbook: `- hosts: all\n  tasks:\n    - systemd_service:\n        name: crio\n        state: bouncing\n`, code: 3, message: at('playbook', 5, '.*state') },
  { name: 'playbook: truncated YAML', playbook: `- hosts: all\n  tasks:\n    - command: "true\n`, code: 3, message: at('playbook', 4, '.*quote') },
  { name: 'playbook: tab indentation', playbook: `- hosts: all\n  tasks:\n\t- command: "true"\n`, code: 3, message: at('playbook', 3) },
  { name: 'playbook: not a list of plays', playbook: `hosts: all\n`, code: 3, message: at('playbook', 1) },
  { name: 'playbook: binary garbage', playbook: randomBytes(2048), code: 3, message: (f) => new RegExp(`^ERROR! ${esc(f.playbook)}(:\\d+)*: `) },
  { name: 'playbook: missing hosts', playbook: `- name: no hosts\n  tasks: []\n`, code: 3, message: at('playbook', 1, '.*hosts') },
  { name: 'inventory: bad section', inventory: `[web]\na\n[web:weird]\nx=1\n`, code: 3, message: at('inventory', 3) },
  { name: 'inventory: vars for unknown group', inventory: `[web]\na\n[db:vars]\nx=1\n`, code: 3, message: at('inventory', 3) },
  { name: 'inventory: bad range', inventory: `[web]\nweb[01:5]\n`, code: 3, message: at('inventory', 2) },
  { name: 'inventory: binary garbage', inventory: Buffer.concat([Buffer.from('[web]\n'), randomBytes(512)]), code: 3, message: (f) => new RegExp(`^ERROR! ${esc(f.inventory)}(:\\d+)*: `) },
  { name: 'options: unknown option', args: ['--frobnicate'], code: 5, message: /^ERROR! .*frobnicate/ },
  { name: 'options: bad forks', args: ['--forks', '0'], code: 5, message: /^ERROR! .*forks/ },
  { name: 'options: bad host key checking', args: ['--host-key-checking', 'maybe'], code: 5, message: /^ERROR! .*host-key-checking/ },
  // -e without its value: last on the line, before another option, after a good -e, and as --extra-vars=
  { name: 'options: -e without a value', args: ['-e'], code: 5, message: /^ERROR! -e needs a value$/ },
  { name: 'options: -e followed by another option', args: ['-e', '-v'], code: 5, message: /^ERROR! -e needs a value$/ },
  { name: 'options: a second -e without a value', args: ['-e', 'a=1', '-e'], code: 5, message: /^ERROR! -e needs a value$/ },
  { name: 'options: --extra-vars= without a value', args: ['--extra-vars='], code: 5, message: /^ERROR! --extra-vars needs a value$/ },
  { name: 'options: -e with an empty value (an unset shell variable)', args: ['-e', ''], code: 5, message: /^ERROR! -e needs a value: KEY=VALUE, a JSON\/YAML mapping, or @file, got an empty string$/ },
];

describe('bad input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-badinput-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const inventory = join(dir, `inv${i}.ini`);
      const playbook = join(dir, `play${i}.yml`);
      writeFileSync(inventory, c.inventory ?? GOOD_INVENTORY);
      writeFileSync(playbook, c.playbook ?? GOOD_PLAYBOOK);
      const r = await runCli(['run', playbook, '-i', inventory, ...(c.args ?? [])]);
      assert.equal(r.code, c.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      const first = r.stderr.split('\n')[0]!;
      const re = typeof c.message === 'function' ? c.message({ inventory, playbook }) : c.message;
      assert.match(first, re);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(r.stdout, /PLAY \[/, 'nothing ran');
    });
  }

  test('a missing playbook file is exit 3 naming the file', async () => {
    writeFileSync(join(dir, 'inv.ini'), GOOD_INVENTORY);
    const r = await runCli(['run', join(dir, 'nope.yml'), '-i', join(dir, 'inv.ini')]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /nope\.yml/);
  });

  test('--help works for every command and exits 0', async () => {
    for (const args of [['--help'], ['run', '--help'], ['inventory', '--help']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--inventory|Commands:/);
    }
  });
});
