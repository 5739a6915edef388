/**
 * One grammar: the same table of names goes to src/cgroup/names.ts and to the remote prune script's EREs (the ones
 * the module passes it, generated from names.ts) run by the real `grep -E`, and both must agree on every line.
 * The holder rule's argv[0] pattern the same way.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CRIO_ARGV0_ERE, containerDirName, isCrioProcess, kindOfPath, kindOfRel, podRel, podUidOfName, pruneScriptPatterns, QOS_CLASSES, type Driver } from '../../src/cgroup/names.js';

const H = 'a'.repeat(64);
const U = '1234abcd-ab12-4c3d-8e9f-0123456789ab';
const SU = U.replace(/-/g, '_');
const V1 = '/sys/fs/cgroup/cpu,cpuacct';
const V2 = '/sys/fs/cgroup/unified/nodesweep.x';

/** [hierarchy version, rel, kind names.ts gives]; the script must keep exactly the leak kinds, drop exactly root/qos. */
const TABLE: ['v1' | 'v2', string, string][] = [
  ['v1', 'kubepods.slice', 'kubepods-root'],
  ['v1', 'kubepods.slice/kubepods-burstable.slice', 'qos'],
  ['v1', 'kubepods.slice/kubepods-besteffort.slice', 'qos'],
  ['v1', 'kubepods', 'kubepods-root'],
  ['v1', 'kubepods/burstable', 'qos'],
  ['v1', 'kubepods/besteffort', 'qos'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice`, 'pod'],
  ['v1', `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${SU}.slice`, 'pod'],
  ['v1', `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${SU}.slice`, 'pod'],
  ['v1', `kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod${SU}.slice`, 'unknown'], // QoS mismatch
  ['v1', `kubepods.slice/kubepods-besteffort-pod${SU}.slice`, 'unknown'], // a QoS pod straight under the root
  ['v1', `kubepods.slice/kubepods-pod${SU}`, 'unknown'], // missing .slice
  ['v1', `kubepods.slice/kubepods-pod${U}.slice`, 'unknown'], // dashes unescaped
  ['v1', `kubepods.slice/kubepods-pod${SU.toUpperCase()}.slice`, 'pod'], // the UID class is [A-Za-z0-9_]
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}.scope`, 'container'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-conmon-${H}.scope`, 'conmon'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}`, 'sandbox'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}.scope/container`, 'nested'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}.scope/container/deeper`, 'nested'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H.toUpperCase()}.scope`, 'unknown'], // upper-case hex
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H.slice(1)}.scope`, 'unknown'], // 63 hex
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}a.scope`, 'unknown'], // 65 hex
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-abc.scope`, 'unknown'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-conmon-${H}`, 'unknown'], // conmon without .scope (systemd)
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}.slice`, 'unknown'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/run-r1.scope`, 'unknown'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/burstable`, 'unknown'],
  ['v1', `kubepods.slice/kubepods-pod${SU}.slice/run-r1.scope/crio-${H}.scope`, 'unknown'], // below an unknown
  ['v1', `kubepods.slice/crio-${H}.scope`, 'unknown'],
  ['v1', 'kubepods.slice/weird.slice', 'unknown'],
  ['v1', `kubepods/pod${U}`, 'pod'],
  ['v1', `kubepods/burstable/pod${U}`, 'pod'],
  ['v1', `kubepods/besteffort/pod${U}`, 'pod'],
  ['v1', `kubepods/burstable/pod${SU}`, 'unknown'], // underscores are the systemd escape
  ['v1', `kubepods/burstable/pod${U}/crio-${H}`, 'container'],
  ['v1', `kubepods/burstable/pod${U}/crio-conmon-${H}`, 'conmon'],
  ['v1', `kubepods/burstable/pod${U}/crio-${H}.scope`, 'unknown'], // .scope under cgroupfs
  ['v1', `kubepods/burstable/pod${U}/crio-${H}/container`, 'nested'],
  ['v1', `kubepods/guaranteed/pod${U}`, 'unknown'],
  ['v1', `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${SU}.slice/crio-${H}`, 'sandbox'],
  ['v1', `pids/kubepods.slice/kubepods-pod${SU}.slice`, 'unknown'], // the bogus tree exists only on v2
  ['v2', `pids/kubepods.slice/kubepods-pod${SU}.slice`, 'pod'],
  ['v2', `pids/kubepods.slice/kubepods-pod${SU}.slice/crio-${H}`, 'sandbox'],
  ['v2', 'pids/kubepods.slice', 'kubepods-root'],
  ['v2', 'pids/kubepods.slice/kubepods-besteffort.slice', 'qos'],
  ['v2', `kubepods.slice/kubepods-pod${SU}.slice/crio-${H}.scope/container`, 'nested'],
  ['v2', 'kubepodsx.slice', 'unknown'],
];
const LEAK = new Set(['pod', 'container', 'conmon', 'sandbox', 'nested']);
const STRUCT = new Set(['kubepods-root', 'qos']);

