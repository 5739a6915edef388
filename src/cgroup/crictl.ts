/**
 * Parse `crictl pods -o json` and `crictl ps -a -o json` (pure).
 *
 * crictl prints the CRI protobuf messages with protojson (EmitDefaultValues, camelCase names):
 *   pods: {"items":[{"id","metadata":{"name","uid","namespace","attempt"},"state":"SANDBOX_READY|SANDBOX_NOTREADY",
 *          "createdAt","labels","annotations","runtimeHandler"}]}
 *   ps:   {"containers":[{"id","podSandboxId","metadata":{"name","attempt"},"image":{...},"imageRef",
 *          "state":"CONTAINER_CREATED|CONTAINER_RUNNING|CONTAINER_EXITED|CONTAINER_UNKNOWN","createdAt",
 *          "labels":{"io.kubernetes.pod.uid",...},"annotations"}]}
 * Anything else (non-zero rc, no JSON, a missing list, an entry without an id or a pod without a uid) makes
 * the whole state not ok: with a partial picture of what is running, nothing may be called leaked.
 */
import type { CommandOutput, RuntimeContainer, RuntimePod, RuntimeState } from './types.js';

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: Json): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function firstLine(s: string): string {
  const l = s.trim().split('\n').find((x) => x.trim() !== '') ?? '';
  return l.length > 200 ? `${l.slice(0, 200)}...` : l;
}

class Bad extends Error {}

function parseJson(what: string, out: CommandOutput): Json {
  if (out.rc !== 0) {
    const err = firstLine(out.stderr) || firstLine(out.stdout);
    throw new Bad(`${what} failed (rc ${out.rc})${err ? `: ${err}` : ''}`);
  }
  try {
    return JSON.parse(out.stdout) as Json;
  } catch (e) {
    throw new Bad(`${what} printed no valid JSON (${(e as Error).message}): ${JSON.stringify(firstLine(out.stdout))}`);
  }
}

function parsePods(doc: Json): RuntimePod[] {
  if (!isObj(doc) || !Array.isArray(doc.items)) throw new Bad('crictl pods -o json: expected an object with an "items" array');
  return doc.items.map((it, i) => {
    const where = `crictl pods -o json: items[${i}]`;
    if (!isObj(it)) throw new Bad(`${where} is not an object`);
    const id = str(it.id);
    const md = it.metadata;
    if (!id) throw new Bad(`${where} has no "id"`);
    if (!isObj(md) || !str(md.uid)) throw new Bad(`${where} (${id}) has no "metadata.uid"`);
    return { id, uid: str(md.uid)!, name: str(md.name) ?? '', namespace: str(md.namespace) ?? '', state: str(it.state) ?? '' };
  });
}

function parseContainers(doc: Json): RuntimeContainer[] {
  if (!isObj(doc) || !Array.isArray(doc.containers)) throw new Bad('crictl ps -a -o json: expected an object with a "containers" array');
  return doc.containers.map((it, i) => {
    const where = `crictl ps -a -o json: containers[${i}]`;
    if (!isObj(it)) throw new Bad(`${where} is not an object`);
    const id = str(it.id);
    if (!id) throw new Bad(`${where} has no "id"`);
    const labels = isObj(it.labels) ? it.labels : {};
    const md = isObj(it.metadata) ? it.metadata : {};
    return {
      id,
      podSandboxId: str(it.podSandboxId) ?? '',
      podUid: str(labels['io.kubernetes.pod.uid']) ?? null,
      name: str(md.name) ?? '',
      state: str(it.state) ?? '',
    };
  });
}

export function parseRuntimeState(pods: CommandOutput, containers: CommandOutput): RuntimeState {
  try {
    const p = parsePods(parseJson('crictl pods -o json', pods));
    const c = parseContainers(parseJson('crictl ps -a -o json', containers));
    const podUids = new Set<string>();
    const sandboxIds = new Set<string>();
    const uidBySandbox = new Map<string, string>();
    for (const x of p) {
      podUids.add(x.uid);
      sandboxIds.add(x.id);
      uidBySandbox.set(x.id, x.uid);
    }
    const containerIds = new Set<string>();
    for (const x of c) {
      containerIds.add(x.id);
      if (x.podSandboxId) sandboxIds.add(x.podSandboxId);
      // a container names its pod by label, and by its sandbox: both make the pod live
      if (x.podUid) podUids.add(x.podUid);
      const viaSandbox = uidBySandbox.get(x.podSandboxId);
      if (viaSandbox) podUids.add(viaSandbox);
    }
    return { ok: true, pods: p, containers: c, podUids, containerIds, sandboxIds };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, reason: e.message };
    throw e;
  }
}
