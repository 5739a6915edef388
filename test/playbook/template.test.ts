import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OMIT, Templar, TemplateError, jinjaPreprocess } from '../../src/playbook/template.js';

const vars: Record<string, unknown> = {
  a: [1, 2],
  d: { x: 1, y: { z: 'q' } },
  s: 'Hello',
  n: 5,
  e: [],
  ed: {},
  none_var: null,
  flag: 'yes',
  zero: '0',
  ver: '1.24.5',
  users: [
    { name: 'ann', admin: true, uid: 1002 },
    { name: 'bob', admin: false, uid: 1001 },
    { name: 'cid', uid: 1003 },
  ],
  res_ok: { rc: 0, changed: false, failed: false },
  res_changed: { rc: 0, changed: true },
  res_failed: { rc: 1, failed: true, changed: false },
  res_skipped: { skipped: true, changed: false },
  res_status: { status: 'changed' },
  item: ['i0', { name: 'inner' }],
  path: '/etc/kubernetes/kubelet.conf',
  csv: 'a, b,c',
  json: '{"k": [1, 2]}',
  yml: 'k: v\nl: [1, 2]\n',
};

describe('Templar.render', () => {
  const t = new Templar();
  const cases: Array<[string, unknown]> = [
    ['plain string', 'plain string'],
    ['{{ a }}', [1, 2]],
    ['{{ d }}', { x: 1, y: { z: 'q' } }],
    ['{{ n }}', 5],
    ['{{ none_var }}', null],
    ['x {{ a }} {{ d }}', "x [1, 2] {'x': 1, 'y': {'z': 'q'}}"],
    ['{{ n }} items', '5 items'],
    ['{{ true }}/{{ none_var }}', 'True/None'],
    ['{{ a + [3] }}', [1, 2, 3]],
    ['{{ s | lower }}', 'hello'],
    ['{{ s | upper }}', 'HELLO'],
    ['{{ missing | default("dflt") }}', 'dflt'],
    ['{{ missing | d("dflt") }}', 'dflt'],
    ['{{ d.nope.deeper | default(7) }}', 7],
    ['{{ d["y"].nope | default(7) }}', 7],
    ['{{ none_var | default(3) }}', null],
    ['{{ "" | default(3, true) }}', 3],
    ['{{ e | default("x", boolean=true) }}', 'x'],
    ['{% for i in a %}{{ i }};{% endfor %}', '1;2;'],
    ['{% if e %}yes{% else %}no{% endif %}', 'no'],
    ['{% if a %}yes{% endif %}', 'yes'],
    ['{% set total = n * 2 %}{{ total }}', '10'],
    ['{{ item.0 }}-{{ item.1.name }}', 'i0-inner'],
    ['{{ "v1.2 x.0" }}', 'v1.2 x.0'],
    ['{{ "-" * 3 }}', '---'],
    ['{{ d.y.z ~ "!" ~ n }}', 'q!5'],
    ['{{ n if n > 3 else 0 }}', 5],
    ['{{ e or "fallback" }}', 'fallback'],
    ['{{ s.startswith("He") }}', true],
    ['{{ d.get("zz", 3) }}', 3],
    ['{{ d.keys() | list | sort }}', ['x', 'y']],
    ['{{ "a,b".split(",") }}', ['a', 'b']],
    ['{{ a[-1] }}', 2],
    ['{{ lookup("env", "NODESWEEP_TEMPLATE_TEST") }}', 'from-env'],
    ['{% for i in a %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}', '1,2'],
    ['{% for k in d %}{{ k }};{% endfor %}', 'x;y;'],
    ['{% for k, v in d.items() %}{{ k }}={{ v }} {% endfor %}', "x=1 y={'z': 'q'} "],
    ['{% raw %}{{ not templated }}{% endraw %}', '{{ not templated }}'],
    ['{% raw %}{{ "a\\b" ~ x.0 }}{% endraw %} {{ "c\\d" }}', '{{ "a\\b" ~ x.0 }} c\\d'],
    ['sed "s/\\./-/" {{ s }}', 'sed "s/\\./-/" Hello'],
    ['{{ "%s-%03d" | format("n", 7) }}', 'n-007'],
    ['{{ {"a": {"b": 1}} }}', { a: { b: 1 } }],
    ['  {{ a }}', '  [1, 2]'],
  ];
  process.env['NODESWEEP_TEMPLATE_TEST'] = 'from-env';
  for (const [src, want] of cases) {
    test(src, () => assert.deepEqual(t.render(src, vars), want));
  }

  test('deep render of objects and arrays; omit removes keys', () => {
    const got = t.render({ cmd: 'echo {{ n }}', list: ['{{ s }}', 2], nested: { v: '{{ a }}' }, mode: '{{ m | default(omit) }}' }, vars);
    assert.deepEqual(got, { cmd: 'echo 5', list: ['Hello', 2], nested: { v: [1, 2] } });
    assert.equal(t.render('{{ omit }}', vars), OMIT);
  });

  test('non-string values pass through', () => {
    assert.equal(t.render(3, vars), 3);
    assert.equal(t.render(true, vars), true);
    assert.equal(t.render(null, vars), null);
  });

  test('renderString always returns a string', () => {
    assert.equal(t.renderString('{{ a }}', vars), '[1, 2]');
    assert.equal(t.renderString('{{ s }}', vars), 'Hello');
  });

  test('does not mutate the caller vars', () => {
    const v = { x: 1 };
    t.render('{{ x }}', v);
    assert.deepEqual(Object.keys(v), ['x']);
  });
});

