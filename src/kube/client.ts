/**
 * A narrow Kubernetes client: just the calls the remediation modules make, with a timeout on every call,
 * retries of transient errors with backoff, and KubeError messages that say what to fix.
 * Implemented with @kubernetes/client-node 1.x (its config loading, auth and typed APIs).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { KubeError } from '../errors.js';

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: Date;
  lastTransitionTime?: Date;
}

export interface KubeNode {
  name: string;
  uid: string;
  resourceVersion: string;
  unschedulable: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  conditions: NodeCondition[];
}

export interface OwnerRef {
  apiVersion?: string;
  kind: string;
  name: string;
  controller?: boolean;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: OwnerRef[];
  /** Pending, Running, Succeeded, Failed, Unknown */
  phase?: string;
  deletionTimestamp?: Date;
  /** Names of the pod's emptyDir volumes (local storage kubectl drain refuses to delete by default). */
  emptyDirVolumes: string[];
  terminationGracePeriodSeconds?: number;
}

export interface LeaseInfo {
  namespace: string;
  name: string;
  resourceVersion: string;
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
}

/** What a Lease write sends (resourceVersion for replace: optimistic concurrency). */
export interface LeaseWrite {
  name: string;
  resourceVersion?: string;
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
  labels?: Record<string, string>;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface PdbInfo {
  namespace: string;
  name: string;
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
  /** true when the budget has a selector at all (an empty selector matches every pod of the namespace in policy/v1). */
  hasSelector: boolean;
  minAvailable?: string | number;
  maxUnavailable?: string | number;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
}

export type EvictionOutcome =
  /** Accepted: the pod is being deleted. */
  | { kind: 'evicted' }
  /** The pod was already gone. */
  | { kind: 'gone' }
  /** 429: a PodDisruptionBudget does not allow it now. */
  | { kind: 'blocked'; message: string; budgets: string[] }
  /** 500 from the eviction subresource: budgets misconfigured (e.g. more than one matches the pod). */
  | { kind: 'refused'; status: number; message: string };

export interface CallOptions {
  signal?: AbortSignal;
}

/** The calls the modules need; everything else stays out. */
export interface KubeClient {
  /** The API server URL (for messages). */
  readonly server: string;
  getNode(name: string, o?: CallOptions): Promise<KubeNode>;
  /** Every node (paged). */
  listNodes(o?: CallOptions): Promise<KubeNode[]>;
  /** JSON merge patch (RFC 7386); a metadata.resourceVersion in the patch makes it conditional (409 on change). */
  patchNode(name: string, patch: Record<string, unknown>, o?: CallOptions): Promise<KubeNode>;
  /** Pods bound to a node (fieldSelector spec.nodeName), optionally filtered by a label selector. */
  listPodsOnNode(node: string, labelSelector?: string, o?: CallOptions): Promise<PodInfo[]>;
  /** undefined when the pod does not exist. */
  getPod(namespace: string, name: string, o?: CallOptions): Promise<PodInfo | undefined>;
  evictPod(namespace: string, name: string, opts?: { gracePeriodSeconds?: number }, o?: CallOptions): Promise<EvictionOutcome>;
  /** false when the pod was already gone. */
  deletePod(namespace: string, name: string, opts?: { gracePeriodSeconds?: number }, o?: CallOptions): Promise<boolean>;
  /** Does the DaemonSet exist (kubectl drain treats pods of a deleted DaemonSet as orphans)? */
  daemonSetExists(namespace: string, name: string, o?: CallOptions): Promise<boolean>;
  listPDBs(namespace: string, o?: CallOptions): Promise<PdbInfo[]>;
  /** Leases of a namespace matching a label selector. */
  listLeases(namespace: string, labelSelector: string, o?: CallOptions): Promise<LeaseInfo[]>;
  /** undefined when the Lease does not exist. */
  getLease(namespace: string, name: string, o?: CallOptions): Promise<LeaseInfo | undefined>;
  /** 409 AlreadyExists -> KubeError with status 409. */
  createLease(namespace: string, lease: LeaseWrite, o?: CallOptions): Promise<LeaseInfo>;
  /** Replace with resourceVersion: 409 Conflict when someone else wrote it first. */
  replaceLease(namespace: string, lease: LeaseWrite, o?: CallOptions): Promise<LeaseInfo>;
}

export interface KubeClientOptions {
  /** --kubeconfig; else KUBECONFIG, else ~/.kube/config, else in-cluster. */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** Per-attempt timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Attempts for a transient error (default 5). */
  attempts?: number;
  /** First backoff delay, doubled each retry, capped at 5 s (default 250 ms). */
  backoffMs?: number;
  /** Environment to read KUBECONFIG / in-cluster variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Loads the kubeconfig the way kubectl does, failing with a message that says where it looked. */
export function loadKubeConfig(o: KubeClientOptions = {}): k8s.KubeConfig {
  const env = o.env ?? process.env;
  const kc = new k8s.KubeConfig();
  const load = (file: string, what: string) => {
    if (!existsSync(file)) throw new KubeError(`${what} ${file}: no such file`, { code: 'KUBE_CONFIG' });
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new KubeError(`${what} ${file}: cannot be read as a kubeconfig: ${e instanceof Error ? e.message : String(e)}`, { code: 'KUBE_CONFIG', cause: e });
    }
  };
  if (o.kubeconfig) load(o.kubeconfig, '--kubeconfig');
  else if (env.KUBECONFIG) {
    // KUBECONFIG may list several files; the first one that exists wins for the current context, like kubectl's merge order.
    const files = env.KUBECONFIG.split(process.platform === 'win32' ? ';' : ':').filter((f) => f !== '');
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) throw new KubeError(`KUBECONFIG=${env.KUBECONFIG}: no such file`, { code: 'KUBE_CONFIG' });
    if (present.length === 1) load(present[0]!, 'KUBECONFIG');
    else {
      try {
        kc.loadFromDefault({}, false);
      } catch (e) {
        throw new KubeError(`KUBECONFIG=${env.KUBECONFIG}: ${e instanceof Error ? e.message : String(e)}`, { code: 'KUBE_CONFIG', cause: e });
      }
    }
  } else {
    const home = join(env.HOME ?? homedir(), '.kube', 'config');
    if (existsSync(home)) load(home, 'kubeconfig');
    else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) kc.loadFromCluster();
    else {
      throw new KubeError(
        `no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, create ${home}, or run inside a cluster`,
        { code: 'KUBE_CONFIG' },
      );
    }
  }
  if (o.context) {
    if (!kc.getContextObject(o.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeError(`--context ${o.context}: no such context in the kubeconfig (known: ${known.join(', ') || 'none'})`, { code: 'KUBE_CONFIG' });
    }
    kc.setCurrentContext(o.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeError(`the kubeconfig has no current context/cluster (set current-context or pass --context)`, { code: 'KUBE_CONFIG' });
  return kc;
}

export function createKubeClient(o: KubeClientOptions = {}): KubeClient {
  return new ApiKubeClient(loadKubeConfig(o), o);
}

/** What one call is about: for retry decisions and for messages. */
interface CallDesc {
  verb: 'get' | 'list' | 'patch' | 'create' | 'update' | 'delete';
  resource: string;
  name?: string;
  namespace?: string;
  /** Retry 429 (API priority and fairness throttling). Not for evictions, where 429 means a budget blocks. */
  retry429: boolean;
  /** Retry 500 too (not for evictions: 500 means misconfigured budgets). */
  retry500: boolean;
}

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** A failed attempt, classified. */
interface Failure {
  status?: number;
  body?: Record<string, unknown>;
  netCode?: string;
  timedOut?: boolean;
  retryAfterMs?: number;
  cause: unknown;
}

function parseBody(b: unknown): Record<string, unknown> | undefined {
  if (b && typeof b === 'object') return b as Record<string, unknown>;
  if (typeof b === 'string') {
    try {
      const v = JSON.parse(b) as unknown;
      return v && typeof v === 'object' ? (v as Record<string, unknown>) : { message: b };
    } catch {
      return { message: b };
    }
  }
  return undefined;
}

function classify(e: unknown, timeoutSignal: AbortSignal): Failure {
  if (e instanceof k8s.ApiException) {
    const headers = (e.headers ?? {}) as Record<string, string>;
    const ra = Number(headers['retry-after'] ?? headers['Retry-After']);
    const f: Failure = { status: e.code, cause: e };
    const body = parseBody(e.body);
    if (body) f.body = body;
    if (Number.isFinite(ra) && ra > 0) f.retryAfterMs = ra * 1000;
    return f;
  }
  if (timeoutSignal.aborted) return { timedOut: true, cause: e };
  const err = e as { code?: string; errno?: string; cause?: { code?: string }; message?: string } | undefined;
  const code = err?.code ?? err?.errno ?? err?.cause?.code;
  if (typeof code === 'string') return { netCode: code, cause: e };
  if (err?.message && /socket hang up/i.test(err.message)) return { netCode: 'ECONNRESET', cause: e };
  return { cause: e };
}

function isTransient(f: Failure, d: CallDesc): boolean {
  if (f.timedOut) return true;
  if (f.netCode) return TRANSIENT_NET.has(f.netCode);
  if (f.status === undefined) return false;
  if (f.status === 429) return d.retry429;
  if (f.status === 500) return d.retry500;
  return f.status === 502 || f.status === 503 || f.status === 504;
}

function statusMessage(f: Failure): string {
  const m = f.body?.message;
  return typeof m === 'string' && m !== '' ? m : f.status !== undefined ? `HTTP ${f.status}` : String(f.cause);
}

function target(d: CallDesc): string {
  const kind = d.resource.replace(/s$/, '').replace(/^pods\/eviction$/, 'pod');
  if (d.name === undefined) return d.namespace ? `${d.resource} in namespace ${d.namespace}` : d.resource;
  return d.namespace ? `${kind} ${d.namespace}/${d.name}` : `${kind} ${d.name}`;
}

const VERB_WORD: Record<CallDesc['verb'], string> = { get: 'get', list: 'list', patch: 'patch', create: 'create', update: 'update', delete: 'delete' };

/** The one-line, actionable KubeError for a final failure. */
export function kubeErrorFor(f: Failure, d: CallDesc, server: string, timeoutMs: number): KubeError {
  const opts = { cause: f.cause, ...(f.status !== undefined ? { status: f.status } : {}) };
  if (f.timedOut) {
    return new KubeError(`the Kubernetes API at ${server} did not answer within ${timeoutMs / 1000} s (${d.verb} ${target(d)})`, { ...opts, code: 'KUBE_TIMEOUT' });
  }
  if (f.netCode) {
    return new KubeError(`cannot reach the Kubernetes API at ${server}: ${f.netCode} (${d.verb} ${target(d)})`, { ...opts, code: 'KUBE_UNREACHABLE' });
  }
  switch (f.status) {
    case 401:
      return new KubeError(`unauthorized: the Kubernetes API at ${server} rejected the kubeconfig's credentials (${d.verb} ${target(d)})`, { ...opts, code: 'KUBE_UNAUTHORIZED' });
    case 403: {
      const ns = d.namespace ? ` in namespace ${d.namespace}` : '';
      return new KubeError(
        `forbidden: the kubeconfig's user may not ${VERB_WORD[d.verb]} ${d.resource}${ns} (RBAC; grant it with a Role/ClusterRole) (${target(d)}): ${statusMessage(f)}`,
        { ...opts, code: 'KUBE_FORBIDDEN' },
      );
    }
    case 404:
      return new KubeError(`${target(d)} not found`, { ...opts, code: 'KUBE_NOT_FOUND' });
    case 409:
      return new KubeError(`conflict writing ${target(d)}: ${statusMessage(f)}`, { ...opts, code: 'KUBE_CONFLICT' });
    default:
      if (f.status !== undefined) return new KubeError(`${d.verb} ${target(d)}: HTTP ${f.status}: ${statusMessage(f)}`, opts);
      return new KubeError(`${d.verb} ${target(d)} at ${server}: ${f.cause instanceof Error ? f.cause.message : String(f.cause)}`, opts);
  }
}

/** A value the client-node serializer left as a string (MicroTime) or turned into a Date. */
function toDate(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === 'string' && v !== '') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** RFC 3339 with exactly six fractional digits: what the API server's MicroTime parser accepts. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function nodeFrom(n: k8s.V1Node): KubeNode {
  return {
    name: n.metadata?.name ?? '',
    uid: n.metadata?.uid ?? '',
    resourceVersion: n.metadata?.resourceVersion ?? '',
    unschedulable: n.spec?.unschedulable === true,
    labels: { ...(n.metadata?.labels ?? {}) },
    annotations: { ...(n.metadata?.annotations ?? {}) },
    conditions: (n.status?.conditions ?? []).map((c) => {
      const out: NodeCondition = { type: c.type, status: c.status };
      if (c.reason) out.reason = c.reason;
      if (c.message) out.message = c.message;
      const hb = toDate(c.lastHeartbeatTime);
      if (hb) out.lastHeartbeatTime = hb;
      const tt = toDate(c.lastTransitionTime);
      if (tt) out.lastTransitionTime = tt;
      return out;
    }),
  };
}

export function podFrom(p: k8s.V1Pod): PodInfo {
  const out: PodInfo = {
    namespace: p.metadata?.namespace ?? 'default',
    name: p.metadata?.name ?? '',
    uid: p.metadata?.uid ?? '',
    labels: { ...(p.metadata?.labels ?? {}) },
    annotations: { ...(p.metadata?.annotations ?? {}) },
    ownerReferences: (p.metadata?.ownerReferences ?? []).map((o) => {
      const r: OwnerRef = { kind: o.kind, name: o.name, apiVersion: o.apiVersion };
      if (o.controller !== undefined) r.controller = o.controller;
      return r;
    }),
    emptyDirVolumes: (p.spec?.volumes ?? []).filter((v) => v.emptyDir !== undefined && v.emptyDir !== null).map((v) => v.name),
  };
  if (p.spec?.nodeName) out.nodeName = p.spec.nodeName;
  if (p.status?.phase) out.phase = p.status.phase;
  const del = toDate(p.metadata?.deletionTimestamp);
  if (del) out.deletionTimestamp = del;
  if (p.spec?.terminationGracePeriodSeconds !== undefined) out.terminationGracePeriodSeconds = p.spec.terminationGracePeriodSeconds;
  return out;
}

export function leaseFrom(l: k8s.V1Lease): LeaseInfo {
  const out: LeaseInfo = { namespace: l.metadata?.namespace ?? '', name: l.metadata?.name ?? '', resourceVersion: l.metadata?.resourceVersion ?? '' };
  const s = l.spec ?? {};
  if (s.holderIdentity) out.holderIdentity = s.holderIdentity;
  if (s.leaseDurationSeconds !== undefined) out.leaseDurationSeconds = s.leaseDurationSeconds;
  const a = toDate(s.acquireTime);
  if (a) out.acquireTime = a;
  const r = toDate(s.renewTime);
  if (r) out.renewTime = r;
  if (s.leaseTransitions !== undefined) out.leaseTransitions = s.leaseTransitions;
  return out;
}

function leaseBody(namespace: string, w: LeaseWrite): k8s.V1Lease {
  const spec: Record<string, unknown> = {};
  if (w.holderIdentity !== undefined) spec.holderIdentity = w.holderIdentity;
  if (w.leaseDurationSeconds !== undefined) spec.leaseDurationSeconds = w.leaseDurationSeconds;
  // MicroTime: six fractional digits, or a real API server answers 400
  if (w.acquireTime) spec.acquireTime = microTime(w.acquireTime);
  if (w.renewTime) spec.renewTime = microTime(w.renewTime);
  if (w.leaseTransitions !== undefined) spec.leaseTransitions = w.leaseTransitions;
  const metadata: Record<string, unknown> = { name: w.name, namespace };
  if (w.resourceVersion) metadata.resourceVersion = w.resourceVersion;
  if (w.labels) metadata.labels = w.labels;
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } as k8s.V1Lease;
}

