/**
 * The real ProcessProbe: this machine's host name, boot id and PID namespace, and processes' start times from
 * /proc (field 22 of /proc/PID/stat, in clock ticks since boot). Read once per run for this process; per holder
 * only when a holder names this machine.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ProcessProbe, SelfProcess } from './holder.js';

/** Start time in ticks since boot, from /proc/PID/stat (the command name in parentheses may hold spaces). */
export function startTicks(statLine: string): string | undefined {
  const close = statLine.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields after the command start at field 3 (state); starttime is field 22
  const v = statLine.slice(close + 2).split(' ')[19];
  return v !== undefined && /^\d+$/.test(v) ? v : undefined;
}

/** `<bootid8>-<pidns>`, or undefined where either cannot be read (then no holder is ever declared dead). */
function machineToken(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 8);
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    return /^[0-9a-f]{8}$/.test(boot) && ns ? `${boot}-${ns}` : undefined;
  } catch {
    return undefined;
  }
}

export function procProbe(): ProcessProbe {
  let self: SelfProcess | undefined;
  let machine: string | undefined | null;
  const startOf = (pid: number): string | undefined => {
    if (machine === undefined) machine = machineToken() ?? null;
    if (machine === null) return undefined;
    try {
      const t = startTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      return t === undefined ? undefined : `${t}-${machine}`;
    } catch {
      return undefined;
    }
  };
  return {
    self() {
      if (!self) {
        const start = startOf(process.pid);
        self = { host: hostname(), pid: process.pid, ...(start !== undefined ? { start } : {}) };
      }
      return self;
    },
    startOf,
  };
}
