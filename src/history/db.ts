/**
 * The local history: every run/scan appends its per-node facts to a SQLite database (better-sqlite3).
 * Schema versioned with `PRAGMA user_version` and forward-only migrations; safe for concurrent runs
 * (WAL, a busy timeout, and every write in one IMMEDIATE transaction).
 *
 * It also remembers when each leaked cgroup (node, path) was first seen. cgroupfs times are only a lower bound
 * of a dir's age (kernfs stamps them at first lookup), so a prune can take the larger of the two ages:
 *
 *   // in cgroup_prune, before the min_age check (history is optional: no db, no change):
 *   const seen = firstSeen(db, host, leaked.map((l) => l.path));
 *   const age = Math.max(l.age_s ?? 0, now - (seen.get(l.path) ?? now));
 *
 * Both are lower bounds of the real age, so their maximum is one too and never makes a young dir look old.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ExitCode, NodesweepError } from '../errors.js';
import type { NodeFacts, NodeSnapshot, RunFacts } from './node-facts.js';
import { LEAK_KINDS } from './node-facts.js';

export type HistoryDb = Database.Database;

/** The history database cannot be used (newer schema, not a database, unwritable). */
export class HistoryError extends NodesweepError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HISTORY', message, ExitCode.GENERIC, options);
  }
}

export { defaultStateDbPath } from './options.js';

