import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseIni } from '../../src/inventory/ini.js';
import { parseYaml } from '../../src/inventory/yaml.js';
import { groupsMap, hostVars, magicVars, sortedHostGroups } from '../../src/inventory/vars.js';
import { inventoryGraph, inventoryListJson } from '../../src/inventory/output.js';
import type { Inventory } from '../../src/inventory/types.js';

const NESTED = `[a]
n1
[b]
n1
[c]
n1
n2
[top:children]
mid
[mid:children]
c
[a:vars]
who=a
[b:vars]
who=b
[c:vars]
who=c
[top:vars]
who=top
[all:vars]
who=all
only_all=1
`;

function layer(groups: Record<string, Record<string, unknown>>, hosts: Record<string, Record<string, unknown>> = {}) {
  return { dir: '/x', groups: new Map(Object.entries(groups)), hosts: new Map(Object.entries(hosts)) };
}

describe('group order for vars: (depth, ansible_group_priority, name)', () => {
  const cases: [string, string, string[]][] = [
    ['siblings by name; deeper groups later', NESTED, ['a', 'b', 'top', 'mid', 'c']],
    ['priority reorders same-depth groups', NESTED + '[a:vars]\nansible_group_priority=5\n', ['b', 'top', 'a', 'mid', 'c']],
    ['priority below 1 comes first', NESTED + '[b:vars]\nansible_group_priority=0\n', ['b', 'a', 'top', 'mid', 'c']],
    ['ungrouped counts as a group of depth 1', 'h\n[z]\nother\n', ['ungrouped']],
  ];
  for (const [name, text, expected] of cases) {
    test(name, () => {
      const inv = parseIni(text, 'h');
      const host = inv.hosts.has('n1') ? 'n1' : 'h';
      assert.deepStrictEqual(sortedHostGroups(inv, host), expected);
    });
  }
});

describe('hostVars precedence', () => {
  test('child beats parent, host beats groups, all is lowest', () => {
    const inv = parseIni(NESTED + '[c]\nn1 who=host\n', 'h');
    assert.equal(hostVars(inv, 'n1')['who'], 'host');
    assert.equal(hostVars(inv, 'n2')['who'], 'c');
    assert.equal(hostVars(inv, 'n2')['only_all'], 1);
  });

  test('same depth: the later name wins unless priorities say otherwise', () => {
    assert.equal(hostVars(parseIni(NESTED.replace('[c:vars]\nwho=c\n', ''), 'h'), 'n1')['who'], 'top');
    const noDeep = parseIni('[a]\nn1\n[b]\nn1\n[a:vars]\nwho=a\n[b:vars]\nwho=b\n', 'h');
    assert.equal(hostVars(noDeep, 'n1')['who'], 'b');
    const prio = parseIni('[a]\nn1\n[b]\nn1\n[a:vars]\nwho=a\nansible_group_priority=2\n[b:vars]\nwho=b\n', 'h');
    assert.equal(hostVars(prio, 'n1')['who'], 'a');
  });

  test('group_vars files beat every inline group var; host_vars beat inline host vars', () => {
    const inv: Inventory = parseIni(NESTED + '[c]\nn1 who=host x=inline\n', 'h');
    inv.varsLayers = [layer({ all: { who: 'gv_all' }, a: { who: 'gv_a' } }, { n1: { x: 'hv' } })];
    // The inline [c:vars] (deepest) loses to group_vars/a.yml, as in Ansible.
    assert.equal(hostVars(inv, 'n2')['who'], 'gv_all');
    assert.equal(hostVars(inv, 'n1')['who'], 'host');
    assert.equal(hostVars(inv, 'n1')['x'], 'hv');
    inv.hosts.get('n1')!.vars = {};
    assert.equal(hostVars(inv, 'n1')['who'], 'gv_a');
  });

  test('layers apply source by source for groups', () => {
    const inv = parseIni(NESTED, 'h');
    inv.varsLayers = [layer({ c: { v: 'src1_c' } }), layer({ a: { v: 'src2_a' } })];
    // Ansible loops sources outside groups: source 2's shallow group beats source 1's deep group.
    assert.equal(hostVars(inv, 'n1')['v'], 'src2_a');
  });

  test('vars replace, never deep-merge (hash_behaviour=replace)', () => {
    const inv = parseYaml('all:\n  vars:\n    d: {a: 1, b: 1}\n  hosts:\n    h:\n      d: {b: 2}\n', 'i.yml');
    assert.deepStrictEqual(hostVars(inv, 'h')['d'], { b: 2 });
  });
});

describe('magic vars', () => {
  const inv = parseIni('solo\n10.0.0.1\n[web]\nweb1.example.com\n[prod:children]\nweb\n', 'h');
  const cases: [string, Record<string, unknown>][] = [
    ['solo', { inventory_hostname: 'solo', inventory_hostname_short: 'solo', group_names: ['ungrouped'] }],
    ['10.0.0.1', { inventory_hostname: '10.0.0.1', inventory_hostname_short: '10.0.0.1', group_names: ['ungrouped'] }],
    ['web1.example.com', { inventory_hostname: 'web1.example.com', inventory_hostname_short: 'web1', group_names: ['prod', 'web'] }],
  ];
  for (const [host, expected] of cases) {
    test(host, () => {
      const m = magicVars(inv, host);
      for (const [k, v] of Object.entries(expected)) assert.deepStrictEqual(m[k], v, k);
    });
  }
  test('groups: every group with its hosts, children included', () => {
    assert.deepStrictEqual(groupsMap(inv), {
      all: ['solo', '10.0.0.1', 'web1.example.com'],
      ungrouped: ['solo', '10.0.0.1'],
      web: ['web1.example.com'],
      prod: ['web1.example.com'],
    });
  });
});

describe('ansible-inventory output shapes', () => {
  const inv = parseIni('solo\n[web]\nw1 port=1\n[empty]\n[prod:children]\nweb\nempty\n', 'h');
  test('--list leaves out empty groups and keys, keeps children names', () => {
    assert.deepStrictEqual(inventoryListJson(inv), {
      _meta: { hostvars: { w1: { port: 1 } } },
      all: { children: ['ungrouped', 'prod'] },
      prod: { children: ['web', 'empty'] },
      ungrouped: { hosts: ['solo'] },
      web: { hosts: ['w1'] },
    });
  });
  test('--list with a limit keeps only the selected hosts', () => {
    assert.deepStrictEqual(inventoryListJson(inv, 'solo'), {
      _meta: { hostvars: {} },
      all: { children: ['ungrouped', 'prod'] },
      prod: { children: ['web', 'empty'] },
      ungrouped: { hosts: ['solo'] },
    });
  });
  test('--graph and --graph GROUP', () => {
    assert.equal(
      inventoryGraph(inv),
      ['@all:', '  |--@ungrouped:', '  |  |--solo', '  |--@prod:', '  |  |--@web:', '  |  |  |--w1', '  |  |--@empty:'].join('\n'),
    );
    assert.equal(inventoryGraph(inv, 'prod'), ['@prod:', '  |--@web:', '  |  |--w1', '  |--@empty:'].join('\n'));
    assert.throws(() => inventoryGraph(inv, 'nope'), /valid group name/);
  });
});
