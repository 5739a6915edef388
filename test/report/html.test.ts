/**
 * The HTML report in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; never a
 * downloaded browser): it renders with no console error and no network request, the numbers on its charts (data
 * attributes of the SVG marks) are the JSON report's, its history curves are the database's, and a screenshot
 * is taken (NODESWEEP_SCREENSHOT=FILE keeps a copy to look at).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { EventBus } from '../../src/events/events.js';
import { JsonReportSink, type JsonReport } from '../../src/report/json-report.js';
import { Redactor, MASK } from '../../src/report/redact.js';
import { FactsSink } from '../../src/report/facts-sink.js';
import { openHistory, queryHistory } from '../../src/history/db.js';
import { LEAK_KINDS, SYSTEM_RESERVATION_BYTES } from '../../src/history/node-facts.js';
import { buildHtmlData, renderHtmlReport } from '../../src/report/html/report.js';
import { NODES, recordStoryHistory, storyRunEvents } from './html-story.js';

const NOW = Date.parse('2026-03-10T09:00:00Z') / 1000;
const SECRET = 'hunter2-very-secret';

let dir = '';
let context: BrowserContext | undefined;

interface Loaded {
  page: Page;
  consoleErrors: string[];
  requests: string[];
}

async function load(htmlPath: string): Promise<Loaded> {
  const page = await context!.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(htmlPath).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, consoleErrors, requests };
}

/** The numbers of every mark of a chart: [node, series, kind, value]. */
async function marks(page: Page, selector: string): Promise<Record<string, string>[]> {
  // (no DOM lib in this project's tsconfig: the element is typed by what is used)
  return page.$$eval(selector, (els) => els.map((e) => ({ ...(e as unknown as { dataset: Record<string, string> }).dataset })));
}

