/**
 * Small builders of CollectedNode fixtures (what the collect script reports, as data: no cgroup is made; simulated
 * nodes with real cgroups come from the one node builder, src/lab/node-builder.ts) and crictl's real JSON, for the
 * classifier tests.
 */
import { createHash } from 'node:crypto';
import type { CgroupDir, CgroupMode, CollectedNode, Hierarchy, ProcessInfo, RawHealth } from '../../src/cgroup/types.js';
import { emptyHealth } from '../../src/cgroup/collect-parse.js';
import { podRel, systemdUid, type Qos } from '../../src/cgroup/names.js';

/** A stable 64-hex id from a name (crio container/sandbox ids are 64 lowercase hex). */
export function hex64(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** A stable UUID-shaped pod UID from a name. */
export function uid(name: string): string {
  const h = createHash('md5').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const sdUid = systemdUid;

/** systemd-driver pod slice path (relative), QoS 'guaranteed' | 'burstable' | 'besteffort'. */
export const sdPod = (qos: string, u: string): string => podRel('systemd', qos as Qos, u);
export const fsPod = (qos: string, u: string): string => podRel('cgroupfs', qos as Qos, u);

export interface PodSpec {
  id: string; // sandbox id
  uid: string;
  name?: string;
  state?: string;
}
export interface ContainerSpec {
  id: string;
  podSandboxId: string;
  podUid?: string | null;
  state?: string;
}

/** `crictl pods -o json`, shaped like cri-tools prints it (protojson, EmitDefaultValues, 2-space indent). */
export function crictlPodsJson(pods: PodSpec[]): string {
  return JSON.stringify(
    {
      items: pods.map((p, i) => ({
        id: p.id,
        metadata: { name: p.name ?? `pod-${i}`, uid: p.uid, namespace: 'default', attempt: 0 },
        state: p.state ?? 'SANDBOX_READY',
        createdAt: '1700000000000000000',
        labels: { 'io.kubernetes.pod.name': p.name ?? `pod-${i}`, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': p.uid },
        annotations: {},
        runtimeHandler: '',
      })),
    },
    null,
    2,
  );
}

/** `crictl ps -a -o json`, shaped like cri-tools prints it. */
export function crictlPsJson(containers: ContainerSpec[]): string {
  return JSON.stringify(
    {
      containers: containers.map((c, i) => ({
        id: c.id,
        podSandboxId: c.podSandboxId,
        metadata: { name: `c-${i}`, attempt: 0 },
        image: { image: 'registry.example/app:1', annotations: {}, userSpecifiedImage: '', runtimeHandler: '' },
        imageRef: 'registry.example/app@sha256:' + hex64(`img${i}`),
        state: c.state ?? 'CONTAINER_RUNNING',
        createdAt: '1700000000000000000',
        labels: c.podUid === null ? {} : { 'io.kubernetes.container.name': `c-${i}`, 'io.kubernetes.pod.uid': c.podUid ?? '' },
        annotations: {},
      })),
    },
    null,
    2,
  );
}

export interface DirSpec {
  mtime?: number | null;
  pids?: number[];
  populated?: boolean | null;
}

export interface CollectedNodeSpec {
  now?: number;
  mode?: CgroupMode;
  /** name -> version; default v1 memory. */
  hierarchies?: Record<string, 'v1' | 'v2'>;
  /** [hierarchy, rel path, spec]; parents are added automatically. Default mtime: now - 3600. */
  dirs: [string, string, DirSpec?][];
  pods?: PodSpec[];
  containers?: ContainerSpec[];
  crictlPods?: { rc: number; stdout: string; stderr?: string };
  crictlPs?: { rc: number; stdout: string; stderr?: string };
  /** UIDs with a kubelet pods dir; false: the dir is missing. */
  kubelet?: string[] | false;
  procs?: ProcessInfo[];
  health?: Partial<RawHealth>;
}

export const NOW = 1_800_000_000;
export const ROOT = '/sys/fs/cgroup';

export function collectedNode(spec: CollectedNodeSpec): CollectedNode {
  const now = spec.now ?? NOW;
  const hs = spec.hierarchies ?? { memory: 'v1' };
  const mode: CgroupMode = spec.mode ?? (Object.values(hs).every((v) => v === 'v2') ? 'v2' : Object.values(hs).some((v) => v === 'v2') ? 'hybrid' : 'v1');
  const hierarchies: Hierarchy[] = Object.entries(hs).map(([name, version]) => ({ name, version, path: mode === 'v2' ? ROOT : `${ROOT}/${name}` }));
  const hpath = new Map(hierarchies.map((h) => [h.name, h.path]));
  const dirs = new Map<string, CgroupDir>();
  const add = (h: string, rel: string, s: DirSpec | undefined) => {
    const base = hpath.get(h);
    if (!base) throw new Error(`fixture: unknown hierarchy ${h}`);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const pr = parts.slice(0, i).join('/');
      if (pr === 'pids') continue; // the v2 `pids` dir itself is not under kubepods: never listed
      const pp = `${base}/${pr}`;
      if (!dirs.has(pp)) dirs.set(pp, { hierarchy: h, path: pp, rel: pr, mtime: now - 3600, pids: [], populated: null });
    }
    const p = `${base}/${rel}`;
    const d = dirs.get(p) ?? { hierarchy: h, path: p, rel, mtime: now - 3600, pids: [], populated: null };
    if (s?.mtime !== undefined) d.mtime = s.mtime;
    if (s?.pids) d.pids = s.pids;
    if (s?.populated !== undefined) d.populated = s.populated;
    dirs.set(p, d);
  };
  for (const [h, rel, s] of spec.dirs) add(h, rel, s);
  const procs: Record<number, ProcessInfo> = {};
  for (const p of spec.procs ?? []) procs[p.pid] = p;
  for (const d of dirs.values()) for (const pid of d.pids ?? []) procs[pid] ??= { pid, state: 'S', cmdline: 'sleep 300', comm: 'sleep' };
  const health: RawHealth = { ...emptyHealth(), ...spec.health };
  return {
    formatVersion: 1,
    now,
    cgroupRoot: ROOT,
    mode,
    hierarchies,
    dirs: [...dirs.values()],
    procs,
    crictlPods: { stderr: '', ...(spec.crictlPods ?? { rc: 0, stdout: crictlPodsJson(spec.pods ?? []) }) },
    crictlContainers: { stderr: '', ...(spec.crictlPs ?? { rc: 0, stdout: crictlPsJson(spec.containers ?? []) }) },
    kubeletPods: spec.kubelet === false ? { ok: false, reason: 'kubelet pods dir /var/lib/kubelet/pods is missing' } : { ok: true, uids: spec.kubelet ?? [] },
    health,
    warnings: [],
  };
}
