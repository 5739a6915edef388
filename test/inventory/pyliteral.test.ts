import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonValue } from '../../src/inventory/pyliteral.js';
import { pyRepr, pyStr } from '../../src/compat/python.js';
import { shlexSplit } from '../../src/util/shlex.js';

describe('parsePythonValue (ast.literal_eval, string on failure)', () => {
  const cases: [string, unknown][] = [
    ['1', 1],
    ['-5', -5],
    ['+5', 5],
    ['1_000', 1000],
    ['0x10', 16],
    ['-0x10', -16],
    ['0o17', 15],
    ['0b11', 3],
    ['00', 0],
    ['07', '07'], // leading zero: SyntaxError in Python 3
    ['1.5', 1.5],
    ['1.', 1],
    ['.5', 0.5],
    ['1e3', 1000],
    ['-1.5e2', -150],
    ['True', true],
    ['False', false],
    ['None', null],
    ['true', 'true'],
    ['yes', 'yes'],
    ['inf', 'inf'],
    ["'quoted'", 'quoted'],
    ['"dq"', 'dq'],
    ["'a' 'b'", 'ab'],
    ["'''tri'''", 'tri'],
    ["'\\n\\x41\\u00e9'", '\nAé'],
    ["r'\\d'", '\\d'],
    ["u'x'", 'x'],
    ["b'x'", 'x'],
    ["'a' b'x'", "'a' b'x'"], // mixing str and bytes is a SyntaxError
    ['[1, 2]', [1, 2]],
    ['[1,]', [1]],
    ['[]', []],
    ['()', []],
    ['(1, 2)', [1, 2]],
    ['(1)', 1],
    ['(1,)', [1]],
    ["{'a': {'b': 1}}", { a: { b: 1 } }],
    ['{}', {}],
    ['{1: "x", True: 2, None: 3}', { '1': 'x', true: 2, null: 3 }],
    ['{1, 2}', [1, 2]],
    ['set()', []],
    ["[1, 'a', None, {'k': (1, 2)}]", [1, 'a', null, { k: [1, 2] }]],
    ['  5', 5],
    ['5  ', 5],
    ['5 # comment', 5],
    ['hello # comment', 'hello # comment'],
    ['1+2j', '1+2j'],
    ['1+2', '1+2'],
    ['--5', '--5'],
    ['{k:v}', '{k:v}'],
    ['x y', 'x y'],
    ['', ''],
    ["'unterminated", "'unterminated"],
    ['[1, 2', '[1, 2'],
    ['1abc', '1abc'],
    ['spaced value', 'spaced value'],
    ['/usr/bin/python3', '/usr/bin/python3'],
    ['10.0.0.1', '10.0.0.1'],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.deepStrictEqual(parsePythonValue(input), expected));
  }
});

describe('shlexSplit (shlex.split(line, comments=True))', () => {
  const cases: [string, string[] | Error][] = [
    ['host a=1 b=2', ['host', 'a=1', 'b=2']],
    ['host  a="x y"', ['host', 'a=x y']],
    ["host a='x \"y\"'", ['host', 'a=x "y"']],
    ['host a="x \\"y\\""', ['host', 'a=x "y"']],
    ['host a="x\\ny"', ['host', 'a=x\\ny']],
    ['host a=x\\ y', ['host', 'a=x y']],
    ['host # comment a=1', ['host']],
    ['host a=1#c', ['host', 'a=1']],
    ['host a="#not"', ['host', 'a=#not']],
    ['host a=""', ['host', 'a=']],
    ["host ''", ['host', '']],
    ['\thost\ta=1\t', ['host', 'a=1']],
    ['host a="open', new Error('No closing quotation')],
    ['host a=\\', new Error('No escaped character')],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      if (expected instanceof Error) assert.throws(() => shlexSplit(input, true), { message: expected.message });
      else assert.deepStrictEqual(shlexSplit(input, true), expected);
    });
  }
});

describe('pyRepr / pyStr (ansible-inventory --graph --vars)', () => {
  const cases: [unknown, string][] = [
    ['plain', 'plain'],
    [true, 'True'],
    [null, 'None'],
    [3, '3'],
    [0.5, '0.5'],
    [['a', 1], "['a', 1]"],
    [{ a: { b: [true] } }, "{'a': {'b': [True]}}"],
    [["it's"], '["it\'s"]'],
    [['a\nb'], "['a\\nb']"],
  ];
  for (const [v, expected] of cases) test(expected, () => assert.equal(pyStr(v), expected));
  test('repr quotes a top-level string', () => assert.equal(pyRepr('x'), "'x'"));
});
