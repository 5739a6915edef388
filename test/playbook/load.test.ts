import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PlaybookError, ExitCode } from '../../src/errors.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { closeMatches, loadPlaybook, parseKeyValue, parsePlaybook, validateModuleArgs } from '../../src/playbook/load.js';
import { bigPlaybookText } from './big-playbook.js';
import type { BlockTask, ModuleTask } from '../../src/playbook/types.js';

/** Small stand-ins for the real modules: only the schema and shape matter to the loader. */
function testRegistry(): ModuleRegistry {
  const run = async () => ({ status: 'ok' as const });
  const defs: ModuleDefinition[] = [
    {
      name: 'shell',
      aliases: ['ansible.builtin.shell'],
      freeForm: 'cmd',
      schema: z.object({ cmd: z.string(), chdir: z.string().optional(), creates: z.string().optional(), removes: z.string().optional() }).strict(),
      supportsCheckMode: true,
      run,
    },
    {
      name: 'debug',
      aliases: ['ansible.builtin.debug'],
      schema: z.object({ msg: z.unknown().optional(), var: z.string().optional(), verbosity: z.number().default(0) }).strict(),
      controllerOnly: true,
      supportsCheckMode: true,
      run,
    },
    { name: 'set_fact', schema: z.record(z.string(), z.unknown()), controllerOnly: true, supportsCheckMode: true, run },
    { name: 'fail', schema: z.object({ msg: z.string().default('Failed as requested from task') }).strict(), controllerOnly: true, supportsCheckMode: true, run },
    {
      name: 'wait_for',
      schema: z
        .object({
          port: z.number(),
          timeout: z.number().default(300),
          active: z.boolean().default(true),
          hosts: z.array(z.string()).optional(),
          state: z.enum(['started', 'stopped']).optional(),
        })
        .strict(),
      supportsCheckMode: true,
      run,
    },
  ];
  const r = new ModuleRegistry();
  for (const d of defs) r.register(d);
  return r;
}

const modules = testRegistry();
const F = 'site.yml';
const parse = (text: string) => parsePlaybook(text, F, { modules });
const firstTask = (text: string) => parse(text).plays[0]!.tasks[0] as ModuleTask;

