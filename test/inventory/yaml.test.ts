import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { InventoryError } from '../../src/errors.js';
import { parseYaml } from '../../src/inventory/yaml.js';
import { parseVarsText } from '../../src/inventory/load.js';

const F = 'inv.yml';

describe('parseYaml: structure', () => {
  test('all/hosts/vars/children, empty host values, ports and ranges', () => {
    const inv = parseYaml(
      `all:
  vars: {x: 1}
  hosts:
    solo:
    jump:2222:
  children:
    web:
      hosts:
        w[1:2]:
          role: web
      children:
        api:
          hosts: {a1: }
    db:
      hosts: d1
other:
  hosts:
    o1: {ansible_host: 10.0.0.1}
`,
      F,
    );
    assert.deepStrictEqual([...inv.hosts.keys()], ['solo', 'jump', 'w1', 'w2', 'a1', 'd1', 'o1']);
    assert.deepStrictEqual(inv.groups.get('all')!.children, ['ungrouped', 'web', 'db', 'other']);
    assert.deepStrictEqual(inv.groups.get('all')!.hosts, ['solo', 'jump']);
    assert.deepStrictEqual(inv.groups.get('ungrouped')!.hosts, ['solo', 'jump']);
    assert.deepStrictEqual(inv.groups.get('web')!.children, ['api']);
    assert.deepStrictEqual(inv.groups.get('db')!.hosts, ['d1']);
    assert.deepStrictEqual(inv.hosts.get('jump')!.vars, { ansible_port: 2222 });
    assert.deepStrictEqual(inv.hosts.get('w2')!.vars, { role: 'web' });
    assert.deepStrictEqual(inv.groups.get('all')!.vars, { x: 1 });
  });

  test('YAML 1.1 scalars as PyYAML reads them', () => {
    const inv = parseYaml(
      `all:
  vars:
    on_: on
    yes_: yes
    y_: y
    no_: NO
    octal: 010
    not_octal: 08
    decimal: 10
    hex: 0x1F
    sexa: 1:20
    exp: 1e3
    float: 1.5e+3
    half: .5
    inf: .inf
    date: 2024-01-02
    tilde: ~
    quoted: "yes"
    list: [a, 1]
    anchor: &a {k: v}
    alias: *a
    merged:
      <<: *a
      extra: 1
`,
      F,
    );
    assert.deepStrictEqual(inv.groups.get('all')!.vars, {
      on_: true,
      yes_: true,
      y_: 'y',
      no_: false,
      octal: 8,
      not_octal: '08',
      decimal: 10,
      hex: 31,
      sexa: 80,
      exp: '1e3',
      float: 1500,
      half: 0.5,
      inf: Infinity,
      date: '2024-01-02',
      tilde: null,
      quoted: 'yes',
      list: ['a', 1],
      anchor: { k: 'v' },
      alias: { k: 'v' },
      merged: { k: 'v', extra: 1 },
    });
  });

  test('JSON inventories are read as JSON (1e3 is a number there)', () => {
    const inv = parseYaml('{"all": {"hosts": {"h": {"n": 1e3, "s": "yes"}}}}', 'inv.json');
    assert.deepStrictEqual(inv.hosts.get('h')!.vars, { n: 1000, s: 'yes' });
  });

  test('a string section is a single key', () => {
    const inv = parseYaml('g:\n  hosts: h1\n  children: c\n', F);
    assert.deepStrictEqual(inv.groups.get('g')!.hosts, ['h1']);
    assert.deepStrictEqual(inv.groups.get('g')!.children, ['c']);
  });

  test('falsy host values mean no vars (as `value or {}`)', () => {
    const inv = parseYaml('g:\n  hosts:\n    a: []\n    b: ""\n    c: 0\n', F);
    for (const h of ['a', 'b', 'c']) assert.deepStrictEqual(inv.hosts.get(h)!.vars, {});
  });
});

