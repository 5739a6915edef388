/**
 * Interrupted runs, with the real CLI against real sshd servers and real signals sent to the CLI's PID:
 * what the recap and the reports say, and that no remote temp dir is left behind.
 * Each sshd gets its own TMPDIR (sshd_config SetEnv), so the remote shells' `nodesweep.*` dirs of this file
 * are told apart from those of anything else running on the machine.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { runCli, recapLines } from '../helpers/cli.js';
import { recapLine } from '../../src/events/stats.js';
import { emptyStats } from '../../src/events/events.js';
import { SshTransport } from '../../src/transport/ssh.js';

/** ansible-playbook -c local on one host: the oracle for what a task's result says. */
function ansibleLocal(dir: string, playbook: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'ansible-playbook',
      ['-i', 'node1,', '-c', 'local', playbook],
      {
        cwd: dir,
        timeout: 120_000,
        env: {
          ...process.env,
          ANSIBLE_NOCOLOR: '1',
          ANSIBLE_RETRY_FILES_ENABLED: '0',
          ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp'),
          ANSIBLE_REMOTE_TEMP: join(dir, 'ansible-rtmp'),
          ANSIBLE_PYTHON_INTERPRETER: 'auto_silent',
          ANSIBLE_CONFIG: join(dir, 'none.cfg'),
        },
      },
      (_err, stdout) => resolve(stdout),
    );
  });
}

/** The `fatal: [h]: FAILED! => {...}` results of a transcript, parsed. */
function fatalResults(stdout: string): Record<string, unknown>[] {
  return [...stdout.matchAll(/^fatal: \[[^\]]+\]: FAILED! => (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!));
}

/** Poll until cond() holds; generous for a loaded 2-core machine. */
async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Send each step's signal to the CLI (by its PID) once every file of that step exists, steps in order. */
function signalWhen(...steps: { files: string[]; signal: NodeJS.Signals }[]): (child: ChildProcess) => void {
  return (child) => {
    let next = 0;
    const poll = setInterval(() => {
      const step = steps[next];
      if (!step || !step.files.every((f) => existsSync(f))) return;
      next++;
      process.kill(child.pid!, step.signal);
      if (next === steps.length) clearInterval(poll);
    }, 50);
    child.on('close', () => clearInterval(poll));
  };
}

