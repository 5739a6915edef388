/** The real CLI: `run` with --metrics-file/--report-html/--state-db/--no-history, and `nodesweep history`. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { openHistory, queryHistory } from '../../src/history/db.js';
import { nodeTrend } from '../../src/history/trend.js';
import { recordStoryHistory } from '../report/html-story.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-history-cli-'));
  await writeFile(join(dir, 'inv.ini'), '[local]\nlocalhost ansible_connection=local\n');
  await writeFile(join(dir, 'site.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hello\n      debug:\n        msg: hi\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('run: reports, metrics and history options', () => {
  test('--metrics-file, --report-html and --state-db are written by a run', async () => {
    const db = join(dir, 'a', 'history.db');
    const r = await runCli(['run', join(dir, 'site.yml'), '-i', join(dir, 'inv.ini'), '--state-db', db, '--metrics-file', join(dir, 'a', 'n.prom'), '--report-html', join(dir, 'a', 'r.html')]);
    assert.equal(r.code, 0, r.stderr);
    const prom = await readFile(join(dir, 'a', 'n.prom'), 'utf8');
    assert.match(prom, /^nodesweep_host_unreachable\{node="localhost"\} 0$/m);
    assert.match(prom, /^nodesweep_last_run_timestamp_seconds \d{10}$/m);
    const html = await readFile(join(dir, 'a', 'r.html'), 'utf8');
    assert.match(html, /id="nodesweep-data"/);
    const h = openHistory(db);
    assert.deepEqual(h.prepare('SELECT command, playbook, exit_code FROM runs').all(), [{ command: 'run', playbook: join(dir, 'site.yml'), exit_code: 0 }]);
    assert.deepEqual(h.prepare('SELECT node, verdict FROM node_runs').all(), [{ node: 'localhost', verdict: 'no-data' }]);
    h.close();
  });

  test('a playbook without node facts leaves the default history database alone; --state-db records it anyway', async () => {
    const state = join(dir, 'xdg');
    const args = ['run', join(dir, 'site.yml'), '-i', join(dir, 'inv.ini')];
    const plain = await runCli(args, { env: { XDG_STATE_HOME: state } });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(existsSync(join(state, 'nodesweep', 'history.db')), false);
    const explicit = await runCli([...args, '--state-db', join(state, 'nodesweep', 'history.db')], { env: { XDG_STATE_HOME: state } });
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal(existsSync(join(state, 'nodesweep', 'history.db')), true);
  });

  test('an unusable history database warns and the run still succeeds', async () => {
    const bad = join(dir, 'bad.db');
    await writeFile(bad, 'not a database '.repeat(100));
    const r = await runCli(['run', join(dir, 'site.yml'), '-i', join(dir, 'inv.ini'), '--state-db', bad]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /^\[WARNING\]: history not recorded \(.*bad\.db\): .*bad\.db: not a usable history database/m);
    assert.equal(await readFile(bad, 'utf8'), 'not a database '.repeat(100), 'the file is left as it was');
  });
});

describe('nodesweep history', () => {
  const db = () => join(dir, 'story.db');
  before(() => {
    const h = openHistory(db());
    recordStoryHistory(h, Math.round(Date.now() / 1000));
    h.close();
  });

  test('table: one row per node, the node that crosses 1 GiB soonest first', async () => {
    const r = await runCli(['history', '--state-db', db()]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^history .*story\.db since /);
    assert.match(lines[2]!, /^NODE +SAMPLES +LEAKED +LEAKED\/DAY +CRIO MEM +CRIO\/DAY +SYSTEM\.SLICE +CROSSES 1 GiB +LAST PRUNE$/);
    // worker-02 never pruned sits higher than worker-01, pruned two days ago: it crosses sooner
    assert.deepEqual(lines.slice(3).map((l) => l.split(/\s+/)[0]), ['worker-04', 'worker-02', 'worker-01']);
    assert.match(lines[3]!, /^worker-04 +20 +3,420 +\+720 +1\.22 GiB +\+\d+ MiB +1\.42 GiB +system\.slice over since \d{4}-\d\d-\d\d \d\d:\d\d +-$/);
    assert.match(lines[4]!, /^worker-02 +20 +143 +\+30 +.* system\.slice \d{4}-\d\d-\d\d \(in \d+\.\d d\) +-$/);
    assert.match(lines[5]!, /^worker-01 .* \d{4}-\d\d-\d\d \d\d:\d\d: 75 removed$/);
  });

  test('--json: the trends the database gives; --node filters', async () => {
    const r = await runCli(['history', '--state-db', db(), '--json', '--node', 'worker-04', '--node', 'worker-01']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const h = openHistory(db());
    const want = queryHistory(h, { since: out.since, nodes: ['worker-04', 'worker-01'] }).map((n) => nodeTrend(n));
    h.close();
    assert.deepEqual(out.nodes.map((n: { node: string }) => n.node), ['worker-04', 'worker-01']);
    assert.deepEqual([...out.nodes].sort((a: { node: string }, b: { node: string }) => a.node.localeCompare(b.node)), JSON.parse(JSON.stringify(want)));
    assert.equal(out.nodes[1].last_prune.removed, 75);
  });

  test('-i limits to the inventory\'s hosts; --since 1d keeps the last day', async () => {
    await writeFile(join(dir, 'w2.ini'), 'worker-02\n');
    const r = await runCli(['history', '--state-db', db(), '-i', join(dir, 'w2.ini'), '--since', '1d', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.nodes.map((n: { node: string; samples: number }) => [n.node, n.samples]), [['worker-02', 4]]);
  });

  test('bad --since is a one-line usage error; a missing database says so', async () => {
    const bad = await runCli(['history', '--state-db', db(), '--since', 'soon']);
    assert.equal(bad.code, 5);
    assert.equal(bad.stderr.split('\n')[0], 'ERROR! --since "soon": expected a duration such as 14d, 36h, 90m or 2w');
    const none = await runCli(['history', '--state-db', join(dir, 'nope', 'h.db')]);
    assert.equal(none.code, 0);
    assert.match(none.stderr, /^no history yet at .*nope\/h\.db/);
    assert.equal(existsSync(join(dir, 'nope')), false);
  });
});
