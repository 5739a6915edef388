/**
 * The lab's kubelet stand-in as a real process on a node-shaped tree: it counts the leaked pod slices (not the live
 * ones), spins in proportion to them, and falls to nothing when they are removed. Asserted on its own report of
 * each cycle and on its CPU ticks (/proc/PID/stat) over equal samples with and without leaks, with generous ratios,
 * never on wall-clock time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KUBELET_CYCLE_CS, KUBELET_MAX_CORES, kubeletChaseCores, startKubeletStandin } from '../../src/lab/kubelet-standin.js';
import { podRel, QOS_CLASSES } from '../../src/cgroup/names.js';
import { until } from '../helpers/until.js';

const ticks = (pid: number): number => {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const status = (file: string): [number, number] | null => {
  try {
    const m = /^(\d+) (\d+)\n$/.exec(readFileSync(file, 'utf8'));
    return m ? [Number(m[1]), Number(m[2])] : null;
  } catch {
    return null;
  }
};

test('kubeletChaseCores: proportional to the leaked pods, capped', () => {
  assert.equal(kubeletChaseCores(0), 0);
  assert.ok(kubeletChaseCores(100) > 0 && kubeletChaseCores(100) < kubeletChaseCores(1000));
  assert.equal(kubeletChaseCores(1e6), KUBELET_MAX_CORES);
});

test('the kubelet stand-in burns CPU while leaked pod slices are there, next to none once they are gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-kubelet-'));
  const h = join(dir, 'memory');
  // leaks in all three QoS classes, and a live pod of each that is not counted
  const leaked = Array.from({ length: 30 }, (_, i) => join(h, podRel('systemd', QOS_CLASSES[i % 3]!, `${String(i).padStart(8, '0')}-aaaa`)));
  const liveRels = QOS_CLASSES.map((c) => podRel('systemd', c, `live-${c}`));
  for (const d of [...leaked, ...liveRels.map((r) => join(h, r))]) mkdirSync(join(d, 'crio-x.scope'), { recursive: true });
  const statusFile = join(dir, 'kubelet.status');
  // 30 leaks standing for 100 pods each: 3,000 pods, past the cap
  const k = startKubeletStandin(dir, { hierarchy: h, notLeaked: liveRels, podsPerLeak: 100, statusFile, parentPid: process.pid });
  const pid = k.pid!;
  try {
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'kubelet');
    const cap = Math.round(KUBELET_MAX_CORES * KUBELET_CYCLE_CS);
    await until(() => status(statusFile)?.[0] === 30, 'the stand-in counted the 30 leaked pod slices (the live ones left out)');
    assert.deepEqual(status(statusFile), [30, cap]);
    const sample = async () => {
      const t0 = ticks(pid);
      await sleep(1500);
      return ticks(pid) - t0;
    };
    const withLeaks = await sample();
    for (const d of leaked) {
      rmdirSync(join(d, 'crio-x.scope'));
      rmdirSync(d);
    }
    await until(() => status(statusFile)?.[0] === 0, 'the stand-in saw the leaks gone');
    assert.deepEqual(status(statusFile), [0, 0]);
    const without = await sample();
    // 0.4 core over 1.5 s is ~60 ticks on an idle machine; a loaded one gives it less, but never next to none
    assert.ok(withLeaks >= 10, `with leaks: ${withLeaks} ticks`);
    assert.ok(without * 4 <= withLeaks, `without leaks ${without} ticks, with ${withLeaks}`);
  } finally {
    k.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stand-in exits when the process that started it is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-kubelet-'));
  try {
    // a parent PID that is not running: the first liveness check ends it
    const k = startKubeletStandin(dir, { hierarchy: dir, notLeaked: [], podsPerLeak: 1, statusFile: join(dir, 's'), parentPid: 2 ** 22 + 1 });
    const code = await new Promise<number | null>((res) => k.on('exit', (c) => res(c)));
    assert.equal(code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
