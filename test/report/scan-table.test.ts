import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ScanResultSink, formatBytes, formatScanTable, scanJson, scanRows } from '../../src/report/scan-table.js';
import type { RunEvent } from '../../src/events/events.js';
import type { ModuleResult } from '../../src/modules/types.js';

function scanResult(verdict: string, over: Partial<ModuleResult> = {}): ModuleResult {
  return {
    status: 'ok',
    cgroup_mode: 'v2',
    live_pods: ['a', 'b'],
    summary: {
      verdict,
      leaked: 7,
      leaked_by_kind: { pod: 2, container: 2, conmon: 2, sandbox: 1, nested: 0 },
      busy: 1,
      too_young: 0,
      crio_memory_bytes: 1288490189,
      system_slice_memory_bytes: null,
      kubelet_cpu_cores: 11.5,
      num_cgroups: 48211,
      nr_dying_descendants: 3,
      crio_version: '1.24.3',
      crio_version_leaking: true,
      reason: null,
    },
    ...over,
  };
}

function feed(events: RunEvent[]): ScanResultSink {
  const s = new ScanResultSink();
  for (const e of events) s.handle(e);
  return s;
}

const result = (host: string, module: string, status: ModuleResult['status'], res: ModuleResult): RunEvent => ({
  kind: 'task_result', play: 'p', task: 't', module, host, status, result: res, durationMs: 1,
});

describe('scan table', () => {
  test('one row per host: scanned, unreachable, failed before the scan', () => {
    const sink = feed([
      { kind: 'run_start', playbook: 'x', checkMode: false, startedAt: '', hosts: ['w2', 'w1', 'w3'] },
      result('w1', 'cgroup_scan', 'ok', scanResult('leaking')),
      result('w2', 'cgroup_scan', 'unreachable', { status: 'unreachable', msg: 'w2: connect ECONNREFUSED' }),
      result('w3', 'shell', 'failed', { status: 'failed', msg: 'sudo: a password is required' }),
    ]);
    const rows = scanRows(sink);
    assert.deepEqual(rows.map((r) => [r.host, r.verdict]), [['w1', 'leaking'], ['w2', 'unreachable'], ['w3', 'failed']]);
    const w1 = rows[0]!;
    assert.equal(w1.leaked, 7);
    assert.equal(w1.live_pods, 2);
    assert.equal(w1.crio_version_leaking, true);
    const table = formatScanTable(rows).split('\n');
    assert.match(table[1]!, /^w1\s+leaking\s+7\s+2\/2\/2\/1\s+1\s+1\.2 GiB\s+11\.50\s+48211\s+crio 1\.24\.3 leaks, v2$/);
    assert.match(table[2]!, /^w2\s+unreachable\s+-\s+-\s+-\s+-\s+-\s+-\s+w2: connect ECONNREFUSED$/);
    assert.match(table[3]!, /^w3\s+failed .*sudo: a password is required$/);
    const json = JSON.parse(scanJson(rows));
    assert.equal(json.nodesweep_scan, 1);
    assert.equal(json.nodes[0].crio_memory_bytes, 1288490189);
  });
  test('a fail-closed scan shows no figures and the reason', () => {
    const r = scanResult('unknown', { status: 'failed', msg: 'cannot tell', summary: { ...(scanResult('unknown').summary as object), reason: 'crictl ps -a failed' } });
    const rows = scanRows(feed([result('w1', 'cgroup_scan', 'failed', r)]));
    assert.equal(rows[0]!.verdict, 'unknown');
    assert.equal(rows[0]!.leaked, null);
    assert.equal(rows[0]!.reason, 'crictl ps -a failed');
  });
  test('bytes', () => {
    const table: Array<[number | null, string]> = [[null, '-'], [0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [1073741824, '1.0 GiB'], [512 * 1024 * 1024, '512 MiB']];
    for (const [b, s] of table) assert.equal(formatBytes(b), s);
  });
});
