import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { hostVars } from '../../src/inventory/vars.js';
import { selectHosts } from '../../src/inventory/patterns.js';
import { inventoryListJson } from '../../src/inventory/output.js';
import { bigIniText } from './big-inventory.js';

let root: string;

async function put(rel: string, content: string | Buffer): Promise<string> {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, content);
  return p;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'nodesweep-inv-load-'));
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('loadInventory: sources', () => {
  test('format detection: no extension, .yml, .json, INI text in a .yml file, empty file', async () => {
    const cases: [string, string, string[]][] = [
      ['detect/plain', '[g]\nh1\n', ['h1']],
      ['detect/yamlish', 'all:\n  hosts:\n    h2:\n', ['h2']],
      ['detect/inv.yml', 'g:\n  hosts:\n    h3:\n', ['h3']],
      ['detect/inv.json', '{"g": {"hosts": {"h4": null}}}', ['h4']],
      ['detect/ini-in.yml', '[g]\nh5\n', ['h5']],
      ['detect/hosts-only', 'h6\nh7 a=1\n', ['h6', 'h7']],
      ['detect/empty', '', []],
      ['detect/comments', '# nothing yet\n', []],
    ];
    for (const [rel, text, hosts] of cases) {
      const inv = await loadInventory([await put(rel, text)]);
      assert.deepStrictEqual([...inv.hosts.keys()], hosts, rel);
    }
  });

  test('several sources merge in order; groups from earlier sources count as declared', async () => {
    const a = await put('merge/a.ini', '[web]\nw1 x=1\n');
    const b = await put('merge/b.ini', '[web:vars]\ny=2\n[web]\nw1 x=3\nw2\n');
    const inv = await loadInventory([a, b, 'extra1,extra2:2222,']);
    assert.deepStrictEqual([...inv.hosts.keys()], ['w1', 'w2', 'extra1', 'extra2']);
    assert.equal(hostVars(inv, 'w1')['x'], 3);
    assert.equal(hostVars(inv, 'w2')['y'], 2);
    assert.equal(hostVars(inv, 'extra2')['ansible_port'], 2222);
    assert.deepStrictEqual(selectHosts(inv, 'ungrouped'), ['extra1', 'extra2']);
  });

  test('a directory source: sorted, recursive, Ansible ignore list, group_vars inside it', async () => {
    await put('dir/inv/00-base', '[base]\nb1\n');
    await put('dir/inv/10-more.yml', 'more:\n  hosts:\n    m1:\n');
    await put('dir/inv/sub/20-nested', '[nested]\nn1\n');
    await put('dir/inv/skip.ini', '[skip]\ns1\n');
    await put('dir/inv/notes.md', 'not an inventory');
    await put('dir/inv/.hidden', '[hidden]\nx1\n');
    await put('dir/inv/old~', '[old]\no1\n');
    await put('dir/inv/group_vars/base.yml', 'color: blue\n');
    await put('dir/inv/host_vars/m1/main.yml', 'size: 3\n');
    const inv = await loadInventory([join(root, 'dir/inv')]);
    assert.deepStrictEqual([...inv.hosts.keys()], ['b1', 'm1', 'n1']);
    assert.equal(hostVars(inv, 'b1')['color'], 'blue');
    assert.equal(hostVars(inv, 'm1')['size'], 3);
    assert.equal(hostVars(inv, 'b1')['inventory_file'], join(root, 'dir/inv/00-base'));
  });

  test('group_vars/host_vars beside a file: NAME, NAME.yml/.yaml/.json, or a directory of files', async () => {
    const f = await put('gv/hosts', '[web]\nw1\nw2\n[web:vars]\nv=inline\n');
    await put('gv/group_vars/all', 'v: all_file\na: 1\n');
    await put('gv/group_vars/web.yaml', 'v: web_file\n');
    await put('gv/group_vars/web.json', '{"v": "never (web.yaml wins)"}');
    await put('gv/host_vars/w2/10.yml', 'v: w2_first\nk: 1\n');
    await put('gv/host_vars/w2/20.json', '{"v": "w2_second"}');
    await put('gv/host_vars/w2/skip.txt', 'v: never\n');
    const inv = await loadInventory([f]);
    assert.deepStrictEqual(
      [hostVars(inv, 'w1')['v'], hostVars(inv, 'w2')['v'], hostVars(inv, 'w2')['k'], hostVars(inv, 'w1')['a']],
      ['web_file', 'w2_second', 1, 1],
    );
    assert.deepStrictEqual((inventoryListJson(inv)['_meta'] as { hostvars: Record<string, unknown> }).hostvars['w1'], { a: 1, v: 'web_file' });
  });

  test('group_vars that is a file, not a directory, is skipped with a warning', async () => {
    const f = await put('gvfile/hosts', 'h\n');
    await put('gvfile/group_vars', 'x: 1\n');
    const inv = await loadInventory([f]);
    assert.ok(inv.warnings?.some((w) => /group_vars that is not a directory/.test(w)));
  });
});