describe('parsePlaybook: valid playbooks', () => {
  const cases: Array<{ name: string; yaml: string; check: (pb: ReturnType<typeof parse>) => void }> = [
    {
      name: 'minimal play and defaults',
      yaml: '- hosts: workers\n  tasks:\n    - shell: echo hi\n',
      check: (pb) => {
        const p = pb.plays[0]!;
        assert.equal(pb.file, F);
        assert.equal(p.name, 'workers');
        assert.equal(p.hosts, 'workers');
        assert.equal(p.gatherFacts, true);
        assert.deepEqual(p.serial, []);
        assert.equal(p.anyErrorsFatal, false);
        assert.deepEqual(p.loc, { file: F, line: 1, column: 3 });
        const t = p.tasks[0] as ModuleTask;
        assert.equal(t.kind, 'module');
        assert.equal(t.module, 'shell');
        assert.deepEqual(t.args, { cmd: 'echo hi' });
        assert.equal(t.loopVar, 'item');
        assert.deepEqual(t.when, []);
        assert.deepEqual(t.loc, { file: F, line: 3, column: 7 });
      },
    },
    {
      name: 'play keywords (yes/no are booleans as in Ansible)',
      yaml: [
        '- name: Upgrade',
        '  hosts: [web, db]',
        '  gather_facts: no',
        '  become: yes',
        '  become_user: admin',
        '  serial: [1, "30%", 5]',
        '  max_fail_percentage: 20',
        '  any_errors_fatal: true',
        '  tags: upgrade, slow',
        '  check_mode: false',
        '  vars: {a: 1, b: [x]}',
        '  pre_tasks: [{name: pre, debug: {msg: p}}]',
        '  tasks: [{name: main, debug: {msg: m}}]',
        '  post_tasks: [{name: post, debug: {msg: q}}]',
        '  handlers:',
        '    - name: restart',
        '      shell: systemctl restart x',
        '      listen: [restart things]',
      ].join('\n'),
      check: (pb) => {
        const p = pb.plays[0]!;
        assert.equal(p.name, 'Upgrade');
        assert.equal(p.hosts, 'web,db');
        assert.equal(p.gatherFacts, false);
        assert.equal(p.become, true);
        assert.equal(p.becomeUser, 'admin');
        assert.deepEqual(p.serial, [1, '30%', 5]);
        assert.equal(p.maxFailPercentage, 20);
        assert.equal(p.anyErrorsFatal, true);
        assert.deepEqual(p.tags, ['upgrade', 'slow']);
        assert.equal(p.checkMode, false);
        assert.deepEqual(p.vars, { a: 1, b: ['x'] });
        assert.deepEqual(p.tasks.map((t) => t.name), ['pre', 'main', 'post']);
        assert.equal(p.handlers[0]!.name, 'restart');
        assert.deepEqual(p.handlers[0]!.listen, ['restart things']);
      },
    },
    {
      name: 'serial as a single number or percentage',
      yaml: '- hosts: a\n  serial: "25%"\n  tasks: []\n- hosts: b\n  serial: 3\n',
      check: (pb) => {
        assert.deepEqual(pb.plays[0]!.serial, ['25%']);
        assert.deepEqual(pb.plays[1]!.serial, [3]);
        assert.deepEqual(pb.plays[1]!.tasks, []);
      },
    },
    {
      name: 'task keywords',
      yaml: [
        '- hosts: all',
        '  tasks:',
        '    - name: check',
        '      shell: test -f /x',
        '      args: {chdir: /tmp}',
        '      register: out',
        '      when: [a is defined, true]',
        '      changed_when: false',
        '      failed_when: out.rc > 1',
        '      until: out is succeeded',
        '      retries: 5',
        '      delay: "{{ d }}"',
        '      ignore_errors: yes',
        '      notify: restart',
        '      tags: [a, 7]',
        '      timeout: 30',
        '      no_log: true',
        '      check_mode: no',
        '      become: true',
        '      become_user: root',
        '      vars: {x: 1}',
        '      environment: {PATH: /bin}',
        '      loop: "{{ items }}"',
        '      loop_control: {loop_var: node, index_var: i, label: "{{ node.name }}"}',
      ].join('\n'),
      check: (pb) => {
        const t = pb.plays[0]!.tasks[0] as ModuleTask;
        assert.equal(t.name, 'check');
        assert.deepEqual(t.args, { chdir: '/tmp', cmd: 'test -f /x' });
        assert.equal(t.register, 'out');
        assert.deepEqual(t.when, ['a is defined', true]);
        assert.deepEqual(t.changedWhen, [false]);
        assert.deepEqual(t.failedWhen, ['out.rc > 1']);
        assert.deepEqual(t.until, ['out is succeeded']);
        assert.equal(t.retries, 5);
        assert.equal(t.delay, '{{ d }}');
        assert.equal(t.ignoreErrors, true);
        assert.deepEqual(t.notify, ['restart']);
        assert.deepEqual(t.tags, ['a', '7']);
        assert.equal(t.timeout, 30);
        assert.equal(t.noLog, true);
        assert.equal(t.checkMode, false);
        assert.equal(t.become, true);
        assert.equal(t.becomeUser, 'root');
        assert.deepEqual(t.vars, { x: 1 });
        assert.deepEqual(t.environment, { PATH: '/bin' });
        assert.equal(t.loop, '{{ items }}');
        assert.equal(t.loopVar, 'node');
        assert.equal(t.indexVar, 'i');
        assert.equal(t.loopLabel, '{{ node.name }}');
      },
    },
    {
      name: 'free-form with raw params, key=value form, aliases, null args',
      yaml: [
        '- hosts: all',
        '  tasks:',
        '    - ansible.builtin.shell: ls -l chdir=/var creates="/tmp/a b"',
        '    - debug: msg="hello world" verbosity=1',
        '    - debug: var=result',
        '    - set_fact:',
        '        k: "{{ v }}"',
        '    - fail:',
        '    - debug: msg={{ a | default("x y") }}',
      ].join('\n'),
      check: (pb) => {
        const ts = pb.plays[0]!.tasks as ModuleTask[];
        assert.equal(ts[0]!.module, 'shell');
        assert.deepEqual(ts[0]!.args, { chdir: '/var', creates: '/tmp/a b', cmd: 'ls -l' });
        assert.deepEqual(ts[1]!.args, { msg: 'hello world', verbosity: '1' });
        assert.deepEqual(ts[2]!.args, { var: 'result' });
        assert.deepEqual(ts[3]!.args, { k: '{{ v }}' });
        assert.deepEqual(ts[4]!.args, {});
        assert.deepEqual(ts[5]!.args, { msg: '{{ a | default("x y") }}' });
      },
    },
    {
      name: 'when as a string, tags as comma list, notify as list',
      yaml: '- hosts: all\n  tasks:\n    - debug: {msg: x}\n      when: x == 1\n      tags: "a, b"\n      notify: [h1, h2]\n',
      check: (pb) => {
        const t = pb.plays[0]!.tasks[0] as ModuleTask;
        assert.deepEqual(t.when, ['x == 1']);
        assert.deepEqual(t.tags, ['a', 'b']);
        assert.deepEqual(t.notify, ['h1', 'h2']);
      },
    },
    {
      name: 'with_items flattens one level; with_dict gives key/value items',
      yaml: [
        '- hosts: all',
        '  tasks:',
        '    - debug: {msg: "{{ item }}"}',
        '      with_items: [[1, 2], 3, [[4]]]',
        '    - debug: {msg: "{{ item }}"}',
        '      with_items: "{{ lists }}"',
        '    - debug: {msg: "{{ item.key }}"}',
        '      with_dict: {a: 1}',
        '    - debug: {msg: "{{ item }}"}',
        '      with_dict: "{{ d }}"',
        '    - debug: {msg: "{{ item }}"}',
        '      loop: [[1, 2]]',
      ].join('\n'),
      check: (pb) => {
        const ts = pb.plays[0]!.tasks as ModuleTask[];
        assert.deepEqual(ts[0]!.loop, [1, 2, 3, [4]]);
        assert.equal(ts[1]!.loop, '{{ (lists) | flatten(levels=1) }}');
        assert.deepEqual(ts[2]!.loop, [{ key: 'a', value: 1 }]);
        assert.equal(ts[3]!.loop, '{{ (d) | dict2items }}');
        assert.deepEqual(ts[4]!.loop, [[1, 2]]);
      },
    },
    {
      name: 'block / rescue / always with block keywords',
      yaml: [
        '- hosts: all',
        '  tasks:',
        '    - name: guarded',
        '      when: go',
        '      become: true',
        '      tags: b',
        '      ignore_errors: true',
        '      vars: {z: 1}',
        '      block:',
        '        - shell: step1',
        '        - block:',
        '            - shell: nested',
        '      rescue:',
        '        - debug: {msg: rescued}',
        '      always:',
        '        - debug: {msg: always}',
      ].join('\n'),
      check: (pb) => {
        const b = pb.plays[0]!.tasks[0] as BlockTask;
        assert.equal(b.kind, 'block');
        assert.equal(b.name, 'guarded');
        assert.deepEqual(b.when, ['go']);
        assert.equal(b.become, true);
        assert.deepEqual(b.tags, ['b']);
        assert.equal(b.ignoreErrors, true);
        assert.deepEqual(b.vars, { z: 1 });
        assert.equal(b.block.length, 2);
        assert.equal((b.block[1] as BlockTask).kind, 'block');
        assert.equal(((b.block[1] as BlockTask).block[0] as ModuleTask).args['cmd'], 'nested');
        assert.equal((b.rescue[0] as ModuleTask).module, 'debug');
        assert.equal((b.always[0] as ModuleTask).module, 'debug');
        assert.deepEqual(b.loc, { file: F, line: 3, column: 7 });
      },
    },
    {
      name: 'templated module values are accepted before templating',
      yaml: '- hosts: all\n  tasks:\n    - wait_for: {port: "{{ p }}", active: "{{ flag }}", hosts: "{{ list }}"}\n',
      check: (pb) => assert.deepEqual((pb.plays[0]!.tasks[0] as ModuleTask).args, { port: '{{ p }}', active: '{{ flag }}', hosts: '{{ list }}' }),
    },
    {
      name: 'string values convert like Ansible argument specs (yes -> true, "5" -> 5)',
      yaml: '- hosts: all\n  tasks:\n    - wait_for: port=22 active=no\n',
      check: (pb) => assert.deepEqual((pb.plays[0]!.tasks[0] as ModuleTask).args, { port: '22', active: 'no' }),
    },
    {
      name: 'anchors, aliases and merge keys',
      yaml: '- hosts: all\n  vars:\n    base: &b {x: 1, y: 2}\n    ext:\n      <<: *b\n      y: 3\n  tasks:\n    - set_fact: *b\n',
      check: (pb) => {
        assert.deepEqual(pb.plays[0]!.vars, { base: { x: 1, y: 2 }, ext: { x: 1, y: 3 } });
        assert.deepEqual((pb.plays[0]!.tasks[0] as ModuleTask).args, { x: 1, y: 2 });
      },
    },
    {
      name: 'play-level environment, ignore_errors and timeout become task defaults',
      yaml: '- hosts: all\n  environment: {A: "1"}\n  ignore_errors: true\n  timeout: 9\n  tasks:\n    - shell: x\n    - shell: y\n      timeout: 2\n',
      check: (pb) => {
        const ts = pb.plays[0]!.tasks as ModuleTask[];
        assert.deepEqual(ts[0]!.environment, { A: '1' });
        assert.equal(ts[0]!.ignoreErrors, true);
        assert.equal(ts[0]!.timeout, 9);
        assert.equal(ts[1]!.timeout, 2);
      },
    },
    {
      name: 'y and n stay strings; 0755 is octal as in PyYAML',
      yaml: '- hosts: all\n  vars: {y: n, mode: 0755, flag: on}\n',
      check: (pb) => assert.deepEqual(pb.plays[0]!.vars, { y: 'n', mode: 493, flag: true }),
    },
  ];
  for (const c of cases) test(c.name, () => c.check(parse(c.yaml)));
});

