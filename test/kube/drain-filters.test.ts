/** The drain filter chain (pure), table-driven, and label selectors / budgets. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { PdbInfo, PodInfo } from '../../src/kube/client.js';
import {
  DAEMONSET_FATAL,
  DAEMONSET_ORPHAN_FATAL,
  LOCAL_STORAGE_FATAL,
  MIRROR_SKIP,
  UNMANAGED_FATAL,
  budgetsFor,
  filterPod,
  matchesRequirements,
  parseLabelSelector,
  planDrain,
  type DrainFilterOptions,
} from '../../src/kube/drain-filters.js';

const pod = (over: Partial<PodInfo> & { owner?: string }): PodInfo => {
  const { owner, ...rest } = over;
  return {
    namespace: 'default',
    name: 'p',
    uid: 'u',
    labels: {},
    annotations: {},
    ownerReferences: owner ? [{ kind: owner.split('/')[0]!, name: owner.split('/')[1]!, controller: true }] : [],
    emptyDirVolumes: [],
    phase: 'Running',
    ...rest,
  };
};
const defaults: DrainFilterOptions = { ignoreDaemonsets: true, deleteEmptydirData: true, force: false };
const none = { missingDaemonSets: new Set<string>() };

describe('filterPod', () => {
  const rows: [string, PodInfo, Partial<DrainFilterOptions>, string, string?][] = [
    ['ReplicaSet pod: okay', pod({ owner: 'ReplicaSet/web' }), {}, 'okay'],
    ['DaemonSet pod, ignore_daemonsets: skipped with a warning', pod({ owner: 'DaemonSet/fluentd' }), {}, 'warning', 'ignoring DaemonSet-managed Pods'],
    ['DaemonSet pod without ignore_daemonsets: error naming the parameter', pod({ owner: 'DaemonSet/fluentd' }), { ignoreDaemonsets: false }, 'error', DAEMONSET_FATAL],
    ['finished DaemonSet pod: okay', pod({ owner: 'DaemonSet/fluentd', phase: 'Succeeded' }), { ignoreDaemonsets: false }, 'okay'],
    ['mirror pod: skipped', pod({ owner: 'Node/n1', annotations: { 'kubernetes.io/config.mirror': 'x' } }), {}, 'skip', MIRROR_SKIP],
    ['emptyDir pod, delete_emptydir_data: deleted with a warning', pod({ owner: 'ReplicaSet/w', emptyDirVolumes: ['tmp'] }), {}, 'warning', 'deleting Pods with local storage'],
    ['emptyDir pod without delete_emptydir_data: error naming it', pod({ owner: 'ReplicaSet/w', emptyDirVolumes: ['tmp'] }), { deleteEmptydirData: false }, 'error', LOCAL_STORAGE_FATAL],
    ['finished emptyDir pod: okay', pod({ owner: 'ReplicaSet/w', emptyDirVolumes: ['tmp'], phase: 'Failed' }), { deleteEmptydirData: false }, 'okay'],
    ['unmanaged pod: error naming force', pod({}), {}, 'error', UNMANAGED_FATAL],
    ['unmanaged pod with force: deleted with a warning', pod({}), { force: true }, 'warning', 'deleting Pods that declare no controller'],
    ['finished unmanaged pod: okay', pod({ phase: 'Succeeded' }), {}, 'okay'],
    ['unmanaged emptyDir pod with force but no delete_emptydir_data: the emptyDir refusal wins', pod({ emptyDirVolumes: ['x'] }), { force: true, deleteEmptydirData: false }, 'error', LOCAL_STORAGE_FATAL],
    ['not matching pod_selector: skipped', pod({ owner: 'ReplicaSet/w', labels: { app: 'db' } }), { podSelector: parseLabelSelector('app=web') }, 'skip', 'does not match pod_selector'],
    ['owner reference that is not the controller: unmanaged', pod({ ownerReferences: [{ kind: 'ReplicaSet', name: 'w' }] }), {}, 'error', UNMANAGED_FATAL],
  ];
  for (const [name, p, o, kind, message] of rows) {
    test(name, () => {
      const { verdict } = filterPod(p, { ...defaults, ...o }, none);
      assert.equal(verdict.kind, kind);
      if (message) assert.equal(verdict.kind === 'skip' ? verdict.reason : verdict.kind === 'okay' ? '' : verdict.message, message);
    });
  }

  test('a pod of a DaemonSet that is gone: error naming force; with force deleted', () => {
    const p = pod({ namespace: 'kube-system', owner: 'DaemonSet/old' });
    const facts = { missingDaemonSets: new Set(['kube-system/old']) };
    const v = filterPod(p, defaults, facts).verdict;
    assert.ok(v.kind === 'error' && v.message === DAEMONSET_ORPHAN_FATAL);
    const f = filterPod(p, { ...defaults, force: true }, facts).verdict;
    assert.ok(f.kind === 'warning' && f.delete);
  });
});

describe('planDrain', () => {
  test('groups refusals by message as kubectl does; nothing is evicted when anything is refused', () => {
    const pods = [
      pod({ name: 'a', owner: 'ReplicaSet/w' }),
      pod({ name: 'b' }),
      pod({ name: 'c' }),
      pod({ name: 'ds', namespace: 'kube-system', owner: 'DaemonSet/f' }),
      pod({ name: 'etcd', namespace: 'kube-system', owner: 'Node/n', annotations: { 'kubernetes.io/config.mirror': 'h' } }),
    ];
    const plan = planDrain(pods, defaults, none);
    assert.deepEqual(plan.errors, [`cannot delete ${UNMANAGED_FATAL}: default/b, default/c`]);
    assert.deepEqual(plan.warnings, ['ignoring DaemonSet-managed Pods: kube-system/ds']);
    assert.deepEqual(plan.skipped, [
      { pod: 'kube-system/ds', reason: 'ignoring DaemonSet-managed Pods' },
      { pod: 'kube-system/etcd', reason: MIRROR_SKIP },
    ]);
    assert.deepEqual(plan.evict.map((p) => p.name), ['a']);
  });
});

describe('label selectors and budgets', () => {
  const sel: [string, Record<string, string>, boolean][] = [
    ['app=web', { app: 'web' }, true],
    ['app==web', { app: 'db' }, false],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['tier in (a, b),app', { tier: 'b', app: 'x' }, true],
    ['tier notin (a,b)', { tier: 'a' }, false],
    ['!legacy', { legacy: '1' }, false],
    ['!legacy', {}, true],
    ['', { any: 'x' }, true],
  ];
  for (const [s, labels, want] of sel) test(`selector '${s}' on ${JSON.stringify(labels)}`, () => assert.equal(matchesRequirements(parseLabelSelector(s), labels), want));
  test('a bad selector says what is expected', () => assert.throws(() => parseLabelSelector('app=web=x'), /invalid label selector term 'app=web=x'/));

  test('budgetsFor: same namespace, matching selector; null selector matches nothing, empty matches all', () => {
    const b = (name: string, ns: string, matchLabels: Record<string, string>, hasSelector = true): PdbInfo => ({
      namespace: ns, name, matchLabels, matchExpressions: [], hasSelector, disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1,
    });
    const p = pod({ labels: { app: 'web' } });
    const got = budgetsFor(p, [b('web', 'default', { app: 'web' }), b('db', 'default', { app: 'db' }), b('other-ns', 'prod', { app: 'web' }), b('all', 'default', {}), b('none', 'default', {}, false)]);
    assert.deepEqual(got.map((x) => x.name), ['web', 'all']);
  });
});
