/**
 * A Kubernetes API stand-in (moved here from the kube tests so the lab can serve it; test/kube/apiserver.ts has
 * the same API): plain HTTP on 127.0.0.1 speaking the real paths, verbs, status codes and JSON (Status objects
 * for errors) of the calls nodesweep and `kubectl cordon/drain/uncordon` make: discovery, nodes get/list/patch/
 * update, pods list (fieldSelector spec.nodeName, labelSelector), get/delete with graceful termination over time,
 * pods/eviction (policy/v1) with PodDisruptionBudget behaviour (429 while a budget blocks, 500 for overlapping
 * budgets), daemonsets get, poddisruptionbudgets list, leases get/create/update/delete with resourceVersion and
 * 409. Written from the API reference (api-concepts, Status, Eviction, Lease); checked against the real kubectl.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { matchesRequirements, parseLabelSelector } from '../kube/drain-filters.js';

type Obj = Record<string, any>;

export interface RequestInfo {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'watch';
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface LoggedRequest extends RequestInfo {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
  body?: unknown;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface PodSpecInput {
  namespace?: string;
  name: string;
  node: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Controller owner, e.g. { kind: 'ReplicaSet', name: 'web-abc' } or { kind: 'DaemonSet', name: 'fluentd' }. */
  owner?: { kind: string; name: string; apiVersion?: string };
  emptyDir?: boolean;
  /** A static pod's mirror (annotation kubernetes.io/config.mirror). */
  mirror?: boolean;
  phase?: string;
  /** How long the pod takes to go away once deleted (its containers stopping); default the server's terminationMs. */
  terminationMs?: number;
}

export interface PdbInput {
  namespace?: string;
  name: string;
  matchLabels: Record<string, string>;
  /** status.disruptionsAllowed (default 0). */
  disruptionsAllowed?: number;
  /** After this many refused evictions (429) the budget allows one disruption (a replacement became healthy). Infinity: never. */
  opensAfterRefusals?: number;
  minAvailable?: number;
}

const STATUS_REASON: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

