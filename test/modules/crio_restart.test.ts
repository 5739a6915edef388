/** crio_restart on the real LocalTransport, with systemctl and crictl stand-in scripts that record what happened. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crioRestartModule, parseCrictlInfo, parseProbe, runtimeReady } from '../../src/modules/crio_restart.js';
import { runModule } from './ctx.js';
import { TestClock } from '../helpers/clock.js';

// the wait for the runtime runs on a fake clock: probes are counted, never raced against a busy machine
const mod = crioRestartModule();
const info = (ready: boolean) =>
  JSON.stringify({ status: { conditions: [{ type: 'RuntimeReady', status: ready, reason: ready ? '' : 'RuntimeNotReady', message: ready ? '' : 'runtime is starting' }, { type: 'NetworkReady', status: true, reason: '', message: '' }] }, config: {} });

describe('crio_restart (pure parsing)', () => {
  const rows: [string, string, boolean | undefined][] = [
    ['ready', info(true), true],
    ['not ready', info(false), false],
    ['garbage', 'FATA[0000] connect: connection refused', undefined],
    ['no conditions', '{"status":{}}', undefined],
  ];
  for (const [name, text, want] of rows) {
    test(`parseCrictlInfo: ${name}`, () => {
      const c = parseCrictlInfo(text);
      assert.equal(c?.find((x) => x.type === 'RuntimeReady')?.status, want);
    });
  }
  test('runtimeReady needs active, crictl rc 0 and RuntimeReady true', () => {
    const out = (active: string, rc: number, ready: boolean) => `active=${active}\n__NS_CRICTL_INFO_BEGIN__\n${info(ready)}\n__NS_CRICTL_INFO_END__\ncrictl_rc=${rc}\n`;
    assert.equal(runtimeReady(parseProbe(out('active', 0, true))), true);
    assert.equal(runtimeReady(parseProbe(out('activating', 0, true))), false);
    assert.equal(runtimeReady(parseProbe(out('active', 1, true))), false);
    assert.equal(runtimeReady(parseProbe(out('active', 0, false))), false);
  });
});

describe('crio_restart on LocalTransport', () => {
  let dir: string;
  let systemctl: string;
  let crictl: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-crio-'));
    systemctl = join(dir, 'systemctl');
    crictl = join(dir, 'crictl');
    // systemctl: records calls; after a restart the unit is "activating" for two probes, then active
    writeFileSync(
      systemctl,
      `#!/bin/sh
D=${dir}
echo "$*" >> "$D/systemctl.log"
case "$1" in
  is-active)
    n=$(cat "$D/activating" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$D/activating"; echo activating; else echo active; fi ;;
  restart)
    [ -f "$D/restart-fails" ] && { echo "Job for $2.service failed" >&2; exit 1; }
    echo 2 > "$D/activating"; echo "$2" >> "$D/restarted"; rm -f "$D/info-calls" ;;
esac
exit 0
`,
    );
    // crictl info: RuntimeReady false for the first two calls after a restart, then true (or never, on request)
    writeFileSync(
      crictl,
      `#!/bin/sh
D=${dir}
[ "$1" = info ] || exit 1
n=$(cat "$D/info-calls" 2>/dev/null || echo 0); echo $((n + 1)) > "$D/info-calls"
if [ -f "$D/never-ready" ] || [ "$n" -lt 2 ]; then echo '${info(false)}'; else echo '${info(true)}'; fi
`,
    );
    chmodSync(systemctl, 0o755);
    chmodSync(crictl, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const reset = () => {
    for (const f of ['systemctl.log', 'restarted', 'activating', 'info-calls', 'never-ready', 'restart-fails']) rmSync(join(dir, f), { force: true });
  };

  test('restarts crio and waits until active and RuntimeReady (host vars name the tools)', async () => {
    reset();
    const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'), true);
    const r = await runModule(crioRestartModule(clock), { poll_interval: '5s', timeout: '1m' }, { vars: { nodesweep_systemctl: systemctl, nodesweep_crictl: crictl } });
    assert.equal(r.status, 'changed', String(r.msg));
    assert.equal(readFileSync(join(dir, 'restarted'), 'utf8'), 'crio\n');
    assert.equal(r.runtime_ready, true);
    // activating for two probes, RuntimeReady false for two: ready at the third, after two pauses
    assert.equal(r.polls, 3);
    assert.deepEqual(clock.slept, [5000, 5000]);
    assert.equal(r.msg, 'crio restarted; active and RuntimeReady after 10s');
    assert.match(String(r.restarted_at), /^\d{4}-\d\d-\d\dT/);
    assert.match(readFileSync(join(dir, 'systemctl.log'), 'utf8'), /^restart crio$/m);
  });

  test('never ready: fails after the timeout saying why', async () => {
    reset();
    writeFileSync(join(dir, 'never-ready'), '');
    const clock = new TestClock(Date.parse('2024-05-01T10:00:00Z'), true);
    const r = await runModule(crioRestartModule(clock), { poll_interval: '5s', timeout: '20s', systemctl, crictl });
    assert.equal(r.status, 'failed');
    assert.match(String(r.msg), /^crio was restarted but the runtime is not ready after 20s: RuntimeReady is false \(RuntimeNotReady: runtime is starting\)$/);
    // probes at 0, 5, 10, 15 and 20 s
    assert.equal(r.polls, 5);
    assert.deepEqual(clock.slept, [5000, 5000, 5000, 5000]);
  });

  test('systemctl restart fails: failed with the reason', async () => {
    reset();
    writeFileSync(join(dir, 'restart-fails'), '');
    const r = await runModule(mod, { systemctl, crictl, timeout: '5s' });
    assert.equal(r.status, 'failed');
    assert.match(String(r.msg), /^systemctl restart crio failed \(rc 1\)$/);
    assert.match(String(r.stderr), /Job for crio.service failed/);
  });

  test('check mode restarts nothing', async () => {
    reset();
    const r = await runModule(mod, { systemctl, crictl }, { check: true });
    assert.equal(r.status, 'changed');
    assert.match(String(r.msg), /^would restart crio \(now active\)$/);
    assert.equal(existsSync(join(dir, 'restarted')), false);
  });

  test('no systemctl on the host: a clear failure', async () => {
    const r = await runModule(mod, { systemctl: join(dir, 'nope'), crictl, timeout: '5s' });
    assert.equal(r.status, 'failed');
    assert.match(String(r.msg), /nope not found: this host is not run by systemd/);
  });
});