describe('parsePlaybook: invalid playbooks', () => {
  const cases: Array<[string, string, string]> = [
    ['empty file', '', `${F}:1:1: playbook is empty`],
    ['only comments', '# nothing\n', `${F}:1:1: playbook is empty`],
    ['empty list', '[]\n', `${F}:1:1: playbook is empty`],
    ['not a list', 'hosts: all\n', `${F}:1:1: a playbook must be a list of plays (- hosts: ... tasks: ...), got a mapping`],
    ['scalar', 'hello\n', `${F}:1:1: a playbook must be a list of plays`],
    ['play not a mapping', '- just a string\n', `${F}:1:3: a play must be a mapping with hosts: and tasks:, got a string`],
    ['missing hosts', '- name: x\n  tasks: []\n', `${F}:1:3: play 'x': hosts is required`],
    ['empty hosts', '- hosts: ""\n', `${F}:1:10: play: hosts must be a host pattern`],
    ['unknown play keyword', '- hosts: a\n  taks: []\n', `${F}:2:3: play: unknown keyword 'taks' (did you mean 'tasks'?)`],
    ['module at play level', '- hosts: a\n  shell: ls\n', `${F}:2:3: play: unknown keyword 'shell' ('shell' is a module: put it under tasks:)`],
    ['import_playbook', '- import_playbook: other.yml\n', `${F}:1:3: import_playbook is not supported by nodesweep`],
    ['roles', '- hosts: a\n  roles: [x]\n', `${F}:2:3: play: 'roles' is not supported by nodesweep`],
    ['serial bool list', '- hosts: a\n  serial: [true]\n', `${F}:2:11: serial must be a number, a percentage like '30%' or a list of them, got [true]`],
    ['serial bad string', '- hosts: a\n  serial: lots\n', `${F}:2:11: serial must be a number, a percentage like '30%' or a list of them, got "lots"`],
    ['serial over 100%', '- hosts: a\n  serial: "150%"\n', `${F}:2:11: serial must be a number`],
    ['max_fail_percentage', '- hosts: a\n  max_fail_percentage: many\n', `${F}:2:24: play: max_fail_percentage must be a number from 0 to 100`],
    ['gather_facts not bool', '- hosts: a\n  gather_facts: sometimes\n', `${F}:2:17: play: gather_facts must be a boolean`],
    ['tasks not a list', '- hosts: a\n  tasks: {shell: ls}\n', `${F}:2:10: play: tasks must be a list of tasks, got a mapping`],
    ['task not a mapping', '- hosts: a\n  tasks:\n    - shell ls\n', `${F}:3:7: a task must be a mapping`],
    ['unknown task keyword', '- hosts: a\n  tasks:\n    - name: x\n      shell: ls\n      whn: y\n', `${F}:5:7: task 'x': unknown keyword 'whn' (did you mean 'when'?)`],
    ['unknown module close', '- hosts: a\n  tasks:\n    - name: x\n      shel: ls\n', `${F}:4:7: task 'x': unknown module 'shel' (did you mean 'shell'?)`],
    ['unknown fqcn module', '- hosts: a\n  tasks:\n    - ansible.builtin.debugg: {msg: x}\n', `${F}:3:7: task: unknown module 'ansible.builtin.debugg' (did you mean 'debug'?)`],
    ['unknown module far', '- hosts: a\n  tasks:\n    - frobnicate: {x: 1}\n', `${F}:3:7: task: unknown keyword or module 'frobnicate' (modules: debug, fail, set_fact, shell, wait_for)`],
    ['two modules', '- hosts: a\n  tasks:\n    - name: x\n      shell: ls\n      debug: {msg: y}\n', `${F}:5:7: task 'x': two modules given ('shell' and 'debug'); a task runs exactly one module`],
    ['no module', '- hosts: a\n  tasks:\n    - name: x\n      when: true\n', `${F}:3:7: task 'x': no module given (expected exactly one of: debug, fail, set_fact, shell, wait_for)`],
    ['unsupported keyword', '- hosts: a\n  tasks:\n    - shell: ls\n      delegate_to: localhost\n', `${F}:4:7: task: 'delegate_to' is not supported by nodesweep`],
    ['when as a number', '- hosts: a\n  tasks:\n    - shell: ls\n      when: 5\n', `${F}:4:13: task: when must be a string, a boolean or a list of them, got 5`],
    ['when list with a map', '- hosts: a\n  tasks:\n    - shell: ls\n      when: [a, {b: 1}]\n', `${F}:4:13: task: when must be a string, a boolean or a list of them`],
    ['retries as a list', '- hosts: a\n  tasks:\n    - shell: ls\n      retries: [3]\n', `${F}:4:16: task: retries must be a number >= 0 or a template, got [3]`],
    ['timeout zero', '- hosts: a\n  tasks:\n    - shell: ls\n      timeout: 0\n', `${F}:4:16: task: timeout must be a number of seconds > 0, got 0`],
    ['register not a name', '- hosts: a\n  tasks:\n    - shell: ls\n      register: "my var"\n', `${F}:4:17: task: register must be a variable name`],
    ['loop as a number', '- hosts: a\n  tasks:\n    - shell: ls\n      loop: 3\n', `${F}:4:13: task: loop must be a list or a template that gives one, got 3`],
    ['two loops', '- hosts: a\n  tasks:\n    - shell: ls\n      loop: [1]\n      with_items: [2]\n', `${F}:5:7: task: both 'loop' and 'with_items' given; use one loop`],
    ['loop_control unknown', '- hosts: a\n  tasks:\n    - shell: ls\n      loop: [1]\n      loop_control: {loopvar: x}\n', `${F}:5:22: task: loop_control: unknown keyword 'loopvar' (did you mean 'loop_var'?)`],
    ['listen in a task', '- hosts: a\n  tasks:\n    - shell: ls\n      listen: x\n', `${F}:4:7: task: 'listen' is only valid in handlers`],
    ['notify as a map', '- hosts: a\n  tasks:\n    - shell: ls\n      notify: {a: 1}\n', `${F}:4:15: task: notify must be a string or a list of strings`],
    ['vars not a map', '- hosts: a\n  tasks:\n    - shell: ls\n      vars: [1]\n', `${F}:4:13: task: vars must be a mapping of variable names to values`],
    ['check_mode string', '- hosts: a\n  tasks:\n    - shell: ls\n      check_mode: maybe\n', `${F}:4:19: task: check_mode must be a boolean`],
    ['unknown module parameter', '- hosts: a\n  tasks:\n    - name: x\n      shell: ls\n      args: {chdr: /tmp}\n', `${F}:5:14: module 'shell': unsupported parameter 'chdr' (did you mean 'chdir'?); supported: cmd, chdir, creates, removes`],
    ['missing required parameter', '- hosts: a\n  tasks:\n    - wait_for: {timeout: 3}\n', `${F}:3:7: module 'wait_for': missing required parameter 'port'`],
    ['wrong parameter type', '- hosts: a\n  tasks:\n    - wait_for: {port: [22]}\n', `${F}:3:24: module 'wait_for': parameter 'port' must be a number, got [22]`],
    ['wrong nested type', '- hosts: a\n  tasks:\n    - wait_for: {port: 22, hosts: [a, [b]]}\n', `${F}:3:39: module 'wait_for': parameter 'hosts[1]' must be a string, got ["b"]`],
    ['unconvertible string', '- hosts: a\n  tasks:\n    - wait_for: port=http\n', `${F}:3:7: module 'wait_for': parameter 'port' must be a number, got "http"`],
    ['bad value in block style', '- hosts: a\n  tasks:\n    - wait_for:\n        port: 22\n        timeout: soon\n', `${F}:5:18: module 'wait_for': parameter 'timeout' must be a number, got "soon"`],
    ['enum value', '- hosts: a\n  tasks:\n    - wait_for:\n        port: 1\n        state: bouncing\n', `${F}:5:16: module 'wait_for': parameter 'state' must be one of "started", "stopped", got "bouncing"`],
    ['unquoted template', '- hosts: a\n  tasks:\n    - shell: ls\n      loop: {{ items }}\n', `${F}:4:13: task: a value starting with {{ must be quoted, e.g. "{{ items }}"`],
    ['unquoted template in args', '- hosts: a\n  tasks:\n    - debug:\n        msg: {{ x }}\n', `${F}:4:14: task: a value starting with {{ must be quoted, e.g. "{{ x }}"`],
    ['non-kv string for a mapping module', '- hosts: a\n  tasks:\n    - debug: hello there\n', `${F}:3:14: task: module 'debug' takes parameters as a mapping or key=value pairs, got "hello there"`],
    ['module value a list', '- hosts: a\n  tasks:\n    - debug: [1]\n', `${F}:3:14: task: parameters of module 'debug' must be a mapping, got [1]`],
    ['block with a module', '- hosts: a\n  tasks:\n    - block: []\n      shell: ls\n', `${F}:4:7: block: a block cannot also run a module ('shell')`],
    ['rescue without block', '- hosts: a\n  tasks:\n    - rescue: [{shell: ls}]\n', `${F}:3:7: block: rescue/always need a block: list`],
    ['block unknown keyword', '- hosts: a\n  tasks:\n    - block: []\n      register: x\n', `${F}:4:7: block: unknown keyword 'register'`],
    ['error inside a block', '- hosts: a\n  tasks:\n    - block:\n        - shell: ls\n          whenn: x\n', `${F}:5:11: task: unknown keyword 'whenn' (did you mean 'when'?)`],
    ['handler without name', '- hosts: a\n  handlers:\n    - shell: ls\n', `${F}:3:7: handler: needs a name or listen: to be notified`],
    ['block in handlers', '- hosts: a\n  handlers:\n    - block: []\n', `${F}:3:7: handler: blocks are not supported in handlers`],
    ['duplicate keys', '- hosts: a\n  hosts: b\n', `${F}:2:3: YAML syntax error: duplicate key`],
    ['tab indentation', '- hosts: a\n\ttasks: []\n', `${F}:2:1: tab character used for indentation; YAML allows only spaces`],
    ['truncated quote', '- hosts: a\n  tasks:\n    - name: "x\n', `${F}:4:1: YAML syntax error: Missing closing "quote`],
    ['unclosed flow', '- hosts: [a, b\n', `${F}:2:1: YAML syntax error:`],
    ['binary garbage', '\u0000\u0001\u0002ELF', `${F}:1:1: not a YAML text file: control character U+0000`],
    ['multiple documents', '- hosts: a\n---\n- hosts: b\n', `${F}:2:1: YAML syntax error: Source contains multiple documents`],
  ];
  for (const [name, yaml, prefix] of cases) {
    test(name, () => {
      assert.throws(
        () => parse(yaml),
        (e: unknown) => {
          assert.ok(e instanceof PlaybookError, `expected PlaybookError, got ${String(e)}`);
          assert.equal(e.exitCode, ExitCode.INVALID_INPUT);
          assert.ok(e.message.startsWith(prefix), `message:\n  ${e.message}\ndoes not start with:\n  ${prefix}`);
          return true;
        },
      );
    });
  }
});

