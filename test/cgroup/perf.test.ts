/** The pure core at the story's scale: 100,000 kubepods dirs classified and planned well under a second. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { emptyHealth, parseCollectOutput } from '../../src/cgroup/collect-parse.js';
import { classify, planPrune } from '../../src/cgroup/classify.js';
import type { CgroupDir, CollectedNode } from '../../src/cgroup/types.js';
import { NOW, crictlPodsJson, crictlPsJson, hex64, sdPod, uid } from './tree.js';

const HIER = ['memory', 'pids', 'cpu,cpuacct', 'blkio'];

/** 4 hierarchies x (kubepods + 2 QoS + 8,333 pods x (slice + scope + conmon)) ~= 100,000 dirs; 1 in 10 pods live. */
function bigNode(): CollectedNode {
  const dirs: CgroupDir[] = [];
  const pods: { id: string; uid: string }[] = [];
  const containers: { id: string; podSandboxId: string; podUid: string }[] = [];
  const nPods = 8333;
  const meta = Array.from({ length: nPods }, (_, i) => ({ u: uid(`big${i}`), id: hex64(`big${i}`), qos: i % 2 ? 'burstable' : 'besteffort' }));
  meta.forEach((m, i) => {
    if (i % 10 === 0) {
      pods.push({ id: hex64(`sb${i}`), uid: m.u });
      containers.push({ id: m.id, podSandboxId: hex64(`sb${i}`), podUid: m.u });
    }
  });
  for (const h of HIER) {
    const base = `/sys/fs/cgroup/${h}`;
    const add = (rel: string, pids: number[] = []) => dirs.push({ hierarchy: h, path: `${base}/${rel}`, rel, mtime: NOW - 3600, pids, populated: null });
    add('kubepods.slice');
    add('kubepods.slice/kubepods-burstable.slice');
    add('kubepods.slice/kubepods-besteffort.slice');
    meta.forEach((m, i) => {
      const pod = sdPod(m.qos, m.u);
      add(pod);
      add(`${pod}/crio-${m.id}.scope`, i % 97 === 0 ? [10_000 + i] : []);
      add(`${pod}/crio-conmon-${m.id}.scope`);
    });
  }
  return {
    formatVersion: 1,
    now: NOW,
    cgroupRoot: '/sys/fs/cgroup',
    mode: 'v1',
    hierarchies: HIER.map((name) => ({ name, path: `/sys/fs/cgroup/${name}`, version: 'v1' as const })),
    dirs,
    procs: {},
    crictlPods: { rc: 0, stdout: crictlPodsJson(pods), stderr: '' },
    crictlContainers: { rc: 0, stdout: crictlPsJson(containers), stderr: '' },
    kubeletPods: { ok: true, uids: pods.map((p) => p.uid) },
    health: emptyHealth(),
    warnings: [],
  };
}

/** The same node as the collect script would print it. */
function asReport(n: CollectedNode): string {
  const out = ['@@nodesweep-collect 1', `@@now ${n.now}`, '@@root /sys/fs/cgroup', '@@fstype 1021994 tmpfs', '@@dirlister printf'];
  for (const h of n.hierarchies) {
    out.push(`@@hierarchy v1 ${h.name} ${h.path}`, '@@dirs 1');
    const ds = n.dirs.filter((d) => d.hierarchy === h.name);
    for (const d of ds) out.push(`${d.mtime}.5 ${d.path}`);
    out.push('@@rc find-dirs 0', '@@procs');
    for (const d of ds) for (const p of d.pids ?? []) out.push(`${d.path}/cgroup.procs:${p}`);
    out.push('@@rc find-procs 0', '@@end-hierarchy');
  }
  out.push('@@proc-stat', '@@proc-cmdline', '@@end-procs');
  for (const [label, o] of [['crictl-pods', n.crictlPods], ['crictl-ps', n.crictlContainers]] as const) {
    out.push(`@@cmd ${label} 0`, '@@stdout', ...o.stdout.split('\n').map((l) => `|${l}`), '', '@@stderr', '', '@@endcmd');
  }
  out.push('@@kubelet-pods ok /var/lib/kubelet/pods', '@@end-kubelet-pods', '@@proc-cgroups', '@@end-proc-cgroups', '@@end nodesweep-collect', '');
  return out.join('\n');
}

test('100,000 dirs: classify + planPrune well under a second, parse of the report too', () => {
  const node = bigNode();
  assert.ok(node.dirs.length >= 100_000, `${node.dirs.length} dirs`);
  const report = asReport(node);

  const t0 = performance.now();
  const parsed = parseCollectOutput(report);
  const t1 = performance.now();
  // CPU time, not wall time: CI machines run other suites next to this one
  const cpu0 = process.cpuUsage();
  const c = classify(parsed, { minAgeS: 300 });
  const plan = planPrune(c, { maxRemovals: 1_000_000 });
  const cpu = process.cpuUsage(cpu0);

  assert.equal(parsed.dirs.length, node.dirs.length);
  // 7,499 gone pods x 3 dirs x 4 hierarchies, minus the busy scopes' pods (slice + scope + conmon stay)
  const gone = 8333 - 834;
  const busyGone = Array.from({ length: 8333 }, (_, i) => i).filter((i) => i % 97 === 0 && i % 10 !== 0).length;
  assert.equal(c.counts.total, gone * 3 * 4);
  assert.equal(c.busy.length, busyGone * 4);
  assert.equal(plan.remove.length, (gone - busyGone) * 3 * 4 + busyGone * 4);
  const classifyMs = (cpu.user + cpu.system) / 1000;
  const parseMs = t1 - t0;
  assert.ok(classifyMs < 1000, `classify + planPrune of ${node.dirs.length} dirs took ${classifyMs.toFixed(0)} ms of CPU`);
  assert.ok(parseMs < 2000, `parse of ${node.dirs.length} dirs took ${parseMs.toFixed(0)} ms`);
});
