/**
 * The story's scale as data: a node with ~100,000 kubepods dirs (4 hierarchies, 8,333 pods, 1 in 10 live) and the
 * collect report for it. Used by the scale test (test/cgroup/scale.test.ts) and the core bench (bench/core.ts).
 */
import { emptyHealth } from '../../src/cgroup/collect-parse.js';
import type { CgroupDir, CollectedNode } from '../../src/cgroup/types.js';
import { NOW, crictlPodsJson, crictlPsJson, hex64, sdPod, uid } from './tree.js';
import { containerDirName } from '../../src/cgroup/names.js';

const HIER = ['memory', 'pids', 'cpu,cpuacct', 'blkio'];

/** 4 hierarchies x (kubepods + 2 QoS + 8,333 pods x (slice + scope + conmon)) ~= 100,000 dirs; 1 in 10 pods live. */
export function bigNode(): CollectedNode {
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
      add(`${pod}/${containerDirName('systemd', 'container', m.id)}`, i % 97 === 0 ? [10_000 + i] : []);
      add(`${pod}/${containerDirName('systemd', 'conmon', m.id)}`);
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
export function asReport(n: CollectedNode): string {
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