describe('validateModuleArgs', () => {
  const loc = { file: F, line: 7, column: 5 };
  const waitFor = modules.get('wait_for')!;
  test('returns parsed parameters with defaults and Ansible conversions', () => {
    assert.deepEqual(validateModuleArgs(waitFor, { port: '22', active: 'yes' }, loc), { port: 22, active: true, timeout: 300 });
    assert.deepEqual(validateModuleArgs(modules.get('debug')!, { msg: 5 }, loc), { msg: 5, verbosity: 0 });
  });
  test('after templating, template-looking values are not excused', () => {
    assert.throws(() => validateModuleArgs(waitFor, { port: '{{ p }}' }, loc), /site\.yml:7:5: module 'wait_for': parameter 'port' must be a number, got "\{\{ p \}\}"/);
  });
  test('at load time, templated values are excused', () => {
    assert.deepEqual(validateModuleArgs(waitFor, { port: '{{ p }}' }, loc, { allowTemplates: true }), { port: '{{ p }}' });
  });
  test('does not mutate its input', () => {
    const args = { port: '22' };
    validateModuleArgs(waitFor, args, loc);
    assert.deepEqual(args, { port: '22' });
  });
});

describe('helpers', () => {
  test('parseKeyValue', () => {
    const cases: Array<[string, Record<string, string> | undefined]> = [
      ['msg=hello', { msg: 'hello' }],
      ['msg="hello world" var=x', { msg: 'hello world', var: 'x' }],
      ["a='q' b=", { a: 'q', b: '' }],
      ['msg={{ x | default("a b") }}', { msg: '{{ x | default("a b") }}' }],
      ['hello', undefined],
      ['msg="unterminated', undefined],
    ];
    for (const [s, want] of cases) assert.deepEqual(parseKeyValue(s), want, s);
  });
  test('closeMatches', () => {
    assert.deepEqual(closeMatches('whn', ['when', 'name', 'tags']), ['when']);
    assert.deepEqual(closeMatches('zzzzzz', ['when', 'name']), []);
  });
});

