/**
 * The reports against the real cgroup modules: the shipped prune playbook, through the real CLI (local
 * connection), at a node built in this machine's real cgroup hierarchies. The HTML page's data, the metrics and
 * the history must say what the JSON report of the same run says. Needs root for cgroupfs (CI runs as root);
 * without it the test says why and skips.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildNode, leftBehindPod, type BuiltNode, type PodSpec } from '../../src/lab/node-builder.js';
import { cgroupSkipReason } from '../cgroup/node-oracle.js';
import { openHistory } from '../../src/history/db.js';
import { LEAK_KINDS } from '../../src/history/node-facts.js';

const skip = cgroupSkipReason();
const built: BuiltNode[] = [];
let dir = '';
after(async () => {
  for (const n of built) n.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('prune playbook on a real node: HTML data, metrics and history agree with the JSON report', { skip }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-real-'));
  const pods: PodSpec[] = [
    ...Array.from({ length: 4 }, (_, i) => leftBehindPod((['burstable', 'besteffort'] as const)[i % 2]!)),
    { qos: 'burstable', live: 'runtime', containers: [{ kind: 'container', known: true, process: 'sleep' }] },
  ];
  const node = buildNode({ mode: 'v1', driver: 'systemd', pods, systemSlice: true });
  built.push(node);
  const inv = join(dir, 'inv.ini');
  await writeFile(inv, `node1 ansible_connection=local nodesweep_cgroup_root=${node.root} nodesweep_kubelet_root=${node.kubeletRoot} nodesweep_crictl=${node.crictlPath} nodesweep_min_age=0s\n`);
  const out = (f: string) => join(dir, f);
  const r = await runCli(
    ['run', 'playbooks/prune-leaked-cgroups.yml', '-i', inv, '--report-json', out('r.json'), '--report-html', out('r.html'), '--metrics-file', out('n.prom'), '--state-db', out('h.db')],
    { timeoutMs: 120_000 },
  );
  assert.ok(r.code === 0 || r.code === 2, r.stdout + r.stderr);
  const report = JSON.parse(await readFile(out('r.json'), 'utf8'));
  const tasks = report.hosts.node1.tasks as { module: string; result: Record<string, any> }[];
  const scan = tasks.find((t) => t.module === 'cgroup_scan')!.result;
  const prune = tasks.find((t) => t.module === 'cgroup_prune')!.result;
  assert.ok(scan.counts.total > 0, 'the node has leaks');

  const html = await readFile(out('r.html'), 'utf8');
  const data = JSON.parse(/<script type="application\/json" id="nodesweep-data">(.*)<\/script>/s.exec(html)![1]!);
  const n = data.nodes[0];
  assert.deepEqual(n.before.leaked_by_kind, Object.fromEntries(LEAK_KINDS.map((k) => [k, scan.counts.by_kind[k]])));
  assert.deepEqual(n.removed, prune.removed);
  // after = the scan's leaks that the prune did not remove
  const left = (scan.leaked as { path: string; kind: string }[]).filter((l) => !prune.removed.includes(l.path));
  assert.deepEqual(n.after.leaked_by_kind, Object.fromEntries(LEAK_KINDS.map((k) => [k, left.filter((l) => l.kind === k).length])));
  assert.equal(n.busy.length, prune.busy.length);

  const prom = await readFile(out('n.prom'), 'utf8');
  assert.match(prom, new RegExp(`^nodesweep_removed_cgroups_total\\{node="node1"\\} ${prune.removed.length}$`, 'm'));
  assert.match(prom, new RegExp(`^nodesweep_busy_cgroups\\{node="node1"\\} ${prune.busy.length}$`, 'm'));

  const db = openHistory(out('h.db'));
  const rows = db.prepare("SELECT phase, leaked_total FROM samples WHERE node = 'node1' ORDER BY phase DESC").all();
  assert.deepEqual(rows, [
    { phase: 'before', leaked_total: scan.counts.total },
    { phase: 'after', leaked_total: left.length },
  ]);
  db.close();

  // `nodesweep scan` (a playbook that gathers node facts) records in the default database ($XDG_STATE_HOME),
  // and --no-history keeps it from doing so
  const state = out('xdg');
  const off = await runCli(['scan', '-i', inv, '--json', '--no-history'], { env: { XDG_STATE_HOME: state }, timeoutMs: 120_000 });
  assert.equal(off.code, 0, off.stdout + off.stderr);
  assert.equal(existsSync(join(state, 'nodesweep', 'history.db')), false);
  const s = await runCli(['scan', '-i', inv, '--json'], { env: { XDG_STATE_HOME: state }, timeoutMs: 120_000 });
  assert.equal(s.code, 0, s.stdout + s.stderr);
  const dflt = openHistory(join(state, 'nodesweep', 'history.db'));
  assert.deepEqual(dflt.prepare('SELECT command FROM runs').all(), [{ command: 'scan' }]);
  assert.equal(dflt.prepare("SELECT leaked_total FROM samples WHERE node = 'node1'").pluck().get(), left.length);
  dflt.close();
});
