/**
 * Ansible is the oracle: each expression is evaluated by ansible-playbook (debug + to_json) and by the
 * Templar, and the values (or the fact that both fail) must agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Templar } from '../../src/playbook/template.js';

const run = promisify(execFile);

const vars: Record<string, unknown> = {
  a: [1, 2],
  d: { x: 1, y: { z: 'q' } },
  s: 'Hello',
  n: 5,
  e: [],
  none_var: null,
  ver: '1.24.5',
  users: [
    { name: 'ann', admin: true, uid: 1002 },
    { name: 'bob', admin: false, uid: 1001 },
    { name: 'cid', uid: 1003 },
  ],
  res_ok: { rc: 0, changed: false, failed: false },
  res_changed: { rc: 0, changed: true },
  res_failed: { rc: 1, failed: true, changed: false },
  item: ['i0', { name: 'inner' }],
  path: '/etc/kubernetes/kubelet.conf',
  csv: 'a, b,c',
  json: '{"k": [1, 2]}',
  yml: 'k: v\nl: [1, 2]\n',
};

const EXPRESSIONS = [
  'a + [3]',
  'e or "fallback"',
  '"1" == 1',
  '[1, [2]] == [1, [2]]',
  '1 < n <= 5',
  '"ell" in s',
  '3 not in a',
  'none_var is none',
  'missing is defined',
  'd.nope.deeper | default(7)',
  'none_var | default(3)',
  '"" | default(3, true)',
  '"42" | int',
  '"3.7" | int',
  '"x" | int',
  '"ff" | int(base=16)',
  '"2.5" | float',
  '5 | string',
  'true | string',
  '"yes" | bool',
  '"on" | bool',
  '2 | bool',
  'a | join(",")',
  'users | map(attribute="name") | list',
  'users | selectattr("admin", "defined") | map(attribute="name") | list',
  'users | selectattr("admin") | map(attribute="name") | list',
  'users | rejectattr("admin", "defined") | map(attribute="uid") | list',
  '[3, 1, 2] | sort',
  '[3, 1, 2] | sort(reverse=true)',
  'users | sort(attribute="uid") | map(attribute="name") | list',
  '[3, 1, 3, 2] | unique',
  '[3, 1, 2] | min',
  'users | max(attribute="uid")',
  'users | sum(attribute="uid")',
  'd | to_json',
  '{"b": 1, "a": [1]} | to_nice_json',
  'json | from_json',
  'yml | from_yaml',
  '"abc123" | regex_search("\\d+")',
  '"abc" | regex_search("\\d+")',
  '"abc123" | regex_search("\\\\d+")',
  '"a\\\\b" | regex_replace("\\\\\\\\", "/")',
  '"k=v" | regex_search("(\\w+)=(\\w+)", "\\2", "\\1")',
  '"a1b2" | regex_replace("(\\d)", "<\\1>")',
  '"k1=v1 k2=v2" | regex_findall("(\\w+)=(\\w+)")',
  '"a1b22" | regex_findall("\\d+")',
  'csv | split(",")',
  '" a  b " | split',
  'path | basename',
  'path | dirname',
  '"it\'s x" | quote',
  '"hi" | b64encode',
  '"aGk=" | b64decode',
  'd | dict2items',
  'd | dict2items | items2dict',
  '{"a": 1, "n": {"x": 1}} | combine({"n": {"y": 2}})',
  '{"a": 1, "n": {"x": 1}} | combine({"n": {"y": 2}}, recursive=true)',
  '[1, 2, 3] | difference([2])',
  '[1, 2, 3] | intersect([2, 3, 4])',
  '[1, 2] | union([2, 3])',
  '[1, 2] | zip(["a", "b"]) | list',
  '[1, [2, [3]]] | flatten',
  '[1, [2, [3]]] | flatten(levels=1)',
  'true | ternary("y", "n")',
  'e | ternary("y", "n")',
  '2048 | human_readable',
  'ver is version("1.24.10", "<")',
  'ver is version("1.3", ">=")',
  'res_failed is failed',
  'res_changed is changed',
  'res_ok is succeeded',
  'res_ok is changed',
  's is match("h", ignorecase=true)',
  's is match("ell")',
  's is search("ell")',
  '"%s-%03d" | format("n", 7)',
  's.startswith("He")',
  'd.get("zz", 3)',
  '"a,b".split(",")',
  'a[-1]',
  'item.0',
  'item.1.name',
  '"-" * 3',
  'n ~ "x" ~ a',
  '[0, 1, "", "x"] | select | list',
  '[1, 5, 9] | select(">", 3) | list',
  '[1, 2, 3, 4] | reject("odd") | list',
  's | lower',
  's | upper',
  'd.y.z ~ "!"',
  '{"a": {"b": 1}}',
  'range(3) | list',
  '"x" if e else "y"',
  'a | length',
  'd | length',
  'a | first',
  'a | last',
  '"ab" | list',
  '[1, 2, 3] | map("string") | list',
  'dict(a=1)',
  'true and none_var',
  'not e',
  'n is number and s is string and d is mapping and a is sequence',
  // Both must fail on these.
  'missing',
  'd.nope',
  'n < "x"',
  'n + "x"',
  'missing | mandatory',
  'missing.attr',
  'res_ok.nope == 1',
];

test('Templar agrees with ansible-playbook on expressions', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ns-tpl-oracle-'));
  try {
    const tasks = EXPRESSIONS.map((ex) => ({ debug: { msg: `{{ "J:" ~ ((${ex}) | to_json) }}` }, ignore_errors: true }));
    const play = [{ hosts: 'localhost', gather_facts: false, connection: 'local', vars, tasks }];
    const pbPath = join(dir, 'oracle.yml');
    await writeFile(pbPath, JSON.stringify(play));
    const { stdout } = await run('ansible-playbook', ['-i', 'localhost,', pbPath], {
      env: { ...process.env, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: '0', ANSIBLE_INVENTORY_UNPARSED_WARNING: '0' },
      maxBuffer: 64 * 1024 * 1024,
    }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      plays: Array<{ tasks: Array<{ hosts: Record<string, { failed?: boolean; msg?: unknown }> }> }>;
    };
    const results = report.plays[0]!.tasks.map((t) => t.hosts['localhost']!);
    assert.equal(results.length, EXPRESSIONS.length);

    const t = new Templar();
    const mismatches: string[] = [];
    EXPRESSIONS.forEach((ex, i) => {
      const oracle = results[i]!;
      let mine: { ok: true; value: unknown } | { ok: false; error: string };
      try {
        mine = { ok: true, value: JSON.parse(JSON.stringify(t.evalExpression(ex, vars) ?? null)) };
      } catch (err) {
        mine = { ok: false, error: (err as Error).message };
      }
      if (oracle.failed) {
        if (mine.ok) mismatches.push(`${ex}: ansible fails (${String(oracle.msg).slice(0, 120)}), nodesweep gives ${JSON.stringify(mine.value)}`);
        return;
      }
      const text = String(oracle.msg);
      assert.ok(text.startsWith('J:'), `unexpected oracle output for ${ex}: ${text}`);
      const want = JSON.parse(text.slice(2));
      if (!mine.ok) mismatches.push(`${ex}: ansible gives ${JSON.stringify(want)}, nodesweep fails: ${mine.error}`);
      else {
        try {
          assert.deepEqual(mine.value, want);
        } catch {
          mismatches.push(`${ex}: ansible ${JSON.stringify(want)} != nodesweep ${JSON.stringify(mine.value)}`);
        }
      }
    });
    assert.deepEqual(mismatches, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