describe('loadInventory: bad input is an InventoryError with file:line, never a crash', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['bad/binary', Buffer.from([0x5b, 0x67, 0x5d, 0x0a, 0x68, 0x31, 0x0a, 0xff, 0xfe, 0x00, 0x01, 0x0a]), /^.*bad\/binary:3: invalid UTF-8/],
    ['bad/nul', Buffer.from('[g]\nh1\x00\x01\x02\n'), /^.*bad\/nul:2: line contains NUL bytes/],
    ['bad/truncated.yml', 'all:\n  hosts:\n    h1: {a: 1\n', /^.*bad\/truncated\.yml:\d+:\d+: YAML syntax error/],
    ['bad/truncated-ini', '[g]\nh1 a="never closed\n', /^.*bad\/truncated-ini:2: Error parsing host definition/],
    ['bad/tabs.yml', 'all:\n\thosts:\n\t\th1:\n', /^.*bad\/tabs\.yml:2:1: YAML syntax error/],
    ['bad/wrongtype.yml', 'all:\n  children: [a, b]\n', /^.*bad\/wrongtype\.yml:2:13: Invalid "children" entry/],
    ['bad/script', '#!/usr/bin/env python3\nprint("{}")\n', /^.*bad\/script:1: executable inventory scripts are not supported/],
    ['bad/yaml-noext', 'all:\n  hosts:\n  - a\n', /^.*bad\/yaml-noext:\d+:\d+: /],
    ['bad/undeclared', '[web:vars]\nx=1\n', /^.*bad\/undeclared:1: Section \[web:vars\] not valid for undefined group: web/],
  ];
  for (const [rel, content, re] of cases) {
    test(rel, async () => {
      const p = await put(rel, content);
      await assert.rejects(loadInventory([p]), (e: unknown) => {
        assert.ok(e instanceof InventoryError, `expected InventoryError, got ${String(e)}`);
        assert.match(e.message, re);
        assert.ok(e.message.startsWith(p), `${e.message} should start with the file name`);
        return true;
      });
    });
  }

  test('a missing source', async () => {
    const p = join(root, 'does-not-exist');
    await assert.rejects(loadInventory([p]), (e: unknown) => e instanceof InventoryError && e.message.startsWith(`${p}: inventory source not found`));
  });

  test('a group_vars file that is not a mapping names the vars file', async () => {
    const f = await put('badgv/hosts', '[web]\nw1\n');
    const gv = await put('badgv/group_vars/web.yml', '- just\n- a list\n');
    await assert.rejects(loadInventory([f]), (e: unknown) => e instanceof InventoryError && e.message.startsWith(`${gv}:1:1: a vars file must be a mapping`));
  });
});

describe('loadInventory: size', () => {
  test('100k hosts / ~5 MB INI: every host, group and var', { timeout: 300_000 }, async () => {
    // how fast is bench/core.ts's question (npm run bench:core): a wall-clock bound fails on a busy machine
    const text = bigIniText();
    assert.ok(text.length > 5_000_000, `fixture is ${text.length} bytes`);
    const p = await put('big/hosts', text);
    const inv = await loadInventory([p]);
    assert.equal(inv.hosts.size, 100_000);
    const sel = selectHosts(inv, 'k8s:!rack3');
    let n = 0;
    for (const h of sel) n += hostVars(inv, h)['ansible_user'] === 'deploy' ? 1 : 0;
    assert.equal(n, 98_000);
    const v = hostVars(inv, 'node-7-300.dc1.example.com');
    assert.deepEqual([v.ansible_user, v.zone, v.ansible_host, v.rack, v.group_names], ['deploy', 'z1', '10.7.1.44', 7, ['k8s', 'rack7']]);
  });
});

describe('shipped example inventories', () => {
  test('the INI and YAML examples describe the same fleet', async () => {
    const ini = await loadInventory([join(import.meta.dirname, '../../inventories/example-hosts.ini')]);
    const yml = await loadInventory([join(import.meta.dirname, '../../inventories/example-inventory.yml')]);
    assert.deepStrictEqual(inventoryListJson(ini), inventoryListJson(yml));
    assert.deepStrictEqual(selectHosts(ini, 'workers:!canary'), [
      'blue-worker-02.k8s.example.com',
      'blue-worker-03.k8s.example.com',
      'green-worker-01.k8s.example.com',
      'green-worker-02.k8s.example.com',
    ]);
    assert.equal(hostVars(yml, 'green-worker-02.k8s.example.com')['ansible_port'], 2222);
  });
});
