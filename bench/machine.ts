/**
 * What the machine is, printed by every benchmark before and after its measurements, so figures taken on
 * different machines (or days) can be compared: the cost of a fork+exec (a shell starting /bin/true 200 times,
 * the figure the issues quote), the load average, the cores and Node's version.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

const STARTS = 200;

export interface MachineFacts {
  /** ms per fork+exec of /bin/true from sh (median of three loops of 200). */
  forkExecMs: number;
  load1: number;
  cores: number;
  node: string;
}

export function machineFacts(): MachineFacts {
  const loop = `i=0; while [ $i -lt ${STARTS} ]; do /bin/true; i=$((i+1)); done`;
  const perStart: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    const p = spawnSync('/bin/sh', ['-c', loop]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (p.status !== 0) throw new Error(`/bin/sh -c '${loop}' failed: ${p.stderr.toString().trim() || `exit ${p.status}`}`);
    perStart.push(ms / STARTS);
  }
  perStart.sort((a, b) => a - b);
  return { forkExecMs: perStart[1]!, load1: loadavg()[0]!, cores: cpus().length, node: process.version };
}

/** One line: `machine (before): fork+exec 1.32 ms (200 in 0.26 s), load 0.41, 2 cores, node v20.19.0`. */
export function machineLine(when: 'before' | 'after', f: MachineFacts = machineFacts()): string {
  return `machine (${when}): fork+exec ${f.forkExecMs.toFixed(2)} ms (${STARTS} in ${((f.forkExecMs * STARTS) / 1000).toFixed(2)} s), load ${f.load1.toFixed(2)}, ${f.cores} cores, node ${f.node}`;
}