type Result = Record<string, any>;
/** From the JSON report only: a host's results of a module, in order. */
function resultsOf(report: JsonReport, host: string, module: string): Result[] {
  return report.hosts[host]!.tasks.filter((t) => t.module === module).map((t) => t.result as Result);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-html-'));
  context = await launchChromium(dir);
});
after(async () => {
  await context?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HTML report in headless Chromium', () => {
  let report: JsonReport;
  let loaded: Loaded;
  let htmlPath = '';
  const dbPath = () => join(dir, 'state', 'history.db');

  before(async () => {
    const db = openHistory(dbPath());
    recordStoryHistory(db, NOW);
    db.close();
    // today's run through the real sinks, fed the same events: JSON report, and history + metrics + HTML
    htmlPath = join(dir, 'out', 'report.html');
    const redactor = new Redactor([SECRET]);
    const bus = new EventBus()
      .add(new JsonReportSink(join(dir, 'out', 'report.json'), { redactor }))
      .add(new FactsSink({ command: 'run', reportHtml: htmlPath, metricsFile: join(dir, 'out', 'nodesweep.prom'), stateDb: dbPath(), redactor, warn: (m) => assert.fail(m), now: () => NOW + 60 }));
    const events = storyRunEvents(NOW);
    // a secret in a message must not reach the page
    for (const e of events) bus.emit(e.kind === 'task_result' && e.module === 'crio_restart' ? { ...e, result: { ...e.result, msg: `${e.result.msg} (sudo password ${SECRET})` } } : e);
    await bus.close();
    report = JSON.parse(await readFile(join(dir, 'out', 'report.json'), 'utf8'));
    loaded = await load(htmlPath);
  });

  test('renders with no console error and no network request', async () => {
    assert.deepEqual(loaded.consoleErrors, []);
    assert.deepEqual(loaded.requests, []);
    assert.equal(await loaded.page.title(), 'nodesweep run · playbooks/prune-leaked-cgroups.yml');
    assert.equal(await loaded.page.locator('tr.node-row').count(), NODES.length);
    // something visible was drawn: the leaked chart has width
    const box = await loaded.page.locator('svg[data-chart="leaked"]').boundingBox();
    assert.ok(box && box.width > 300 && box.height > 100, JSON.stringify(box));
  });

  test('leaked cgroups by kind, before and after, are the JSON report\'s', async () => {
    const got = await marks(loaded.page, 'rect.bar[data-chart="leaked"]');
    const want: Record<string, string>[] = [];
    for (const node of NODES) {
      const scans = resultsOf(report, node, 'cgroup_scan');
      const first = scans[0]!;
      const last = scans.at(-1)!;
      for (const kind of LEAK_KINDS) want.push({ chart: 'leaked', node, series: 'before', kind, value: String(first.counts.by_kind[kind]) });
      for (const kind of LEAK_KINDS) want.push({ chart: 'leaked', node, series: 'after', kind, value: String(last.counts.by_kind[kind]) });
    }
    assert.deepEqual(got, want);
    // worker-04 is the story's node: thousands before, only the too-young one after
    assert.ok(Number(got.find((m) => m.node === 'worker-04' && m.series === 'before' && m.kind === 'conmon')!.value) > 1000);
  });

  test('memory against the 1 GiB line, kubelet CPU and num_cgroups are the JSON report\'s', async () => {
    const mem = await marks(loaded.page, 'rect.bar[data-chart="memory"]');
    const cpu = await marks(loaded.page, 'rect.bar[data-chart="kubelet-cpu"]');
    const cg = await marks(loaded.page, 'rect.bar[data-chart="num-cgroups"]');
    const wantMem: Record<string, string>[] = [];
    const wantCpu: Record<string, string>[] = [];
    const wantCg: Record<string, string>[] = [];
    for (const node of NODES) {
      const scans = resultsOf(report, node, 'cgroup_scan');
      const [first, last] = [scans[0]!.health, scans.at(-1)!.health];
      // each memory: the value before the run (when the last scan measured another), then the value after
      for (const [series, field] of [['system.slice', 'system_slice_memory_bytes'], ['crio', 'crio_memory_bytes']] as const) {
        if (first[field] !== last[field]) wantMem.push({ chart: 'memory', node, series: `${series}:before`, kind: 'memory', value: String(first[field]) });
        wantMem.push({ chart: 'memory', node, series, kind: 'memory', value: String(last[field]) });
      }
      wantCpu.push({ chart: 'kubelet-cpu', node, series: 'before', kind: 'value', value: String(first.kubelet_cpu_cores) });
      wantCpu.push({ chart: 'kubelet-cpu', node, series: 'after', kind: 'value', value: String(last.kubelet_cpu_cores) });
      const max = (h: Result) => String(Math.max(...(Object.values(h.num_cgroups) as number[])));
      wantCg.push({ chart: 'num-cgroups', node, series: 'before', kind: 'value', value: max(first) });
      wantCg.push({ chart: 'num-cgroups', node, series: 'after', kind: 'value', value: max(last) });
    }
    assert.deepEqual(mem, wantMem);
    assert.deepEqual(cpu, wantCpu);
    assert.deepEqual(cg, wantCg);
    assert.equal(await loaded.page.getAttribute('svg[data-chart="memory"] .ref-line', 'data-ref'), String(SYSTEM_RESERVATION_BYTES));
    // the story's node was over the line before the prune, and is back under it
    const w4 = mem.filter((m) => m.node === 'worker-04' && (m.series ?? '').startsWith('system.slice')).map((m) => Number(m.value) > SYSTEM_RESERVATION_BYTES);
    assert.deepEqual(w4, [true, false]);
  });

  test('verdicts, removed/busy counts and task outcomes follow the JSON report', async () => {
    const rows = await marks(loaded.page, 'tr.node-row');
    assert.deepEqual(rows.map((r) => [r.node, r.verdict]), [['worker-01', 'clean'], ['worker-02', 'clean'], ['worker-04', 'leaking']].map(([n]) => [n, rows.find((r) => r.node === n)!.verdict]));
    // worker-04 keeps its too-young leak: leaking; the others were cleaned completely
    assert.deepEqual(rows.map((r) => r.verdict), ['cleaned', 'cleaned', 'leaking']);
    const data = JSON.parse((await loaded.page.textContent('#nodesweep-data'))!);
    for (const node of NODES) {
      const removed = resultsOf(report, node, 'cgroup_prune').flatMap((r) => r.removed as string[]);
      const n = data.nodes.find((x: { node: string }) => x.node === node);
      assert.deepEqual(n.removed, removed);
      assert.deepEqual(n.tasks.map((t: { status: string }) => t.status), report.hosts[node]!.tasks.map((t) => t.status));
      assert.deepEqual(n.stats, report.hosts[node]!.stats);
    }
    const details = await loaded.page.textContent('details[data-node="worker-04"]');
    assert.match(details!, /Restart crio: success/);
    assert.ok(!(await loaded.page.content()).includes(SECRET), 'the secret reached the page');
    assert.ok((await loaded.page.content()).includes(MASK));
  });

  test('history curves are the database\'s samples, with each prune marked', async () => {
    const db = openHistory(dbPath());
    const hist = queryHistory(db, { since: NOW + 60 - 30 * 86_400 });
    db.close();
    for (const h of hist) {
      const pts = await marks(loaded.page, `circle.point[data-chart="history-memory"][data-node="${h.node}"][data-series="system.slice"]`);
      const want = h.samples.filter((s) => s.system_slice_memory_bytes !== null).map((s) => [String(s.ts), String(s.system_slice_memory_bytes)]);
      assert.deepEqual(pts.map((p) => [p.ts, p.value]), want);
      // 20 cron scans (worker-01's pruning one stored before and after) + today's before and after
      assert.equal(want.length, h.node === 'worker-01' ? 23 : 22, h.node);
      const cpu = await marks(loaded.page, `circle.point[data-chart="history-kubelet-cpu"][data-node="${h.node}"]`);
      assert.deepEqual(cpu.map((p) => Number(p.value)), h.samples.map((s) => s.kubelet_cpu_cores));
      const pruneTs = await loaded.page.$$eval(`svg[data-chart="history-memory"][data-node="${h.node}"] g.prune-mark`, (els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.ts));
      assert.deepEqual(pruneTs, h.prunes.map((p) => String(p.ts)));
    }
    // worker-01 was pruned two days ago and today; worker-04 today (after its crio restart)
    assert.deepEqual(hist.map((h) => [h.node, h.prunes.length]), [['worker-01', 2], ['worker-02', 1], ['worker-04', 1]]);
  });

  test('a screenshot of the whole page', async () => {
    const shot = join(dir, 'report.png');
    await loaded.page.screenshot({ path: shot, fullPage: true });
    const size = (await stat(shot)).size;
    assert.ok(size > 50_000, `screenshot only ${size} bytes`);
    const keep = process.env.NODESWEEP_SCREENSHOT;
    if (keep) await copyFile(shot, keep);
  });
});

