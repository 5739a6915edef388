/** parseCollectOutput on a recorded report and on garbage/truncated ones (fail closed). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { collectParams, parseCollectOutput } from '../../src/cgroup/collect-parse.js';
import { classify } from '../../src/cgroup/classify.js';
import { ClassifyError, CollectParseError } from '../../src/cgroup/types.js';

const RECORDED = readFileSync(new URL('../fixtures/cgroup/hybrid-recorded.txt', import.meta.url), 'utf8');
const A = '3f1c2a4e-7b7d-4c55-9a51-0c1e2d3f4a5b';
const G = '9d8e7f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5';

describe('parseCollectOutput: a recorded hybrid node (memory, pids, unified; live pod with a process; gone pod; bogus pids tree)', () => {
  const node = parseCollectOutput(RECORDED);

  test('mode, hierarchies and dirs', () => {
    assert.equal(node.mode, 'hybrid');
    assert.equal(node.now, 1795815724);
    assert.deepEqual(node.hierarchies.map((h) => `${h.version} ${h.name}`), ['v1 memory', 'v1 pids', 'v2 unified']);
    assert.equal(node.dirs.length, 7 + 7 + 11);
    const uni = node.hierarchies[2]!;
    const bogus = node.dirs.filter((d) => d.rel.startsWith('pids/'));
    assert.equal(bogus.length, 4);
    assert.ok(bogus.every((d) => d.hierarchy === 'unified' && d.path === `${uni.path}/${d.rel}` && d.populated === false));
    assert.ok(node.dirs.every((d) => d.mtime === 1795815724));
  });

  test('processes: pids per dir, state and command line from /proc', () => {
    // a scan report: every dir's processes were read (null would mean "not read", never "none")
    assert.ok(node.dirs.every((d) => Array.isArray(d.pids)));
    assert.equal(node.collectMode, undefined);
    const holders = node.dirs.filter((d) => d.pids!.length > 0);
    assert.deepEqual(holders.map((d) => d.hierarchy), ['memory', 'pids', 'unified']);
    assert.ok(holders.every((d) => d.pids![0] === 29356 && d.rel.endsWith('.scope') && d.rel.includes(A.replace(/-/g, '_'))));
    assert.deepEqual(node.procs[29356], { pid: 29356, state: 'S', cmdline: 'sleep 300', comm: 'sleep' });
    assert.equal(node.dirs.find((d) => d.hierarchy === 'unified' && d.rel === 'kubepods.slice')!.populated, true);
  });

  test('runtime outputs kept apart, kubelet pods dir, health', () => {
    assert.equal(node.crictlPods.rc, 0);
    assert.equal(JSON.parse(node.crictlPods.stdout).items[0].metadata.uid, A);
    assert.equal(JSON.parse(node.crictlContainers.stdout).containers.length, 1);
    assert.equal(node.crictlPods.stderr, '');
    assert.deepEqual(node.kubeletPods, { ok: true, uids: [A] });
    assert.equal(node.health.procCgroups.find((r) => r.subsys === 'memory')!.num_cgroups, 80);
    assert.equal(node.health.nrDescendants, 12);
    assert.equal(node.health.nrDyingDescendants, 0);
    assert.deepEqual(node.health.kubeletCpu, { pid: 29358, ticks0: 0, ticks1: 0, clkTck: 100, intervalS: 1, foundBy: null });
    assert.equal(node.health.crioVersion!.stdout, 'crio version 1.24.1\nVersion:  1.24.1');
    assert.equal(node.health.kubeletVersion, null);
    assert.equal(node.health.systemSliceMemoryBytes, null);
    assert.deepEqual(Object.values(node.health.kubeletLogCounts!), [0, 0, 0, 0]);
  });

  test('classified: the gone pod leaked in every hierarchy and in the bogus pids tree', () => {
    const c = classify(node, { minAgeS: 0 });
    assert.equal(c.runtime_ok, true);
    assert.deepEqual(c.live_pods, [A]);
    assert.deepEqual(c.counts.by_kind, { pod: 4, container: 4, conmon: 0, sandbox: 0, nested: 0 });
    assert.deepEqual(c.counts.by_hierarchy, { memory: 2, pids: 2, unified: 4 });
    assert.equal(c.counts.bogus_pids_tree, 2);
    assert.ok(c.leaked.every((l) => l.pod_uid === G && l.status === 'removable'));
    assert.equal(c.health.kubelet_cpu_cores, 0);
    assert.equal(c.health.crio_version, '1.24.1');
    assert.equal(c.health.crio_version_leaking, true);
    // mtime is a lower bound: with a grace period, the just-looked-up dirs are too young
    assert.equal(classify(node, { minAgeS: 60 }).counts.by_status.removable, 0);
  });
});

describe('parseCollectOutput: fail closed', () => {
  const lines = RECORDED.split('\n');
  const cases: [string, string, RegExp][] = [
    ['empty output', '', /expected '@@nodesweep-collect 1'/],
    ['a shell error instead of a report', 'sh: 1: Syntax error: "(" unexpected\n', /line 1: expected '@@nodesweep-collect 1'.*Syntax error/],
    ['another format version', RECORDED.replace('@@nodesweep-collect 1', '@@nodesweep-collect 2'), /got format 2/],
    ['no end marker', lines.slice(0, -2).join('\n'), /missing '@@end nodesweep-collect'.*truncated/],
    ['lines after the end marker', RECORDED.replace('@@end nodesweep-collect\n', '@@end nodesweep-collect\n@@end nodesweep-collect\n'), /unexpected lines after/],
    ['an unknown section', RECORDED.replace('@@proc-cgroups\n', '@@bogus\n@@proc-cgroups\n'), /unknown section "@@bogus"/],
    ['a dir outside its hierarchy', RECORDED.replace(/^(\d+\.\d+) \/sys\/fs\/cgroup\/memory\/[^/]+\//m, '$1 /etc/'), /expected 'MTIME \/sys\/fs\/cgroup\/memory\/.*got "1795815724.4114362730 \/etc\//],
    ['a bad pid', RECORDED.replace(/cgroup\.procs:29356/, 'cgroup.procs:29x56'), /expected a pid, got "29x56"/],
    ['a bad populated line', RECORDED.replace(/cgroup\.events:populated 1/, 'cgroup.events:populated yes'), /expected 'populated 0\|1'/],
    ['a crictl payload line without its prefix', RECORDED.replace('|  "items": [', '  "items": ['), /expected a payload line starting with '\|'/],
    ['no crictl sections', RECORDED.replace(/@@cmd crictl-pods[\s\S]*?@@endcmd\n/, ''), /no '@@cmd crictl-pods'/],
    ['no kubelet pods section', RECORDED.replace(/@@kubelet-pods[\s\S]*?@@end-kubelet-pods\n/, ''), /no '@@kubelet-pods' section/],
    ['a garbage line between sections', RECORDED.replace('@@proc-cgroups\n', 'garbage\n@@proc-cgroups\n'), /expected a '@@' section header, got "garbage"/],
  ];
  for (const [name, text, re] of cases) {
    test(name, () => {
      assert.throws(
        () => parseCollectOutput(text),
        (e: unknown) => e instanceof CollectParseError && e.code === 'CGROUP_COLLECT_PARSE' && re.test(e.message),
      );
    });
  }

  test('every truncation of the recorded report is refused', () => {
    let refused = 0;
    for (let k = 0; k <= lines.length - 2; k++) {
      const text = lines.slice(0, k).join('\n') + (k ? '\n' : '');
      assert.throws(() => parseCollectOutput(text), CollectParseError, `prefix of ${k} lines accepted`);
      refused++;
    }
    // cut mid-line too
    for (const at of [10, 500, 2000, RECORDED.length - 5]) assert.throws(() => parseCollectOutput(RECORDED.slice(0, at)), CollectParseError);
    assert.equal(refused, lines.length - 1);
  });

  test('error messages name the line', () => {
    try {
      parseCollectOutput(RECORDED.replace('@@proc-cgroups\n', 'garbage\n@@proc-cgroups\n'));
      assert.fail('accepted');
    } catch (e) {
      const line = RECORDED.split('\n').indexOf('@@proc-cgroups') + 1;
      assert.equal((e as CollectParseError).line, line);
      assert.match((e as Error).message, new RegExp(`^cgroup collect output line ${line}: `));
    }
  });
});

describe('parseCollectOutput: details', () => {
  const head = '@@nodesweep-collect 1\n@@now 100\n@@root /r\n@@fstype 63677270 cgroup2fs\n@@dirlister printf\n';
  const tail =
    '@@cmd crictl-pods 0\n@@stdout\n|{"items": []}\n\n@@stderr\n\n@@endcmd\n' +
    '@@cmd crictl-ps 0\n@@stdout\n|{"containers": []}\n\n@@stderr\n\n@@endcmd\n' +
    '@@kubelet-pods unreadable /k/pods\n@@end-kubelet-pods\n@@proc-cgroups\n@@end-proc-cgroups\n@@absent journal\n@@end nodesweep-collect\n';
  const hier = (procs: string, stat = '', cmd = '') =>
    `${head}@@hierarchy v2 unified /r\n@@dirs 1\n99.5 /r/kubepods.slice\n- /r/kubepods.slice/x\n@@rc find-dirs 1\n@@procs\n${procs}@@rc find-procs 0\n@@end-hierarchy\n@@proc-stat\n${stat}@@proc-cmdline\n${cmd}@@end-procs\n${tail}`;

  test('v2 mode, mtime floored, unknown mtime, warnings from rc lines, unreadable kubelet dir', () => {
    const n = parseCollectOutput(hier(''));
    assert.equal(n.mode, 'v2');
    assert.deepEqual(n.dirs.map((d) => [d.rel, d.mtime]), [['kubepods.slice', 99], ['kubepods.slice/x', null]]);
    assert.match(n.warnings.join('\n'), /unified: find \(dirs\) find-dirs 1/);
    assert.deepEqual(n.kubeletPods, { ok: false, reason: 'kubelet pods dir /k/pods is unreadable' });
  });

  test('a dir seen only in the procs listing (created in between) is kept, with unknown age', () => {
    const n = parseCollectOutput(hier('/r/kubepods.slice/new/cgroup.procs:5\n'));
    const d = n.dirs.find((x) => x.rel === 'kubepods.slice/new')!;
    assert.deepEqual([d.mtime, d.pids], [null, [5]]);
    assert.deepEqual(n.procs[5], { pid: 5, state: '?', cmdline: '', comm: '' });
  });

  test('comm with spaces and parens, multi-line and NUL-separated command lines, kernel threads', () => {
    const stat = '/proc/7/stat:7 (a (b) c) D 1 2 3\n/proc/8/stat:8 (kworker/0:1) I 2 0 0\n/proc/9/stat:9 (evil\n/proc/9/stat:) S\n/proc/9/stat:) D 1 2\n';
    const cmd = '/proc/7/cmdline:sh -c echo\n/proc/7/cmdline:two\0lines \n';
    const n = parseCollectOutput(hier('/r/kubepods.slice/x/cgroup.procs:7\n/r/kubepods.slice/x/cgroup.procs:8\n', stat, cmd));
    assert.deepEqual(n.procs[7], { pid: 7, state: 'D', cmdline: 'sh -c echo two lines', comm: 'a (b) c' });
    assert.deepEqual(n.procs[8], { pid: 8, state: 'I', cmdline: '[kworker/0:1]', comm: 'kworker/0:1' });
    // a comm with a newline cannot hide a D state
    assert.equal(n.procs[9]!.state, 'D');
    assert.equal(n.procs[9]!.comm, 'evil\n) S\n');
  });

  test('kubelet log counts: matched lines mapped to their pattern; a failed journalctl or grep gives null, not zero', () => {
    const j = (rcs: string, body: string) => hier('').replace('@@absent journal\n', `@@journal 1700000000 ${rcs}\n${body}@@end-journal\n`);
    const ok = parseCollectOutput(j('0 0', '|     12 Failed to update stats for container\n|      3 orphaned pod\n|      4 Orphaned pod\n'));
    assert.deepEqual(ok.health.kubeletLogCounts, {
      'Failed to update stats for container': 12,
      'Unable to fetch pod log stats': 0,
      'Failed to delete cgroup paths': 0,
      'orphaned pod': 7,
    });
    assert.equal(ok.health.kubeletLogSince, 1700000000);
    const noJournal = parseCollectOutput(j('1 1', '!Failed to get journal access\n'));
    assert.equal(noJournal.health.kubeletLogCounts, null);
    assert.match(noJournal.warnings.join('\n'), /journalctl -u kubelet: rc 1: Failed to get journal access/);
    const noGrepO = parseCollectOutput(j('0 2', ''));
    assert.equal(noGrepO.health.kubeletLogCounts, null);
    assert.match(noGrepO.warnings.join('\n'), /grep rc 2/);
  });

  test('crio settings: quotes removed, comments ignored, the last file wins', () => {
    const text = hier('').replace(
      '@@absent journal\n',
      '@@crio-config\n|/etc/crio/crio.conf:cgroup_manager = "systemd"\n|/etc/crio/crio.conf:conmon_cgroup = \'pod\'\n' +
        '|/etc/crio/crio.conf:drop_infra_ctr = false # old\n|/etc/crio/crio.conf.d/99-x.conf:  drop_infra_ctr=true\n@@end-crio-config\n',
    );
    const n = parseCollectOutput(text);
    assert.deepEqual(n.health.crioConfig, { cgroup_manager: 'systemd', conmon_cgroup: 'pod', drop_infra_ctr: 'true' });
    const h = classify(n, { minAgeS: 0 }).health;
    assert.deepEqual([h.crio_drop_infra_ctr, h.crio_conmon_cgroup, h.crio_cgroup_manager], [true, 'pod', 'systemd']);
    const none = classify(parseCollectOutput(hier('')), { minAgeS: 0 }).health;
    assert.deepEqual([none.crio_drop_infra_ctr, none.crio_conmon_cgroup, none.crio_cgroup_manager], [null, null, null]);
  });

  // a prune-mode report: no processes read, no health
  const pruneReport = (procs = '@@procs unread\n') =>
    `@@nodesweep-collect 1\n@@mode prune\n@@phase start 2\n@@now 100\n@@root /r\n@@fstype 63677270 cgroup2fs\n@@dirlister printf\n` +
    `@@hierarchy v2 unified /r\n@@dirs 1\n9.5 /r/kubepods.slice\n9.5 /r/kubepods.slice/kubepods-podp1.slice\n@@rc find-dirs 0\n${procs}@@end-hierarchy\n` +
    `@@phase listing 31\n@@phase listing 10\n@@phase hierarchies 35\n@@proc-stat\n@@proc-cmdline\n@@end-procs\n${tail}`;

  test('prune mode: the processes are unknown (null), never "none"; phases summed', () => {
    const n = parseCollectOutput(pruneReport());
    assert.equal(n.collectMode, 'prune');
    assert.deepEqual(n.dirs.map((d) => d.pids), [null, null]);
    assert.deepEqual(n.phasesMs, { start: 20, listing: 410, hierarchies: 350 });
  });

  test('prune mode is all or nothing: read processes in a prune report, or unread ones in a scan report, are refused', () => {
    assert.throws(() => parseCollectOutput(pruneReport('@@procs\n@@rc find-procs 1\n')), /expected '@@procs unread' in hierarchy unified of a prune-mode report/);
    assert.throws(() => parseCollectOutput(hier('').replace('@@procs\n', '@@procs unread\n').replace('@@rc find-procs 0\n', '')), /'@@procs unread' in hierarchy unified of a report that is not '@@mode prune'/);
    assert.throws(() => parseCollectOutput(pruneReport().replace('@@mode prune', '@@mode fast')), /expected '@@mode scan\|prune'/);
    assert.throws(() => parseCollectOutput(pruneReport().replace('@@phase start 2', '@@phase start soon')), /expected '@@phase NAME CENTISECONDS'/);
  });

  test('a scan refuses to classify unread processes; the prune classifies them for the kernel to guard', () => {
    const n = parseCollectOutput(pruneReport());
    assert.throws(() => classify(n, { minAgeS: 0 }), (e: unknown) => e instanceof ClassifyError && /not read .*cannot tell empty from busy/.test((e as Error).message));
    assert.throws(() => classify(n, { minAgeS: 0, unreadProcs: 'refuse' }), ClassifyError);
    const k = parseCollectOutput(pruneReport().replace('@@kubelet-pods unreadable /k/pods', '@@kubelet-pods ok /k/pods'));
    const c = classify(k, { minAgeS: 0, unreadProcs: 'kernel-guard' });
    assert.equal(c.procs_read, false);
    assert.deepEqual(c.leaked.map((l) => [l.kind, l.status, l.populated, l.pids]), [['pod', 'removable', null, []]]);
    // a scan report: procs read, populated known
    const s = classify(parseCollectOutput(hier('')), { minAgeS: 0 });
    assert.equal(s.procs_read, true);
  });

  test('collectParams: the script variables', () => {
    assert.deepEqual(collectParams({ cgroupRoot: '/sys/fs/cgroup', kubeletRoot: '/var/lib/kubelet', crictl: 'crictl', since: 1700000000.7 }), {
      CGROUP_ROOT: '/sys/fs/cgroup',
      KUBELET_ROOT: '/var/lib/kubelet',
      CRICTL: 'crictl',
      SINCE: '1700000000',
      SAMPLE_S: '1',
      CRIO: 'crio',
      KUBELET: 'kubelet',
      JOURNALCTL: 'journalctl',
      CRIO_CONFIG: '/etc/crio',
    });
    const prune = collectParams({ cgroupRoot: '/c', kubeletRoot: '/k', crictl: 'crictl', mode: 'prune', sampleS: 0 });
    assert.equal(prune.NS_MODE, 'prune');
    assert.equal(prune.SAMPLE_S, '0');
    // the script counts in centiseconds: a plain decimal with at most two places
    const sample = (sampleS: number) => collectParams({ cgroupRoot: '/c', kubeletRoot: '/k', crictl: 'c', sampleS }).SAMPLE_S;
    assert.deepEqual([sample(0.5), sample(2.25), sample(1e-7), sample(60), sample(0.125)], ['0.5', '2.25', '0', '60', '0.13']);
  });
});
