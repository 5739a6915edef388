/**
 * Which pods a drain may delete: a pure filter chain in the shape of kubectl's pkg/drain/filters.go.
 * Each filter maps a pod to Okay | Skip | Warning | Error; the first non-Okay verdict wins. Every refusal names
 * the kube_drain parameter that overrides it.
 */
import type { LabelSelectorRequirement, PdbInfo, PodInfo } from './client.js';

export interface DrainFilterOptions {
  ignoreDaemonsets: boolean;
  deleteEmptydirData: boolean;
  force: boolean;
  /** Parsed pod_selector: only matching pods are considered at all. */
  podSelector?: LabelSelectorRequirement[];
}

/** Facts the filters need beyond the pod itself (looked up by the caller; keeps the chain pure). */
export interface DrainFilterFacts {
  /** `namespace/name` of DaemonSets that no longer exist. */
  missingDaemonSets: ReadonlySet<string>;
}

export type PodVerdict =
  | { kind: 'okay' }
  | { kind: 'skip'; reason: string }
  | { kind: 'warning'; message: string; delete: boolean }
  | { kind: 'error'; message: string };

export const DAEMONSET_FATAL = 'DaemonSet-managed Pods (use ignore_daemonsets: true to ignore)';
export const DAEMONSET_WARNING = 'ignoring DaemonSet-managed Pods';
export const DAEMONSET_ORPHAN_FATAL = 'Pods of a DaemonSet that no longer exists (use force: true to delete them)';
export const DAEMONSET_ORPHAN_WARNING = 'deleting Pods of a DaemonSet that no longer exists';
export const LOCAL_STORAGE_FATAL = 'Pods with local storage (use delete_emptydir_data: true to override)';
export const LOCAL_STORAGE_WARNING = 'deleting Pods with local storage';
export const UNMANAGED_FATAL = 'Pods declaring no controller (use force: true to override)';
export const UNMANAGED_WARNING = 'deleting Pods that declare no controller';
export const MIRROR_SKIP = 'mirror pod (a static pod the kubelet manages)';
export const SELECTOR_SKIP = 'does not match pod_selector';

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export function podKey(p: Pick<PodInfo, 'namespace' | 'name'>): string {
  return `${p.namespace}/${p.name}`;
}

function controllerOf(pod: PodInfo) {
  return pod.ownerReferences.find((o) => o.controller === true);
}

function finished(pod: PodInfo): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

type Filter = (pod: PodInfo, o: DrainFilterOptions, f: DrainFilterFacts) => PodVerdict;

const OKAY: PodVerdict = { kind: 'okay' };

export const selectorFilter: Filter = (pod, o) =>
  o.podSelector && !matchesRequirements(o.podSelector, pod.labels) ? { kind: 'skip', reason: SELECTOR_SKIP } : OKAY;

export const mirrorPodFilter: Filter = (pod) => (MIRROR_ANNOTATION in pod.annotations ? { kind: 'skip', reason: MIRROR_SKIP } : OKAY);

export const daemonSetFilter: Filter = (pod, o, f) => {
  const c = controllerOf(pod);
  if (!c || c.kind !== 'DaemonSet') return OKAY;
  // Any finished pod can be removed.
  if (finished(pod)) return OKAY;
  if (f.missingDaemonSets.has(`${pod.namespace}/${c.name}`)) {
    return o.force ? { kind: 'warning', message: DAEMONSET_ORPHAN_WARNING, delete: true } : { kind: 'error', message: DAEMONSET_ORPHAN_FATAL };
  }
  if (!o.ignoreDaemonsets) return { kind: 'error', message: DAEMONSET_FATAL };
  return { kind: 'warning', message: DAEMONSET_WARNING, delete: false };
};

export const localStorageFilter: Filter = (pod, o) => {
  if (pod.emptyDirVolumes.length === 0 || finished(pod)) return OKAY;
  if (!o.deleteEmptydirData) return { kind: 'error', message: LOCAL_STORAGE_FATAL };
  return { kind: 'warning', message: LOCAL_STORAGE_WARNING, delete: true };
};

export const unreplicatedFilter: Filter = (pod, o) => {
  if (finished(pod) || controllerOf(pod)) return OKAY;
  if (o.force) return { kind: 'warning', message: UNMANAGED_WARNING, delete: true };
  return { kind: 'error', message: UNMANAGED_FATAL };
};

/** kubectl's order: DaemonSet, mirror, local storage, unreplicated (selector first: unselected pods are not ours). */
export const FILTERS: readonly Filter[] = [selectorFilter, daemonSetFilter, mirrorPodFilter, localStorageFilter, unreplicatedFilter];

/**
 * Run the chain. As in kubectl, a Warning does not stop the chain (a later filter may still refuse the pod);
 * Skip and Error do. The pod is deleted only if every verdict allows it.
 */