describe('HTML report without history or cgroup data', () => {
  test('a run with no cgroup results says so, still valid and offline', async () => {
    const path = join(dir, 'empty.html');
    const html = renderHtmlReport(
      buildHtmlData({ playbook: 'site.yml', check_mode: false, started_at: NOW, finished_at: NOW + 5, exit_code: 0, nodes: [] }, null, { command: 'run', now: NOW }),
    );
    await (await import('node:fs/promises')).writeFile(path, html);
    const l = await load(path);
    assert.deepEqual([l.consoleErrors, l.requests], [[], []]);
    assert.match((await l.page.textContent('main'))!, /No cgroup data/);
    assert.equal(await l.page.locator('#history').count(), 0);
    await l.page.close();
  });

  test('a fact not measured after the prune reads "not measured", in the table and on the bars, never the value before', async () => {
    const { nodeFacts } = await import('../../src/history/node-facts.js');
    const { Scenario } = await import('./scenario.js');
    const { leaks, scanResult, pruneResult, GIB, MIB } = await import('../history/fixtures.js');
    const L = leaks('pod', 4);
    const ev = new Scenario('prune.yml', ['n1'])
      .startPlay('p', ['n1'])
      .result('scan', 'cgroup_scan', 'n1', 'ok', scanResult(L, { crio: 1.05 * GIB, system: 1.2 * GIB, cpu: 0.37, numCgroups: { memory: 700 } }))
      // memory measured after removing; kubelet CPU not sampled, num_cgroups not read
      .result('prune', 'cgroup_prune', 'n1', 'changed', pruneResult(L, { after: { crio: 155 * MIB, system: 340 * MIB, numCgroups: {} } }))
      .end().events;
    const path = join(dir, 'not-measured.html');
    await (await import('node:fs/promises')).writeFile(path, renderHtmlReport(buildHtmlData(nodeFacts(ev), null, { command: 'run', now: NOW })));
    const l = await load(path);
    assert.deepEqual([l.consoleErrors, l.requests], [[], []]);
    const row = (await l.page.textContent('tr.node-row[data-node="n1"]'))!.replace(/\s+/g, ' ');
    assert.match(row, /340 MiB/);
    assert.match(row, /0\.37 → not measured/);
    assert.match(row, /700 → not measured/);
    for (const chart of ['kubelet-cpu', 'num-cgroups']) {
      const label = await l.page.textContent(`svg[data-chart="${chart}"] text.bar-value[data-node="n1"][data-series="after"]`);
      assert.equal(label, 'after not measured', chart);
    }
    const data = JSON.parse((await l.page.textContent('#nodesweep-data'))!);
    assert.deepEqual([data.nodes[0].after.kubelet_cpu_cores, data.nodes[0].after.num_cgroups, data.nodes[0].after.crio_memory_bytes], [null, null, 155 * MIB]);
    await l.page.close();
  });

  test('text from results is escaped, and the embedded JSON cannot close its script element', async () => {
    const evil = '</script><img src=x onerror=alert(1)>';
    const path = join(dir, 'evil.html');
    const { nodeFacts } = await import('../../src/history/node-facts.js');
    const { Scenario } = await import('./scenario.js');
    const ev = new Scenario('x.yml', ['n1']).startPlay('p', ['n1']).result(evil, 'command', 'n1', 'failed', { msg: evil }).end().events;
    await (await import('node:fs/promises')).writeFile(path, renderHtmlReport(buildHtmlData(nodeFacts(ev), null, { command: 'run', now: NOW })));
    const l = await load(path);
    assert.deepEqual([l.consoleErrors, l.requests], [[], []]);
    assert.equal(await l.page.locator('img').count(), 0);
    const data = JSON.parse((await l.page.textContent('#nodesweep-data'))!);
    assert.equal(data.nodes[0].tasks[0].msg, evil);
    await l.page.close();
  });
});