/** Forward-only migrations; migration i brings user_version from i to i+1. Never edit a released one. */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, per-node outcome of each run, and samples of the node's state (before / after the run)
  `CREATE TABLE runs (
     id INTEGER PRIMARY KEY,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     command TEXT NOT NULL,
     playbook TEXT NOT NULL,
     check_mode INTEGER NOT NULL,
     exit_code INTEGER
   );
   CREATE TABLE node_runs (
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     node TEXT NOT NULL,
     unreachable INTEGER NOT NULL,
     verdict TEXT NOT NULL,
     pruned INTEGER NOT NULL,
     removed INTEGER NOT NULL,
     busy INTEGER NOT NULL,
     refused INTEGER NOT NULL,
     remediations_success INTEGER NOT NULL,
     remediations_failed INTEGER NOT NULL,
     PRIMARY KEY (run_id, node)
   );
   CREATE TABLE samples (
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     node TEXT NOT NULL,
     phase TEXT NOT NULL CHECK (phase IN ('before', 'after')),
     ts INTEGER NOT NULL,
     leaked_total INTEGER NOT NULL,
     leaked_pod INTEGER NOT NULL,
     leaked_container INTEGER NOT NULL,
     leaked_conmon INTEGER NOT NULL,
     leaked_sandbox INTEGER NOT NULL,
     leaked_nested INTEGER NOT NULL,
     crio_memory_bytes INTEGER,
     system_slice_memory_bytes INTEGER,
     kubelet_cpu_cores REAL,
     num_cgroups INTEGER,
     nr_dying_descendants INTEGER,
     PRIMARY KEY (run_id, node, phase)
   );
   CREATE INDEX samples_node_ts ON samples (node, ts);`,
  // 2: when each leaked cgroup was first (and last) seen
  `CREATE TABLE leak_first_seen (
     node TEXT NOT NULL,
     path TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     PRIMARY KEY (node, path)
   ) WITHOUT ROWID;`,
  // 3: what runs did about cordons and Leases left in the cluster (recovery before the plays, release at the end)
  `CREATE TABLE cluster_actions (
     run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     phase TEXT NOT NULL CHECK (phase IN ('start', 'end')),
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     holder TEXT NOT NULL,
     outcome TEXT NOT NULL,
     msg TEXT NOT NULL,
     PRIMARY KEY (run_id, seq)
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring a database to SCHEMA_VERSION (idempotent; concurrent openers serialize on the write lock). */
export function migrate(db: HistoryDb, migrations: readonly string[] = MIGRATIONS): number {
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new HistoryError(`${db.name}: history schema version ${version} is newer than this nodesweep knows (${migrations.length}); upgrade nodesweep or use another --state-db`);
    }
    for (let v = version; v < migrations.length; v++) db.exec(migrations[v]!);
    if (version < migrations.length) db.pragma(`user_version = ${migrations.length}`);
    return migrations.length;
  });
  return apply.immediate();
}

/** Open (creating the file and its directory) and migrate. */
export function openHistory(path: string, opts: { readonly?: boolean } = {}): HistoryDb {
  let db: HistoryDb;
  try {
    if (!opts.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Database(path, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
  } catch (e) {
    throw new HistoryError(`${path}: cannot open the history database: ${(e as Error).message}`, { cause: e });
  }
  try {
    // busy_timeout first: switching to WAL and migrating need the lock another run may hold
    db.pragma('busy_timeout = 10000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
    } else {
      const v = db.pragma('user_version', { simple: true }) as number;
      if (v !== SCHEMA_VERSION) throw new HistoryError(`${path}: history schema version ${v}, this nodesweep reads ${SCHEMA_VERSION}; run a scan once to migrate it`);
    }
    db.pragma('foreign_keys = ON');
    return db;
  } catch (e) {
    db.close();
    if (e instanceof HistoryError) throw e;
    throw new HistoryError(`${path}: not a usable history database: ${(e as Error).message}`, { cause: e });
  }
}

export interface RecordOptions {
  /** `run` or `scan`. */
  command: string;
  /** Epoch seconds used when the run has no start/end time. */
  now: number;
}

function sampleRow(runId: number, node: string, phase: 'before' | 'after', ts: number, s: NodeSnapshot) {
  return {
    run_id: runId,
    node,
    phase,
    ts,
    leaked_total: s.leaked_total,
    leaked_pod: s.leaked_by_kind.pod,
    leaked_container: s.leaked_by_kind.container,
    leaked_conmon: s.leaked_by_kind.conmon,
    leaked_sandbox: s.leaked_by_kind.sandbox,
    leaked_nested: s.leaked_by_kind.nested,
    crio_memory_bytes: s.crio_memory_bytes,
    system_slice_memory_bytes: s.system_slice_memory_bytes,
    kubelet_cpu_cores: s.kubelet_cpu_cores,
    num_cgroups: s.num_cgroups,
    nr_dying_descendants: s.nr_dying_descendants,
  };
}

/** Append one run (one transaction). Returns the run id. */
export function recordRun(db: HistoryDb, run: RunFacts, opts: RecordOptions): number {
  const started = run.started_at ?? opts.now;
  const finished = run.finished_at ?? opts.now;
  const insRun = db.prepare(
    'INSERT INTO runs (started_at, finished_at, command, playbook, check_mode, exit_code) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insNode = db.prepare(
    `INSERT INTO node_runs (run_id, node, unreachable, verdict, pruned, removed, busy, refused, remediations_success, remediations_failed)
     VALUES (@run_id, @node, @unreachable, @verdict, @pruned, @removed, @busy, @refused, @remediations_success, @remediations_failed)`,
  );
  const insSample = db.prepare(
    `INSERT INTO samples (run_id, node, phase, ts, leaked_total, leaked_pod, leaked_container, leaked_conmon, leaked_sandbox, leaked_nested,
       crio_memory_bytes, system_slice_memory_bytes, kubelet_cpu_cores, num_cgroups, nr_dying_descendants)
     VALUES (@run_id, @node, @phase, @ts, @leaked_total, @leaked_pod, @leaked_container, @leaked_conmon, @leaked_sandbox, @leaked_nested,
       @crio_memory_bytes, @system_slice_memory_bytes, @kubelet_cpu_cores, @num_cgroups, @nr_dying_descendants)`,
  );
  const seen = db.prepare(
    `INSERT INTO leak_first_seen (node, path, first_seen, last_seen) VALUES (?, ?, ?, ?)
     ON CONFLICT (node, path) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), first_seen = min(first_seen, excluded.first_seen)`,
  );
  const gone = db.prepare('DELETE FROM leak_first_seen WHERE node = ? AND path = ?');
  const insCluster = db.prepare(
    'INSERT INTO cluster_actions (run_id, seq, phase, action, target, holder, outcome, msg) VALUES (@run_id, @seq, @phase, @action, @target, @holder, @outcome, @msg)',
  );
  const tx = db.transaction((): number => {
    const runId = Number(insRun.run(started, finished, opts.command, run.playbook, run.check_mode ? 1 : 0, run.exit_code).lastInsertRowid);
    for (const n of run.nodes) {
      insNode.run(nodeRow(runId, n));
      // a run that changed nothing has one state: store it once, as 'after'
      if (n.before && n.before !== n.after) insSample.run(sampleRow(runId, n.node, 'before', started, n.before));
      if (n.after) insSample.run(sampleRow(runId, n.node, 'after', finished, n.after));
      for (const p of n.leaked_seen) seen.run(n.node, p, started, started);
      if (!run.check_mode) for (const p of n.removed) gone.run(n.node, p);
    }
    (run.cluster ?? []).forEach((c, seq) => insCluster.run({ run_id: runId, seq, ...c }));
    return runId;
  });
  return tx.immediate();
}

function nodeRow(runId: number, n: NodeFacts) {
  return {
    run_id: runId,
    node: n.node,
    unreachable: n.unreachable ? 1 : 0,
    verdict: n.verdict,
    pruned: n.pruned ? 1 : 0,
    removed: n.removed.length,
    busy: n.busy.length,
    refused: n.refused.length,
    remediations_success: n.remediations.filter((r) => r.result === 'success').length,
    remediations_failed: n.remediations.filter((r) => r.result === 'failed').length,
  };
}

/**
 * When each of `paths` was first seen leaked on `node` (epoch seconds, by the controller's clock); paths never
 * seen are absent. Cheap for many paths: one indexed lookup each, in one read transaction.
 */
export function firstSeen(db: HistoryDb, node: string, paths: Iterable<string>): Map<string, number> {
  const q = db.prepare('SELECT first_seen FROM leak_first_seen WHERE node = ? AND path = ?').pluck();
  const out = new Map<string, number>();
  db.transaction(() => {
    for (const p of paths) {
      const t = q.get(node, p) as number | undefined;
      if (t !== undefined) out.set(p, t);
    }
  })();
  return out;
}

/** One stored state of a node. */
export interface HistorySample {
  run_id: number;
  ts: number;
  phase: 'before' | 'after';
  leaked_total: number;
  leaked_by_kind: Record<(typeof LEAK_KINDS)[number], number>;
  crio_memory_bytes: number | null;
  system_slice_memory_bytes: number | null;
  kubelet_cpu_cores: number | null;
  num_cgroups: number | null;
}

/** One run that pruned a node (check-mode runs excluded), with the node's state before and after. */
export interface HistoryPrune {
  run_id: number;
  ts: number;
  removed: number;
  remediations: number;
  before: HistorySample | null;
  after: HistorySample | null;
}

export interface NodeHistory {
  node: string;
  samples: HistorySample[];
  prunes: HistoryPrune[];
}

export interface HistoryQuery {
  /** Epoch seconds; samples at or after. */
  since?: number;
  /** Only these nodes. */
  nodes?: readonly string[];
}

/** Per node (sorted), its samples in time order and its prunes. */
export function queryHistory(db: HistoryDb, q: HistoryQuery = {}): NodeHistory[] {
  const since = q.since ?? 0;
  const rows = db
    .prepare(
      `SELECT s.*, n.pruned, n.removed, n.remediations_success, r.check_mode
         FROM samples s JOIN node_runs n ON n.run_id = s.run_id AND n.node = s.node JOIN runs r ON r.id = s.run_id
        WHERE s.ts >= ? ORDER BY s.node, s.ts, s.run_id, s.phase DESC`,
    )
    .all(since) as Record<string, number | string | null>[];
  // runs that pruned but stored no sample (e.g. no health facts) still count as prunes
  const pruneRows = db
    .prepare(
      `SELECT n.node, n.run_id, n.removed, n.remediations_success, r.finished_at, r.started_at
         FROM node_runs n JOIN runs r ON r.id = n.run_id
        WHERE r.check_mode = 0 AND (n.removed > 0 OR n.remediations_success > 0) AND coalesce(r.finished_at, r.started_at) >= ?
        ORDER BY n.node, r.id`,
    )
    .all(since) as { node: string; run_id: number; removed: number; remediations_success: number; finished_at: number | null; started_at: number }[];
  const wanted = q.nodes ? new Set(q.nodes) : null;
  const byNode = new Map<string, NodeHistory>();
  const get = (node: string): NodeHistory => {
    let h = byNode.get(node);
    if (!h) byNode.set(node, (h = { node, samples: [], prunes: [] }));
    return h;
  };
  const byRun = new Map<string, { before?: HistorySample; after?: HistorySample }>();
  for (const r of rows) {
    const node = r.node as string;
    if (wanted && !wanted.has(node)) continue;
    const s: HistorySample = {
      run_id: r.run_id as number,
      ts: r.ts as number,
      phase: r.phase as 'before' | 'after',
      leaked_total: r.leaked_total as number,
      leaked_by_kind: {
        pod: r.leaked_pod as number,
        container: r.leaked_container as number,
        conmon: r.leaked_conmon as number,
        sandbox: r.leaked_sandbox as number,
        nested: r.leaked_nested as number,
      },
      crio_memory_bytes: r.crio_memory_bytes as number | null,
      system_slice_memory_bytes: r.system_slice_memory_bytes as number | null,
      kubelet_cpu_cores: r.kubelet_cpu_cores as number | null,
      num_cgroups: r.num_cgroups as number | null,
    };
    get(node).samples.push(s);
    const key = `${node}\0${s.run_id}`;
    const pair = byRun.get(key) ?? {};
    pair[s.phase] = s;
    byRun.set(key, pair);
  }
  for (const p of pruneRows) {
    if (wanted && !wanted.has(p.node)) continue;
    const pair = byRun.get(`${p.node}\0${p.run_id}`) ?? {};
    get(p.node).prunes.push({
      run_id: p.run_id,
      ts: p.finished_at ?? p.started_at,
      removed: p.removed,
      remediations: p.remediations_success,
      before: pair.before ?? null,
      after: pair.after ?? null,
    });
  }
  return [...byNode.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}
