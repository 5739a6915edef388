/**
 * `nodesweep demo` end to end, as a newcomer runs it (the real CLI as a child process): exit 0, every section,
 * the escalation on the busy node, the HTML report written where it says, and the lab gone afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { CGROUP_FS } from '../../src/lab/node-builder.js';

test('npm run demo: lab up, scan, prune with escalation, reports, lab down', async () => {
  const base = mkdtempSync(join(tmpdir(), 'ns-demo-'));
  try {
    // a bound for a hung demo only (a loaded 2-core machine is slow); how fast it is, the README's claim, is not a test's
    const r = await runCli(['demo', '--dir', base, '--nodes', '3', '--days', '3'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const s of ['1. Build a lab', '2. Scan the fleet', '3. The trend', '4. Prune', '5. Scan again', '6. Reports', '7. Tear the lab down']) assert.ok(r.stdout.includes(s), s);
    // the busy node went through the rescue: lock, cordon, drain, crio restart, prune again, uncordon, release
    for (const t of ['Take the remediation lock', 'Cordon the node', 'Drain the node', 'Restart crio', 'Prune leaked cgroups again', 'Uncordon the node', 'Release the remediation lock']) {
      assert.match(r.stdout, new RegExp(`TASK \\[${t}`), t);
    }
    assert.match(r.stdout, /worker-03\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0\s+skipped=\d+\s+rescued=1/);
    const html = /HTML report: (\S+)\n*$/.exec(r.stdout)?.[1];
    assert.ok(html, 'the last line says where the HTML report is');
    assert.equal(html, join(base, 'reports', 'prune-report.html'));
    assert.match(readFileSync(html, 'utf8'), /<html[\s>]/i);
    assert.ok(existsSync(join(base, 'reports', 'prune-report.json')));
    // the story's trend from the lab's simulated past: the busy node is over the 1 GiB reservation
    assert.match(r.stdout, /worker-03\s+\d+\s+[\d,]+\s+\+[\d,]+\s+[\d.]+ GiB.*over since/);
    // torn down: no lab dir, no lab server, no cgroup of this lab
    const labId = /Lab ([0-9a-f]{6}) ready/.exec(r.stdout)?.[1];
    assert.ok(labId);
    assert.equal(existsSync(join(base, 'lab')), false);
    const left: string[] = [];
    if (existsSync(CGROUP_FS)) {
      for (const h of ['', ...readdirSync(CGROUP_FS)]) {
        try {
          for (const e of readdirSync(join(CGROUP_FS, h))) if (e.startsWith(`nodesweep-lab-${labId}`)) left.push(join(CGROUP_FS, h, e));
        } catch {
          /* a file */
        }
      }
    }
    assert.deepEqual(left, []);
    // readable: a failed task's huge result is cut short, pointing at the JSON report
    assert.ok(Math.max(...r.stdout.split('\n').map((l) => l.length)) < 600);
    assert.match(r.stdout, /more characters; the full result is in \S+prune-report\.json\)/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('Ctrl-C during the demo: the step stops, the rest is skipped, the lab is still torn down (exit 99)', async () => {
  const base = mkdtempSync(join(tmpdir(), 'ns-demo-'));
  try {
    let sent = false;
    const r = await runCli(['demo', '--dir', base, '--nodes', '2', '--days', '1'], {
      timeoutMs: 300_000,
      onSpawn: (child, out) => {
        const timer = setInterval(() => {
          if (!sent && out.stdout().includes('2. Scan the fleet')) {
            sent = true;
            child.kill('SIGINT'); // the CLI's own PID
            clearInterval(timer);
          }
        }, 20);
        child.on('close', () => clearInterval(timer));
      },
    });
    assert.ok(sent);
    assert.equal(r.code, 99, r.stdout + r.stderr);
    assert.match(r.stderr, /SIGINT: stopping after this step, then tearing the lab down/);
    assert.ok(!r.stdout.includes('4. Prune'), 'no step after the interrupted one');
    assert.match(r.stdout, /7\. Tear the lab down/);
    assert.equal(existsSync(join(base, 'lab')), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