/** Running (a zombie, or no such process, is not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('interrupted runs', () => {
  let fleet: Fleet;
  let remoteTmp: string;
  let inventory: string;
  const nodesweepDirs = () => readdirSync(remoteTmp).filter((n) => n.startsWith('nodesweep.'));
  /** A dir for the marker files the playbook's tasks touch when they start, and the playbook's path. */
  const scenario = (name: string) => {
    const marks = join(fleet.dir, `marks-${name}`);
    mkdirSync(marks);
    return { marks, playbook: join(fleet.dir, `${name}.yml`) };
  };
  before(async () => {
    // The fleet's dir is created by startFleet; the remote TMPDIR must exist before sshd runs a shell.
    remoteTmp = join('/tmp', `nodesweep-e2e-intr-${process.pid}`);
    mkdirSync(remoteTmp, { recursive: true });
    chmodSync(remoteTmp, 0o1777);
    fleet = await startFleet(3, { extraConfig: [`SetEnv TMPDIR=${remoteTmp}`] });
    inventory = fleet.writeInventory();
  });
  after(async () => {
    await fleet?.stop();
    rmSync(remoteTmp, { recursive: true, force: true });
  });

  test('Ctrl-C: the recap lists every host with its counts so far; JSON, JUnit and log keep the interrupted task', async () => {
    const { marks, playbook } = scenario('interrupt');
    writeFileSync(
      playbook,
      `- hosts: nodes
  gather_facts: false
  tasks:
    - name: first
      shell: echo hi
    - name: second
      shell: touch ${marks}/{{ inventory_hostname }}-{{ item }}; [ {{ item }} = a ] || exec sleep 300
      loop: [a, b]
    - name: never
      shell: echo never
`,
    );
    const report = join(fleet.dir, 'interrupt.json');
    const junit = join(fleet.dir, 'interrupt.xml');
    const log = join(fleet.dir, 'interrupt.log');
    // --forks 2: node3 never starts (both slots hang in `second`), so it has no result at all.
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inventory), '--forks', '2', '--report-json', report, '--junit', junit, '--log-file', log], {
      onSpawn: signalWhen({ files: [join(marks, 'node1-b'), join(marks, 'node2-b')], signal: 'SIGINT' }),
    });
    assert.equal(r.code, 99, r.stdout + r.stderr);
    assert.match(r.stderr, /\[ERROR\]: User interrupted execution \(SIGINT\)|SIGINT: stopping new work/);

    // ansible-playbook's recap line format (recapLine is checked against it in test/e2e/run-ssh), one per host.
    const done = { ...emptyStats(), ok: 1, changed: 1 };
    assert.deepEqual(recapLines(r.stdout), [recapLine('node1', done), recapLine('node2', done), recapLine('node3', emptyStats())]);

    const json = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(json.exit_code, 99);
    assert.equal(json.interrupted, true);
    assert.deepEqual(Object.keys(json.hosts), ['node1', 'node2', 'node3']);
    for (const h of ['node1', 'node2']) {
      assert.deepEqual(json.hosts[h].stats, done);
      const tasks = json.hosts[h].tasks;
      assert.deepEqual(
        tasks.map((t: { task: string; status: string }) => [t.task, t.status]),
        [
          ['first', 'changed'],
          ['second', 'interrupted'],
        ],
      );
      const second = tasks[1];
      assert.equal(second.module, 'shell');
      assert.equal(typeof second.duration_ms, 'number');
      assert.deepEqual(second.result, { changed: false, item: 'b', msg: 'interrupted by SIGINT while the task was running: its commands were killed, it has no result' });
      // the loop's item that finished before the interrupt is kept
      assert.deepEqual(
        second.items.map((i: { item: string; status: string }) => [i.item, i.status]),
        [['a', 'changed']],
      );
    }
    assert.deepEqual(json.hosts.node3, { stats: emptyStats(), tasks: [] });

    const xml = readFileSync(junit, 'utf8');
    for (const h of ['node1', 'node2']) {
      assert.match(xml, new RegExp(`<testcase [^>]*name="${h}: second"[^>]*>\\s*<error message="interrupted by SIGINT[^"]*" type="interrupted">`));
    }
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const interrupted = entries.filter((e) => e.event === 'task_interrupted');
    assert.deepEqual(interrupted.map((e) => [e.host, e.task, e.status, e.item]).sort(), [
      ['node1', 'second', 'interrupted', 'b'],
      ['node2', 'second', 'interrupted', 'b'],
    ]);

    // every remote shell ended and removed its temp dir
    await until(() => nodesweepDirs().length === 0, `no nodesweep.* dir left in ${remoteTmp} (${nodesweepDirs().join(', ')})`);
  });

  test("a task timeout: and --task-timeout: one result, in ansible-playbook's words, the same in every sink; no temp dir left", async () => {
    const inv = fleet.writeInventory({ file: 'one.ini' });
    const oneHost = readFileSync(inv, 'utf8').split('\n').filter((l) => !/^node[23] /.test(l)).join('\n');
    writeFileSync(inv, oneHost);
    // Output before the hang: when the command is killed, the shell sends it all back while the run, which has
    // its answer already (the task's guard fired), closes the connection.
    const hang = 'head -c 30000000 /dev/zero; exec sleep 300';
    const run = async (name: string, timeoutKeyword: string, extra: string[]) => {
      const playbook = join(fleet.dir, `${name}.yml`);
      writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: hang\n      shell: ${hang}\n${timeoutKeyword}`);
      const files = { json: join(fleet.dir, `${name}.json`), junit: join(fleet.dir, `${name}.xml`), log: join(fleet.dir, `${name}.log`) };
      const r = await runCli(['run', playbook, ...fleet.baseArgs(inv), '--report-json', files.json, '--junit', files.junit, '--log-file', files.log, ...extra]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      await until(() => nodesweepDirs().length === 0, `${name}: no nodesweep.* dir left in ${remoteTmp} (${nodesweepDirs().join(', ')})`);
      const task = JSON.parse(readFileSync(files.json, 'utf8')).hosts.node1.tasks[0];
      delete task.duration_ms;
      const junit = readFileSync(files.junit, 'utf8').match(/<failure[^]*?<\/failure>/)![0];
      const logged = readFileSync(files.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'task_result');
      return { console: fatalResults(r.stdout), json: task, junit, log: [logged.status, logged.result] };
    };
    const byTask = await run('by-task', '      timeout: 1\n', []);
    const byOption = await run('by-option', '', ['--task-timeout', '1']);
    assert.deepEqual(byOption, byTask);

    const oraclePlaybook = join(fleet.dir, 'oracle-timeout.yml');
    writeFileSync(oraclePlaybook, `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hang\n      shell: sleep 300\n      timeout: 1\n`);
    const theirs = fatalResults(await ansibleLocal(fleet.dir, oraclePlaybook));
    assert.equal(theirs.length, 1, 'ansible-playbook reported one failure');
    assert.deepEqual(byTask.console, [{ ...theirs[0], timed_out: true }]);
    assert.deepEqual(byTask.json, { play: 'nodes', task: 'hang', module: 'shell', status: 'failed', result: { ...theirs[0], failed: true, timed_out: true } });
  });

  test('a second Ctrl-C quits, but first kills what runs on the hosts and ends the shells: their temp dirs go, a live shell keeps its own', async () => {
    // Another shell on node1 at the same time (as another run's would be): its dir must survive.
    const h = fleet.hosts[0]!;
    const other = new SshTransport(
      {
        host: 'other', connection: 'ssh', hostname: h.host, port: h.port, user: 'root', identities: [{ path: fleet.key.privateKeyPath, required: true }],
        jumps: [], connectTimeoutMs: 30_000, hostKeyChecking: 'strict', knownHostsFile: fleet.knownHosts,
      },
      { env: {}, globalKnownHostsFiles: [] },
    );
    try {
      const otherDir = (await other.exec('readlink /proc/$$/fd/1', { timeoutMs: 60_000 })).stdout.trim().replace(/\/o$/, '');
      assert.match(otherDir, /\/nodesweep\.\d+\.\d+\.[A-Za-z0-9]+$/);
      const { marks, playbook } = scenario('double');
      // The always: step hangs (a stuck uncordon): the operator presses Ctrl-C again.
      writeFileSync(
        playbook,
        `- hosts: nodes
  gather_facts: false
  tasks:
    - block:
        - name: work
          shell: touch ${marks}/{{ inventory_hostname }}-work; exec sleep 300
      always:
        - name: stuck cleanup
          shell: echo $$ > ${marks}/{{ inventory_hostname }}-always.tmp && mv ${marks}/{{ inventory_hostname }}-always.tmp ${marks}/{{ inventory_hostname }}-always; exec sleep 301
`,
      );
      const r = await runCli(['run', playbook, ...fleet.baseArgs(inventory)], {
        onSpawn: signalWhen(
          { files: fleet.names.map((n) => join(marks, `${n}-work`)), signal: 'SIGINT' },
          { files: fleet.names.map((n) => join(marks, `${n}-always`)), signal: 'SIGINT' },
        ),
      });
      assert.equal(r.code, 99, r.stdout + r.stderr);
      assert.match(r.stderr, /SIGINT again: quitting/);
      const stuck = fleet.names.map((n) => Number(readFileSync(join(marks, `${n}-always`), 'utf8')));
      await until(() => stuck.every((pid) => !alive(pid)), `the stuck always: commands (${stuck.join(', ')}) were killed`);
      await until(
        () => nodesweepDirs().every((d) => join(remoteTmp, d) === otherDir),
        `only the live shell's dir is left in ${remoteTmp} (${nodesweepDirs().join(', ')})`,
      );
      assert.ok(existsSync(otherDir), 'the live shell keeps its dir');
      assert.equal((await other.exec('echo still here', { timeoutMs: 60_000 })).stdout, 'still here\n');
    } finally {
      await other.close();
    }
  });
});
