import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { InventoryError } from '../../src/errors.js';
import { ADDRESS_PATTERNS, PLAIN_HOSTNAME, expandHostPattern, expandHostnameRange, isIpAddress, parseAddress } from '../../src/inventory/hostpattern.js';
import { parseIni } from '../../src/inventory/ini.js';
import type { Inventory } from '../../src/inventory/types.js';

const F = 'inv/hosts';

function groupsOf(inv: Inventory): Record<string, { hosts: string[]; children: string[] }> {
  const out: Record<string, { hosts: string[]; children: string[] }> = {};
  for (const g of inv.groups.values()) out[g.name] = { hosts: g.hosts, children: g.children };
  return out;
}

describe('host ranges (expand_hostname_range)', () => {
  const cases: [string, string[] | string][] = [
    ['www[1:3]', ['www1', 'www2', 'www3']],
    ['www[01:03]', ['www01', 'www02', 'www03']],
    ['www[08:11]', ['www08', 'www09', 'www10', 'www11']],
    ['www[001:3]', 'equal-length'],
    ['www[1:010]', ['www1', 'www2', 'www3', 'www4', 'www5', 'www6', 'www7', 'www8', 'www9', 'www10']],
    ['n[01:10:4]', ['n01', 'n05', 'n09']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['db-[a:e:2]', ['db-a', 'db-c', 'db-e']],
    ['db-[x:B]', ['db-x', 'db-y', 'db-z', 'db-A', 'db-B']],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b']],
    ['[1:2].example.com', ['1.example.com', '2.example.com']],
    ['h[:2]', ['h0', 'h1', 'h2']],
    ['h[1:]', 'end value'],
    ['h[3:1]', 'expands to no hosts'],
    ['h[c:a]', 'begin <= end'],
    ['h[1:2:0]', 'must not be zero'],
    ['h[a:3]', 'invalid literal'],
    ['h[1:2:3:4]', 'begin:end or begin:end:step'],
  ];
  for (const [input, expected] of cases) {
    test(input, () => {
      if (typeof expected === 'string') assert.throws(() => expandHostnameRange(input), new RegExp(expected.replace(/[[\]]/g, '\\$&')));
      else assert.deepStrictEqual(expandHostnameRange(input), expected);
    });
  }
});

describe('host patterns with ports (parse_address)', () => {
  const cases: [string, string[], number | undefined][] = [
    ['beta', ['beta'], undefined],
    ['beta:2345', ['beta'], 2345],
    ['web[1:2].example.com:22', ['web1.example.com', 'web2.example.com'], 22],
    ['10.0.0.1', ['10.0.0.1'], undefined],
    ['10.0.0.1:2222', ['10.0.0.1'], 2222],
    ['[2001:db8::1]:2222', ['2001:db8::1'], 2222],
    ['2001:db8::1', ['2001:db8::1'], undefined],
    ['fe80::1', ['fe80::1'], undefined],
    ['host_with_underscore', ['host_with_underscore'], undefined],
    ['weird@name', ['weird@name'], undefined],
  ];
  for (const [input, hosts, port] of cases) {
    test(input, () => assert.deepStrictEqual(expandHostPattern(input), { hosts, port }));
  }
  test('parse_address refuses ranges when asked', () => assert.throws(() => parseAddress('w[1:2]', false), /range/));
  test('parse_address refuses garbage', () => assert.throws(() => parseAddress('a b', false), /Not a valid network hostname/));
});

describe('parseIni: structure', () => {
  test('ungrouped hosts, groups, children declared later, every host in all', () => {
    const inv = parseIni(
      `top1
top2:2200
[web]
w1
w2
[prod:children]
web
db
[db]
d1
`,
      F,
    );
    assert.deepStrictEqual([...inv.hosts.keys()], ['top1', 'top2', 'w1', 'w2', 'd1']);
    assert.deepStrictEqual(groupsOf(inv), {
      all: { hosts: [], children: ['ungrouped', 'prod'] },
      ungrouped: { hosts: ['top1', 'top2'], children: [] },
      web: { hosts: ['w1', 'w2'], children: [] },
      prod: { hosts: [], children: ['web', 'db'] },
      db: { hosts: ['d1'], children: [] },
    });
    assert.deepStrictEqual(inv.hosts.get('top2')!.vars, { ansible_port: 2200 });
  });

  test('a host first ungrouped then grouped leaves ungrouped', () => {
    const inv = parseIni('h1\n[g]\nh1\n', F);
    assert.deepStrictEqual(inv.groups.get('ungrouped')!.hosts, []);
    assert.deepStrictEqual(inv.groups.get('g')!.hosts, ['h1']);
  });

  test('a host listed twice is one host; vars accumulate, first port wins', () => {
    const inv = parseIni('[a]\nh:22 x=1\n[b]\nh:23 y=2\n', F);
    assert.equal(inv.hosts.size, 1);
    assert.deepStrictEqual(inv.hosts.get('h')!.vars, { ansible_port: 22, x: 1, y: 2 });
  });

  test('[g:vars] may come before [g] is declared', () => {
    const inv = parseIni('[g:vars]\nx=1\n[g]\nh\n', F);
    assert.deepStrictEqual(inv.groups.get('g')!.vars, { x: 1 });
  });

  test('ansible_group_priority is kept out of vars', () => {
    const inv = parseIni('[g]\nh\n[g:vars]\nansible_group_priority=7\n', F);
    assert.equal(inv.groups.get('g')!.priority, 7);
    assert.deepStrictEqual(inv.groups.get('g')!.vars, {});
  });

  test('comments, blank lines, CRLF and tabs', () => {
    const inv = parseIni('# c\r\n; c\r\n\r\n[g]  # trailing comment\r\n\th1\tx=1\t# c\r\n', F);
    assert.deepStrictEqual(inv.groups.get('g')!.hosts, ['h1']);
    assert.deepStrictEqual(inv.hosts.get('h1')!.vars, { x: 1 });
  });
});

describe('parseIni: values', () => {
  // Inline host values and [g:vars] values both go through ast.literal_eval in Ansible 2.14.
  const cases: [string, unknown][] = [
    ['port=22', 22],
    ['flag=True', true],
    ['flag=yes', 'yes'],
    ['none=None', null],
    ['ratio=0.5', 0.5],
    ['s="x y"', 'x y'],
    [`s="'quoted'"`, 'quoted'],
    [`l="[1, 'a']"`, [1, 'a']],
    [`d="{'k': 'v'}"`, { k: 'v' }],
    ['d={k:v}', '{k:v}'],
    ['n=07', '07'],
    ['path=/usr/bin/python3', '/usr/bin/python3'],
    ['eq=a=b', 'a=b'],
  ];
  for (const [assign, expected] of cases) {
    test(`host line: ${assign}`, () => {
      const inv = parseIni(`[g]\nh ${assign}\n`, F);
      const key = assign.slice(0, assign.indexOf('='));
      assert.deepStrictEqual(inv.hosts.get('h')!.vars[key], expected);
    });
  }
  const groupCases: [string, unknown][] = [
    ['x=1', 1],
    ['x = spaced value', 'spaced value'],
    ['x=True', true],
    ['x="str"', 'str'],
    ['x=[1, 2]', [1, 2]],
    ['x=a # not a comment for strings', 'a # not a comment for strings'],
    ['x=5 # a comment after a literal', 5],
    ['x=', ''],
  ];
  for (const [line, expected] of groupCases) {
    test(`[g:vars]: ${line}`, () => {
      const inv = parseIni(`[g]\nh\n[g:vars]\n${line}\n`, F);
      assert.deepStrictEqual(inv.groups.get('g')!.vars['x'], expected);
    });
  }
});

describe('parseIni: errors carry file:line', () => {
  const cases: [string, string, RegExp][] = [
    ['[g:foo]\nh\n', `${F}:1:`, /Section \[g:foo\] has unknown type: foo/],
    ['h\n[g x]\n', `${F}:2:`, /Invalid section entry: '\[g x\]'/],
    ['[g:vars]\nx=1\n', `${F}:1:`, /Section \[g:vars\] not valid for undefined group: g/],
    ['[p:children]\nc1\n\n', `${F}:2:`, /Section \[p:children\] includes undefined group: c1/],
    ['[g]\nh "unterminated\n', `${F}:2:`, /Error parsing host definition .*No closing quotation/],
    ['[g]\nh novalue\n', `${F}:2:`, /Expected key=value host variable assignment, got: novalue/],
    ['[g]\nh:\n', `${F}:2:`, /ending in ':' is not allowed/],
    ['[g]\nok\nh[01:3]\n', `${F}:3:`, /equal-length/],
    ['[g]\nh[3:1]\n', `${F}:2:`, /expands to no hosts/],
    ['[g]\n---\n', `${F}:2:`, /normally a sign this is a YAML file/],
    ['[g]\nh\n[g:vars]\nnoeq\n', `${F}:4:`, /Expected key=value, got: noeq/],
    ['[g]\nh\n[p:children]\nbad:name\n', `${F}:4:`, /Expected group name, got: bad:name/],
    ['[g]\nh\n[g:children]\ng\n', `${F}:4:`, /can't add group to itself/],
    ['[a]\nh\n[b:children]\na\n[a:children]\nb\n', `${F}:6:`, /recursive dependency loop/],
    ['[g]\nh\n[g:vars]\nansible_group_priority=high\n', `${F}:4:`, /ansible_group_priority must be an integer/],
    ['[g]\nbin\0ary\n', `${F}:2:`, /NUL bytes/],
  ];
  for (const [text, prefix, re] of cases) {
    test(`${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseIni(text, F),
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

describe('isIpAddress: the dotted-quad shortcut agrees with the full patterns', () => {
  for (const name of ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3.999', '001.002.003.004', '1.2.3', '1.2.3.4.5', '10.0.0.1x', '::1', 'fe80::1', 'h1', '1.2.3.[1:3]']) {
    test(JSON.stringify(name), () => {
      assert.equal(isIpAddress(name), ADDRESS_PATTERNS.ipv4.test(name) || ADDRESS_PATTERNS.ipv6.test(name));
    });
  }
});

describe('the plain-hostname fast path of parse_address', () => {
  // Every name the ASCII shortcut accepts must be one the full (Unicode) hostname pattern accepts too.
  const names = ['h1', 'web-01.example.com', 'a', '9', 'a_b', 'node_1.dc-2', 'x' + 'y'.repeat(200), 'a.b.c.d.e'];
  const notPlain = ['a-', '_a', 'a_', '-a', 'a..b', '.a', 'a.', 'a b', 'ñode', 'w[1:2]', '[::1]', '', 'a.-b'];
  for (const n of names) {
    test(`${JSON.stringify(n.slice(0, 20))} is plain and a hostname`, () => {
      assert.ok(PLAIN_HOSTNAME.test(n));
      assert.ok(ADDRESS_PATTERNS.hostname.test(n));
      assert.deepEqual(parseAddress(n, true), [n, undefined]);
    });
  }
  for (const n of notPlain) {
    test(`${JSON.stringify(n)} takes the full patterns`, () => {
      assert.ok(!PLAIN_HOSTNAME.test(n));
      let full: [string, number | undefined] | Error;
      try {
        full = parseAddress(n, true);
      } catch (e) {
        full = e as Error;
      }
      // the same answer the patterns alone give
      const viaPatterns = [ADDRESS_PATTERNS.ipv4, ADDRESS_PATTERNS.ipv6, ADDRESS_PATTERNS.hostname].some((re) => re.test(n));
      if (full instanceof Error) assert.ok(!viaPatterns || /range/.test(full.message), n);
      else assert.ok(viaPatterns || /^\[/.test(n), n);
    });
  }
});