describe('loadPlaybook', () => {
  test('reads a file; missing and binary files give PlaybookError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ns-pb-'));
    try {
      const good = join(dir, 'ok.yml');
      await writeFile(good, '\ufeff- hosts: all\n  tasks:\n    - shell: echo ok\n');
      const pb = await loadPlaybook(good, { modules });
      assert.equal((pb.plays[0]!.tasks[0] as ModuleTask).args['cmd'], 'echo ok');
      const bin = join(dir, 'bin.yml');
      await writeFile(bin, Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x10]));
      await assert.rejects(loadPlaybook(bin, { modules }), (e: unknown) => e instanceof PlaybookError && e.message.startsWith(`${bin}:1:1: not a UTF-8 text file`));
      await assert.rejects(loadPlaybook(join(dir, 'nope.yml'), { modules }), (e: unknown) => e instanceof PlaybookError && e.message === `${join(dir, 'nope.yml')}: cannot read playbook: no such file`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('10k tasks parse: every task, in order', () => {
    // how fast is bench/core.ts's question (npm run bench:core): a wall-clock bound fails on a busy machine
    const pb = parse(bigPlaybookText(10_000));
    const tasks = pb.plays[0]!.tasks;
    assert.equal(tasks.length, 10_000);
    assert.deepEqual([tasks[0]!.name, tasks[9_999]!.name], ['task 0', 'task 9999']);
  });

  test('example playbooks under test/fixtures/playbooks load', async () => {
    const { readdir } = await import('node:fs/promises');
    const dir = new URL('../fixtures/playbooks/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yml'));
    assert.ok(files.length > 0);
    for (const f of files) {
      const pb = await loadPlaybook(new URL(f, dir).pathname, { modules });
      assert.ok(pb.plays.length > 0, f);
    }
  });
});

