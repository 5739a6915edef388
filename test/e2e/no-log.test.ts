/**
 * no_log through the real CLI: one secret runs through every level that can censor it (play, with a templated
 * value; block; task; loop item) and into every output (console at -vvv, JSON report, retry file, JUnit, log file,
 * HTML report, metrics, history database). The secret must appear in no byte of any of them, and the censored
 * placeholder must stand where the results would be. Which results are censored (including a task's and a
 * block's `no_log: false` under a `no_log` play, and the play's handlers) comes from real ansible-playbook 2.14.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { ansiblePlaybook } from '../helpers/ansible.js';
import { NO_LOG_RESULT } from '../../src/events/events.js';

const CENSORED = NO_LOG_RESULT.censored;

function playbook(secret: string): string {
  return `
- name: play-level no_log
  hosts: all
  gather_facts: false
  no_log: "{{ hide_results }}"
  vars:
    hide_results: true
    secret: ${secret}
  tasks:
    - name: play level shell
      shell: echo "{{ secret }}-play-shell"
    - name: play level debug
      debug:
        msg: "{{ secret }}-play-debug"
    - name: play level loop
      debug:
        msg: "{{ item }}"
      loop: ["{{ secret }}-play-item"]
    - name: play level failure ignored
      shell: echo "{{ secret }}-play-fail" >&2; exit 3
      ignore_errors: true
    - name: task false under play true
      debug:
        msg: shown-under-task-false
      no_log: false
    - name: block false under play true
      block:
        - name: in block false
          debug:
            msg: shown-under-block-false
      no_log: false
    - name: notify
      debug:
        msg: "{{ secret }}-notify"
      changed_when: true
      notify: h
  handlers:
    - name: h
      debug:
        msg: "{{ secret }}-handler"
- name: lower levels
  hosts: all
  gather_facts: false
  vars:
    secret: ${secret}
  tasks:
    - name: block level
      block:
        - name: in block true
          debug:
            msg: "{{ secret }}-block"
      no_log: true
    - name: task level
      shell: echo "{{ secret }}-task"
      no_log: true
    - name: loop item level
      debug:
        msg: "{{ item }}"
      loop: ["{{ secret }}-item"]
      no_log: "{{ item is search('-item') }}"
    - name: shown
      debug:
        msg: shown-no-no_log
    - name: last failure
      fail:
        msg: "{{ secret }}-fail"
      no_log: true
`;
}

/** ansible-playbook's own verdict: task name -> was its result censored (json callback, -c local). */
async function ansibleCensored(dir: string, file: string): Promise<{ code: number; censored: Map<string, boolean> }> {
  const run = await ansiblePlaybook(dir, ['-i', 'localhost,', '-c', 'local', file], { ANSIBLE_STDOUT_CALLBACK: 'json' });
  let doc: { plays: { tasks: { task: { name: string }; hosts: Record<string, Record<string, unknown>> }[] }[] };
  try {
    doc = JSON.parse(run.stdout) as typeof doc;
  } catch (e) {
    throw new Error(`ansible-playbook output is not JSON: ${String(e)}\n${run.stdout}`);
  }
  const censored = new Map<string, boolean>();
  for (const p of doc.plays) for (const t of p.tasks) censored.set(t.task.name, 'censored' in t.hosts['localhost']!);
  return { code: run.code, censored };
}

/** Every file under dir, recursively (the history db's -wal/-shm siblings and any temp file included). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name));
}

test('no_log at every level censors the secret in every output, as ansible-playbook does', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-nolog-'));
  try {
    const secret = `S3CRET${randomBytes(6).toString('hex')}`;
    const file = join(dir, 'pb.yml');
    writeFileSync(file, playbook(secret));
    const inventory = join(dir, 'inv.ini');
    writeFileSync(inventory, 'localhost ansible_connection=local\n');
    const out = join(dir, 'out');
    mkdirSync(out);
    const o = (name: string) => join(out, name);

    const [theirs, ours] = await Promise.all([
      ansibleCensored(dir, file),
      runCli(
        ['run', file, '-i', inventory, '-vvv', '--report-json', o('report.json'), '--junit', o('junit.xml'), '--log-file', o('log.jsonl'),
          '--report-html', o('report.html'), '--metrics-file', o('nodesweep.prom'), '--state-db', o('history.db')],
        { timeoutMs: 120_000 },
      ),
    ]);

    // The oracle: everything below the play's no_log is censored but what says no_log: false, and the handler.
    assert.deepEqual([...theirs.censored.entries()].filter(([, c]) => !c).map(([t]) => t).sort(), ['in block false', 'shown', 'task false under play true']);
    assert.equal(ours.code, theirs.code, ours.stderr);

    // console at -vvv
    assert.ok(!ours.stdout.includes(secret) && !ours.stderr.includes(secret), `the secret is on the console:\n${ours.stdout}${ours.stderr}`);
    assert.ok(ours.stdout.includes(`"censored": "${CENSORED}"`), ours.stdout);
    assert.match(ours.stdout, /shown-under-task-false/, 'no_log: false under a no_log play shows the result, as in Ansible');

    // every byte of every file written, whatever its format
    const files = filesUnder(out).sort();
    for (const name of ['report.json', 'report.retry', 'junit.xml', 'log.jsonl', 'report.html', 'nodesweep.prom', 'history.db']) {
      assert.ok(files.includes(o(name)), `${name} was written (${files.join(', ')})`);
    }
    for (const f of files) assert.ok(!readFileSync(f).includes(secret), `the secret is in ${f}`);

    // the history database, table by table (the file bytes above miss nothing SQLite compresses: it does not)
    const db = new Database(o('history.db'), { readonly: true });
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[];
      assert.ok(tables.length > 0);
      for (const { name } of tables) {
        const rows = JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
        assert.ok(!rows.includes(secret), `the secret is in table ${name}`);
      }
      assert.equal((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1, 'the run was recorded');
    } finally {
      db.close();
    }

    // The censored placeholder stands where each result would be, for the same tasks as ansible-playbook.
    const report = JSON.parse(readFileSync(o('report.json'), 'utf8')) as { hosts: Record<string, { tasks: { task: string; result: Record<string, unknown> }[] }> };
    const reported = new Map(report.hosts['localhost']!.tasks.map((t) => [t.task, t.result.censored === CENSORED]));
    assert.deepEqual(reported, theirs.censored, 'JSON report');
    const logged = new Map<string, boolean>();
    for (const line of readFileSync(o('log.jsonl'), 'utf8').trim().split('\n')) {
      const e = JSON.parse(line) as { message: string; task: string; item?: unknown; result?: Record<string, unknown> };
      if (e.message === 'task_result' && !('item' in e)) logged.set(e.task, e.result!.censored === CENSORED);
    }
    assert.deepEqual(logged, theirs.censored, 'log file');
    const junit = readFileSync(o('junit.xml'), 'utf8');
    assert.match(junit, /<testcase classname="lower levels" name="localhost: last failure"[^>]*>\s*<failure [^>]*>[^<]*the output has been hidden/, junit);
    const html = readFileSync(o('report.html'), 'utf8');
    assert.ok(html.includes('the output has been hidden due to the fact that'), 'the HTML task table shows the placeholder');
    assert.ok(html.includes('shown-no-no_log'), 'and the messages that are not censored');
    assert.equal(readFileSync(o('report.retry'), 'utf8'), 'localhost\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
