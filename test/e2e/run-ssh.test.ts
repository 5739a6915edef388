/**
 * The real CLI against real OpenSSH servers on loopback, with ansible-playbook run on the same inventory
 * and playbook as the oracle for results and recap lines.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { runCli, recapLines } from '../helpers/cli.js';

function runAnsible(args: string[], fleet: Fleet): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ansible-playbook', args, {
      env: {
        ...process.env,
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
        ANSIBLE_RETRY_FILES_ENABLED: '0',
        // Pipelining and a short-lived control master keep the oracle fast; masters exit 5 s after the run.
        ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${fleet.knownHosts} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=5s`,
        ANSIBLE_SSH_CONTROL_PATH_DIR: join(fleet.dir, 'cp'),
        ANSIBLE_PIPELINING: '1',
        ANSIBLE_LOCAL_TEMP: join(fleet.dir, 'ansible-tmp'),
        ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// Every outcome the recap counts: ok, changed, failed (one host), ignored, skipped, rescued, loops.
const MIXED_PLAYBOOK = `
- name: Mixed outcomes
  hosts: nodes
  gather_facts: false
  tasks:
    - name: Always changed
      shell: echo hello from $(hostname)
      register: hello
    - name: Not changed
      command: "true"
      changed_when: false
    - name: Skipped on node1
      shell: echo skip
      when: inventory_hostname == 'node1'
    - name: Ignored failure
      shell: exit 3
      ignore_errors: true
    - name: Loop over items
      shell: echo {{ item }}
      loop: [a, b, c]
    - name: Rescue block
      block:
        - name: Fails in block
          shell: exit 1
      rescue:
        - name: Rescue step
          command: "true"
      always:
        - name: Always step
          command: "true"
          changed_when: false
    - name: Fails on node2
      shell: test {{ inventory_hostname }} != node2
    - name: After the failure
      debug:
        msg: "{{ hello.stdout }}"
`;

describe('nodesweep run over SSH', () => {
  let fleet: Fleet;
  let inventory: string;
  before(async () => {
    fleet = await startFleet(3);
    inventory = fleet.writeInventory();
  });
  after(async () => {
    await fleet?.stop();
  });

  test('mixed outcomes: same recap lines and exit code as ansible-playbook', async () => {
    const playbook = join(fleet.dir, 'mixed.yml');
    writeFileSync(playbook, MIXED_PLAYBOOK);
    const report = join(fleet.dir, 'report.json');
    const junit = join(fleet.dir, 'junit.xml');
    const log = join(fleet.dir, 'run.log');
    const [ours, theirs] = await Promise.all([
      runCli(['run', playbook, ...fleet.baseArgs(inventory), '--report-json', report, '--junit', junit, '--log-file', log]),
      runAnsible(['-i', inventory, playbook], fleet),
    ]);
    assert.equal(theirs.code, 2, `ansible-playbook itself: ${theirs.stdout}\n${theirs.stderr}`);
    assert.equal(ours.code, 2, `nodesweep: ${ours.stdout}\n${ours.stderr}`);
    const ourRecap = recapLines(ours.stdout);
    assert.equal(ourRecap.length, 3, ours.stdout);
    assert.deepEqual(ourRecap, recapLines(theirs.stdout));
    assert.match(ours.stdout, /^fatal: \[node2\]: FAILED! => \{/m);
    assert.match(ours.stdout, /^\.\.\.ignoring$/m);
    assert.match(ours.stdout, /^changed: \[node1\] => \(item=b\)$/m);
    assert.doesNotMatch(ours.stdout + ours.stderr, /at .*\.ts:\d+/, 'no stack trace');

    // JSON report: same counts as the recap, every task with its module and status.
    const json = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(json.nodesweep_report, 1);
    assert.equal(json.exit_code, 2);
    assert.equal(json.check_mode, false);
    assert.deepEqual(Object.keys(json.hosts).sort(), ['node1', 'node2', 'node3']);
    for (const line of ourRecap) {
      const [, host, ok, changed, unreachable, failed, skipped, rescued, ignored] = line.match(
        /^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)/,
      )!;
      assert.deepEqual(json.hosts[host!].stats, {
        ok: +ok!, changed: +changed!, unreachable: +unreachable!, failed: +failed!, skipped: +skipped!, rescued: +rescued!, ignored: +ignored!,
      });
    }
    const node2Tasks = json.hosts.node2.tasks as Array<{ task: string; status: string; module: string; duration_ms: number }>;
    const last = node2Tasks[node2Tasks.length - 1]!;
    assert.equal(last.task, 'Fails on node2');
    assert.equal(last.status, 'failed');
    assert.equal(last.module, 'shell');
    assert.ok(node2Tasks.every((t) => typeof t.duration_ms === 'number'));
    // node2 stopped: it never ran the debug task.
    assert.ok(!node2Tasks.some((t) => t.task === 'After the failure'));

    // Retry file beside the report: failed and unreachable hosts only.
    assert.equal(readFileSync(join(fleet.dir, 'report.retry'), 'utf8'), 'node2\n');

    // JUnit: one testcase per host per task result, the failure marked.
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /^<\?xml/);
    assert.match(xml, /<testcase [^>]*name="node2: Fails on node2"[^>]*>\s*<failure/);

    // Log: JSON lines, host and task on every task entry.
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const taskEntries = entries.filter((e) => ['task_start', 'task_result', 'task_retry'].includes(e.event));
    assert.ok(taskEntries.length >= 20, `log has ${entries.length} entries`);
    assert.ok(taskEntries.every((e) => typeof e.host === 'string' && typeof e.task === 'string'));
  });

  test('one SSH connection per host, reused for every task', async () => {
    const playbook = join(fleet.dir, 'many.yml');
    const tasks = Array.from({ length: 15 }, (_, i) => `    - name: step ${i}\n      raw: echo ${i}\n`).join('');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n${tasks}`);
    const before = fleet.hosts.map((h) => h.acceptedLogins());
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inventory)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const after = fleet.hosts.map((h) => h.acceptedLogins());
    assert.deepEqual(after.map((a, i) => a - before[i]!), [1, 1, 1]);
    assert.equal(recapLines(r.stdout).length, 3);
  });

  test('16 hosts at once (inventory names on one sshd): all ok, one login each, nothing on stderr', async () => {
    const h = fleet.hosts[0]!;
    const file = join(fleet.dir, 'sixteen.ini');
    const names = Array.from({ length: 16 }, (_, i) => `alias${i + 1}`);
    writeFileSync(
      file,
      ['[many]', ...names.map((n) => `${n} ansible_host=${h.host} ansible_port=${h.port}`), '', '[many:vars]', 'ansible_user=nodesweep-test', `ansible_ssh_private_key_file=${fleet.key.privateKeyPath}`, ''].join('\n'),
    );
    const playbook = join(fleet.dir, 'sixteen.yml');
    writeFileSync(playbook, '- hosts: many\n  gather_facts: false\n  tasks:\n    - raw: echo one\n    - command: id -un\n      register: who\n    - assert: { that: ["who.stdout == \'nodesweep-test\'"] }\n');
    const before = h.acceptedLogins();
    const r = await runCli(['run', playbook, ...fleet.baseArgs(file)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // e.g. no MaxListenersExceededWarning from 16 tasks listening to the run's Ctrl-C signal at once
    assert.equal(r.stderr, '');
    assert.equal(recapLines(r.stdout).length, 16);
    assert.ok(recapLines(r.stdout).every((l) => /ok=3\s+changed=2\s+unreachable=0\s+failed=0/.test(l)), r.stdout);
    assert.equal(h.acceptedLogins() - before, 16);
  });

  test('become through real sudo as a non-root user', async () => {
    const inv = fleet.writeInventory({ user: 'nodesweep-test', file: 'become.ini' });
    const playbook = join(fleet.dir, 'become.yml');
    writeFileSync(
      playbook,
      `- hosts: nodes
  gather_facts: false
  tasks:
    - name: as login user
      command: id -un
      register: plain
    - name: as root
      command: id -un
      become: true
      register: rooted
    - assert:
        that:
          - plain.stdout == 'nodesweep-test'
          - rooted.stdout == 'root'
`,
    );
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /All assertions passed/);
  });

  test('check mode runs nothing that changes the host', async () => {
    const marker = join(fleet.dir, 'check-marker');
    const playbook = join(fleet.dir, 'check.yml');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - shell: touch ${marker}-{{ inventory_hostname }}\n`);
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inventory), '--check']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const n of fleet.names) assert.equal(existsSync(`${marker}-${n}`), false);
    assert.match(r.stdout, /skipping: \[node1\]/);
  });
});
