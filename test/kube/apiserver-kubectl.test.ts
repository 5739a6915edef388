/**
 * The API stand-in checked with the REAL kubectl: cordon, drain (DaemonSet/mirror/emptyDir rules, a budget that
 * refuses once then allows), uncordon must leave the stand-in as they would leave a cluster. Also the client's
 * retries and errors against the stand-in.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestKubeApi } from './apiserver.js';
import { createKubeClient, loadKubeConfig } from '../../src/kube/client.js';
import { KubeError } from '../../src/errors.js';

const KUBECTL = '/usr/bin/kubectl';
const noKubectl = existsSync(KUBECTL) ? undefined : 'kubectl is not installed here';

function kubectl(kc: string, cache: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--kubeconfig', kc, '--cache-dir', cache, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('API stand-in vs the real kubectl', () => {
  let api: TestKubeApi;
  let dir: string;
  let kc: string;
  before(async () => {
    api = await TestKubeApi.start();
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-kubectl-'));
    kc = api.writeKubeconfig(dir);
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a label selector that does not parse is a 400 BadRequest, as kubectl shows it from a cluster', { skip: noKubectl }, async () => {
    api.addPod({ namespace: 'default', name: 'sel-1', node: 'n0', labels: { app: 'web' } });
    const cache = join(dir, 'cache');
    const ok = await kubectl(kc, cache, 'get', 'pods', '-n', 'default', '-l', 'app in (web)', '-o', 'name');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^pod\/sel-1$/m);
    const bad = await kubectl(kc, cache, 'get', 'pods', '-n', 'default', '-l', 'app in (web', '-o', 'name');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Error from server \(BadRequest\): .*unable to parse requirement/);
    const last = api.requests.filter((r) => r.resource === 'pods').at(-1)!;
    assert.equal(last.status, 400);
  });

  test('kubectl cordon / drain / uncordon behave as against a cluster', { skip: noKubectl }, async () => {
    api.addNode('n1');
    api.addDaemonSet('kube-system', 'fluentd');
    api.addPod({ namespace: 'kube-system', name: 'fluentd-n1', node: 'n1', owner: { kind: 'DaemonSet', name: 'fluentd' } });
    api.addPod({ namespace: 'kube-system', name: 'etcd-n1', node: 'n1', mirror: true });
    api.addPod({ namespace: 'default', name: 'web-1', node: 'n1', owner: { kind: 'ReplicaSet', name: 'web-abc' }, labels: { app: 'web' }, emptyDir: true });
    api.addPdb({ name: 'web', matchLabels: { app: 'web' }, disruptionsAllowed: 0, opensAfterRefusals: 1 });
    const cache = join(dir, 'cache');

    const c = await kubectl(kc, cache, 'cordon', 'n1');
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), 'node/n1 cordoned');
    assert.equal(api.node('n1')!.spec.unschedulable, true);
    assert.equal(api.requests.find((r) => r.method === 'PATCH')!.contentType, 'application/strategic-merge-patch+json');

    // without the flags kubectl refuses, as against a cluster
    const refused = await kubectl(kc, cache, 'drain', 'n1', '--timeout=20s');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): kube-system\/fluentd-n1/);
    assert.match(refused.stderr, /cannot delete Pods with local storage \(use --delete-emptydir-data to override\): default\/web-1/);

    const d = await kubectl(kc, cache, 'drain', 'n1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=30s');
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
    assert.match(d.stdout, /pod\/web-1 evicted/);
    assert.match(d.stdout, /node\/n1 drained/);
    assert.deepEqual(api.podsOn('n1').map((p) => p.metadata.name).sort(), ['etcd-n1', 'fluentd-n1']);
    assert.deepEqual(api.requests.filter((r) => r.subresource === 'eviction').map((r) => r.status), [429, 201]);

    const u = await kubectl(kc, cache, 'uncordon', 'n1');
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout.trim(), 'node/n1 uncordoned');
    assert.equal(api.node('n1')!.spec.unschedulable, undefined);

    const nf = await kubectl(kc, cache, 'cordon', 'ghost');
    assert.notEqual(nf.code, 0);
    assert.match(nf.stderr, /nodes "ghost" not found/);
  });

  test('kubectl sees the stand-in\'s 403 as RBAC denial', { skip: noKubectl }, async () => {
    api.addNode('n2');
    // kubectl's cordon falls back from PATCH to PUT: deny both, as a role without them would
    api.forbid = (r) => r.resource === 'nodes' && (r.verb === 'patch' || r.verb === 'update');
    try {
      const r = await kubectl(kc, join(dir, 'cache'), 'cordon', 'n2');
      // (kubectl cordon reports the error on stderr but exits 0, against a real cluster too)
      assert.match(r.stderr, /error: unable to cordon node "n2"/);
      assert.match(r.stderr, /nodes "n2" is forbidden: User .* cannot (patch|update) resource "nodes" in API group "" at the cluster scope/);
      assert.equal(api.node('n2')!.spec.unschedulable, undefined);
    } finally {
      api.forbid = undefined;
    }
  });
});

describe('the client: retries and errors', () => {
  let api: TestKubeApi;
  let dir: string;
  let kc: string;
  before(async () => {
    api = await TestKubeApi.start();
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-kclient-'));
    kc = api.writeKubeconfig(dir);
    api.addNode('n1');
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('transient 503 and 429 are retried with backoff; 404 and 403 are not', async () => {
    const c = createKubeClient({ kubeconfig: kc, attempts: 4, backoffMs: 10 });
    api.inject({ match: (r) => r.resource === 'nodes' && r.verb === 'get', status: 503, times: 2 });
    api.inject({ match: (r) => r.resource === 'nodes' && r.verb === 'get', status: 429, times: 1 });
    const before = api.count((r) => r.path === '/api/v1/nodes/n1');
    assert.equal((await c.getNode('n1')).name, 'n1');
    assert.equal(api.count((r) => r.path === '/api/v1/nodes/n1') - before, 4);
    const b2 = api.requests.length;
    await assert.rejects(c.getNode('ghost'), (e: unknown) => e instanceof KubeError && e.status === 404 && e.message === 'node ghost not found');
    assert.equal(api.requests.length - b2, 1);
    api.inject({ match: (r) => r.resource === 'nodes', status: 503, times: 10 });
    await assert.rejects(c.getNode('n1'), /^Error: get node n1: HTTP 503: injected 503$|get node n1: HTTP 503/);
    api.injections.length = 0;
  });

  test('kubeconfig problems say where the tool looked', () => {
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') }), /^KubeError: --kubeconfig .*missing: no such file$|--kubeconfig .*missing: no such file/);
    assert.throws(() => loadKubeConfig({ kubeconfig: kc, context: 'prod' }), /--context prod: no such context in the kubeconfig \(known: standin\)/);
    assert.throws(() => loadKubeConfig({ env: { HOME: dir } }), /no Kubernetes configuration: pass --kubeconfig FILE, set KUBECONFIG, create .*\.kube\/config, or run inside a cluster/);
    assert.equal(loadKubeConfig({ env: { KUBECONFIG: kc } }).getCurrentContext(), 'standin');
  });
});
