/** Table-driven tests of the pure classifier and the prune plan on recorded/fixture trees. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, crioVersionLeaking, planPrune } from '../../src/cgroup/classify.js';
import { nodeVerdict } from '../../src/cgroup/verdict.js';
import type { Classification } from '../../src/cgroup/types.js';
import type { CollectedNodeSpec } from './tree.js';
import { NOW, collectedNode, crictlPodsJson, fsPod, hex64, sdPod, uid } from './tree.js';

// live pod A (burstable), its sandbox, container and conmon
const A = uid('a');
const A_SB = hex64('a-sandbox');
const A_C = hex64('a-container');
// gone pods
const G1 = uid('gone1');
const G1_SB = hex64('gone1-sandbox');
const G2 = uid('gone2');
const G2_C = hex64('gone2-container');
// kubelet-only pod
const T = uid('terminating');
const T_C = hex64('terminating-container');

const livePodsA = { pods: [{ id: A_SB, uid: A }], containers: [{ id: A_C, podSandboxId: A_SB, podUid: A }] };

interface Case {
  name: string;
  spec: CollectedNodeSpec;
  minAgeS?: number;
  /** Exact set of leaked dirs as "hierarchy rel status". */
  leaked: string[];
  /** Some other decisions to check: "hierarchy rel" -> decision. */
  decisions?: Record<string, string>;
  runtimeError?: RegExp;
  /** Exact prune plan (relative "hierarchy rel"), in order. */
  plan?: string[];
  verdict?: string;
}