describe('parseYaml: warnings where Ansible warns', () => {
  const cases: [string, RegExp][] = [
    ['all:\n  children:\n    db:\n      host:\n        d1:\n', /^inv\.yml:4:7: Skipping unexpected key \(host\) in group \(db\).*did you mean 'hosts'/],
    ['all:\n  bogus: 1\n', /^inv\.yml:2:3: Skipping key \(bogus\) in group \(all\) as it is not a mapping, it is an integer/],
    ['web: [a, b]\n', /^inv\.yml:1:6: Skipping 'web' as this is not a valid group definition/],
    ['all:\n  vars:\n    a: 1\n    a: 2\n', /^inv\.yml:4:5: duplicate key 'a'/],
  ];
  for (const [text, re] of cases) {
    test(JSON.stringify(text), () => {
      const inv = parseYaml(text, F);
      assert.ok(inv.warnings?.some((w) => re.test(w)), `warnings ${JSON.stringify(inv.warnings)} should match ${re}`);
    });
  }
});

describe('parseYaml: errors carry file:line:column', () => {
  const cases: [string, string, RegExp][] = [
    ['all:\n  hosts:\n\t  h1:\n', `${F}:3:1:`, /YAML syntax error/],
    ['all:\n  hosts:\n    h1: "unterminated\n', `${F}:4:1:`, /YAML syntax error: Missing closing "quote/],
    ['all:\n  hosts: [a, b]\n', `${F}:2:10:`, /Invalid "hosts" entry for "all" group, requires a dictionary, found "list"/],
    ['all:\n  vars: 5\n', `${F}:2:9:`, /Invalid "vars" entry/],
    ['all:\n  hosts:\n    5:\n', `${F}:3:5:`, /Host pattern 5 must be a string/],
    ['all:\n  hosts:\n    h1: just-a-string\n', `${F}:3:9:`, /expected dictionary/],
    ['all:\n  children:\n    web: [x]\n', `${F}:3:10:`, /group 'web' must be a mapping/],
    ['all:\n  hosts:\n    h[3:1]:\n', `${F}:3:5:`, /expands to no hosts/],
    ['- a\n- b\n', `${F}:1:1:`, /should be a dictionary, got: list/],
    ['', `${F}:1:`, /empty YAML/],
    ['plugin: aws_ec2\nregions: [x]\n', `${F}:1:1:`, /inventory plugin configuration/],
    ['a:\n  children:\n    b:\nb:\n  children:\n    a:\n', `${F}:6:5:`, /recursive dependency loop/],
    ['all:\n  vars:\n    ansible_group_priority: high\n', `${F}:3:29:`, /must be an integer/],
  ];
  for (const [text, prefix, re] of cases) {
    test(JSON.stringify(text), () => {
      assert.throws(
        () => parseYaml(text, F),
        (e: unknown) => {
          assert.ok(e instanceof InventoryError, `expected InventoryError, got ${String(e)}`);
          assert.ok(e.message.startsWith(prefix), `message ${JSON.stringify(e.message)} should start with ${prefix}`);
          assert.match(e.message, re);
          return true;
        },
      );
    });
  }
});

describe('parseVarsText (group_vars/host_vars files)', () => {
  test('mapping', () => assert.deepStrictEqual(parseVarsText('a: 1\nb: [x]\n', 'gv.yml'), { a: 1, b: ['x'] }));
  test('empty file', () => assert.deepStrictEqual(parseVarsText('# nothing\n', 'gv.yml'), {}));
  test('JSON', () => assert.deepStrictEqual(parseVarsText('{"a": true}', 'gv.json'), { a: true }));
  const bad: [string, RegExp][] = [
    ['- a\n', /^gv\.yml:1:1: a vars file must be a mapping/],
    ['a: [1\n', /^gv\.yml:\d+:\d+: YAML syntax error/],
    ['$ANSIBLE_VAULT;1.1;AES256\n6162\n', /^gv\.yml:1: vault-encrypted vars files are not supported/],
  ];
  for (const [text, re] of bad) {
    test(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseVarsText(text, 'gv.yml'), (e: unknown) => e instanceof InventoryError && re.test(e.message)));
  }
});