describe('Templar errors', () => {
  const t = new Templar();
  const cases: Array<[string, RegExp]> = [
    ['{{ missing }}', /^'missing' is undefined/],
    ['{{ missing.attr }}', /^'missing' is undefined/],
    ['{{ d.nope }}', /^'dict object' has no attribute 'nope'/],
    ['{{ d.nope | upper }}', /^'dict object' has no attribute 'nope'/],
    ['{{ a[5] }}', /list index out of range/],
    ['{{ [] | first }}', /No first item/],
    ['{{ missing | mandatory }}', /Mandatory variable/],
    ['{{ missing | mandatory("set x please") }}', /^set x please/],
    ['{{ n < "x" }}', /'<' not supported between instances of 'int' and 'str'/],
    ['{{ n + "x" }}', /unsupported operand type\(s\) for \+: 'int' and 'str'/],
    ['{{ 1 +', /^template error while templating '\{\{ 1 \+'/],
    ['{{ json | from_json | nosuchfilter }}', /filter not found: nosuchfilter/],
    ['{{ "{" | from_json }}', /^from_json:/],
    ['{{ n is nosuchtest }}', /no test named 'nosuchtest'/],
    ['{{ s | length > 1 and missing }}', /'missing' is undefined/],
    ['{% for i in missing %}{% endfor %}', /'missing' is undefined/],
    ['{{ n | dict2items }}', /dict2items requires a dictionary/],
    ['{{ n is failed }}', /The 'failed' test expects a dictionary/],
    ['{{ users | selectattr("admin") | list }}', /'dict object' has no attribute 'admin'/],
  ];
  for (const [src, re] of cases) {
    test(src, () => {
      assert.throws(
        () => t.render(src, vars),
        (e: unknown) => e instanceof TemplateError && re.test(e.message),
      );
    });
  }
});

describe('Templar.evalCondition', () => {
  const t = new Templar();
  const cases: Array<[string | boolean, boolean]> = [
    [true, true],
    [false, false],
    ['missing is defined', false],
    ['missing is not defined', true],
    ['missing is undefined', true],
    ['d.y.z is defined', true],
    ['d.nope.z is defined', false],
    ['e', false],
    ['ed', false],
    ['not e', true],
    ['a', true],
    ['s', true],
    ['zero', true],
    ['zero | bool', false],
    ['flag | bool', true],
    ['"on" | bool', true],
    ['"no" | bool', false],
    ['n > 3 and s == "Hello"', true],
    ['n > 3 and s != "Hello"', false],
    ['n > 6 or s == "Hello"', true],
    ['1 < n <= 5', true],
    ['3 not in a', true],
    ['1 in a', true],
    ['"ell" in s', true],
    ['"x" in d', true],
    ['[1, [2]] == [1, [2]]', true],
    ['1 == 1.0', true],
    ['"1" == 1', false],
    ['none_var is none', true],
    ['none_var is not none', false],
    ['a is not string', true],
    ['s is string', true],
    ['n is number', true],
    ['d is mapping', true],
    ['a is sequence', true],
    ['d is iterable', true],
    ['a is truthy', true],
    ['e is falsy', true],
    ['s is match("h", ignorecase=true)', true],
    ['s is match("ell")', false],
    ['s is search("ell")', true],
    ['s is regex("^H.*o$")', true],
    ['[1, 5] | select("in", a) | list == [1]', true],
    ['ver is version("1.24.10", "<")', true],
    ['ver is version("1.24.5", "==")', true],
    ['ver is version("1.3", "ge")', true],
    ['"v1.25.0" is version_compare("1.24.9", ">")', true],
    ['res_ok is succeeded', true],
    ['res_ok is success', true],
    ['res_failed is failed', true],
    ['res_failed is failure', true],
    ['res_ok is failed', false],
    ['res_changed is changed', true],
    ['res_status is changed', true],
    ['res_ok is change', false],
    ['res_skipped is skipped', true],
    ['res_skipped is skip', true],
    ['not (n > 3)', false],
    ['users | selectattr("admin", "defined") | list | length == 2', true],
    ['{{ n }} == 5', true],
    ['{{ n > 10 }}', false],
  ];
  for (const [cond, want] of cases) {
    test(String(cond), () => assert.equal(t.evalCondition(cond, vars), want));
  }
  test('an undefined variable in a condition fails', () => {
    assert.throws(() => t.evalCondition('missing', vars), /'missing' is undefined/);
    assert.throws(() => t.evalCondition('not missing', vars), /'missing' is undefined/);
    assert.throws(() => t.evalCondition('missing == 1', vars), /'missing' is undefined/);
  });
  test('short-circuit protects undefined on the right', () => {
    assert.equal(t.evalCondition('missing is defined and missing > 1', vars), false);
    assert.equal(t.evalCondition('missing is undefined or missing > 1', vars), true);
  });
});