const cases: Case[] = [
  {
    name: "the story's node: systemd driver, v1 with several controllers, cri-o 6349 sandbox scopes left in every controller",
    spec: {
      hierarchies: { memory: 'v1', pids: 'v1', 'cpu,cpuacct': 'v1' },
      dirs: ['memory', 'pids', 'cpu,cpuacct'].flatMap((h) => [
        [h, `${sdPod('burstable', A)}/crio-${A_C}.scope`],
        [h, `${sdPod('burstable', A)}/crio-conmon-${A_C}.scope`],
        [h, `${sdPod('burstable', A)}/crio-${A_SB}`],
        [h, `${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`],
      ] as [string, string][]),
      ...livePodsA,
    },
    leaked: ['memory', 'pids', 'cpu,cpuacct'].flatMap((h) => [`${h} ${sdPod('besteffort', G1)} removable`, `${h} ${sdPod('besteffort', G1)}/crio-${G1_SB}.scope removable`]),
    decisions: {
      'memory kubepods.slice': 'protected',
      'memory kubepods.slice/kubepods-burstable.slice': 'protected',
      'memory kubepods.slice/kubepods-besteffort.slice': 'protected',
      [`memory ${sdPod('burstable', A)}`]: 'live',
      [`pids ${sdPod('burstable', A)}/crio-${A_C}.scope`]: 'live',
      [`pids ${sdPod('burstable', A)}/crio-conmon-${A_C}.scope`]: 'live',
      [`pids ${sdPod('burstable', A)}/crio-${A_SB}`]: 'live',
    },
    // deepest first, within a depth in listing order
    plan: [
      `memory ${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`,
      `pids ${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`,
      `cpu,cpuacct ${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`,
      `memory ${sdPod('besteffort', G1)}`,
      `pids ${sdPod('besteffort', G1)}`,
      `cpu,cpuacct ${sdPod('besteffort', G1)}`,
    ],
    verdict: 'leaking',
  },
  {
    name: 'three QoS classes, systemd driver; the UID comes back with - for _',
    spec: {
      dirs: [
        ['memory', sdPod('guaranteed', G1)],
        ['memory', sdPod('burstable', G2)],
        ['memory', `${sdPod('besteffort', G2)}/crio-conmon-${G2_C}.scope`],
        ['memory', sdPod('guaranteed', A)],
      ],
      ...livePodsA,
    },
    leaked: [`memory ${sdPod('guaranteed', G1)} removable`, `memory ${sdPod('burstable', G2)} removable`, `memory ${sdPod('besteffort', G2)} removable`, `memory ${sdPod('besteffort', G2)}/crio-conmon-${G2_C}.scope removable`],
    decisions: { [`memory ${sdPod('guaranteed', A)}`]: 'live' },
  },
  {
    name: 'cgroupfs driver: kubepods/{burstable,besteffort}/pod<u>, kubepods/pod<u>, crio-<H> and crio-conmon-<H>',
    spec: {
      hierarchies: { memory: 'v1', pids: 'v1' },
      dirs: [
        ['memory', `${fsPod('burstable', A)}/crio-${A_C}`],
        ['memory', `${fsPod('burstable', A)}/crio-${A_SB}`],
        ['memory', `${fsPod('burstable', A)}/crio-conmon-${hex64('old-conmon')}`],
        ['pids', `${fsPod('besteffort', G1)}/crio-${G1_SB}`],
        ['pids', `${fsPod('guaranteed', G2)}/crio-conmon-${G2_C}`],
      ],
      ...livePodsA,
    },
    leaked: [
      `memory ${fsPod('burstable', A)}/crio-conmon-${hex64('old-conmon')} removable`,
      `pids ${fsPod('besteffort', G1)} removable`,
      `pids ${fsPod('besteffort', G1)}/crio-${G1_SB} removable`,
      `pids ${fsPod('guaranteed', G2)} removable`,
      `pids ${fsPod('guaranteed', G2)}/crio-conmon-${G2_C} removable`,
    ],
    decisions: {
      'memory kubepods': 'protected',
      'memory kubepods/burstable': 'protected',
      [`memory ${fsPod('burstable', A)}`]: 'live',
      [`memory ${fsPod('burstable', A)}/crio-${A_C}`]: 'live',
      [`memory ${fsPod('burstable', A)}/crio-${A_SB}`]: 'live',
    },
  },
  {
    name: 'v2 with populated flags and the bogus pids/ tree',
    spec: {
      mode: 'v2',
      hierarchies: { unified: 'v2' },
      dirs: [
        ['unified', `${sdPod('burstable', A)}/crio-${A_C}.scope`, { pids: [101], populated: true }],
        ['unified', `${sdPod('burstable', A)}`, { populated: true }],
        ['unified', `${sdPod('besteffort', G1)}/crio-${G1_SB}`, { populated: false }],
        ['unified', `pids/${sdPod('besteffort', G1)}/crio-${G1_SB}.scope`, { populated: false }],
        ['unified', `pids/${sdPod('burstable', A)}/crio-${A_SB}.scope`, { populated: false }],
      ],
      ...livePodsA,
    },
    leaked: [
      `unified ${sdPod('besteffort', G1)} removable`,
      `unified ${sdPod('besteffort', G1)}/crio-${G1_SB} removable`,
      `unified pids/${sdPod('besteffort', G1)} removable`,
      `unified pids/${sdPod('besteffort', G1)}/crio-${G1_SB}.scope removable`,
    ],
    decisions: {
      'unified pids/kubepods.slice': 'protected',
      'unified pids/kubepods.slice/kubepods-besteffort.slice': 'protected',
      [`unified pids/${sdPod('burstable', A)}/crio-${A_SB}.scope`]: 'live',
    },
  },
  {
    name: 'live pod with a leaked container scope: only the scope goes, the pod stays',
    spec: {
      dirs: [
        ['memory', `${sdPod('burstable', A)}/crio-${A_C}.scope`],
        ['memory', `${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope`],
        ['memory', `${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope/container`],
      ],
      ...livePodsA,
    },
    leaked: [`memory ${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope removable`, `memory ${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope/container removable`],
    decisions: { [`memory ${sdPod('burstable', A)}`]: 'live' },
    plan: [`memory ${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope/container`, `memory ${sdPod('burstable', A)}/crio-${hex64('a-dead')}.scope`],
  },
  {
    name: 'pod known only to the kubelet (terminating): nothing under it is touched',
    spec: {
      dirs: [['memory', `${sdPod('besteffort', T)}/crio-${T_C}.scope`], ['memory', `${sdPod('besteffort', T)}/crio-conmon-${T_C}.scope`]],
      kubelet: [T],
    },
    leaked: [],
    decisions: { [`memory ${sdPod('besteffort', T)}`]: 'terminating', [`memory ${sdPod('besteffort', T)}/crio-${T_C}.scope`]: 'terminating' },
    verdict: 'clean',
  },
  {
    name: "a container's pod is live through its label even when crictl pods does not list the sandbox",
    spec: {
      dirs: [['memory', `${sdPod('burstable', G2)}/crio-${G2_C}.scope`]],
      containers: [{ id: G2_C, podSandboxId: hex64('gone2-sb'), podUid: G2 }],
    },
    leaked: [],
    decisions: { [`memory ${sdPod('burstable', G2)}`]: 'live', [`memory ${sdPod('burstable', G2)}/crio-${G2_C}.scope`]: 'live' },
  },
  {
    name: 'crictl pods rc != 0: nothing leaked, the reason is given',
    spec: { dirs: [['memory', sdPod('burstable', G1)]], crictlPods: { rc: 1, stdout: '', stderr: 'connect: connect endpoint unix:///var/run/crio/crio.sock: no such file' } },
    leaked: [],
    runtimeError: /crictl pods -o json failed \(rc 1\): connect/,
    decisions: { [`memory ${sdPod('burstable', G1)}`]: 'undecided' },
    plan: [],
    verdict: 'unknown',
  },
  {
    name: 'crictl ps prints garbage: nothing leaked',
    spec: { dirs: [['memory', sdPod('burstable', G1)]], crictlPs: { rc: 0, stdout: 'FATA[0002] validate service connection' } },
    leaked: [],
    runtimeError: /crictl ps -a -o json printed no valid JSON/,
    plan: [],
  },
  {
    name: 'crictl pods prints wrong-shaped JSON (no items): nothing leaked',
    spec: { dirs: [['memory', sdPod('burstable', G1)]], crictlPods: { rc: 0, stdout: '{"pods": []}' } },
    leaked: [],
    runtimeError: /expected an object with an "items" array/,
  },
  {
    name: 'a pod without metadata.uid: nothing leaked',
    spec: { dirs: [['memory', sdPod('burstable', G1)]], crictlPods: { rc: 0, stdout: crictlPodsJson([{ id: A_SB, uid: '' }]) } },
    leaked: [],
    runtimeError: /has no "metadata.uid"/,
  },
  {
    name: 'the kubelet pods dir is missing: nothing leaked',
    spec: { dirs: [['memory', sdPod('burstable', G1)]], kubelet: false },
    leaked: [],
    runtimeError: /kubelet pods dir .* is missing/,
  },
  {
    name: 'young leaks: a young scope blocks its old pod slice; unknown mtime counts as young',
    spec: {
      dirs: [
        ['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { mtime: NOW - 10 }],
        ['memory', sdPod('besteffort', G2), { mtime: null }],
      ],
    },
    minAgeS: 300,
    leaked: [`memory ${sdPod('burstable', G1)} blocked`, `memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope too_young`, `memory ${sdPod('besteffort', G2)} too_young`],
    plan: [],
    verdict: 'leaking',
  },
  {
    name: 'busy leak: a leaked scope with a process is reported with pid, state and command, its pod is blocked',
    spec: {
      hierarchies: { memory: 'v1', pids: 'v1' },
      dirs: [
        ['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { pids: [4242] }],
        ['pids', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { pids: [4242] }],
        ['memory', `${sdPod('besteffort', G2)}/crio-${G2_C}.scope`],
      ],
      procs: [{ pid: 4242, state: 'S', cmdline: 'sleep 300', comm: 'sleep' }],
    },
    leaked: [
      `memory ${sdPod('burstable', G1)} blocked`,
      `memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope busy`,
      `pids ${sdPod('burstable', G1)} blocked`,
      `pids ${sdPod('burstable', G1)}/crio-${G1_SB}.scope busy`,
      `memory ${sdPod('besteffort', G2)} removable`,
      `memory ${sdPod('besteffort', G2)}/crio-${G2_C}.scope removable`,
    ],
    plan: [`memory ${sdPod('besteffort', G2)}/crio-${G2_C}.scope`, `memory ${sdPod('besteffort', G2)}`],
    verdict: 'busy',
  },
  {
    name: 'v2 populated with no process seen (raced): busy, never removable',
    spec: { mode: 'v2', hierarchies: { unified: 'v2' }, dirs: [['unified', `${sdPod('burstable', G1)}/crio-${G1_SB}`, { populated: true }]] },
    leaked: [`unified ${sdPod('burstable', G1)} blocked`, `unified ${sdPod('burstable', G1)}/crio-${G1_SB} busy`],
    plan: [],
  },
  {
    name: 'a process in D state: reboot required',
    spec: {
      dirs: [['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { pids: [77, 78] }]],
      procs: [
        { pid: 77, state: 'S', cmdline: 'sh -c sync', comm: 'sh' },
        { pid: 78, state: 'D', cmdline: 'sync', comm: 'sync' },
      ],
    },
    leaked: [`memory ${sdPod('burstable', G1)} blocked`, `memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope reboot_required`],
    verdict: 'reboot-required',
  },
  {
    name: "leaked cgroups held by crio's own process: restart needed (conmon is an ordinary straggler)",
    spec: {
      dirs: [
        ['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { pids: [900] }],
        ['memory', `${sdPod('besteffort', G2)}/crio-conmon-${G2_C}.scope`, { pids: [901] }],
      ],
      procs: [
        { pid: 900, state: 'S', cmdline: '/usr/bin/crio --log-level info', comm: 'crio' },
        { pid: 901, state: 'S', cmdline: '/usr/bin/conmon -b /run/containers/x', comm: 'conmon' },
      ],
    },
    leaked: [
      `memory ${sdPod('burstable', G1)} blocked`,
      `memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope restart_needed`,
      `memory ${sdPod('besteffort', G2)} blocked`,
      `memory ${sdPod('besteffort', G2)}/crio-conmon-${G2_C}.scope busy`,
    ],
    verdict: 'restart-needed',
  },
  {
    name: 'unknown names are never touched and block their leaked ancestors',
    spec: {
      dirs: [
        ['memory', 'kubepods.slice/something-else.slice'],
        ['memory', `${sdPod('burstable', G1)}/run-r1234.scope`],
        ['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`],
        ['memory', `kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod${G2.replace(/-/g, '_')}.slice`],
        ['memory', `kubepods.slice/crio-${G2_C}.scope`],
        ['memory', `${sdPod('besteffort', G2)}/crio-${G2_C.slice(0, 12)}.scope`],
      ],
    },
    leaked: [
      `memory ${sdPod('burstable', G1)} blocked`,
      `memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope removable`,
      `memory ${sdPod('besteffort', G2)} blocked`,
    ],
    decisions: {
      'memory kubepods.slice/something-else.slice': 'unknown-name',
      [`memory ${sdPod('burstable', G1)}/run-r1234.scope`]: 'unknown-name',
      [`memory kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod${G2.replace(/-/g, '_')}.slice`]: 'unknown-name',
      [`memory kubepods.slice/crio-${G2_C}.scope`]: 'unknown-name',
    },
    plan: [`memory ${sdPod('burstable', G1)}/crio-${G1_SB}.scope`],
  },
  {
    name: 'nothing leaked at all: clean',
    spec: { dirs: [['memory', `${sdPod('burstable', A)}/crio-${A_C}.scope`]], ...livePodsA },
    leaked: [],
    verdict: 'clean',
  },
];

function rel(c: Classification, path: string): string {
  const d = c.dirs.find((x) => x.path === path);
  return d ? `${d.hierarchy} ${d.rel}` : `?? ${path}`;
}

describe('classify: table', () => {
  for (const tc of cases) {
    test(tc.name, () => {
      const node = collectedNode(tc.spec);
      const c = classify(node, { minAgeS: tc.minAgeS ?? 60 });
      const got = c.leaked.map((l) => `${l.hierarchy} ${rel(c, l.path).split(' ')[1]} ${l.status}`).sort();
      assert.deepEqual(got, [...tc.leaked].sort());
      for (const [k, want] of Object.entries(tc.decisions ?? {})) {
        const d = c.dirs.find((x) => `${x.hierarchy} ${x.rel}` === k);
        assert.ok(d, `dir ${k} not classified`);
        assert.equal(d.decision, want, k);
      }
      if (tc.runtimeError) {
        assert.equal(c.runtime_ok, false);
        assert.match(c.runtime_error ?? '', tc.runtimeError);
        assert.equal(c.leaked.length, 0);
      } else {
        assert.equal(c.runtime_ok, true, c.runtime_error ?? '');
      }
      if (tc.plan) {
        const plan = planPrune(c, { maxRemovals: 10_000 });
        assert.deepEqual(plan.remove.map((p) => rel(c, p)), tc.plan);
      }
      if (tc.verdict) assert.equal(nodeVerdict(c).verdict, tc.verdict);
      assert.equal(c.counts.total, c.leaked.length);
    });
  }
});

describe('classify: result fields', () => {
  test('leaked entries carry kind, pod uid, container id, hierarchy, age, pids with state and command', () => {
    const c = classify(
      collectedNode({
        hierarchies: { memory: 'v1', pids: 'v1' },
        dirs: [
          ['memory', `${sdPod('burstable', G1)}/crio-${G1_SB}.scope`, { pids: [4242], mtime: NOW - 600 }],
          ['pids', `${sdPod('burstable', G1)}/crio-conmon-${G1_SB}.scope`, { mtime: NOW - 7200 }],
          ['pids', `${sdPod('burstable', G1)}/crio-${G1_SB}`, { mtime: NOW - 7200 }],
        ],
        procs: [{ pid: 4242, state: 'S', cmdline: 'sleep 300', comm: 'sleep' }],
        ...livePodsA,
      }),
      { minAgeS: 300 },
    );
    const scope = c.leaked.find((l) => l.path.endsWith(`crio-${G1_SB}.scope`))!;
    assert.deepEqual(scope, {
      path: `/sys/fs/cgroup/memory/${sdPod('burstable', G1)}/crio-${G1_SB}.scope`,
      kind: 'container',
      pod_uid: G1,
      container_id: G1_SB,
      hierarchy: 'memory',
      age_s: 600,
      populated: true,
      bogus_pids_tree: false,
      status: 'busy',
      pids: [{ pid: 4242, state: 'S', cmdline: 'sleep 300', comm: 'sleep' }],
    });
    assert.deepEqual(c.counts.by_kind, { pod: 2, container: 1, conmon: 1, sandbox: 1, nested: 0 });
    assert.deepEqual(c.counts.by_hierarchy, { memory: 2, pids: 3 });
    assert.deepEqual(c.live_pods, [A]);
    assert.deepEqual(c.busy.map((b) => b.path), [scope.path]);
    const memPod = c.leaked.find((l) => l.path === `/sys/fs/cgroup/memory/${sdPod('burstable', G1)}`)!;
    assert.equal(memPod.status, 'blocked');
    assert.equal(memPod.blocked_by, scope.path);
    assert.equal(memPod.populated, true);
  });

  test('age is now - mtime with the node clock, or the given now; never negative', () => {
    const node = collectedNode({ dirs: [['memory', sdPod('burstable', G1), { mtime: NOW + 5 }]] });
    assert.equal(classify(node, { minAgeS: 0 }).leaked[0]!.age_s, 0);
    assert.equal(classify(node, { minAgeS: 0, now: NOW + 65 }).leaked[0]!.age_s, 60);
    assert.equal(classify(node, { minAgeS: 120, now: NOW + 65 }).leaked[0]!.status, 'too_young');
  });

  test('terminating pods are listed as kubelet-only pods in the health facts', () => {
    const c = classify(collectedNode({ dirs: [], kubelet: [T, A], ...livePodsA }), { minAgeS: 0 });
    assert.deepEqual(c.terminating_pods, [T]);
    assert.deepEqual(c.health.kubelet_only_pods, [T]);
  });

  test('health facts: num_cgroups, memory, kubelet CPU, versions and log counts', () => {
    const c = classify(
      collectedNode({
        dirs: [],
        health: {
          procCgroups: [
            { subsys: 'memory', hierarchy: 4, num_cgroups: 48123, enabled: true },
            { subsys: 'pids', hierarchy: 8, num_cgroups: 47001, enabled: true },
            { subsys: 'rdma', hierarchy: 0, num_cgroups: 1, enabled: false },
          ],
          nrDescendants: 100,
          nrDyingDescendants: 7,
          systemSliceMemoryBytes: 1_500_000_000,
          crioMemoryBytes: 1_200_000_000,
          kubeletCpu: { pid: 1234, ticks0: 1000, ticks1: 2200, clkTck: 100, intervalS: 1 },
          crioVersion: { rc: 0, stdout: 'crio version 1.24.1\nVersion:  1.24.1\nGitCommit: abc', stderr: '' },
          kubeletVersion: { rc: 0, stdout: 'Kubernetes v1.24.6+5157800', stderr: '' },
          kubeletLogCounts: { 'Failed to update stats for container': 12 },
        },
      }),
      { minAgeS: 0 },
    );
    assert.deepEqual(c.health.num_cgroups, { memory: 48123, pids: 47001 });
    assert.equal(c.health.kubelet_cpu_cores, 12);
    assert.equal(c.health.crio_version, '1.24.1');
    assert.equal(c.health.crio_version_leaking, true);
    assert.equal(c.health.kubelet_version, '1.24.6+5157800');
    assert.equal(c.health.nr_dying_descendants, 7);
    const row = nodeVerdict(c);
    assert.equal(row.num_cgroups, 48123);
    assert.equal(row.crio_memory_bytes, 1_200_000_000);
    assert.equal(row.kubelet_cpu_cores, 12);
  });
});

describe('crioVersionLeaking (reference section 2)', () => {
  const table: [string | null, boolean | null][] = [
    ['1.22.5', false],
    ['1.23.0', true],
    ['1.23.5', true],
    ['1.24.0', true],
    ['1.24.4', true],
    ['1.24.5', false],
    ['1.24.6', false],
    ['1.25.0', true],
    ['1.25.2', true],
    ['1.25.3', false],
    ['1.26.0', true],
    ['1.26.1', true],
    ['1.26.2', false],
    ['1.27.0', false],
    ['1.30.4', false],
    ['crio version 1.25.1-rhaos4.12', true],
    ['garbage', null],
    [null, null],
  ];
  for (const [v, want] of table) test(`${v} -> ${want}`, () => assert.equal(crioVersionLeaking(v), want));
});

describe('planPrune', () => {
  // 3 leaked pods, each with 2 scopes, in 2 hierarchies: 18 removable dirs
  const pods = [G1, G2, uid('gone3')];
  const spec: CollectedNodeSpec = {
    hierarchies: { memory: 'v1', pids: 'v1' },
    dirs: ['memory', 'pids'].flatMap((h) => pods.flatMap((u) => [[h, `${sdPod('besteffort', u)}/crio-${hex64(u + 'x')}.scope`], [h, `${sdPod('besteffort', u)}/crio-${hex64(u)}`]] as [string, string][])),
  };
  const c = classify(collectedNode(spec), { minAgeS: 0 });

  test('removes every removable dir, children before parents', () => {
    const plan = planPrune(c, { maxRemovals: 100 });
    assert.equal(plan.remove.length, 18);
    const pos = new Map(plan.remove.map((p, i) => [p, i]));
    for (const p of plan.remove) {
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (pos.has(parent)) assert.ok(pos.get(parent)! > pos.get(p)!, `${parent} before its child ${p}`);
    }
    assert.deepEqual(plan.skipped, []);
  });

  for (const cap of [0, 1, 5, 11, 12, 13, 17]) {
    test(`cap ${cap}: never a removed parent with a kept child`, () => {
      const plan = planPrune(c, { maxRemovals: cap });
      assert.equal(plan.remove.length, cap);
      const removed = new Set(plan.remove);
      for (const p of plan.remove) {
        for (const d of c.dirs) if (d.path.startsWith(p + '/')) assert.ok(removed.has(d.path), `${p} removed but its child ${d.path} kept`);
      }
      assert.equal(plan.skipped.filter((s) => /max_removals/.test(s.reason)).length, 18 - cap);
    });
  }

  test('runtime not ok: nothing planned, the reason is the skip', () => {
    const bad = classify(collectedNode({ ...spec, crictlPods: { rc: 124, stdout: '' } }), { minAgeS: 0 });
    const plan = planPrune(bad, { maxRemovals: 100 });
    assert.deepEqual(plan.remove, []);
    assert.match(plan.skipped[0]!.reason, /runtime state unknown.*rc 124/);
  });
});