function intOrString(v: unknown): string | number | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

export function pdbFrom(p: k8s.V1PodDisruptionBudget): PdbInfo {
  const sel = p.spec?.selector;
  const out: PdbInfo = {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    matchLabels: { ...(sel?.matchLabels ?? {}) },
    matchExpressions: (sel?.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: e.values } : {}) })),
    hasSelector: sel !== undefined && sel !== null,
    disruptionsAllowed: p.status?.disruptionsAllowed ?? 0,
    currentHealthy: p.status?.currentHealthy ?? 0,
    desiredHealthy: p.status?.desiredHealthy ?? 0,
    expectedPods: p.status?.expectedPods ?? 0,
  };
  const min = intOrString(p.spec?.minAvailable);
  if (min !== undefined) out.minAvailable = min;
  const max = intOrString(p.spec?.maxUnavailable);
  if (max !== undefined) out.maxUnavailable = max;
  return out;
}

/** Budget names from a 429 eviction Status ("The disruption budget NAME needs N healthy pods ..."). */
export function budgetsFromStatus(body: Record<string, unknown> | undefined): string[] {
  const causes = (body?.details as { causes?: { reason?: string; message?: string }[] } | undefined)?.causes ?? [];
  const out: string[] = [];
  for (const c of causes) {
    const m = /disruption budget (\S+)/.exec(c.message ?? '');
    if (m) out.push(m[1]!);
  }
  return out;
}

