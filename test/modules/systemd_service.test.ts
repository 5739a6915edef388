import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdServiceModule, waitPolls, parseServiceOutput } from '../../src/modules/systemd_service.js';
import { runModule } from './ctx.js';

/**
 * PID 1 here is not systemd, so a stand-in `systemctl` (first in PATH via the task environment) keeps the unit's
 * state in files and records every call. After start/restart/reload the unit is "activating" for `delay` is-active
 * polls, then active; with a `never` file it stays activating.
 */
const FAKE_SYSTEMCTL = `#!/bin/sh
d=$FAKE_SYSTEMD_DIR
echo "$*" >> "$d/calls"
cmd=$1
unit=$2
st=$(cat "$d/state" 2>/dev/null || echo inactive)
case "$cmd" in
  is-active)
    if [ "$st" = activating ]; then
      n=$(cat "$d/pending" 2>/dev/null || echo 0)
      if [ "$n" -le 0 ] && [ ! -e "$d/never" ]; then st=active; echo active > "$d/state"; else echo $((n - 1)) > "$d/pending"; fi
    fi
    echo "$st"
    [ "$st" = active ] ;;
  is-enabled)
    en=$(cat "$d/enabled" 2>/dev/null || echo disabled)
    echo "$en"
    [ "$en" = enabled ] ;;
  start|restart|reload)
    if [ -e "$d/fail_start" ]; then echo "Job for $unit failed." >&2; exit 1; fi
    echo activating > "$d/state"
    cat "$d/delay" > "$d/pending" 2>/dev/null || echo 0 > "$d/pending" ;;
  stop) echo inactive > "$d/state" ;;
  enable) echo enabled > "$d/enabled" ;;
  disable) echo disabled > "$d/enabled" ;;
  daemon-reload) ;;
  status) echo "* $unit - fake unit"; echo "   Active: $st"; exit 3 ;;
  *) echo "unknown command $cmd" >&2; exit 1 ;;
esac
`;
/**
 * The script's clock: a `sleep` first in PATH that records the pause between polls in the same log and returns at
 * once, so the polls are counted instead of timed (and a loaded machine cannot push them past the task timeout).
 */
const FAKE_SLEEP = `#!/bin/sh
echo "sleep $*" >> "$FAKE_SYSTEMD_DIR/calls"
`;
const FAKE_JOURNALCTL = `#!/bin/sh
echo "$*" >> "$FAKE_SYSTEMD_DIR/journal_calls"
echo "fake journal: unit crashed"
`;

const svc = systemdServiceModule();
let dir = '';
let env: Record<string, string> = {};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ns-systemd-'));
  await writeFile(join(dir, 'systemctl'), FAKE_SYSTEMCTL);
  await writeFile(join(dir, 'journalctl'), FAKE_JOURNALCTL);
  await chmod(join(dir, 'systemctl'), 0o755);
  await chmod(join(dir, 'journalctl'), 0o755);
  await writeFile(join(dir, 'sleep'), FAKE_SLEEP);
  await chmod(join(dir, 'sleep'), 0o755);
  env = { PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, FAKE_SYSTEMD_DIR: dir };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const setState = (s: string) => writeFile(join(dir, 'state'), `${s}\n`);
