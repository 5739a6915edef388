/**
 * Randomized safety test of classify + planPrune: thousands of random trees, live sets and process placements.
 * The oracle below derives liveness and occupancy from the generator's own bookkeeping, not from the classifier.
 * Reproduce a failure with CGROUP_PROP_SEED=<seed printed in the message>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, planPrune } from '../../src/cgroup/classify.js';
import type { CollectedNode } from '../../src/cgroup/types.js';
import type { ContainerSpec, DirSpec, PodSpec } from './tree.js';
import { NOW, collectedNode, crictlPodsJson, fsPod, hex64, sdPod, uid } from './tree.js';
import { containerDirName, type ContainerDirKind } from '../../src/cgroup/names.js';
import { rng } from '../../src/util/rng.js';

interface Meta {
  uid: string | null; // pod UID the dir belongs to
  id: string | null; // container-level id it belongs to
  unknown: boolean; // generated with a name no pattern matches
  structural: boolean; // kubepods root / QoS
}

interface World {
  node: CollectedNode;
  meta: Map<string, Meta>; // by rel path within hierarchy ("h rel")
  liveUids: Set<string>;
  kubeletUids: Set<string>;
  knownIds: Set<string>;
  runtimeOk: boolean;
  minAgeS: number;
}

function gen(rnd: () => number): World {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const modeRoll = rnd();
  const hierarchies: Record<string, 'v1' | 'v2'> =
    modeRoll < 0.4 ? { memory: 'v1', pids: 'v1', 'cpu,cpuacct': 'v1' } : modeRoll < 0.7 ? { unified: 'v2' } : { memory: 'v1', unified: 'v2' };
  const hs = Object.keys(hierarchies);
  const uidPool = Array.from({ length: 6 }, (_, i) => uid(`p${i}-${Math.floor(rnd() * 3)}`));
  const idPool = Array.from({ length: 10 }, (_, i) => hex64(`c${i}-${Math.floor(rnd() * 3)}`));

  const dirs: [string, string, DirSpec?][] = [];
  const meta = new Map<string, Meta>();
  const note = (h: string, rel: string, m: Meta) => {
    // parents get structural/pod metadata implicitly: record every prefix that is not recorded yet
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const r = parts.slice(0, i).join('/');
      if (r === 'pids') continue;
      const k = `${h} ${r}`;
      if (i === parts.length) meta.set(k, m);
      else if (!meta.has(k)) meta.set(k, { uid: null, id: null, unknown: false, structural: true });
    }
  };
  const nPods = Math.floor(rnd() * 7);
  for (let p = 0; p < nPods; p++) {
    const u = pick(uidPool);
    const qos = pick(['guaranteed', 'burstable', 'besteffort']);
    const systemd = chance(0.75);
    const podRel = systemd ? sdPod(qos, u) : fsPod(qos, u);
    for (const h of hs) {
      if (chance(0.2)) continue; // not every controller has every pod
      const prefixes = hierarchies[h] === 'v2' && systemd && chance(0.3) ? ['', 'pids/'] : [''];
      for (const pre of prefixes) {
        const pr = pre + podRel;
        dirs.push([h, pr]);
        note(h, pr, { uid: u, id: null, unknown: false, structural: false });
        const nKids = Math.floor(rnd() * 4);
        for (let k = 0; k < nKids; k++) {
          const id = pick(idPool);
          const form = pick(['container', 'conmon', 'sandbox', 'unknown']);
          let name: string;
          if (form === 'unknown') name = pick(['run-r1.scope', `crio-${id.slice(0, 20)}.scope`, 'foo', `crio-${id}.slice`]);
          else name = containerDirName(systemd ? 'systemd' : 'cgroupfs', form as ContainerDirKind, id);
          const kr = `${pr}/${name}`;
          dirs.push([h, kr]);
          note(h, kr, { uid: u, id: form === 'unknown' ? null : id, unknown: form === 'unknown', structural: false });
          if (form !== 'unknown' && chance(0.25)) {
            const nr = `${kr}/container`;
            dirs.push([h, nr]);
            note(h, nr, { uid: u, id, unknown: false, structural: false });
          }
        }
      }
    }
  }
  // junk at the structural levels
  if (chance(0.3)) {
    const h = pick(hs);
    const r = pick(['kubepods.slice/weird.slice', 'kubepods/xyz', 'kubepods.slice/kubepods-burstable.slice/other', `kubepods.slice/crio-${pick(idPool)}.scope`]);
    dirs.push([h, r]);
    note(h, r, { uid: null, id: null, unknown: true, structural: false });
  }

  // Processes: random dirs hold a process; v2 populated flags consistent (sometimes set with no pid seen).
  let nextPid = 1000;
  const specOf = new Map<string, DirSpec>();
  for (const [h, r] of dirs) {
    const s: DirSpec = { mtime: chance(0.05) ? null : NOW - Math.floor(rnd() * 1200) };
    if (chance(0.12)) s.pids = [nextPid++];
    if (hierarchies[h] === 'v2' && chance(0.03)) s.populated = true;
    specOf.set(`${h} ${r}`, s);
  }
  const full: [string, string, DirSpec?][] = dirs.map(([h, r]) => [h, r, specOf.get(`${h} ${r}`)]);
  // v2: populated follows the subtree
  for (const [h, r, s] of full) {
    if (hierarchies[h] !== 'v2' || !s) continue;
    const busy = full.some(([h2, r2, s2]) => h2 === h && (r2 === r || r2.startsWith(r + '/')) && (s2?.pids?.length || s2?.populated));
    s.populated = busy;
  }

  // The runtime: a random live set.
  const podUidsListed = uidPool.filter(() => chance(0.35));
  const pods: PodSpec[] = podUidsListed.map((u, i) => ({ id: hex64(`sb-${u}-${i}`), uid: u }));
  const containers: ContainerSpec[] = [];
  const knownIds = new Set<string>(pods.map((p) => p.id));
  for (const id of idPool) {
    if (!chance(0.35)) continue;
    const viaLabel = chance(0.5) ? pick(uidPool) : null;
    const sb = chance(0.5) && pods.length ? pick(pods).id : hex64(`orphan-sb-${id}`);
    containers.push({ id, podSandboxId: sb, podUid: viaLabel });
    knownIds.add(id);
    knownIds.add(sb);
  }
  if (chance(0.2)) {
    // a sandbox id that is also used as a dir id
    const id = pick(idPool);
    pods.push({ id, uid: pick(uidPool) });
    knownIds.add(id);
  }
  const liveUids = new Set<string>(pods.map((p) => p.uid));
  for (const c of containers) {
    if (c.podUid) liveUids.add(c.podUid);
    const p = pods.find((x) => x.id === c.podSandboxId);
    if (p) liveUids.add(p.uid);
  }
  const kubeletUids = new Set(uidPool.filter(() => chance(0.25)));

  let runtimeOk = true;
  const spec: Parameters<typeof collectedNode>[0] = { hierarchies, dirs: full, pods, containers, kubelet: [...kubeletUids] };
  const fail = rnd();
  if (fail < 0.05) spec.crictlPods = { rc: 1, stdout: crictlPodsJson(pods) };
  else if (fail < 0.1) spec.crictlPs = { rc: 0, stdout: '{"containers": [' };
  else if (fail < 0.13) spec.crictlPods = { rc: 0, stdout: 'null' };
  else if (fail < 0.16) spec.kubelet = false;
  if (fail < 0.16) runtimeOk = false;
  return { node: collectedNode(spec), meta, liveUids, kubeletUids, knownIds, runtimeOk, minAgeS: pick([0, 60, 300, 900]) };
}

function check(w: World, seed: number, iter: number, rnd: () => number): number {
  const ctx = `seed ${seed} iteration ${iter}`;
  const c = classify(w.node, { minAgeS: w.minAgeS });
  const cap = rnd() < 0.3 ? Math.floor(rnd() * 10) : 100_000;
  const plan = planPrune(c, { maxRemovals: cap });
  assert.ok(plan.remove.length <= cap, `${ctx}: cap ${cap} exceeded`);
  if (!w.runtimeOk) {
    assert.equal(c.runtime_ok, false, `${ctx}: runtime failure not noticed`);
    assert.deepEqual(plan.remove, [], `${ctx}: pruning with an unknown runtime state`);
    assert.equal(c.leaked.length, 0, `${ctx}: leaked with an unknown runtime state`);
    return 0;
  }
  const byPath = new Map(w.node.dirs.map((d) => [d.path, d]));
  const hver = new Map(w.node.hierarchies.map((h) => [h.name, h.version]));
  const pos = new Map(plan.remove.map((p, i) => [p, i]));
  assert.equal(pos.size, plan.remove.length, `${ctx}: a path planned twice`);
  for (const p of plan.remove) {
    const d = byPath.get(p);
    assert.ok(d, `${ctx}: planned ${p} is not a scanned dir`);
    const m = w.meta.get(`${d.hierarchy} ${d.rel}`);
    assert.ok(m, `${ctx}: no generator metadata for ${d.rel}`);
    assert.ok(!m.structural, `${ctx}: planned a kubepods root / QoS dir ${d.rel}`);
    assert.ok(!m.unknown, `${ctx}: planned an unknown name ${d.rel}`);
    const rel = d.rel.startsWith('pids/') && hver.get(d.hierarchy) === 'v2' ? d.rel.slice(5) : d.rel;
    assert.ok(rel.startsWith('kubepods.slice/') || rel.startsWith('kubepods/'), `${ctx}: planned outside kubepods: ${d.rel}`);
    assert.ok(m.uid !== null, `${ctx}: ${d.rel} has no pod`);
    if (m.id === null) {
      // a pod dir: its UID must be unknown everywhere
      assert.ok(!w.liveUids.has(m.uid) && !w.kubeletUids.has(m.uid), `${ctx}: planned a pod dir with a live UID ${d.rel}`);
    } else {
      assert.ok(!w.knownIds.has(m.id), `${ctx}: planned a container-level dir the runtime knows: ${d.rel}`);
      assert.ok(!w.kubeletUids.has(m.uid) || w.liveUids.has(m.uid), `${ctx}: planned a dir under a terminating pod: ${d.rel}`);
    }
    assert.ok(d.mtime !== null && w.node.now - d.mtime >= w.minAgeS, `${ctx}: planned a young dir ${d.rel}`);
    for (const e of w.node.dirs) {
      if (e.path !== p && !e.path.startsWith(p + '/')) continue;
      assert.ok(e.pids !== null && e.pids.length === 0, `${ctx}: planned ${d.rel} but ${e.rel} holds ${e.pids}`);
      assert.notEqual(e.populated, true, `${ctx}: planned ${d.rel} but ${e.rel} is populated`);
      if (e.path !== p) {
        const ep = pos.get(e.path);
        assert.ok(ep !== undefined && ep < pos.get(p)!, `${ctx}: planned ${d.rel} without (or before) its descendant ${e.rel}`);
        const em = w.meta.get(`${e.hierarchy} ${e.rel}`)!;
        if (em.uid !== null && em.id === null) assert.ok(!w.liveUids.has(em.uid), `${ctx}: ${d.rel} has a live pod below`);
      }
    }
  }
  return plan.remove.length;
}

test('planPrune never plans a live, populated, young, structural or out-of-scope dir, nor a parent before its children', () => {
  const seed = process.env.CGROUP_PROP_SEED ? Number(process.env.CGROUP_PROP_SEED) : Math.floor(Math.random() * 2 ** 31);
  const rnd = rng(seed);
  let planned = 0;
  let failedRuntimes = 0;
  const iterations = 3000;
  for (let i = 0; i < iterations; i++) {
    const w = gen(rnd);
    if (!w.runtimeOk) failedRuntimes++;
    try {
      planned += check(w, seed, i, rnd);
    } catch (e) {
      (e as Error).message = `[CGROUP_PROP_SEED=${seed}] ${(e as Error).message}`;
      throw e;
    }
  }
  // the generator must exercise both sides: plenty of removals and plenty of fail-closed runs
  assert.ok(planned > iterations, `seed ${seed}: only ${planned} removals planned in ${iterations} trees`);
  assert.ok(failedRuntimes > iterations / 20, `seed ${seed}: only ${failedRuntimes} failed runtimes`);
});
