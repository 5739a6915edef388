/**
 * The story's fleet as report data: days of history (worker-04 leaking hard under a CronJob every two minutes,
 * system.slice climbing towards 1 GiB, kubelet CPU climbing with it; the others leaking lightly, worker-01 pruned
 * two days ago), then today's run: scan, prune, a crio restart where crio holds a leak, prune again, scan.
 */
import type { RunEvent } from '../../src/events/events.js';
import { nodeFacts, type RunFacts } from '../../src/history/node-facts.js';
import { recordRun, type HistoryDb } from '../../src/history/db.js';
import { Scenario } from './scenario.js';
import { leaks, scanResult, pruneResult, afterCrioRestart, MIB, type Leak } from '../history/fixtures.js';

export const NODES = ['worker-01', 'worker-02', 'worker-04'];
const H = 3600;

/** Rewrite the scenario's times to `at` (start) and `at + dur` (end). */
function timed(events: RunEvent[], at: number, dur = 40): RunEvent[] {
  return events.map((e) =>
    e.kind === 'run_start' ? { ...e, startedAt: new Date(at * 1000).toISOString() } : e.kind === 'run_end' ? { ...e, finishedAt: new Date((at + dur) * 1000).toISOString() } : e,
  );
}

interface NodeState {
  leaks: number;
  crio: number;
  cpu: number;
}

/** The node's state `d` days after the start of the history (leaks since its last prune). */
function stateOf(node: string, d: number): NodeState {
  if (node === 'worker-04') {
    const leaked = Math.round(720 * d);
    return { leaks: leaked, crio: Math.round(260 * MIB * Math.exp(0.33 * d)), cpu: +(0.6 + 11.4 * (Math.exp(0.5 * d) - 1) / (Math.exp(0.5 * 4.75) - 1)).toFixed(2) };
  }
  const since = node === 'worker-01' && d >= 2.5 ? d - 2.5 : d;
  return { leaks: Math.round(30 * since), crio: Math.round((240 + 22 * since) * MIB), cpu: +(0.35 + 0.25 * since).toFixed(2) };
}

function spread(total: number): Leak[] {
  const pods = Math.round(total * 0.25);
  const conmon = Math.round(total * 0.35);
  const sandbox = Math.round(total * 0.05);
  return [...leaks('pod', pods), ...leaks('conmon', conmon), ...leaks('sandbox', sandbox), ...leaks('container', Math.max(0, total - pods - conmon - sandbox))];
}

/** Scans every 6 hours for 4.75 days before `now` (a cron-run scan), and a prune of worker-01 at day 2.5. */
export function recordStoryHistory(db: HistoryDb, now: number): void {
  const start = now - 5 * 24 * H;
  for (let i = 0; i < 20; i++) {
    const d = i * 0.25;
    const s = new Scenario('playbooks/scan-leaked-cgroups.yml', NODES).startPlay('scan', NODES);
    for (const n of NODES) {
      const st = stateOf(n, d);
      // the history only keeps counts: a few real leaks are enough, the rest by kind
      const r = scanResult([], { crio: st.crio, system: st.crio + 210 * MIB, cpu: st.cpu, numCgroups: { memory: 300 + st.leaks, pids: 290 + st.leaks } });
      (r.counts as { by_kind: Record<string, number>; total: number }).by_kind = {
        pod: Math.round(st.leaks * 0.25),
        container: st.leaks - Math.round(st.leaks * 0.25) - Math.round(st.leaks * 0.35) - Math.round(st.leaks * 0.05),
        conmon: Math.round(st.leaks * 0.35),
        sandbox: Math.round(st.leaks * 0.05),
        nested: 0,
      };
      delete r.leaked;
      s.result('Scan cgroups', 'cgroup_scan', n, 'ok', r);
      if (n === 'worker-01' && i === 10) {
        const a = stateOf(n, 2.5); // what the prune measured right after removing (the leaks start again from zero)
        const p = pruneResult(spread(stateOf(n, 2.49).leaks), { after: { crio: a.crio, system: a.crio + 200 * MIB, cpu: a.cpu, numCgroups: { memory: 300, pids: 290 } } });
        s.result('Prune leaked cgroups', 'cgroup_prune', n, 'changed', p);
      }
    }
    recordRun(db, nodeFacts(timed(s.end().events, start + d * 24 * H)), { command: i === 10 ? 'run' : 'scan', now: 0 });
  }
}

/** Today's run (at `now`): the prune playbook with the escalation on worker-04. */
export function storyRunEvents(now: number): RunEvent[] {
  const s = new Scenario('playbooks/prune-leaked-cgroups.yml', NODES).startPlay('Prune leaked pod cgroups', NODES);
  const today: Record<string, Leak[]> = {};
  for (const n of NODES) {
    const st = stateOf(n, 5);
    const ls = spread(st.leaks);
    if (n === 'worker-04') ls.push(...leaks('container', 1, 'restart_needed'), ...leaks('pod', 1, 'too_young'));
    today[n] = ls;
    s.result('Scan cgroups', 'cgroup_scan', n, 'ok', scanResult(ls, { crio: st.crio, system: st.crio + 210 * MIB, cpu: st.cpu, numCgroups: { memory: 300 + ls.length, pids: 290 + ls.length }, dying: ls.length }));
  }
  // what each prune measured right after removing: the leaks' memory and kubelet CPU gone (crio's held leak too)
  const after = (n: string, held: number) => {
    const a = stateOf(n, 0.02);
    return { crio: a.crio + held * 40 * MIB, system: a.crio + held * 40 * MIB + 200 * MIB, cpu: a.cpu, numCgroups: { memory: 300 + held, pids: 290 + held } };
  };
  for (const n of NODES) {
    const ls = today[n]!;
    const busy = ls.some((l) => l.status === 'restart_needed');
    s.result('Prune leaked cgroups', 'cgroup_prune', n, busy ? 'failed' : 'changed', pruneResult(ls, { after: after(n, busy ? 1 : 0) }));
    if (busy) {
      s.rescued(n);
      s.result('Restart crio', 'crio_restart', n, 'changed', { msg: 'crio restarted; runtime ready after 4.2 s' });
      s.result('Prune again', 'cgroup_prune', n, 'changed', pruneResult(afterCrioRestart(ls.filter((l) => l.status === 'restart_needed')), { after: after(n, 0) }));
    }
  }
  for (const n of NODES) {
    const left = today[n]!.filter((l) => l.status === 'too_young');
    const st = stateOf(n, 0.02);
    s.result('Scan again', 'cgroup_scan', n, 'ok', scanResult(left, { crio: st.crio, system: st.crio + 200 * MIB, cpu: st.cpu, numCgroups: { memory: 300 + left.length, pids: 290 + left.length }, dying: 3 }));
  }
  return timed(s.end().events, now, 55);
}

export function storyFacts(now: number): RunFacts {
  return nodeFacts(storyRunEvents(now));
}