/** The lines of `input` that `grep -E -f patterns` matches (the real grep, as the script runs it). */
function grepE(patterns: string, lines: string[]): Set<string> {
  const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
  try {
    spawnSync('sh', ['-c', `printf '%s\\n' "$P" > "${dir}/p"`], { env: { ...process.env, P: patterns } });
    const r = spawnSync('grep', ['-E', '-f', `${dir}/p`], { input: lines.join('\n') + '\n', encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    assert.ok(r.status === 0 || r.status === 1, `grep failed: ${r.stderr}`);
    return new Set(r.stdout.split('\n').filter(Boolean));
  } finally {
    spawnSync('rm', ['-rf', dir]);
  }
}

describe('names.ts and the prune script agree on every name of the table', () => {
  const pats = pruneScriptPatterns([
    { path: V1, version: 'v1' },
    { path: V2, version: 'v2' },
  ]);
  const line = (v: 'v1' | 'v2', rel: string) => `g - ${U} - ${v === 'v1' ? V1 : V2}/${rel}`;
  const lines = TABLE.map(([v, rel]) => line(v, rel));
  const kept = grepE(pats.leakable, lines);
  const dropped = grepE(pats.protected, lines);
  for (const [v, rel, want] of TABLE) {
    test(`${v} ${rel.replace(H, 'H').replace(H.toUpperCase(), 'UPPERH')} -> ${want}`, () => {
      assert.equal(kindOfRel(rel, v === 'v2').kind, want, 'names.ts');
      const l = line(v, rel);
      assert.equal(kept.has(l), LEAK.has(want), `script leakable ERE (${want})`);
      assert.equal(dropped.has(l), STRUCT.has(want), `script protected ERE (${want})`);
    });
  }
  test('a path under another hierarchy, or under a second kubepods level, is kept by neither', () => {
    const other = [`g - ${U} - /sys/fs/cgroup/memory/kubepods.slice/kubepods-pod${SU}.slice`, `g - ${U} - ${V1}/x/kubepods.slice/kubepods-pod${SU}.slice`];
    assert.equal(grepE(pats.leakable, other).size, 0);
    assert.equal(grepE(pats.protected, other).size, 0);
  });
});

describe('the builders write what the parser reads back', () => {
  for (const driver of ['systemd', 'cgroupfs'] as Driver[]) {
    for (const qos of QOS_CLASSES) {
      test(`${driver} ${qos}`, () => {
        const pod = podRel(driver, qos, U);
        const k = kindOfRel(pod, false);
        assert.deepEqual([k.kind, k.qos, k.uid, k.driver], ['pod', qos, U, driver]);
        assert.equal(podUidOfName(pod.split('/').pop()!), U);
        for (const kind of ['container', 'conmon', 'sandbox'] as const) {
          const c = kindOfRel(`${pod}/${containerDirName(driver, kind, H)}`, false);
          // cgroupfs names a sandbox and a container alike: crio-<id>
          assert.deepEqual([c.kind, c.id, c.uid], [driver === 'cgroupfs' && kind === 'sandbox' ? 'container' : kind, H, U]);
        }
        assert.equal(kindOfPath(`/sys/fs/cgroup/memory/${pod}`).kind, 'pod');
      });
    }
  }
});

describe('the holder rule: crio by argv[0], in TS and in the script ERE', () => {
  const table: [string, string, boolean][] = [
    ['crio', 'crio', true],
    ['sleep', '/usr/bin/crio', true],
    ['sleep', 'crio', true],
    ['sleep', '/tmp/lab/libexec/crio', true],
    ['conmon', '/usr/bin/conmon', false],
    ['sleep', '/usr/bin/crio-wipe', false],
    ['sleep', '/usr/bin/crictl', false],
    ['sleep', 'xcrio', false],
    ['sleep', '/usr/bin/sleep', false],
  ];
  const heads = table.map(([, argv0], i) => `/proc/${i + 1}/cmdline:${argv0}`);
  const script = grepE(`^/proc/[0-9]+/cmdline:${CRIO_ARGV0_ERE}$`, heads);
  table.forEach(([comm, argv0, want], i) =>
    test(`comm ${comm}, argv[0] ${argv0} -> ${want ? 'crio' : 'not crio'}`, () => {
      assert.equal(isCrioProcess({ comm, cmdline: `${argv0} --config x` }), want, 'names.ts');
      // the script judges comm == crio on its own; argv[0] through the shared ERE
      assert.equal(comm === 'crio' || script.has(heads[i]!), want, 'script');
    }),
  );
});