describe('filters via evalExpression', () => {
  const t = new Templar();
  const cases: Array<[string, unknown]> = [
    ['"42" | int', 42],
    ['"3.7" | int', 3],
    ['"x" | int', 0],
    ['"x" | int(7)', 7],
    ['"ff" | int(base=16)', 255],
    ['"2.5" | float', 2.5],
    ['5 | string', '5'],
    ['true | string', 'True'],
    ['"  x " | trim', 'x'],
    ['s | length', 5],
    ['a | count', 2],
    ['d | length', 2],
    ['a | join(",")', '1,2'],
    ['users | map(attribute="name") | join(" ")', 'ann bob cid'],
    ['a | first', 1],
    ['a | last', 2],
    ['"ab" | list', ['a', 'b']],
    ['[3, 1, 3, 2] | unique', [3, 1, 2]],
    ['[3, 1, 2] | sort', [1, 2, 3]],
    ['[3, 1, 2] | sort(reverse=true)', [3, 2, 1]],
    ['users | sort(attribute="uid") | map(attribute="name") | list', ['bob', 'ann', 'cid']],
    ['[3, 1, 2] | min', 1],
    ['[3, 1, 2] | max', 3],
    ['(users | max(attribute="uid")).name', 'cid'],
    ['[3, 1, 2] | sum', 6],
    ['users | sum(attribute="uid")', 3006],
    ['[1, 2, 3] | map("string") | list', ['1', '2', '3']],
    ['["a", "B"] | map("upper") | list', ['A', 'B']],
    ['[0, 1, "", "x"] | select | list', [1, 'x']],
    ['[1, 2, 3, 4] | select("odd") | list', [1, 3]],
    ['[1, 2, 3, 4] | reject("odd") | list', [2, 4]],
    ['[1, 5, 9] | select(">", 3) | list', [5, 9]],
    ['users | selectattr("admin", "defined") | selectattr("admin") | map(attribute="name") | list', ['ann']],
    ['users | rejectattr("admin", "defined") | map(attribute="name") | list', ['cid']],
    ['users | selectattr("name", "equalto", "bob") | map(attribute="uid") | first', 1001],
    ['users | selectattr("name", "match", "^[ab]") | map(attribute="name") | list', ['ann', 'bob']],
    ['d | to_json', '{"x": 1, "y": {"z": "q"}}'],
    ['{"b": 1, "a": [1]} | to_nice_json', '{\n    "a": [\n        1\n    ],\n    "b": 1\n}'],
    ['json | from_json', { k: [1, 2] }],
    ['{"k": "v"} | to_yaml', 'k: v\n'],
    ['yml | from_yaml', { k: 'v', l: [1, 2] }],
    ['"abc123def" | regex_search("\\d+")', '123'],
    ['"abc" | regex_search("\\d+")', null],
    ['"key=val" | regex_search("(?P<k>\\w+)=(\\w+)", "\\g<k>", "\\2")', ['key', 'val']],
    ['"a1b2" | regex_replace("(\\d)", "<\\1>")', 'a<1>b<2>'],
    ['"Hello" | regex_replace("^h", "J", ignorecase=true)', 'Jello'],
    ['"a1b22" | regex_findall("\\d+")', ['1', '22']],
    ['"k1=v1 k2=v2" | regex_findall("(\\w+)=(\\w+)")', [['k1', 'v1'], ['k2', 'v2']]],
    ['csv | split(",")', ['a', ' b', 'c']],
    ['" a  b " | split', ['a', 'b']],
    ['"a-b-c" | replace("-", "+")', 'a+b+c'],
    ['path | basename', 'kubelet.conf'],
    ['path | dirname', '/etc/kubernetes'],
    ['"it\'s x" | quote', `'it'"'"'s x'`],
    ['"safe/path.txt" | quote', 'safe/path.txt'],
    ['"hi" | b64encode', 'aGk='],
    ['"aGk=" | b64decode', 'hi'],
    ['d | dict2items | items2dict', { x: 1, y: { z: 'q' } }],
    ['{"a": 1} | dict2items(key_name="k", value_name="v")', [{ k: 'a', v: 1 }]],
    ['{"a": 1, "n": {"x": 1}} | combine({"b": 2, "n": {"y": 2}})', { a: 1, n: { y: 2 }, b: 2 }],
    ['{"n": {"x": 1}} | combine({"n": {"y": 2}}, recursive=true)', { n: { x: 1, y: 2 } }],
    ['[1, 2, 3] | difference([2])', [1, 3]],
    ['[1, 2, 3] | intersect([2, 3, 4])', [2, 3]],
    ['[1, 2] | union([2, 3])', [1, 2, 3]],
    ['[1, 2] | zip(["a", "b"]) | list', [[1, 'a'], [2, 'b']]],
    ['[1, [2, [3]]] | flatten', [1, 2, 3]],
    ['[1, [2, [3]]] | flatten(levels=1)', [1, 2, [3]]],
    ['true | ternary("y", "n")', 'y'],
    ['e | ternary("y", "n")', 'n'],
    ['2048 | human_readable', '2.00 KB'],
    ['dict([["a", 1]])', { a: 1 }],
    ['range(3) | list', [0, 1, 2]],
    ['True and None', null],
    ['[] and 1', false],
    ['0 or ""', ''],
    ['none_var | default("x", true)', 'x'],
  ];
  for (const [src, want] of cases) {
    test(src, () => assert.deepEqual(t.evalExpression(src, vars), want));
  }
  test('plain variable names and "{{ x }}" strings evaluate natively', () => {
    assert.deepEqual(t.evalExpression('a', vars), [1, 2]);
    assert.deepEqual(t.evalExpression('{{ a }}', vars), [1, 2]);
  });
});

