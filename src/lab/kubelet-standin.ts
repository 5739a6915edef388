/**
 * The lab node's kubelet: a real process in the node's own `system.slice/kubelet.service` cgroup (where the
 * collector looks for a node's kubelet first), burning real CPU in proportion to the leaked pod cgroups it
 * "chases", as the story's kubelet did retrying work on pods long gone. Every 0.2 s it re-counts the leaked pod
 * slices in its node's subtree (shell globs, no fork) and spins for a share of the cycle, so its CPU falls within a
 * cycle of the leaks being removed. Modest on purpose: at most KUBELET_MAX_CORES a node, near zero without leaks.
 *
 * A POSIX sh script run by a copy of /bin/sh named `kubelet` (its comm, what the lab's cleanup recognises). It
 * writes `LEAKED BUSY_CS` (the leaked pod slices it counted, the centiseconds it spun this cycle) to its status file
 * every cycle, and exits when the process that started it (the lab server) is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { podRel, QOS_CLASSES } from '../cgroup/names.js';
import { q } from './standins.js';

/** CPU a leaked pod costs kubelet (cores), and the most the stand-in uses: 2,000 leaked pods reach the cap. */
export const KUBELET_CORES_PER_LEAKED_POD = 0.0002;
export const KUBELET_MAX_CORES = 0.4;
/** One cycle of the stand-in: count, spin, sleep (centiseconds). */
export const KUBELET_CYCLE_CS = 20;

/** The kubelet CPU (cores) the stand-in aims at for `pods` leaked pods (the lab's simulated history uses it too). */
export function kubeletChaseCores(pods: number): number {
  return Math.min(KUBELET_MAX_CORES, Math.max(0, pods) * KUBELET_CORES_PER_LEAKED_POD);
}

export interface KubeletStandinOptions {
  /** The node hierarchy whose kubepods.slice it counts leaked pod slices in. */
  hierarchy: string;
  /** Pod slices that are not leaks (live and terminating pods), relative to the hierarchy (names.ts podRel). */
  notLeaked: Iterable<string>;
  /** Pods of the schedule each leaked pod slice built stands for (the lab samples its leaks). */
  podsPerLeak: number;
  /** Where it writes `LEAKED BUSY_CS` every cycle. */
  statusFile: string;
  /** It exits when this process is gone (the lab server). */
  parentPid: number;
}

export function kubeletStandinScript(o: KubeletStandinOptions): string {
  // milli-centiseconds of spinning per leaked pod slice per cycle, carried over between cycles (integer arithmetic)
  const perLeak = Math.round(o.podsPerLeak * KUBELET_CORES_PER_LEAKED_POD * KUBELET_CYCLE_CS * 1000);
  const cap = Math.round(KUBELET_MAX_CORES * KUBELET_CYCLE_CS);
  // The lab's nodes use the systemd driver; the pod slices of every QoS class, as a glob from the one grammar.
  const globs = QOS_CLASSES.map((c) => `"$H"/${podRel('systemd', c, '*')}`).join(' ');
  const notLeaked = [...o.notLeaked].map(q).join('|') || "''";
  return `# nodesweep lab stand-in for kubelet (see src/lab/kubelet-standin.ts)
H=${q(o.hierarchy)}
S=${q(o.statusFile)}
P=${o.parentPid}
acc=0
while kill -0 "$P" 2>/dev/null; do
  n=0
  for d in ${globs}; do
    [ -d "$d" ] || continue
    case \${d#"$H"/} in ${notLeaked}) continue ;; esac
    n=$((n + 1))
  done
  acc=$((acc + n * ${perLeak}))
  busy=$((acc / 1000))
  acc=$((acc - busy * 1000))
  [ "$busy" -gt ${cap} ] && { busy=${cap}; acc=0; }
  printf '%s %s\\n' "$n" "$busy" > "$S"
  if [ "$busy" -gt 0 ]; then
    # spin on the clock (/proc/uptime, centiseconds) for busy cs: real CPU, in this process
    read -r up rest < /proc/uptime
    end=$((\${up%.*}\${up#*.} + busy))
    t=0
    while [ "$t" -lt "$end" ]; do read -r up rest < /proc/uptime; t=\${up%.*}\${up#*.}; done
  fi
  r=$((${KUBELET_CYCLE_CS} - busy))
  sleep "$((r / 100)).$((r % 100 / 10))$((r % 10))"
done
`;
}

/**
 * Write the stand-in (a copy of /bin/sh named kubelet, and its script) into `libexec` and start it. The caller places
 * it in the node's kubelet.service cgroup and stops it by PID.
 */
export function startKubeletStandin(libexec: string, o: KubeletStandinOptions): ChildProcess {
  const bin = join(libexec, 'kubelet');
  copyFileSync('/bin/sh', bin);
  chmodSync(bin, 0o755);
  const script = join(libexec, 'kubelet-standin.sh');
  writeFileSync(script, kubeletStandinScript(o));
  const child = spawn(bin, [script], { stdio: 'ignore' });
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`lab: could not start the kubelet stand-in ${bin}`);
  return child;
}
