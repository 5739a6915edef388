import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register as globalRegister } from 'prom-client';
import { renderMetrics, writeMetricsFile, previousCounters } from '../../src/report/metrics.js';
import { nodeFacts, LEAK_KINDS, type RunFacts } from '../../src/history/node-facts.js';
import { Scenario } from './scenario.js';
import { leaks, scanResult, pruneResult, afterCrioRestart, MIB, GIB } from '../history/fixtures.js';

// ------------------------------------------------------------------ a strict Prometheus text-format (0.0.4) parser

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parses every line or throws: unknown syntax, samples before their TYPE, duplicate series, bad escapes. */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((raw, i) => {
    const ln = i + 1;
    if (raw === '') return; // the format allows (and prom-client writes) empty lines between families
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) throw new Error(`line ${ln}: bad comment ${raw}`);
      const [, kw, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`line ${ln}: bad metric name ${name}`);
      const f = families.get(name) ?? { name, type: '', help: '', samples: [] };
      if (kw === 'TYPE') {
        if (f.type) throw new Error(`line ${ln}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${ln}: bad type ${rest}`);
        if (f.samples.length) throw new Error(`line ${ln}: TYPE after samples of ${name}`);
        f.type = rest;
      } else f.help = rest;
      families.set(name, f);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^]*\})? (\S+)( -?\d+)?$/.exec(raw);
    if (!m) throw new Error(`line ${ln}: bad sample ${raw}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    if (m[2]) {
      const body = m[2].slice(1, -1);
      let pos = 0;
      while (pos < body.length) {
        const lm = /^([^=]+)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(body.slice(pos));
        if (!lm) throw new Error(`line ${ln}: bad labels ${m[2]}`);
        if (!LABEL.test(lm[1]!)) throw new Error(`line ${ln}: bad label name ${lm[1]}`);
        if (lm[1]! in labels) throw new Error(`line ${ln}: duplicate label ${lm[1]}`);
        labels[lm[1]!] = lm[2]!.replace(/\\(["\\n])/g, (_x, c: string) => (c === 'n' ? '\n' : c));
        pos += lm[0].length;
      }
    }
    const f = families.get(name);
    if (!f || !f.type) throw new Error(`line ${ln}: sample of ${name} without a TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${ln}: duplicate series ${key}`);
    seen.add(key);
    f.samples.push({ name, labels, value: parseValue(m[3]!, ln) });
  });
  return families;
}

function value(fams: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const f = fams.get(name);
  const s = f?.samples.find((x) => Object.keys(labels).length === Object.keys(x.labels).length && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

// ------------------------------------------------------------------ fixtures

const FINISHED = Math.round(Date.parse('2024-01-01T00:00:02.500Z') / 1000);

function fleetRun(): { events: ReturnType<Scenario['end']>['events']; run: RunFacts } {
  const w1 = [...leaks('pod', 3), ...leaks('container', 6), ...leaks('conmon', 6), ...leaks('sandbox', 1)];
  const w2 = [...leaks('container', 2), ...leaks('pod', 1, 'restart_needed')];
  const s = new Scenario('prune.yml', ['w1', 'w2', 'w3'])
    .startPlay('prune', ['w1', 'w2', 'w3'])
    .result('scan', 'cgroup_scan', 'w1', 'ok', scanResult(w1, { crio: 950 * MIB, system: 1.3 * GIB, cpu: 12.75 }))
    .result('scan', 'cgroup_scan', 'w2', 'ok', scanResult(w2, { crio: 400 * MIB, system: 700 * MIB, cpu: 1.5 }))
    .result('scan', 'cgroup_scan', 'w3', 'unreachable', { msg: 'connect ETIMEDOUT' })
    .result('prune', 'cgroup_prune', 'w1', 'changed', pruneResult(w1, { after: { crio: 160 * MIB, system: 700 * MIB, cpu: 0.25, numCgroups: { memory: 104, pids: 102 } } }))
    .result('prune', 'cgroup_prune', 'w2', 'failed', pruneResult(w2, { after: { crio: 390 * MIB, system: 690 * MIB, cpu: 1.4 } }))
    .rescued('w2')
    .result('restart crio', 'crio_restart', 'w2', 'changed', { msg: 'crio restarted' })
    .result('prune again', 'cgroup_prune', 'w2', 'changed', pruneResult(afterCrioRestart(w2).filter((l) => l.kind === 'pod')))
    .result('scan after', 'cgroup_scan', 'w2', 'ok', scanResult([], { crio: 120 * MIB, system: 500 * MIB, cpu: 0.2 }))
    .end();
  return { events: s.events, run: nodeFacts(s.events) };
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-metrics-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderMetrics', () => {
  test('every metric parses strictly and has the values of the events', async () => {
    const { events, run } = fleetRun();
    const fams = parseExposition(await renderMetrics(run));
    // expected numbers straight from the events' results: the leaks of the last scan less what later prunes removed,
    // the health last measured (a scan's health, or what a prune measured after acting)
    type R = Record<string, any>;
    const results = (host: string, module: string) =>
      events.filter((e) => e.kind === 'task_result' && e.host === host && e.module === module).map((e) => (e as unknown as { result: R }).result);
    const removedOf = (h: string) => results(h, 'cgroup_prune').flatMap((r) => r.removed as string[]);

    assert.deepEqual(
      Object.fromEntries([...fams.values()].map((f) => [f.name, f.type])),
      {
        nodesweep_leaked_cgroups: 'gauge',
        nodesweep_busy_cgroups: 'gauge',
        nodesweep_removed_cgroups_total: 'counter',
        nodesweep_crio_memory_bytes: 'gauge',
        nodesweep_system_slice_memory_bytes: 'gauge',
        nodesweep_kubelet_cpu_cores: 'gauge',
        nodesweep_num_cgroups: 'gauge',
        nodesweep_remediations_total: 'counter',
        nodesweep_last_run_timestamp_seconds: 'gauge',
        nodesweep_host_unreachable: 'gauge',
      },
    );
    for (const node of ['w1', 'w2']) {
      const scan = results(node, 'cgroup_scan').at(-1)!;
      const lastHealth = events
        .filter((e) => e.kind === 'task_result' && e.host === node && (e.module === 'cgroup_scan' || e.module === 'cgroup_prune'))
        .map((e) => (e as unknown as { result: R }).result)
        .map((r) => r.health ?? r.health_after)
        .at(-1)!;
      const lastPrune = results(node, 'cgroup_prune').at(-1)!;
      const removed = removedOf(node);
      const left = (scan.leaked as { path: string; kind: string }[]).filter((l) => !removed.includes(l.path));
      for (const kind of LEAK_KINDS) assert.equal(value(fams, 'nodesweep_leaked_cgroups', { node, kind }), left.filter((l) => l.kind === kind).length, `${node} ${kind}`);
      assert.equal(value(fams, 'nodesweep_busy_cgroups', { node }), (lastPrune.busy as unknown[]).length);
      assert.equal(value(fams, 'nodesweep_removed_cgroups_total', { node }), removed.length);
      assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node }), lastHealth.crio_memory_bytes);
      assert.equal(value(fams, 'nodesweep_system_slice_memory_bytes', { node }), lastHealth.system_slice_memory_bytes);
      assert.equal(value(fams, 'nodesweep_kubelet_cpu_cores', { node }), lastHealth.kubelet_cpu_cores);
      assert.equal(value(fams, 'nodesweep_num_cgroups', { node }), Math.max(...(Object.values(lastHealth.num_cgroups) as number[])));
      assert.equal(value(fams, 'nodesweep_host_unreachable', { node }), 0);
    }
    assert.equal(removedOf('w1').length, 16);
    // w1's gauges are what its prune measured after removing, not its scan's
    assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node: 'w1' }), 160 * MIB);
    assert.equal(value(fams, 'nodesweep_num_cgroups', { node: 'w1' }), 104);
    assert.equal(value(fams, 'nodesweep_remediations_total', { node: 'w2', result: 'success' }), 1);
    assert.equal(value(fams, 'nodesweep_remediations_total', { node: 'w1', result: 'success' }), undefined);
    // the unreachable node: flagged, and no made-up zeros for what was not measured
    assert.equal(value(fams, 'nodesweep_host_unreachable', { node: 'w3' }), 1);
    assert.equal(value(fams, 'nodesweep_leaked_cgroups', { node: 'w3', kind: 'pod' }), undefined);
    assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node: 'w3' }), undefined);
    assert.equal(value(fams, 'nodesweep_last_run_timestamp_seconds', {}), FINISHED);
  });

  test('a fact the prune did not measure after acting is absent, never the value from before it', async () => {
    const L = leaks('pod', 3);
    const s = new Scenario('prune.yml', ['w1', 'w2'])
      .startPlay('p', ['w1', 'w2'])
      .result('scan', 'cgroup_scan', 'w1', 'ok', scanResult(L, { crio: 900 * MIB, system: 1.2 * GIB, cpu: 0.4 }))
      .result('scan', 'cgroup_scan', 'w2', 'ok', scanResult(L, { crio: 900 * MIB, system: 1.2 * GIB, cpu: 0.4 }))
      // w1: the prune's script died before its measurement; w2: memory measured, kubelet CPU not sampled
      .result('prune', 'cgroup_prune', 'w1', 'changed', pruneResult(L))
      .result('prune', 'cgroup_prune', 'w2', 'changed', pruneResult(L, { after: { crio: 150 * MIB } }))
      .end();
    const fams = parseExposition(await renderMetrics(nodeFacts(s.events)));
    for (const m of ['nodesweep_crio_memory_bytes', 'nodesweep_system_slice_memory_bytes', 'nodesweep_kubelet_cpu_cores']) assert.equal(value(fams, m, { node: 'w1' }), undefined, m);
    assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node: 'w2' }), 150 * MIB);
    assert.equal(value(fams, 'nodesweep_kubelet_cpu_cores', { node: 'w2' }), undefined);
    assert.equal(value(fams, 'nodesweep_leaked_cgroups', { node: 'w1', kind: 'pod' }), 0);
  });

  test('each run renders on its own registry; the global default registry stays empty', async () => {
    const { run } = fleetRun();
    const a = await renderMetrics(run);
    const b = await renderMetrics(run);
    assert.equal(a, b);
    assert.equal(globalRegister.getSingleMetric('nodesweep_leaked_cgroups'), undefined);
  });

  test('label values with quotes, backslashes and newlines are escaped and read back', async () => {
    const node = 'we"ird\\node\nname';
    const s = new Scenario('x.yml', [node]).startPlay('p', [node]).result('prune', 'cgroup_prune', node, 'changed', pruneResult(leaks('pod', 2))).end();
    const text = await renderMetrics(nodeFacts(s.events));
    const fams = parseExposition(text);
    assert.equal(value(fams, 'nodesweep_removed_cgroups_total', { node }), 2);
    assert.deepEqual([...previousCounters(text).values()].map((c) => [c.name, c.labels, c.value]), [['nodesweep_removed_cgroups_total', { node }, 2]]);
  });
});

describe('writeMetricsFile', () => {
  test('counters add up across runs (a node missing from a later run keeps its count); gauges are replaced', async () => {
    const path = join(dir, 'textfile', 'nodesweep.prom');
    const { run } = fleetRun();
    await writeMetricsFile(path, run);
    // second run: only w1, scanned and pruned again with 4 new leaks, and a failed crio restart on w1
    const L = leaks('container', 4);
    const s = new Scenario('prune.yml', ['w1'])
      .startPlay('p', ['w1'])
      .result('scan', 'cgroup_scan', 'w1', 'ok', scanResult(L, { crio: 310 * MIB }))
      .result('prune', 'cgroup_prune', 'w1', 'changed', pruneResult(L, { after: { crio: 150 * MIB } }))
      .result('restart crio', 'crio_restart', 'w1', 'failed', { msg: 'timeout' })
      .end();
    await writeMetricsFile(path, nodeFacts(s.events));
    const fams = parseExposition(await readFile(path, 'utf8'));
    assert.equal(value(fams, 'nodesweep_removed_cgroups_total', { node: 'w1' }), 16 + 4);
    assert.equal(value(fams, 'nodesweep_removed_cgroups_total', { node: 'w2' }), 3);
    assert.equal(value(fams, 'nodesweep_remediations_total', { node: 'w2', result: 'success' }), 1);
    assert.equal(value(fams, 'nodesweep_remediations_total', { node: 'w1', result: 'failed' }), 1);
    assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node: 'w1' }), 150 * MIB);
    assert.equal(value(fams, 'nodesweep_crio_memory_bytes', { node: 'w2' }), undefined);
  });

  test('written whole: 0644 for node_exporter, no temporary file left beside it', async () => {
    const path = join(dir, 'nodesweep.prom');
    await writeMetricsFile(path, fleetRun().run);
    assert.equal((await stat(path)).mode & 0o777, 0o644);
    assert.deepEqual(await readdir(dir), ['nodesweep.prom']);
  });

  test('a damaged previous file restarts the counters at this run instead of failing', async () => {
    const path = join(dir, 'nodesweep.prom');
    await writeFile(path, 'nodesweep_removed_cgroups_total{node="w1"} banana\nnodesweep_removed_cgroups_total{node="w1",} 7\x00\ngarbage\n');
    await writeMetricsFile(path, fleetRun().run);
    const fams = parseExposition(await readFile(path, 'utf8'));
    assert.equal(value(fams, 'nodesweep_removed_cgroups_total', { node: 'w1' }), 16);
  });
});

describe('the strict parser itself rejects malformed text', () => {
  const bad: [string, string][] = [
    ['no TYPE', 'x 1\n'],
    ['no trailing newline', '# TYPE x gauge\nx 1'],
    ['bad value', '# TYPE x gauge\nx one\n'],
    ['duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['bad escape', '# TYPE x gauge\nx{a="\\q"} 1\n'],
    ['bad label name', '# TYPE x gauge\nx{1a="1"} 1\n'],
  ];
  for (const [name, text] of bad) test(name, () => assert.throws(() => parseExposition(text)));
  test('accepts a valid exposition', () => assert.equal(parseExposition('# HELP x h\n# TYPE x gauge\nx{a="q\\"\\\\"} +Inf\n').get('x')!.samples[0]!.labels.a, 'q"\\'));
});