describe('Templar helpers', () => {
  test('isTemplated', () => {
    for (const [s, want] of [
      ['{{ x }}', true],
      ['{% if x %}{% endif %}', true],
      ['no template', false],
      ['{ not: template }', false],
    ] as const) {
      assert.equal(Templar.isTemplated(s), want, s);
    }
  });
  test('jinjaPreprocess rewrites x.0 only in code, not in strings', () => {
    assert.equal(jinjaPreprocess('{{ item.0.name }} v1.2'), '{{ item[0].name }} v1.2');
    assert.equal(jinjaPreprocess('{{ "v1.2" ~ x.1 }}'), '{{ "v1.2" ~ x[1] }}');
    assert.equal(jinjaPreprocess('{{ 1.5 }}'), '{{ 1.5 }}');
    assert.equal(jinjaPreprocess("{{ x | regex_search('\\d+') }} \\n"), "{{ x | regex_search('\\\\d+') }} \\n");
    assert.equal(jinjaPreprocess("{{ 'it\\'s' }}"), "{{ 'it\\'s' }}");
    assert.equal(jinjaPreprocess("{{ {'a': {'b': 1}} }}"), "{{ {'a': {'b': 1} }  }}");
  });
  test('compiled templates are cached and reused across hosts', () => {
    const t = new Templar();
    for (let h = 0; h < 500; h++) assert.equal(t.render('host-{{ h }}-{{ s | lower }}', { h, s: 'X' }), `host-${h}-x`);
    assert.equal(t.compiledCount, 1, 'one compilation for 500 renders of one source');
    t.render('{{ h }}', { h: 1 });
    assert.equal(t.compiledCount, 2);
  });
});

describe('malformed templates only raise TemplateError', () => {
  test('seeded random templates', () => {
    const t = new Templar();
    const pieces = ['{{', '}}', '{%', '%}', ' if ', ' for ', ' in ', ' endif ', ' endfor ', 'a', 'd', '.', '[', ']', '(', ')', '|', ' default', ' map', '"', "'", '\\', ' is ', ' not ', ' and ', '1', ',', '~', '+', '*', '{', '}', ' set ', '=', ' raw ', ' endraw ', '#', 'missing', ' length', ' loop.index'];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 1500; i++) {
      let src = '';
      for (let k = 0; k < 3 + rand(12); k++) src += pieces[rand(pieces.length)];
      try {
        t.render(src, vars);
        t.evalCondition(src.replace(/[{}%]/g, ''), vars);
      } catch (e) {
        assert.ok(e instanceof TemplateError, `${JSON.stringify(src)} threw ${(e as Error).stack}`);
      }
    }
  });
});
