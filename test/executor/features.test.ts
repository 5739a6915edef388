/** Task keywords end to end, from playbook YAML (parsePlaybook) to events, on LocalTransport. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlaybook } from '../../src/playbook/load.js';
import { runPlaybook } from '../../src/executor/run.js';
import type { RunOptions } from '../../src/contracts/run-options.js';
import { harness, inventory, results } from './harness.js';

async function run(yaml: string, hosts: Parameters<typeof inventory>[0] = 1, opts: Partial<RunOptions> = {}, groups: Record<string, string[]> = {}) {
  const h = harness(opts);
  const pb = parsePlaybook(yaml, '/tmp/features.yml', { modules: h.ctx.modules });
  const summary = await runPlaybook(pb, inventory(hosts, groups), h.ctx);
  const msg = (task: string, host = 'host1') => results(h.events, { task, host })[0]?.result.msg;
  return { ...h, summary, msg };
}

describe('variables and templating', () => {
  test('lazy vars, magic vars, hostvars, groups, omit', async () => {
    const r = await run(
      `
- hosts: all
  gather_facts: false
  vars:
    greeting: "hello {{ target }}"
    target: "{{ inventory_hostname }}"
  tasks:
    - name: lazy
      debug: { msg: "{{ greeting }}" }
    - name: magic
      debug: { msg: "{{ group_names | join(',') }} {{ groups['web'] | join(',') }} {{ ansible_play_hosts | length }}" }
    - name: hostvars
      debug: { msg: "{{ hostvars['host2']['color'] }}" }
    - name: omit
      shell:
        cmd: echo ok
        chdir: "{{ nowhere | default(omit) }}"
`,
      { host1: { color: 'red' }, host2: { color: 'blue' } },
      {},
      { web: ['host1', 'host2'] },
    );
    assert.equal(r.msg('lazy'), 'hello host1');
    assert.equal(r.msg('magic'), 'web host1,host2 2');
    assert.equal(r.msg('hostvars'), 'blue');
    assert.equal(results(r.events, { task: 'omit' })[0]!.status, 'changed');
  });

  test('registered shapes: skipped tasks register skipped: true; failed/changed booleans', async () => {
    const r = await run(`
- hosts: all
  gather_facts: false
  tasks:
    - name: skip me
      shell: echo x
      when: false
      register: s
    - name: show
      debug: { msg: "{{ s.skipped }} {{ s.changed }} {{ s.skip_reason }}" }
    - name: run
      command: echo hi
      register: c
    - name: show2
      debug: { msg: "{{ c.changed }} {{ c.failed }} {{ c.stdout_lines }}" }
`);
    assert.equal(r.msg('show'), 'True False Conditional result was False');
    assert.equal(r.msg('show2'), "True False ['hi']");
    const skipped = results(r.events, { task: 'skip me' })[0]!;
    assert.equal(skipped.result.false_condition, false);
  });

  test('environment (play < task), loop_control index_var and label, set_fact in a loop', async () => {
    const r = await run(`
- hosts: all
  gather_facts: false
  environment:
    A: play
    B: play
  tasks:
    - name: env
      shell: echo "$A $B"
      environment:
        B: "{{ 'task' }}"
      register: e
    - name: indexed
      debug: { msg: "{{ idx }}={{ item.n }}" }
      loop: [{ n: a }, { n: b }]
      loop_control:
        index_var: idx
        label: "{{ item.n }}"
    - name: accumulate
      set_fact:
        acc: "{{ (acc | default([])) + [item] }}"
      loop: [1, 2, 3]
    - name: show
      debug: { msg: "{{ e.stdout }} {{ acc }}" }
`);
    assert.equal(r.msg('show'), 'play task [1, 2, 3]');
    const items = results(r.events, { task: 'indexed', items: true });
    assert.deepEqual(items.map((e) => [e.item, e.result.msg]), [['a', '0=a'], ['b', '1=b']]);
  });

  test('extra vars beat set_fact and play vars', async () => {
    const r = await run(
      `
- hosts: all
  gather_facts: false
  vars: { v: play }
  tasks:
    - set_fact: { v: fact }
    - name: show
      debug: { msg: "{{ v }}" }
`,
      1,
      { extraVars: { v: 'extra' } },
    );
    assert.equal(r.msg('show'), 'extra');
  });
});

describe('conditions and errors', () => {
  test('a when that cannot be evaluated fails the task with the condition in the message', async () => {
    const r = await run(`
- hosts: all
  gather_facts: false
  tasks:
    - name: bad when
      debug: { msg: x }
      when: undefined_thing > 3
`);
    const e = results(r.events, { task: 'bad when' })[0]!;
    assert.equal(e.status, 'failed');
    assert.match(String(e.result.msg), /The conditional check 'undefined_thing > 3' failed/);
    assert.equal(r.summary.exitCode, 2);
  });

  test('block keywords are inherited: when, become_user, ignore_errors, no_log', async () => {
    const r = await run(
      `
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: who
          command: id -un
          register: who
        - name: fails quietly
          command: /bin/false
      become: true
      become_user: nobody
      ignore_errors: true
      no_log: true
      when: inventory_hostname == 'host1'
    - name: show
      debug: { msg: "{{ who.stdout | default('skipped') }}" }
`,
      2,
    );
    assert.equal(r.msg('show', 'host1'), 'nobody');
    assert.equal(r.msg('show', 'host2'), 'skipped');
    const quiet = results(r.events, { task: 'fails quietly', host: 'host1' })[0]!;
    assert.equal(quiet.ignored, true);
    assert.equal(quiet.noLog, true);
    assert.equal(r.summary.exitCode, 0);
  });

  test('handlers notifying handlers; a handler failing fails the host', async () => {
    const r = await run(`
- hosts: all
  gather_facts: false
  tasks:
    - name: change
      command: "true"
      notify: first
  handlers:
    - name: second
      command: /bin/false
    - name: first
      command: "true"
      notify: second
`);
    const started = r.events.filter((e) => e.kind === 'handler_start').map((e) => (e.kind === 'handler_start' ? e.handler : ''));
    assert.deepEqual(started, ['first', 'second']);
    assert.equal(r.summary.stats.host1!.failed, 1);
    assert.equal(r.summary.exitCode, 2);
  });
});
