/**
 * Who holds a lock or a cordon: `<node>@<host>/<pid>/<start>/<runId>`, where `<start>` is the process's start
 * (`<ticks since boot>-<boot id prefix>-<pid namespace>`). With all of it, "that holder is dead" is certain on the
 * machine that wrote it: same host name, same boot, same PID namespace, and the PID is gone or started at another
 * time (reused). Anywhere else the answer is "unknown", and only the Lease's TTL tells. Pure: the /proc readings
 * come in as a `ProcessProbe` (src/kube/process-probe.ts reads the real ones).
 */

export interface HolderIdentity {
  /** The Kubernetes node the holder works on. */
  node: string;
  /** Host name of the machine running nodesweep. */
  host: string;
  pid: number;
  /** `<ticks>-<bootid8>-<pidns>`; absent in identities written before it existed. */
  start?: string;
  runId: string;
}

/** This process, as a holder identity describes it. */
export interface SelfProcess {
  host: string;
  pid: number;
  /** Absent where /proc cannot be read: then no holder is ever declared dead. */
  start?: string;
}

/** What /proc says about this machine's processes (the edge implements it; tests give their own). */
export interface ProcessProbe {
  self(): SelfProcess;
  /** The start token of a live process with this PID on this machine, or undefined when no such process exists. */
  startOf(pid: number): string | undefined;
}

export type Liveness = 'alive' | 'dead' | 'unknown';

export function formatHolder(h: HolderIdentity): string {
  return `${h.node}@${h.host}/${h.pid}/${h.start !== undefined ? `${h.start}/` : ''}${h.runId}`;
}

/** The inverse of formatHolder; undefined for text that is not one (another tool's Lease, say). */
export function parseHolder(identity: string): HolderIdentity | undefined {
  const at = identity.lastIndexOf('@');
  if (at <= 0) return undefined;
  const parts = identity.slice(at + 1).split('/');
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const [host, pidText] = parts as [string, string];
  if (host === '' || !/^[1-9]\d*$/.test(pidText)) return undefined;
  const runId = parts[parts.length - 1]!;
  if (runId === '') return undefined;
  const h: HolderIdentity = { node: identity.slice(0, at), host, pid: Number(pidText), runId };
  if (parts.length === 4) {
    if (!/^\d+-[0-9a-f]+-\d+$/.test(parts[2]!)) return undefined;
    h.start = parts[2]!;
  }
  return h;
}

/** The node part of a holder identity (everything before the last '@'). */
export function nodeOfIdentity(identity: string): string {
  const at = identity.lastIndexOf('@');
  return at > 0 ? identity.slice(0, at) : identity;
}

/** Same boot and PID namespace: the two middle fields of the start token. */
function sameMachine(a: string, b: string): boolean {
  return a.slice(a.indexOf('-')) === b.slice(b.indexOf('-'));
}

/**
 * Whether the process behind an identity still runs. Dead only when certain: written on this host name, in this
 * boot and PID namespace, and the PID is gone or was started at another time (reused).
 */
export function holderLiveness(identity: string, probe: ProcessProbe): Liveness {
  const h = parseHolder(identity);
  // Without a start token the identity cannot say which machine (container, boot) wrote it.
  if (!h || h.start === undefined) return 'unknown';
  const me = probe.self();
  if (me.start === undefined || h.host !== me.host || !sameMachine(h.start, me.start)) return 'unknown';
  const now = probe.startOf(h.pid);
  return now === h.start ? 'alive' : 'dead';
}

/** "process 4242 on ctl" for messages. */
export function describeHolder(identity: string): string {
  const h = parseHolder(identity);
  return h ? `process ${h.pid} on ${h.host}` : identity;
}