class ApiKubeClient implements KubeClient {
  readonly server: string;
  private readonly core: k8s.CoreV1Api;
  private readonly coord: k8s.CoordinationV1Api;
  private readonly policy: k8s.PolicyV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(kc: k8s.KubeConfig, o: KubeClientOptions) {
    this.server = kc.getCurrentCluster()?.server ?? '(unknown server)';
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.coord = kc.makeApiClient(k8s.CoordinationV1Api);
    this.policy = kc.makeApiClient(k8s.PolicyV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
    this.attempts = Math.max(1, o.attempts ?? 5);
    this.backoffMs = o.backoffMs ?? 250;
  }

  /**
   * One API call with a per-attempt timeout and retries of transient failures. `accept` may turn a
   * failure into a value (404 -> undefined, 429 on eviction -> blocked); anything else becomes a KubeError.
   */
  private async call<T>(
    d: CallDesc,
    fn: (opts: k8s.ConfigurationOptions) => Promise<T>,
    o: CallOptions | undefined,
    accept?: (f: Failure) => { value: T } | undefined,
    contentType?: string,
  ): Promise<T> {
    const outer = o?.signal;
    let last: Failure | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      outer?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
      // Per-call middleware: this attempt's abort signal (timeout + caller) and, for patches, the content type.
      const middleware: k8s.ObservableMiddleware = {
        pre: (rc) => {
          rc.setSignal(signal);
          if (contentType) rc.setHeaderParam('Content-Type', contentType);
          return new k8s.Observable(Promise.resolve(rc));
        },
        post: (r) => new k8s.Observable(Promise.resolve(r)),
      };
      try {
        return await fn({ middleware: [middleware], middlewareMergeStrategy: 'append' });
      } catch (e) {
        if (outer?.aborted) throw e;
        const f = classify(e, timeout);
        const acc = accept?.(f);
        if (acc) return acc.value;
        last = f;
        if (!isTransient(f, d) || attempt === this.attempts) break;
        const delay = Math.max(f.retryAfterMs ?? 0, Math.min(5000, this.backoffMs * 2 ** (attempt - 1)));
        await sleep(delay, undefined, outer ? { signal: outer } : {});
      }
    }
    throw kubeErrorFor(last!, d, this.server, this.timeoutMs);
  }

