import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  openHistory,
  migrate,
  recordRun,
  firstSeen,
  queryHistory,
  defaultStateDbPath,
  MIGRATIONS,
  SCHEMA_VERSION,
  HistoryError,
} from '../../src/history/db.js';
import { nodeFacts, type RunFacts } from '../../src/history/node-facts.js';
import { Scenario } from '../report/scenario.js';
import { leaks, scanResult, pruneResult, MIB, type Leak } from './fixtures.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-history-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A run at `at` (epoch seconds): scan (and prune) of each node. */
function runAt(at: number, nodes: Record<string, { leaks: Leak[]; prune?: boolean; mem?: number; cpu?: number; after?: { mem?: number; cpu?: number } }>, check = false): RunFacts {
  const names = Object.keys(nodes);
  const s = new Scenario('prune.yml', names, check).startPlay('p', names);
  for (const [n, spec] of Object.entries(nodes)) {
    s.result('scan', 'cgroup_scan', n, 'ok', scanResult(spec.leaks, { crio: spec.mem ?? null, system: spec.mem ? spec.mem + 200 * MIB : null, cpu: spec.cpu ?? null }));
    const after = spec.after ? { crio: spec.after.mem ?? null, system: spec.after.mem ? spec.after.mem + 200 * MIB : null, cpu: spec.after.cpu ?? null } : undefined;
    if (spec.prune) s.result('prune', 'cgroup_prune', n, 'changed', pruneResult(spec.leaks, { check, ...(after ? { after } : {}) }));
  }
  const ev = s.end().events.map((e) =>
    e.kind === 'run_start' ? { ...e, startedAt: new Date(at * 1000).toISOString() } : e.kind === 'run_end' ? { ...e, finishedAt: new Date((at + 30) * 1000).toISOString() } : e,
  );
  return nodeFacts(ev);
}

describe('schema and migrations', () => {
  test('a new database is created with its directory, WAL and the current user_version', () => {
    const path = join(dir, 'a', 'b', 'history.db');
    const db = openHistory(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 5000);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    assert.deepEqual(tables, ['cluster_actions', 'leak_first_seen', 'node_runs', 'runs', 'samples']);
    db.close();
  });

  test('a version-1 database keeps its runs when migrated to the current version', () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 1));
    assert.equal(old.pragma('user_version', { simple: true }), 1);
    old.prepare("INSERT INTO runs (started_at, finished_at, command, playbook, check_mode, exit_code) VALUES (1, 2, 'scan', 'x.yml', 0, 0)").run();
    old.close();
    const db = openHistory(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.prepare('SELECT count(*) FROM runs').pluck().get(), 1);
    assert.equal(db.prepare('SELECT count(*) FROM leak_first_seen').pluck().get(), 0);
    db.close();
  });

  test('opening twice migrates once', () => {
    const path = join(dir, 'h.db');
    openHistory(path).close();
    const db = openHistory(path);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  test('a database from a newer nodesweep is refused with a clear error, untouched', () => {
    const path = join(dir, 'new.db');
    const d = new Database(path);
    d.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    d.close();
    assert.throws(() => openHistory(path), (e: unknown) => e instanceof HistoryError && /newer than this nodesweep knows/.test(e.message) && e.message.includes(path));
    const again = new Database(path);
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION + 5);
    again.close();
  });

  test('a file that is not a database is a HistoryError naming the file', async () => {
    const path = join(dir, 'garbage.db');
    await writeFile(path, 'this is not sqlite at all, just text '.repeat(200));
    assert.throws(() => openHistory(path), (e: unknown) => e instanceof HistoryError && e.message.startsWith(path));
  });

  test('default path: $XDG_STATE_HOME when absolute, else ~/.local/state', () => {
    const table: [NodeJS.ProcessEnv, string][] = [
      [{ XDG_STATE_HOME: '/var/lib/me' }, '/var/lib/me/nodesweep/history.db'],
      [{}, '/home/op/.local/state/nodesweep/history.db'],
      [{ XDG_STATE_HOME: '' }, '/home/op/.local/state/nodesweep/history.db'],
      [{ XDG_STATE_HOME: 'relative/dir' }, '/home/op/.local/state/nodesweep/history.db'],
    ];
    for (const [env, want] of table) assert.equal(defaultStateDbPath(env, '/home/op'), want);
  });
});