describe('malformed input never escapes as a non-PlaybookError', () => {
  test('seeded mutations of a real playbook', async () => {
    const { readFile } = await import('node:fs/promises');
    const base = await readFile(new URL('../fixtures/playbooks/rolling-restart.yml', import.meta.url), 'utf8');
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['\t', ' ', '\n', ':', '-', '{', '}', '[', ']', '"', "'", '&a', '*a', '<<', '{{', '}}', '%', '#', '!!binary', '?', '|', '>'];
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      let text = base;
      for (let m = 0; m < 1 + rand(4); m++) {
        const at = rand(text.length);
        const op = rand(3);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + rand(8));
        else if (op === 1) text = text.slice(0, at) + alphabet[rand(alphabet.length)] + text.slice(at);
        else text = text.slice(0, at) + text.slice(at, at + 20).split('').reverse().join('') + text.slice(at + 20);
      }
      try {
        parse(text);
      } catch (e) {
        assert.ok(e instanceof PlaybookError, `mutation ${i} threw ${(e as Error).stack}\n--- input ---\n${text}`);
        assert.match(e.message, /^site\.yml(:\d+:\d+)?: /);
        errors++;
      }
    }
    assert.ok(errors > 100, `only ${errors} of 400 mutations were rejected`);
  });
});