  async getNode(name: string, o?: CallOptions): Promise<KubeNode> {
    const n = await this.call({ verb: 'get', resource: 'nodes', name, retry429: true, retry500: true }, (opts) => this.core.readNode({ name }, opts), o);
    return nodeFrom(n);
  }

  async listNodes(o?: CallOptions): Promise<KubeNode[]> {
    const out: KubeNode[] = [];
    let cont: string | undefined;
    do {
      const req: k8s.CoreV1ApiListNodeRequest = { limit: 500, ...(cont ? { _continue: cont } : {}) };
      const list = await this.call({ verb: 'list', resource: 'nodes', retry429: true, retry500: true }, (opts) => this.core.listNode(req, opts), o);
      out.push(...list.items.map(nodeFrom));
      cont = list.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  async patchNode(name: string, patch: Record<string, unknown>, o?: CallOptions): Promise<KubeNode> {
    const n = await this.call(
      { verb: 'patch', resource: 'nodes', name, retry429: true, retry500: true },
      (opts) => this.core.patchNode({ name, body: patch }, opts),
      o,
      undefined,
      'application/merge-patch+json',
    );
    return nodeFrom(n);
  }

  async listPodsOnNode(node: string, labelSelector?: string, o?: CallOptions): Promise<PodInfo[]> {
    const out: PodInfo[] = [];
    let cont: string | undefined;
    do {
      const req: k8s.CoreV1ApiListPodForAllNamespacesRequest = { fieldSelector: `spec.nodeName=${node}`, limit: 500 };
      if (labelSelector) req.labelSelector = labelSelector;
      if (cont) req._continue = cont;
      const list = await this.call({ verb: 'list', resource: 'pods', retry429: true, retry500: true }, (opts) => this.core.listPodForAllNamespaces(req, opts), o);
      out.push(...list.items.map(podFrom));
      cont = list.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  async getPod(namespace: string, name: string, o?: CallOptions): Promise<PodInfo | undefined> {
    const p = await this.call<k8s.V1Pod | undefined>(
      { verb: 'get', resource: 'pods', name, namespace, retry429: true, retry500: true },
      (opts) => this.core.readNamespacedPod({ name, namespace }, opts),
      o,
      (f) => (f.status === 404 ? { value: undefined } : undefined),
    );
    return p ? podFrom(p) : undefined;
  }

  async evictPod(namespace: string, name: string, opts: { gracePeriodSeconds?: number } = {}, o?: CallOptions): Promise<EvictionOutcome> {
    const body: k8s.V1Eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } };
    if (opts.gracePeriodSeconds !== undefined) body.deleteOptions = { gracePeriodSeconds: opts.gracePeriodSeconds };
    return this.call<EvictionOutcome>(
      { verb: 'create', resource: 'pods/eviction', name, namespace, retry429: false, retry500: false },
      async (co) => {
        await this.core.createNamespacedPodEviction({ name, namespace, body }, co);
        return { kind: 'evicted' };
      },
      o,
      (f) => {
        if (f.status === 404) return { value: { kind: 'gone' } };
        if (f.status === 429) return { value: { kind: 'blocked', message: statusMessage(f), budgets: budgetsFromStatus(f.body) } };
        if (f.status === 500) return { value: { kind: 'refused', status: 500, message: statusMessage(f) } };
        return undefined;
      },
    );
  }

  async deletePod(namespace: string, name: string, opts: { gracePeriodSeconds?: number } = {}, o?: CallOptions): Promise<boolean> {
    return this.call<boolean>(
      { verb: 'delete', resource: 'pods', name, namespace, retry429: true, retry500: true },
      async (co) => {
        const req: k8s.CoreV1ApiDeleteNamespacedPodRequest = { name, namespace };
        if (opts.gracePeriodSeconds !== undefined) req.gracePeriodSeconds = opts.gracePeriodSeconds;
        await this.core.deleteNamespacedPod(req, co);
        return true;
      },
      o,
      (f) => (f.status === 404 ? { value: false } : undefined),
    );
  }

  async daemonSetExists(namespace: string, name: string, o?: CallOptions): Promise<boolean> {
    return this.call<boolean>(
      { verb: 'get', resource: 'daemonsets', name, namespace, retry429: true, retry500: true },
      async (co) => {
        await this.apps.readNamespacedDaemonSet({ name, namespace }, co);
        return true;
      },
      o,
      (f) => (f.status === 404 ? { value: false } : undefined),
    );
  }

  async listPDBs(namespace: string, o?: CallOptions): Promise<PdbInfo[]> {
    const l = await this.call(
      { verb: 'list', resource: 'poddisruptionbudgets', namespace, retry429: true, retry500: true },
      (co) => this.policy.listNamespacedPodDisruptionBudget({ namespace }, co),
      o,
    );
    return l.items.map(pdbFrom);
  }

  async listLeases(namespace: string, labelSelector: string, o?: CallOptions): Promise<LeaseInfo[]> {
    const l = await this.call(
      { verb: 'list', resource: 'leases', namespace, retry429: true, retry500: true },
      (co) => this.coord.listNamespacedLease({ namespace, labelSelector }, co),
      o,
    );
    return l.items.map(leaseFrom);
  }

  async getLease(namespace: string, name: string, o?: CallOptions): Promise<LeaseInfo | undefined> {
    const l = await this.call<k8s.V1Lease | undefined>(
      { verb: 'get', resource: 'leases', name, namespace, retry429: true, retry500: true },
      (co) => this.coord.readNamespacedLease({ name, namespace }, co),
      o,
      (f) => (f.status === 404 ? { value: undefined } : undefined),
    );
    return l ? leaseFrom(l) : undefined;
  }

  async createLease(namespace: string, lease: LeaseWrite, o?: CallOptions): Promise<LeaseInfo> {
    const l = await this.call(
      { verb: 'create', resource: 'leases', name: lease.name, namespace, retry429: true, retry500: true },
      (co) => this.coord.createNamespacedLease({ namespace, body: leaseBody(namespace, lease) }, co),
      o,
    );
    return leaseFrom(l);
  }

  async replaceLease(namespace: string, lease: LeaseWrite, o?: CallOptions): Promise<LeaseInfo> {
    const l = await this.call(
      { verb: 'update', resource: 'leases', name: lease.name, namespace, retry429: true, retry500: true },
      (co) => this.coord.replaceNamespacedLease({ name: lease.name, namespace, body: leaseBody(namespace, lease) }, co),
      o,
    );
    return leaseFrom(l);
  }
}
