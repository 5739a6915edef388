/**
 * A crictl stand-in, for the lab's nodes and the tests' (both built by ./node-builder.ts):
 * a POSIX sh script that prints what the real crictl prints for the calls the cgroup job makes
 * (`pods -o json`, `ps -a -o json`, `pods -q`, `ps -a -q`, `info`, `version`), from state files its owner
 * controls. It can be told to fail (exit 1 with a connection error, as crictl does when crio is down) or to print
 * garbage, and can run a hook on its Nth `pods` call. Every call is appended to calls.log.
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Qos } from '../cgroup/names.js';

export type { Qos };

export interface StubPod {
  /** 64-hex sandbox id. */
  id: string;
  uid: string;
  name: string;
  namespace: string;
  state?: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  qos?: Qos;
}

export interface StubContainer {
  id: string;
  podSandboxId: string;
  podUid: string;
  podName: string;
  namespace: string;
  name: string;
  state?: 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_CREATED';
}

export type StubMode = 'ok' | 'fail' | 'garbage' | 'empty' | 'truncated';

export interface CrictlStub {
  /** Executable path to give as `crictl`. */
  path: string;
  dir: string;
  setState(pods: StubPod[], containers: StubContainer[]): void;
  setMode(mode: StubMode): void;
  /** Run `script` (sh) once, right before answering the Nth `pods` call (1-based, counted over all `pods` calls). */
  onPodsCall(n: number, script: string): void;
  /** From the Nth `pods` call on, answer with this state instead (prepared now, swapped in by a hook). */
  stageState(n: number, pods: StubPod[], containers: StubContainer[]): void;
  /** Every argv the stub was called with, one string per call. */
  calls(): string[];
}

const NS = 1_000_000_000n;

function podJson(p: StubPod, createdNs: bigint) {
  const qosLabel = p.qos === 'guaranteed' ? 'Guaranteed' : p.qos === 'besteffort' ? 'BestEffort' : 'Burstable';
  return {
    id: p.id,
    metadata: { name: p.name, uid: p.uid, namespace: p.namespace, attempt: 0 },
    state: p.state ?? 'SANDBOX_READY',
    createdAt: createdNs.toString(),
    labels: {
      'io.kubernetes.pod.name': p.name,
      'io.kubernetes.pod.namespace': p.namespace,
      'io.kubernetes.pod.uid': p.uid,
    },
    annotations: {
      'kubernetes.io/config.seen': '2024-05-01T10:00:00.000000000Z',
      'kubernetes.io/config.source': 'api',
      'io.kubernetes.pod.qos': qosLabel,
    },
    runtimeHandler: '',
  };
}

function containerJson(c: StubContainer, createdNs: bigint) {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    metadata: { name: c.name, attempt: 0 },
    image: { image: 'quay.io/example/app@sha256:' + 'ab'.repeat(32), annotations: {}, userSpecifiedImage: '' },
    imageRef: 'quay.io/example/app@sha256:' + 'ab'.repeat(32),
    state: c.state ?? 'CONTAINER_RUNNING',
    createdAt: createdNs.toString(),
    labels: {
      'io.kubernetes.container.name': c.name,
      'io.kubernetes.pod.name': c.podName,
      'io.kubernetes.pod.namespace': c.namespace,
      'io.kubernetes.pod.uid': c.podUid,
    },
    annotations: {
      'io.kubernetes.container.hash': 'd0f8e2a1',
      'io.kubernetes.container.restartCount': '0',
      'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      'io.kubernetes.pod.terminationGracePeriod': '30',
    },
  };
}

const INFO = {
  status: {
    conditions: [
      { type: 'RuntimeReady', status: true, reason: '', message: '' },
      { type: 'NetworkReady', status: true, reason: '', message: '' },
    ],
  },
  config: { cgroupDriver: 'systemd', conmonCgroup: 'pod', dropInfraCtr: true },
};

/** The stub script; reads its state from DIR at every call, so tests can change it between calls. */
function stubScript(dir: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh
# nodesweep stand-in for crictl (see src/lab/crictl-standin.ts)
D=${q(dir)}
printf '%s\\n' "$*" >> "$D/calls.log"
# drop global options (crictl accepts them before the subcommand)
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--runtime-endpoint|-i|--image-endpoint|-t|--timeout|-c|--config) shift 2 ;;
    --*=*|-D|--debug) shift ;;
    *) break ;;
  esac