export function filterPod(pod: PodInfo, o: DrainFilterOptions, f: DrainFilterFacts): { verdict: PodVerdict; warnings: string[] } {
  const warnings: string[] = [];
  for (const filter of FILTERS) {
    const v = filter(pod, o, f);
    if (v.kind === 'okay') continue;
    if (v.kind === 'warning') {
      warnings.push(v.message);
      if (!v.delete) return { verdict: v, warnings };
      continue;
    }
    return { verdict: v, warnings };
  }
  return { verdict: warnings.length > 0 ? { kind: 'warning', message: warnings.join('; '), delete: true } : OKAY, warnings };
}

export interface DrainPlan {
  /** Pods to evict (or delete). */
  evict: PodInfo[];
  /** Pods left alone, with why. */
  skipped: { pod: string; reason: string }[];
  /** "ignoring DaemonSet-managed Pods: ns/a, ns/b", one line per message. */
  warnings: string[];
  /** "cannot delete Pods with local storage (use ...): ns/a", one line per message. Non-empty: drain nothing. */
  errors: string[];
}

function grouped(m: Map<string, string[]>, prefix: string): string[] {
  return [...m.entries()].map(([msg, pods]) => `${prefix}${msg}: ${pods.join(', ')}`);
}

export function planDrain(pods: PodInfo[], o: DrainFilterOptions, f: DrainFilterFacts): DrainPlan {
  const evict: PodInfo[] = [];
  const skipped: DrainPlan['skipped'] = [];
  const warn = new Map<string, string[]>();
  const err = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, pod: string) => {
    const l = m.get(k);
    if (l) l.push(pod);
    else m.set(k, [pod]);
  };
  for (const pod of pods) {
    const key = podKey(pod);
    const { verdict, warnings } = filterPod(pod, o, f);
    for (const w of warnings) add(warn, w, key);
    switch (verdict.kind) {
      case 'okay':
        evict.push(pod);
        break;
      case 'skip':
        skipped.push({ pod: key, reason: verdict.reason });
        break;
      case 'warning':
        if (verdict.delete) evict.push(pod);
        else skipped.push({ pod: key, reason: verdict.message });
        break;
      case 'error':
        add(err, verdict.message, key);
        break;
    }
  }
  return { evict, skipped, warnings: grouped(warn, ''), errors: grouped(err, 'cannot delete ') };
}

// ---------- label selectors ----------

/** Parse a label selector string (`app=web,tier!=db,env in (a,b),!legacy`). Throws Error with what is wrong. */
export function parseLabelSelector(s: string): LabelSelectorRequirement[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += c;
  }
  terms.push(cur);
  const key = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
  const out: LabelSelectorRequirement[] = [];
  for (const raw of terms) {
    const t = raw.trim();
    if (t === '') continue;
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m && key.test(m[1]!)) {
      out.push({ key: m[1]!, operator: m[2] === 'in' ? 'In' : 'NotIn', values: m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '') });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(t);
    if (m && key.test(m[1]!)) {
      out.push({ key: m[1]!, operator: m[2] === '!=' ? 'NotIn' : 'In', values: [m[3]!] });
      continue;
    }
    if (t.startsWith('!') && key.test(t.slice(1))) {
      out.push({ key: t.slice(1), operator: 'DoesNotExist' });
      continue;
    }
    if (key.test(t)) {
      out.push({ key: t, operator: 'Exists' });
      continue;
    }
    throw new Error(`invalid label selector term '${t}' (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`);
  }
  return out;
}

export function matchesRequirements(reqs: LabelSelectorRequirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.operator) {
      case 'In':
        return has && (r.values ?? []).includes(labels[r.key]!);
      case 'NotIn':
        return !has || !(r.values ?? []).includes(labels[r.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false; // unknown operator: match nothing (fail closed)
    }
  });
}

/** Budgets that cover a pod: same namespace, selector matches (policy/v1: an empty selector matches every pod). */
export function budgetsFor(pod: PodInfo, pdbs: PdbInfo[]): PdbInfo[] {
  return pdbs.filter((b) => {
    if (b.namespace !== pod.namespace || !b.hasSelector) return false;
    const reqs: LabelSelectorRequirement[] = [
      ...Object.entries(b.matchLabels).map(([key, v]) => ({ key, operator: 'In', values: [v] })),
      ...b.matchExpressions,
    ];
    return matchesRequirements(reqs, pod.labels);
  });
}

/** "default/web (minAvailable 2, 0 disruptions allowed, 2 of 2 healthy)" */
export function describeBudget(b: PdbInfo): string {
  const rule = b.minAvailable !== undefined ? `minAvailable ${b.minAvailable}` : b.maxUnavailable !== undefined ? `maxUnavailable ${b.maxUnavailable}` : 'no rule';
  return `${b.namespace}/${b.name} (${rule}, ${b.disruptionsAllowed} disruptions allowed, ${b.currentHealthy} of ${b.desiredHealthy} healthy)`;
}