const calls = async () => (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
const run = (args: Record<string, unknown>, over: { check?: boolean; timeoutMs?: number } = {}) =>
  runModule(svc, args, { environment: env, timeoutMs: over.timeoutMs ?? 60_000, check: over.check ?? false });

describe('systemd_service', () => {
  test('started: inactive unit is started (changed) and waited for', async () => {
    await setState('inactive');
    const r = await run({ name: 'kubelet', state: 'started' });
    assert.equal(r.status, 'changed');
    assert.equal(r.name, 'kubelet');
    assert.equal(r.state, 'started');
    assert.deepEqual(r.unit_status, { ActiveState: 'active' });
    assert.deepEqual(await calls(), ['is-active kubelet', 'start kubelet', 'is-active kubelet']);
  });

  test('started: already active is ok with no start call', async () => {
    await setState('active');
    const r = await run({ name: 'kubelet', state: 'started' });
    assert.equal(r.status, 'ok');
    assert.equal(r.changed, false);
    assert.deepEqual(await calls(), ['is-active kubelet', 'is-active kubelet']);
  });

  test('waits until is-active reports active (active only after 2 polls)', async () => {
    await setState('inactive');
    await writeFile(join(dir, 'delay'), '2');
    const r = await run({ name: 'crio', state: 'restarted' });
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.unit_status, { ActiveState: 'active' });
    const c = await calls();
    assert.deepEqual(c, ['is-active crio', 'restart crio', 'is-active crio', 'sleep 0.5', 'is-active crio', 'sleep 0.5', 'is-active crio']);
  });

  test('restarted: always restarts, even when active', async () => {
    await setState('active');
    const r = await run({ name: 'crio', state: 'restarted' });
    assert.equal(r.status, 'changed');
    assert.ok((await calls()).includes('restart crio'));
  });

  test('stopped: active unit stopped (changed); inactive unit ok', async () => {
    await setState('active');
    const r = await run({ name: 'crio', state: 'stopped' });
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.unit_status, { ActiveState: 'inactive' });
    assert.ok((await calls()).includes('stop crio'));
    const again = await run({ name: 'crio', state: 'stopped' });
    assert.equal(again.status, 'ok');
  });

  test('fails with the last state, status and journal when it never becomes active', async () => {
    await setState('inactive');
    await writeFile(join(dir, 'never'), '');
    const r = await run({ name: 'broken', state: 'started' }, { timeoutMs: 20_000 });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, 'service broken did not become active (last state: activating)');
    assert.deepEqual(r.unit_status, { ActiveState: 'activating' });
    assert.deepEqual(r.status_lines, ['* broken - fake unit', '   Active: activating']);
    assert.deepEqual(r.journal_lines, ['fake journal: unit crashed']);
    const c = await calls();
    const polls = c.filter((x) => x === 'is-active broken').length;
    assert.equal(polls, 2 + waitPolls(20_000)); // before, right after start, then one per poll
    assert.equal(c.filter((x) => x === 'sleep 0.5').length, waitPolls(20_000), 'a pause before each poll');
  });

  test('a failing start is reported with systemctl stderr', async () => {
    await setState('inactive');
    await writeFile(join(dir, 'fail_start'), '');
    const r = await run({ name: 'bad', state: 'started' });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, 'Unable to start service bad (rc 1)');
    assert.match(String(r.stderr), /Job for bad failed\./);
  });

  test('enabled + daemon_reload', async () => {
    await setState('active');
    const r = await run({ name: 'kubelet', enabled: true, daemon_reload: true });
    assert.equal(r.status, 'changed');
    assert.equal(r.enabled, true);
    assert.deepEqual(r.unit_status, { ActiveState: 'active', UnitFileState: 'enabled' });
    assert.deepEqual((await calls()).slice(0, 3), ['daemon-reload', 'is-enabled kubelet', 'enable kubelet']);
    const again = await run({ name: 'kubelet', enabled: true });
    assert.equal(again.status, 'ok');
  });

  test('check mode reports the change and makes no changing call', async () => {
    await setState('inactive');
    const r = await run({ name: 'kubelet', state: 'started', enabled: true, daemon_reload: true }, { check: true });
    assert.equal(r.status, 'changed');
    assert.equal(r.action, 'start');
    assert.deepEqual(await calls(), ['is-enabled kubelet', 'is-active kubelet']);
    assert.equal((await readFile(join(dir, 'state'), 'utf8')).trim(), 'inactive');

    await setState('active');
    const s = await run({ name: 'kubelet', state: 'stopped' }, { check: true });
    assert.equal(s.status, 'changed');
    assert.equal((await readFile(join(dir, 'state'), 'utf8')).trim(), 'active');
  });

  test('a host without systemctl fails with a clear message', async () => {
    const r = await runModule(svc, { name: 'kubelet', state: 'started' }, { environment: { SYSTEMCTL: '/nonexistent/systemctl' } });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, '/nonexistent/systemctl not found: this host is not run by systemd');
  });

  test('schema: name required, state enum, one action needed, unknown keys rejected', () => {
    assert.throws(() => svc.schema.parse({ state: 'started' }));
    assert.throws(() => svc.schema.parse({ name: 'x', state: 'running' }));
    assert.throws(() => svc.schema.parse({ name: 'x' }), /one of the following is required/);
    assert.throws(() => svc.schema.parse({ name: 'x', state: 'started', masked: true }));
  });
});

describe('systemd_service pure parts', () => {
  const table: [number, number][] = [
    [300_000, 590],
    [10_000, 16],
    [3000, 4],
    [500, 1],
  ];
  for (const [ms, polls] of table) test(`waitPolls(${ms}) = ${polls}`, () => assert.equal(waitPolls(ms), polls));
  test('parseServiceOutput', () => {
    const p = parseServiceOutput('before=inactive\naction=start\nstatus_line=a=b\nstatus_line=c\njournal_line=j\nafter=active\nnoise\n');
    assert.deepEqual(p.fields, { before: 'inactive', action: 'start', after: 'active' });
    assert.deepEqual(p.statusLines, ['a=b', 'c']);
    assert.deepEqual(p.journalLines, ['j']);
  });
});