describe('recording and querying', () => {
  const T = 1_700_000_000;
  test('runs, per-node samples before/after and prunes come back per node in time order', () => {
    const db = openHistory(join(dir, 'h.db'));
    const L = [...leaks('pod', 2), ...leaks('container', 3)];
    recordRun(db, runAt(T, { w1: { leaks: L.slice(0, 2), mem: 300 * MIB, cpu: 2 }, w2: { leaks: [] } }), { command: 'scan', now: 0 });
    recordRun(db, runAt(T + 86_400, { w1: { leaks: L, prune: true, mem: 500 * MIB, cpu: 9, after: { mem: 160 * MIB } }, w2: { leaks: [] } }), { command: 'run', now: 0 });
    const h = queryHistory(db);
    assert.deepEqual(h.map((n) => n.node), ['w1', 'w2']);
    const w1 = h[0]!;
    assert.deepEqual(
      w1.samples.map((s) => [s.ts - T, s.phase, s.leaked_total, s.crio_memory_bytes, s.kubelet_cpu_cores]),
      [
        [30, 'after', 2, 300 * MIB, 2],
        [86_400, 'before', 5, 500 * MIB, 9],
        // the health the prune measured after acting (kubelet CPU not sampled: null, never the 9 from before), leaks
        // minus what it removed
        [86_430, 'after', 0, 160 * MIB, null],
      ],
    );
    assert.equal(w1.prunes.length, 1);
    assert.deepEqual([w1.prunes[0]!.removed, w1.prunes[0]!.before?.leaked_total, w1.prunes[0]!.after?.leaked_total], [5, 5, 0]);
    assert.deepEqual(h[1]!.prunes, []);
    // filters
    assert.deepEqual(queryHistory(db, { nodes: ['w2'] }).map((n) => n.node), ['w2']);
    assert.deepEqual(queryHistory(db, { since: T + 3600 })[0]!.samples.map((s) => s.phase), ['before', 'after']);
    db.close();
  });

  test('check-mode prunes are stored but are not prunes', () => {
    const db = openHistory(join(dir, 'h.db'));
    recordRun(db, runAt(T, { w1: { leaks: leaks('pod', 4), prune: true } }, true), { command: 'run', now: 0 });
    const [w1] = queryHistory(db);
    assert.deepEqual(w1!.prunes, []);
    assert.equal(w1!.samples.at(-1)!.leaked_total, 4);
    db.close();
  });
});

describe('firstSeen', () => {
  const T = 1_700_000_000;
  test('remembers the first sighting across runs, forgets what was removed, answers only known paths', () => {
    const db = openHistory(join(dir, 'h.db'));
    const old = leaks('container', 2);
    const young = leaks('conmon', 1);
    recordRun(db, runAt(T, { w1: { leaks: old } }), { command: 'scan', now: 0 });
    recordRun(db, runAt(T + 600, { w1: { leaks: [...old, ...young] }, w2: { leaks: old.slice(0, 1) } }), { command: 'scan', now: 0 });
    const seen = firstSeen(db, 'w1', [old[0]!.path, old[1]!.path, young[0]!.path, '/sys/fs/cgroup/never/seen']);
    assert.deepEqual(Object.fromEntries(seen), { [old[0]!.path]: T, [old[1]!.path]: T, [young[0]!.path]: T + 600 });
    // per node: w2 saw the same path later
    assert.deepEqual([...firstSeen(db, 'w2', [old[0]!.path]).values()], [T + 600]);
    // a prune that removed them forgets them (a new dir at that path would be a new leak)
    recordRun(db, runAt(T + 1200, { w1: { leaks: old, prune: true } }), { command: 'run', now: 0 });
    assert.deepEqual([...firstSeen(db, 'w1', [old[0]!.path, old[1]!.path, young[0]!.path]).keys()], [young[0]!.path]);
    db.close();
  });
});

describe('concurrent runs', () => {
  test('four processes recording at once all land, none fails on a lock', async () => {
    const path = join(dir, 'shared.db');
    const writer = fileURLToPath(new URL('./concurrent-writer.ts', import.meta.url));
    const N = 4;
    const PER = 25;
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', writer, path, String(i), String(PER)], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('close', (code) => resolve({ code, out, err }));
        }),
      ),
    );
    for (const r of results) assert.deepEqual([r.code, r.out, r.err], [0, 'done\n', '']);
    const db = openHistory(path);
    assert.equal(db.prepare('SELECT count(*) FROM runs').pluck().get(), N * PER);
    assert.equal(db.prepare('SELECT count(*) FROM node_runs').pluck().get(), N * PER);
    assert.deepEqual(db.prepare('SELECT node, count(*) AS n FROM samples GROUP BY node ORDER BY node').all(), Array.from({ length: N }, (_, i) => ({ node: `node-${i}`, n: PER })));
    db.close();
  });
});
