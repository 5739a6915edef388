/** repr(), str() and json.dumps against python3 itself: one table of values, printed by both. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pyFloatRepr, pyJsonDumps, pyRepr, pyStr, resultDump, PyTypeError, Undef } from '../../src/compat/python.js';

const FLOATS = [1.5, 0.1, 1e-5, 1.5e-7, 0.0001, 123.456, 1e15 + 0.5, 1e16, 1.2345678901234568e17, 1e22, -2.5e-10, 3.141592653589793, 5e-324, 1.7976931348623157e308];
const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -7,
  123456789012345,
  // integral floats from 1e16 on read as ints in JSON (python3 prints digits): the float table below has them
  ...FLOATS.filter((f) => !(Number.isInteger(f) && Math.abs(f) >= 1e16 && Math.abs(f) < 1e21)),
  '',
  'plain',
  "it's",
  'say "hi"',
  `both ' and "`,
  'tab\tnew\nline\rcr\\slash',
  'ctl \x01 \x1f \x7f \x85 \xa0 \xad',
  'unicode é ß \u2028 \u200b ✓ 😀',
  ['a', 1, 1.5, null, true, ['nested']],
  { b: 1, a: 'x', 'é': [1e-5], '😀': null, 'ü': { z: 2 } },
  [],
  {},
];

function python(code: string, input: unknown): unknown {
  return JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify(input), encoding: 'utf8' }));
}

test('repr(), str() and float repr are what python3 prints', () => {
  const want = python('import json,sys; v=json.load(sys.stdin); print(json.dumps({"repr":[repr(x) for x in v],"str":[str(x) for x in v]}))', VALUES) as { repr: string[]; str: string[] };
  const bad = (got: string[], exp: string[]) => VALUES.map((v, i) => `${JSON.stringify(v)}: ${got[i]} != ${exp[i]}`).filter((_, i) => got[i] !== exp[i]);
  assert.deepEqual(bad(VALUES.map(pyRepr), want.repr), []);
  assert.deepEqual(bad(VALUES.map(pyStr), want.str), []);
  const floats = python('import json,sys; print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))', FLOATS) as string[];
  assert.deepEqual(FLOATS.map(pyFloatRepr), floats);
  assert.deepEqual([NaN, Infinity, -Infinity, -0].map(pyFloatRepr), ['nan', 'inf', '-inf', '-0.0']); // (JSON cannot carry these to python3)
});

test('json.dumps: default, sort_keys, indent, ensure_ascii off, NaN and infinities, as python3 prints them', () => {
  const cases = [
    [{}, {}],
    [{ sort_keys: true }, { sortKeys: true }],
    [{ indent: 4, sort_keys: true }, { indent: 4, sortKeys: true }],
    [{ ensure_ascii: false, sort_keys: true }, { ensureAscii: false, sortKeys: true }],
  ] as const;
  for (const [py, ours] of cases) {
    const want = python(`import json,sys; v=json.load(sys.stdin); print(json.dumps([json.dumps(x, **${JSON.stringify(py).replace(/true/g, 'True').replace(/false/g, 'False')}) for x in v]))`, VALUES) as string[];
    assert.deepEqual(VALUES.map((v) => pyJsonDumps(v, ours)), want, JSON.stringify(py));
  }
  const special = python('import json; print(json.dumps(json.dumps([float("nan"), float("inf"), -float("inf")])))', null);
  assert.equal(pyJsonDumps([NaN, Infinity, -Infinity]), special);
  assert.equal(resultDump({ b: 'é', a: 1 }, 4), '{\n    "a": 1,\n    "b": "é"\n}');
});

test('an undefined value anywhere fails str(), repr() and json.dumps with its message', () => {
  const u = new Undef("'x' is undefined");
  for (const f of [() => pyStr(u), () => pyRepr([1, u]), () => pyJsonDumps({ a: u })]) assert.throws(f, (e: unknown) => e instanceof PyTypeError && e.message === "'x' is undefined");
});