const GROUPS: { group: string; version: string; resources: Obj[] }[] = [
  {
    group: '',
    version: 'v1',
    resources: [
      { name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['no'] },
      { name: 'nodes/status', singularName: '', namespaced: false, kind: 'Node', verbs: ['get', 'patch', 'update'] },
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'], categories: ['all'] },
      { name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
      { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'] },
    ],
  },
  {
    group: 'apps',
    version: 'v1',
    resources: [{ name: 'daemonsets', singularName: 'daemonset', namespaced: true, kind: 'DaemonSet', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ds'], categories: ['all'] }],
  },
  {
    group: 'policy',
    version: 'v1',
    resources: [{ name: 'poddisruptionbudgets', singularName: 'poddisruptionbudget', namespaced: true, kind: 'PodDisruptionBudget', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['pdb'] }],
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    resources: [{ name: 'leases', singularName: 'lease', namespaced: true, kind: 'Lease', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }],
  },
];

const KIND_OF: Record<string, { kind: string; apiVersion: string; qualified: string }> = {
  nodes: { kind: 'Node', apiVersion: 'v1', qualified: 'nodes' },
  pods: { kind: 'Pod', apiVersion: 'v1', qualified: 'pods' },
  daemonsets: { kind: 'DaemonSet', apiVersion: 'apps/v1', qualified: 'daemonsets.apps' },
  poddisruptionbudgets: { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', qualified: 'poddisruptionbudgets.policy' },
  leases: { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', qualified: 'leases.coordination.k8s.io' },
};

/** RFC 3339 seconds, as metav1.Time is written. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
const MICRO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/** RFC 7386 JSON merge patch (strategic merge behaves the same for the scalar and map fields used here). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (k.startsWith('$')) continue; // strategic-merge directives ($patch, $retainKeys, $setElementOrder/...)
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add / remove / replace / test (what kubectl and client libraries send). */
export function jsonPatch(doc: Obj, ops: Obj[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = String(op.path).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: any = out;
    for (const p of parts) {
      if (parent[p] === undefined) {
        if (op.op === 'add') parent[p] = {};
        else throw new Error(`path ${op.path} does not exist`);
      }
      parent = parent[p];
    }
    if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in parent)) throw new Error(`replace operation does not apply: doc is missing key: ${op.path}`);
      if (Array.isArray(parent) && last === '-') parent.push(op.value);
      else parent[last] = op.value;
    } else if (op.op === 'remove') {
      if (!(last in parent)) throw new Error(`remove operation does not apply: doc is missing path: ${op.path}`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new Error(`testing value ${op.path} failed`);
    } else throw new Error(`unsupported JSON patch op ${op.op}`);
  }
  return out;
}

/** A resource's qualified name as the API's messages give it (nodes, leases.coordination.k8s.io...). */
export function qualifiedResource(resource: string): string {
  return KIND_OF[resource]?.qualified ?? resource;
}

/** A request the API server refuses as malformed: answered 400 BadRequest with this message. */
class BadRequest extends Error {}

/**
 * A label selector as the API server reads it: the product's own grammar (src/kube/drain-filters.ts), one rule.
 * A selector that does not parse is a 400 BadRequest, as the real server answers, never a 500.
 */
export function labelSelectorFilter(selector: string | undefined): (labels: Record<string, string>) => boolean {
  if (!selector) return () => true;
  let reqs: ReturnType<typeof parseLabelSelector>;
  try {
    reqs = parseLabelSelector(selector);
  } catch (e) {
    throw new BadRequest(`unable to parse requirement: ${e instanceof Error ? e.message : String(e)}`);
  }
  return (labels) => matchesRequirements(reqs, labels);
}

function fieldValue(o: Obj, path: string): string {
  let v: any = o;
  for (const p of path.split('.')) v = v?.[p];
  return v === undefined || v === null ? '' : String(v);
}

export function matchesFieldSelector(selector: string, o: Obj): boolean {
  return selector.split(',').filter((t) => t !== '').every((t) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) return false;
    const eq = fieldValue(o, m[1]!) === m[3];
    return m[2] === '!=' ? !eq : eq;
  });
}

export class FakeKubeApi {
  private server: Server;
  private sockets = new Set<Socket>();
  private rv = 1000;
  /** key: resource/namespace/name (namespace '' for cluster-scoped) */
  readonly objects = new Map<string, Obj>();
  readonly requests: LoggedRequest[] = [];
  /** Default time a deleted pod lingers (terminating) before it is gone. */
  terminationMs = 50;
  /** Refused evictions left per budget key before it opens; Infinity = never. */
  private readonly pdbOpens = new Map<string, number>();
  private readonly podTermination = new Map<string, number>();
  /** Nodes whose kubelet is not posting status (Ready Unknown, heartbeat frozen). */
  readonly kubeletDown = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private down = false;
  port = 0;

  /** Not listening yet: use `start()`. */
  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Start on a free loopback port; a subclass's `start()` returns that subclass. */
  static async start<T extends FakeKubeApi>(this: new () => T): Promise<T> {
    const api = new this();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', () => resolve()));
    api.port = (api.server.address() as { port: number }).port;
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A kubeconfig for this server (http, token auth), as kubectl and client-node read it. */
  writeKubeconfig(dir: string, file = 'kubeconfig', context = 'standin'): string {
    const path = join(dir, file);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: ${context}`,
        '  cluster:',
        `    server: ${this.url}`,
        // client-node refuses plain http unless told TLS verification is off (kubectl does not care)
        '    insecure-skip-tls-verify: true',
        'users:',
        `- name: ${context}-admin`,
        '  user:',
        '    token: stand-in-token',
        'contexts:',
        `- name: ${context}`,
        '  context:',
        `    cluster: ${context}`,
        `    user: ${context}-admin`,
        `current-context: ${context}`,
        '',
      ].join('\n'),
    );
    return path;
  }

  /** Stop answering: the port refuses connections until setDown(false). */
  async setDown(down: boolean): Promise<void> {
    if (down === this.down) return;
    this.down = down;
    if (down) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        for (const s of this.sockets) s.destroy();
      });
    } else {
      await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', () => resolve()));
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    if (this.down) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    this.down = true;
  }

  // ---- state helpers for tests ----

  private key(resource: string, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ''}/${name}`;
  }

  private stamp(o: Obj, resource: string): Obj {
    const k = KIND_OF[resource]!;
    o.kind = k.kind;
    o.apiVersion = k.apiVersion;
    o.metadata.resourceVersion = String(++this.rv);
    return o;
  }

  private put(resource: string, o: Obj): Obj {
    this.stamp(o, resource);
    this.objects.set(this.key(resource, o.metadata.namespace, o.metadata.name), o);
    return o;
  }

  addNode(name: string, opts: { unschedulable?: boolean; annotations?: Record<string, string>; labels?: Record<string, string>; ready?: boolean } = {}): Obj {
    const now = new Date();
    const node: Obj = {
      metadata: {
        name,
        uid: randomUUID(),
        creationTimestamp: rfc3339(now),
        labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...opts.labels },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...opts.annotations },
      },
      spec: opts.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: rfc3339(now), lastTransitionTime: rfc3339(now) },
          { type: 'Ready', status: opts.ready === false ? 'False' : 'True', reason: opts.ready === false ? 'KubeletNotReady' : 'KubeletReady', message: opts.ready === false ? 'container runtime is down' : 'kubelet is posting ready status', lastHeartbeatTime: rfc3339(now), lastTransitionTime: rfc3339(now) },
        ],
        nodeInfo: { kubeletVersion: 'v1.32.0', containerRuntimeVersion: 'cri-o://1.24.3' },
      },
    };
    if (opts.ready === false) this.kubeletDown.add(name);
    return this.put('nodes', node);
  }

  /** The kubelet starts / stops posting Ready (a crio restart makes it NotReady for a moment). */
  setNodeReady(name: string, ready: boolean): void {
    const n = this.node(name);
    if (!n) throw new Error(`no node ${name}`);
    if (ready) this.kubeletDown.delete(name);
    else this.kubeletDown.add(name);
    const c = n.status.conditions.find((x: Obj) => x.type === 'Ready');
    const status = ready ? 'True' : 'False';
    if (c.status !== status) {
      c.status = status;
      c.reason = ready ? 'KubeletReady' : 'KubeletNotReady';
      c.message = ready ? 'kubelet is posting ready status' : 'container runtime is down';
      c.lastTransitionTime = rfc3339(new Date());
      c.lastHeartbeatTime = rfc3339(new Date());
      this.stamp(n, 'nodes');
    }
  }

  node(name: string): Obj | undefined {
    return this.objects.get(this.key('nodes', undefined, name));
  }

  addPod(p: PodSpecInput): Obj {
    const ns = p.namespace ?? 'default';
    const annotations: Record<string, string> = { ...p.annotations };
    if (p.mirror) {
      annotations['kubernetes.io/config.mirror'] = 'abc123';
      annotations['kubernetes.io/config.source'] = 'file';
    }
    const pod: Obj = {
      metadata: { name: p.name, namespace: ns, uid: randomUUID(), creationTimestamp: rfc3339(new Date()), labels: { ...p.labels }, annotations },
      spec: {
        nodeName: p.node,
        terminationGracePeriodSeconds: 30,
        containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }],
        volumes: p.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : [],
      },
      status: { phase: p.phase ?? 'Running' },
    };
    if (p.owner) {
      pod.metadata.ownerReferences = [
        { apiVersion: p.owner.apiVersion ?? (p.owner.kind === 'Node' ? 'v1' : 'apps/v1'), kind: p.owner.kind, name: p.owner.name, uid: randomUUID(), controller: true, blockOwnerDeletion: true },
      ];
    }
    if (p.mirror) {
      pod.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: p.node, uid: this.node(p.node)?.metadata.uid ?? randomUUID(), controller: true }];
    }
    if (p.terminationMs !== undefined) this.podTermination.set(`${ns}/${p.name}`, p.terminationMs);
    return this.put('pods', pod);
  }

  pod(namespace: string, name: string): Obj | undefined {
    return this.objects.get(this.key('pods', namespace, name));
  }

  podsOn(node: string): Obj[] {
    return [...this.objects.entries()].filter(([k, o]) => k.startsWith('pods/') && o.spec.nodeName === node).map(([, o]) => o);
  }

  addDaemonSet(namespace: string, name: string): Obj {
    return this.put('daemonsets', {
      metadata: { name, namespace, uid: randomUUID(), creationTimestamp: rfc3339(new Date()) },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'x' }] } } },
      status: { currentNumberScheduled: 1, desiredNumberScheduled: 1, numberMisscheduled: 0, numberReady: 1 },
    });
  }

  addPdb(p: PdbInput): Obj {
    const ns = p.namespace ?? 'default';
    const allowed = p.disruptionsAllowed ?? 0;
    if (p.opensAfterRefusals !== undefined) this.pdbOpens.set(`${ns}/${p.name}`, p.opensAfterRefusals);
    return this.put('poddisruptionbudgets', {
      metadata: { name: p.name, namespace: ns, uid: randomUUID(), generation: 1, creationTimestamp: rfc3339(new Date()) },
      spec: { minAvailable: p.minAvailable ?? 1, selector: { matchLabels: p.matchLabels } },
      status: { observedGeneration: 1, disruptionsAllowed: allowed, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 },
    });
  }

  pdb(namespace: string, name: string): Obj | undefined {
    return this.objects.get(this.key('poddisruptionbudgets', namespace, name));
  }

  lease(namespace: string, name: string): Obj | undefined {
    return this.objects.get(this.key('leases', namespace, name));
  }

  /** Store a lease as another holder left it (e.g. a dead run). */
  putLease(namespace: string, name: string, spec: Obj): Obj {
    return this.put('leases', { metadata: { name, namespace, uid: randomUUID(), creationTimestamp: rfc3339(new Date()) }, spec });
  }

  /** Requests matching a predicate (e.g. evictions of one pod). */
  count(pred: (r: LoggedRequest) => boolean): number {
    return this.requests.filter(pred).length;
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    const info = this.route(req.method ?? 'GET', url.pathname, query);
    const log: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query, status: 0, at: Date.now(), ...(contentType ? { contentType } : {}), ...(info ?? { verb: 'get', group: '', resource: '' }) };
    let body: unknown;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      log.body = body;
    }
    this.requests.push(log);
    const send = (status: number, payload: unknown) => {
      log.status = status;
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Audit-Id': randomUUID() });
      res.end(text);
    };
    try {
      const r = this.dispatch(req.method ?? 'GET', url.pathname, query, body, contentType, info);
      send(r.status, r.body);
    } catch (e) {
      if (e instanceof BadRequest) send(400, this.status(400, e.message));
      else send(500, this.status(500, `stand-in error: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** Parse /api/v1/..., /apis/g/v/... into verb/resource/namespace/name. */
  private route(method: string, path: string, query: Record<string, string>): RequestInfo | undefined {
    const parts = path.split('/').filter((p) => p !== '');
    let group: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1]!;
      rest = parts.slice(3);
    } else return undefined;
    if (rest.length === 0) return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, subresource] = rest;
    if (!resource) return undefined;
    const verbs: Record<string, RequestInfo['verb']> = { GET: name ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    const info: RequestInfo = { verb: verbs[method] ?? 'get', group, resource };
    if (namespace) info.namespace = namespace;
    if (name) info.name = name;
    if (subresource) info.subresource = subresource;
    return info;
  }

  status(code: number, message: string, extra: Obj = {}): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: STATUS_REASON[code] ?? 'Unknown', code, ...extra };
  }

  /** Extension point: a response that takes the place of the normal one for this request (none here). */
  protected answerFirst(_info: RequestInfo): { status: number; body: Obj } | undefined {
    return undefined;
  }

  private notFound(resource: string, name: string): { status: number; body: Obj } {
    const q = qualifiedResource(resource);
    const group = q.includes('.') ? q.slice(q.indexOf('.') + 1) : undefined;
    return { status: 404, body: this.status(404, `${q} "${name}" not found`, { details: { name, ...(group ? { group } : {}), kind: resource } }) };
  }

  private dispatch(method: string, path: string, query: Record<string, string>, body: unknown, contentType: string | undefined, info: RequestInfo | undefined): { status: number; body: unknown } {
    const discovery = this.discovery(path);
    if (discovery) return { status: 200, body: discovery };
    if (!info) return { status: 404, body: this.status(404, 'the server could not find the requested resource', { details: {} }) };

    const answered = this.answerFirst(info);
    if (answered) return answered;
    const { resource, namespace, name, subresource } = info;
    switch (resource) {
      case 'nodes':
        return this.nodes(method, info, body, contentType);
      case 'pods':
        if (subresource === 'eviction' && method === 'POST') return this.evict(namespace ?? 'default', name!, body as Obj, query);
        return this.pods(method, info, query, body);
      case 'daemonsets':
      case 'poddisruptionbudgets':
        if (method !== 'GET') return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
        if (name) {
          this.podHousekeeping();
          const o = this.objects.get(this.key(resource, namespace, name));
          return o ? { status: 200, body: o } : this.notFound(resource, name);
        }
        return { status: 200, body: this.list(resource, (o) => namespace === undefined || o.metadata.namespace === namespace) };
      case 'leases':
        return this.leases(method, info, body, query);
      default:
        return { status: 404, body: this.status(404, 'the server could not find the requested resource', { details: {} }) };
    }
  }

  private list(resource: string, pred: (o: Obj) => boolean): Obj {
    const k = KIND_OF[resource]!;
    const items = [...this.objects.entries()].filter(([key, o]) => key.startsWith(`${resource}/`) && pred(o)).map(([, o]) => o);
    return { kind: `${k.kind}List`, apiVersion: k.apiVersion, metadata: { resourceVersion: String(this.rv) }, items };
  }

  private discovery(path: string): Obj | undefined {
    const p = path.replace(/\/+$/, '');
    if (p === '/version') {
      return { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: 'standin', gitTreeState: 'clean', buildDate: '2024-12-11T00:00:00Z', goVersion: 'go1.23.3', compiler: 'gc', platform: 'linux/amd64' };
    }
    if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }] };
    const groupObj = (g: (typeof GROUPS)[number]) => ({
      name: g.group,
      versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
      preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
    });
    if (p === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.filter((g) => g.group !== '').map(groupObj) };
    for (const g of GROUPS) {
      const gv = g.group === '' ? 'v1' : `${g.group}/${g.version}`;
      const base = g.group === '' ? '/api/v1' : `/apis/${gv}`;
      if (p === base) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: g.resources };
      if (g.group !== '' && p === `/apis/${g.group}`) return { kind: 'APIGroup', apiVersion: 'v1', ...groupObj(g) };
    }
    return undefined;
  }

  /** A simulated kubelet: posts Ready heartbeats (and renews the node Lease) whenever someone looks. */
  private heartbeat(n: Obj): void {
    const name = n.metadata.name as string;
    if (this.kubeletDown.has(name)) return;
    const now = new Date();
    for (const c of n.status.conditions as Obj[]) c.lastHeartbeatTime = rfc3339(now);
    const lk = this.key('leases', 'kube-node-lease', name);
    const l = this.objects.get(lk);
    if (l) l.spec.renewTime = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    else this.putLease('kube-node-lease', name, { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') });
  }

  private nodes(method: string, info: RequestInfo, body: unknown, contentType: string | undefined): { status: number; body: unknown } {
    const { name } = info;
    if (!name) {
      if (method === 'GET') {
        for (const [k, o] of this.objects) if (k.startsWith('nodes/')) this.heartbeat(o);
        return { status: 200, body: this.list('nodes', () => true) };
      }
      return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
    }
    const key = this.key('nodes', undefined, name);
    const node = this.objects.get(key);
    if (!node) return this.notFound('nodes', name);
    if (method === 'GET') {
      this.heartbeat(node);
      return { status: 200, body: node };
    }
    if (method === 'PATCH') {
      let next: Obj;
      try {
        if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
          const patch = body as Obj;
          const wantRv = patch?.metadata?.resourceVersion;
          if (wantRv !== undefined && wantRv !== node.metadata.resourceVersion) return this.conflict('nodes', name);
          next = mergePatch(node, patch) as Obj;
        } else if (contentType === 'application/json-patch+json') {
          next = jsonPatch(node, body as Obj[]);
        } else {
          return { status: 415, body: this.status(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`) };
        }
      } catch (e) {
        return { status: 422, body: this.status(422, `the server rejected our request due to an error in our request: ${e instanceof Error ? e.message : String(e)}`) };
      }
      next.metadata.name = name;
      next.metadata.uid = node.metadata.uid;
      if (next.spec?.unschedulable === false) delete next.spec.unschedulable; // omitempty
      this.put('nodes', next);
      return { status: 200, body: next };
    }
    if (method === 'PUT') {
      const o = body as Obj;
      if (o?.metadata?.resourceVersion !== undefined && o.metadata.resourceVersion !== node.metadata.resourceVersion) return this.conflict('nodes', name);
      const next = structuredClone(o);
      next.metadata.uid = node.metadata.uid;
      this.put('nodes', next);
      return { status: 200, body: next };
    }
    return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
  }

  private conflict(resource: string, name: string): { status: number; body: Obj } {
    const q = qualifiedResource(resource);
    const group = q.includes('.') ? q.slice(q.indexOf('.') + 1) : '';
    return {
      status: 409,
      body: this.status(409, `Operation cannot be fulfilled on ${q} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
        details: { name, ...(group ? { group } : {}), kind: resource },
      }),
    };
  }

  /** Terminating pods whose time is up are gone. */
  private podHousekeeping(): void {
    const now = Date.now();
    for (const [k, o] of this.objects) {
      if (k.startsWith('pods/') && o.__goneAt !== undefined && o.__goneAt <= now) this.objects.delete(k);
    }
  }

  private startDeletion(pod: Obj, graceSeconds: number | undefined): void {
    if (pod.metadata.deletionTimestamp) return;
    const grace = graceSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const finished = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
    pod.metadata.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
    pod.metadata.deletionGracePeriodSeconds = grace;
    const linger = grace === 0 || finished ? 0 : Math.min(grace * 1000, this.podTermination.get(`${pod.metadata.namespace}/${pod.metadata.name}`) ?? this.terminationMs);
    Object.defineProperty(pod, '__goneAt', { value: Date.now() + linger, enumerable: false, writable: true });
    this.stamp(pod, 'pods');
    if (linger === 0) this.objects.delete(this.key('pods', pod.metadata.namespace, pod.metadata.name));
  }

  private pods(method: string, info: RequestInfo, query: Record<string, string>, body: unknown): { status: number; body: unknown } {
    this.podHousekeeping();
    const { namespace, name } = info;
    if (!name) {
      if (method !== 'GET') return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
      if (query.fieldSelector) {
        for (const t of query.fieldSelector.split(',')) {
          const field = t.split(/!=|==|=/)[0]!;
          if (!['spec.nodeName', 'metadata.name', 'metadata.namespace', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP', 'status.nominatedNodeName'].includes(field)) {
            return { status: 400, body: this.status(400, `field label not supported: ${field}`) };
          }
        }
      }
      const labelsMatch = labelSelectorFilter(query.labelSelector);
      return {
        status: 200,
        body: this.list('pods', (o) => (namespace === undefined || o.metadata.namespace === namespace) && (!query.fieldSelector || matchesFieldSelector(query.fieldSelector, o)) && labelsMatch(o.metadata.labels ?? {})),
      };
    }
    const ns = namespace ?? 'default';
    const pod = this.objects.get(this.key('pods', ns, name));
    if (!pod) return this.notFound('pods', name);
    if (method === 'GET') return { status: 200, body: pod };
    if (method === 'DELETE') {
      const opts = (body && typeof body === 'object' ? body : {}) as Obj;
      const g = opts.gracePeriodSeconds ?? (query.gracePeriodSeconds !== undefined ? Number(query.gracePeriodSeconds) : undefined);
      if (query.dryRun === 'All' || (Array.isArray(opts.dryRun) && opts.dryRun.includes('All'))) return { status: 200, body: pod };
      this.startDeletion(pod, g);
      return { status: 200, body: pod };
    }
    return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
  }

  private matchingPdbs(pod: Obj): Obj[] {
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith('poddisruptionbudgets/') && o.metadata.namespace === pod.metadata.namespace)
      .map(([, o]) => o)
      .filter((b) => {
        const ml = b.spec.selector?.matchLabels ?? {};
        return Object.entries(ml).every(([k, v]) => pod.metadata.labels?.[k] === v);
      });
  }

  /** POST pods/NAME/eviction (policy/v1 Eviction): the disruption budget decides. */
  private evict(namespace: string, name: string, body: Obj, query: Record<string, string>): { status: number; body: unknown } {
    this.podHousekeeping();
    if (!body || body.kind !== 'Eviction') return { status: 400, body: this.status(400, 'the body of the request must be a policy/v1 Eviction') };
    const pod = this.objects.get(this.key('pods', namespace, name));
    if (!pod) return this.notFound('pods', name);
    const success = { status: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
    const dry = query.dryRun === 'All' || (Array.isArray(body.deleteOptions?.dryRun) && body.deleteOptions.dryRun.includes('All'));
    const grace = body.deleteOptions?.gracePeriodSeconds;
    // Terminating or not-running pods are not counted by budgets.
    const phase = pod.status.phase;
    if (pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending') {
      if (!dry) this.startDeletion(pod, grace);
      return success;
    }
    const pdbs = this.matchingPdbs(pod);
    if (pdbs.length > 1) {
      return { status: 500, body: this.status(500, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.') };
    }
    if (pdbs.length === 1) {
      const b = pdbs[0]!;
      const bk = `${b.metadata.namespace}/${b.metadata.name}`;
      const opens = this.pdbOpens.get(bk);
      if (b.status.disruptionsAllowed <= 0 && opens !== undefined && opens <= 0) {
        b.status.disruptionsAllowed = 1;
        this.pdbOpens.delete(bk);
      }
      if (b.status.disruptionsAllowed <= 0) {
        if (opens !== undefined) this.pdbOpens.set(bk, opens - 1);
        return {
          status: 429,
          body: this.status(429, "Cannot evict pod as it would violate the pod's disruption budget.", {
            details: { causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${b.metadata.name} needs ${b.status.desiredHealthy} healthy pods and has ${b.status.currentHealthy} currently` }] },
          }),
        };
      }
      if (!dry) {
        b.status.disruptionsAllowed -= 1;
        this.stamp(b, 'poddisruptionbudgets');
      }
    }
    if (!dry) this.startDeletion(pod, grace);
    return success;
  }

  private leases(method: string, info: RequestInfo, body: unknown, query: Record<string, string>): { status: number; body: unknown } {
    const ns = info.namespace ?? 'default';
    const { name } = info;
    const badTime = (o: Obj): string | undefined => {
      for (const f of ['acquireTime', 'renewTime']) {
        const v = o?.spec?.[f];
        if (v !== undefined && v !== null && !MICRO_RE.test(String(v))) {
          return `Lease in version "v1" cannot be handled as a Lease: parsing time "${v}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${String(v).slice(19)}" as ".000000"`;
        }
      }
      return undefined;
    };
    if (!name) {
      if (method === 'GET') {
        const labelsMatch = labelSelectorFilter(query.labelSelector);
        return { status: 200, body: this.list('leases', (o) => o.metadata.namespace === ns && labelsMatch(o.metadata.labels ?? {})) };
      }
      if (method === 'POST') {
        const o = structuredClone(body as Obj);
        const bt = badTime(o);
        if (bt) return { status: 400, body: this.status(400, bt) };
        const n = o?.metadata?.name;
        if (!n) return { status: 422, body: this.status(422, 'Lease.coordination.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required') };
        if (this.lease(ns, n)) {
          return { status: 409, body: this.status(409, `leases.coordination.k8s.io "${n}" already exists`, { reason: 'AlreadyExists', details: { name: n, group: 'coordination.k8s.io', kind: 'leases' } }) };
        }
        o.metadata = { ...o.metadata, namespace: ns, uid: randomUUID(), creationTimestamp: rfc3339(new Date()) };
        delete o.metadata.resourceVersion;
        return { status: 201, body: this.put('leases', o) };
      }
      return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
    }
    const cur = this.lease(ns, name);
    if (method === 'GET') return cur ? { status: 200, body: cur } : this.notFound('leases', name);
    if (method === 'PUT') {
      if (!cur) return this.notFound('leases', name);
      const o = structuredClone(body as Obj);
      const bt = badTime(o);
      if (bt) return { status: 400, body: this.status(400, bt) };
      const rv = o?.metadata?.resourceVersion;
      if (rv === undefined || rv === '') {
        return { status: 422, body: this.status(422, `Lease.coordination.k8s.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`) };
      }
      if (rv !== cur.metadata.resourceVersion) return this.conflict('leases', name);
      o.metadata = { ...o.metadata, namespace: ns, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp };
      return { status: 200, body: this.put('leases', o) };
    }
    if (method === 'DELETE') {
      if (!cur) return this.notFound('leases', name);
      this.objects.delete(this.key('leases', ns, name));
      return { status: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'coordination.k8s.io', kind: 'leases', uid: cur.metadata.uid } } };
    }
    return { status: 405, body: this.status(405, 'the server does not allow this method on the requested resource') };
  }
}