done
sub=\${1:-}
[ $# -gt 0 ] && shift
all=0 quiet=0 json=0
while [ $# -gt 0 ]; do
  case "$1" in
    -a|--all) all=1 ;;
    -q|--quiet) quiet=1 ;;
    -aq|-qa) all=1; quiet=1 ;;
    -o|--output) [ "\${2:-}" = json ] && json=1; shift ;;
    -o=json|--output=json|-ojson) json=1 ;;
  esac
  shift
done
if [ "$sub" = pods ]; then
  n=$(( $(cat "$D/pods.count" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$D/pods.count"
  if [ -f "$D/hook.$n" ]; then sh "$D/hook.$n"; rm -f "$D/hook.$n"; fi
fi
mode=$(cat "$D/mode")
case "$mode" in
  fail)
    echo 'time="2024-05-01T10:00:00Z" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"unix:///var/run/crio/crio.sock\\": rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix /var/run/crio/crio.sock: connect: no such file or directory\\""' >&2
    exit 1 ;;
  garbage) echo '<html><body>502 Bad Gateway</body></html>'; exit 0 ;;
  empty) exit 0 ;;
esac
case "$sub" in
  pods)
    if [ $quiet = 1 ]; then cat "$D/pods.q"
    elif [ $json = 1 ]; then
      if [ "$mode" = truncated ]; then head -c 200 "$D/pods.json"; else cat "$D/pods.json"; fi
    else echo 'POD ID  CREATED  STATE  NAME  NAMESPACE  ATTEMPT  RUNTIME'; fi ;;
  ps)
    if [ $all = 0 ]; then echo 'the stub only answers ps -a' >&2; exit 2; fi
    if [ $quiet = 1 ]; then cat "$D/ps.q"
    elif [ $json = 1 ]; then
      if [ "$mode" = truncated ]; then head -c 200 "$D/ps.json"; else cat "$D/ps.json"; fi
    else echo 'CONTAINER  IMAGE  CREATED  STATE  NAME  ATTEMPT  POD ID  POD'; fi ;;
  info) cat "$D/info.json" ;;
  version) printf 'Version:  0.1.0\\nRuntimeName:  cri-o\\nRuntimeVersion:  1.24.3\\nRuntimeApiVersion:  v1\\n' ;;
  *) echo "crictl stub: unsupported command: $sub" >&2; exit 2 ;;
esac
`;
}

const CREATED = BigInt(Date.now() - 3_600_000) * 1_000_000n;

/** crictl prints 2-space indented JSON; the -q forms one id per line. */
function writeState(dir: string, pods: StubPod[], containers: StubContainer[]): void {
  writeFileSync(join(dir, 'pods.json'), JSON.stringify({ items: pods.map((p, i) => podJson(p, CREATED + BigInt(i) * NS)) }, null, 2) + '\n');
  writeFileSync(join(dir, 'ps.json'), JSON.stringify({ containers: containers.map((c, i) => containerJson(c, CREATED + BigInt(i) * NS)) }, null, 2) + '\n');
  writeFileSync(join(dir, 'pods.q'), pods.map((p) => p.id + '\n').join(''));
  writeFileSync(join(dir, 'ps.q'), containers.map((c) => c.id + '\n').join(''));
}

export function createCrictlStub(dir: string): CrictlStub {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'crictl');
  writeFileSync(path, stubScript(dir));
  chmodSync(path, 0o755);
  writeFileSync(join(dir, 'mode'), 'ok\n');
  writeFileSync(join(dir, 'info.json'), JSON.stringify(INFO, null, 2) + '\n');
  writeFileSync(join(dir, 'calls.log'), '');
  const stub: CrictlStub = {
    path,
    dir,
    setState(pods, containers) {
      writeState(dir, pods, containers);
    },
    setMode(mode) {
      writeFileSync(join(dir, 'mode'), mode + '\n');
    },
    onPodsCall(n, script) {
      writeFileSync(join(dir, `hook.${n}`), script);
    },
    stageState(n, pods, containers) {
      const alt = join(dir, `state.${n}`);
      mkdirSync(alt, { recursive: true });
      writeState(alt, pods, containers);
      stub.onPodsCall(n, `cp '${alt}'/* '${dir}'/\n`);
    },
    calls() {
      const f = join(dir, 'calls.log');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8').split('\n').filter((l) => l !== '');
    },
  };
  stub.setState([], []);
  return stub;
}
