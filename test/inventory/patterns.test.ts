import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.js';
import { parseIni } from '../../src/inventory/ini.js';
import { applyLimit, globToRegExp, orderPatterns, selectHosts, splitHostPattern } from '../../src/inventory/patterns.js';

const inv = parseIni(
  `solo
10.0.0.5
[web]
web1
web2
web3
[db]
db1
db2
web3
[canary]
web2
[prod:children]
web
db
[stage]
st-[1:2].example.com
`,
  'hosts',
);

describe('splitHostPattern / orderPatterns', () => {
  const split: [string, string[]][] = [
    ['web:db', ['web', 'db']],
    ['web,db', ['web', 'db']],
    ['web, db ,', ['web', 'db']],
    ['web:!db:&prod', ['web', '!db', '&prod']],
    ['web[0]:db[1:2]', ['web[0]', 'db[1:2]']],
    ['web[1:2]', ['web[1:2]']],
    ['10.0.0.5', ['10.0.0.5']],
    ['2001:db8::1', ['2001:db8::1']],
    ['a b', ['a', 'b']],
  ];
  for (const [p, expected] of split) test(`split ${p}`, () => assert.deepStrictEqual(splitHostPattern(p), expected));
  test('order: regular, then &, then !', () => assert.deepStrictEqual(orderPatterns(['!a', '&b', 'c', '', 'd']), ['c', 'd', '&b', '!a']));
  test('order: all when there is no regular term', () => assert.deepStrictEqual(orderPatterns(['!a']), ['all', '!a']));
});

describe('globToRegExp (fnmatch)', () => {
  const cases: [string, string, boolean][] = [
    ['web*', 'web12', true],
    ['web*', 'xweb', false],
    ['web?', 'web1', true],
    ['web?', 'web12', false],
    ['web[12]', 'web2', true],
    ['web[!12]', 'web3', true],
    ['web[!12]', 'web1', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'aXexample.com', false],
    ['Web*', 'web1', false],
  ];
  for (const [g, s, m] of cases) test(`${g} ~ ${s}`, () => assert.equal(globToRegExp(g).test(s), m));
});

describe('selectHosts', () => {
  const cases: [string, string[]][] = [
    // Ansible's order walks the group tree level by level: all's direct children (ungrouped, then top-level
    // groups in creation order: canary, prod, stage), then their children (web, db).
    ['all', ['solo', '10.0.0.5', 'web2', 'st-1.example.com', 'st-2.example.com', 'web1', 'web3', 'db1', 'db2']],
    ['*', ['solo', '10.0.0.5', 'web2', 'st-1.example.com', 'st-2.example.com', 'web1', 'web3', 'db1', 'db2']],
    ['web', ['web1', 'web2', 'web3']],
    ['prod', ['web1', 'web2', 'web3', 'db1', 'db2']],
    ['db:web', ['db1', 'db2', 'web3', 'web1', 'web2']],
    ['db,web', ['db1', 'db2', 'web3', 'web1', 'web2']],
    ['web:!db', ['web1', 'web2']],
    ['web:&db', ['web3']],
    // Exclusions apply last whatever their position.
    ['!db:web', ['web1', 'web2']],
    ['&db:web:canary', ['web3']],
    ['!web', ['solo', '10.0.0.5', 'st-1.example.com', 'st-2.example.com', 'db1', 'db2']],
    ['web*', ['web1', 'web2', 'web3']],
    ['*.example.com', ['st-1.example.com', 'st-2.example.com']],
    ['~web[12]', ['web1', 'web2']],
    ['~^st-\\d', ['st-1.example.com', 'st-2.example.com']],
    ['~(?P<x>db)1', ['db1']],
    ['web[0]', ['web1']],
    ['web[-1]', ['web3']],
    ['web[1:2]', ['web2', 'web3']],
    ['web[1:]', ['web2', 'web3']],
    ['prod[2:3]', ['web3', 'db1']],
    ['web[7]', []],
    ['web[5:9]', []],
    ['solo', ['solo']],
    ['10.0.0.5', ['10.0.0.5']],
    ['solo:solo:web1', ['solo', 'web1']],
    ['nomatch', []],
    ['web:&nomatch', []],
    ['ungrouped', ['solo', '10.0.0.5']],
    ['localhost', []],
  ];
  for (const [p, expected] of cases) test(p, () => assert.deepStrictEqual(selectHosts(inv, p), expected));
  test('implicit localhost on request', () => assert.deepStrictEqual(selectHosts(inv, 'localhost', { implicitLocalhost: true }), ['localhost']));
  test('@file: one host (pattern) per line', () => {
    const files: Record<string, string> = { '/base/run.retry': 'web2\ndb1\n\n' };
    const readFile = (f: string): string => {
      const t = files[f];
      if (t === undefined) throw new Error(`ENOENT ${f}`);
      return t;
    };
    assert.deepStrictEqual(selectHosts(inv, '@run.retry', { retryFileBase: '/base', readFile }), ['web2', 'db1']);
    assert.throws(() => selectHosts(inv, '@missing.retry', { retryFileBase: '/base', readFile }), (e: unknown) => e instanceof UsageError && /missing\.retry/.test(e.message));
  });
});

describe('applyLimit', () => {
  const cases: [string, string, string[]][] = [
    ['prod', 'web', ['web1', 'web2', 'web3']],
    ['prod', 'db:!web', ['db1', 'db2']],
    ['all', 'web[0]', ['web1']],
    ['all', 'nomatch', []],
    ['web', 'solo', []],
  ];
  for (const [pattern, limit, expected] of cases) {
    test(`${pattern} --limit ${limit}`, () => assert.deepStrictEqual(applyLimit(inv, selectHosts(inv, pattern), limit), expected));
  }
  test('no limit keeps everything', () => assert.deepStrictEqual(applyLimit(inv, ['web1', 'db1'], undefined), ['web1', 'db1']));
  test('--limit @retry-file keeps the order of the hosts given', () => {
    const readFile = (): string => 'db2\nweb1\n';
    assert.deepStrictEqual(applyLimit(inv, selectHosts(inv, 'prod'), '@/r.retry', { readFile }), ['web1', 'db2']);
  });
});
