/** Hosts that cannot be reached, keys that do not match, commands that hang, and Ctrl-C: through the real CLI. */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../helpers/fleet.js';
import { startSilentServer, refusedPort, knownHostsLine, descendantsOf } from '../helpers/sshd.js';
import { runCli, recapLines } from '../helpers/cli.js';
import { generateKey } from '../helpers/keys.js';
import { endedProcessOf, readPidFile, startOfSelf } from '../helpers/proc.js';
import { until } from '../helpers/until.js';

describe('unreachable hosts and timeouts', () => {
  let fleet: Fleet;
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  before(async () => {
    fleet = await startFleet(2);
    silent = await startSilentServer();
  });
  after(async () => {
    await silent?.stop();
    await fleet?.stop();
  });

  test('refused and silent hosts are UNREACHABLE with the cause; the others run; exit 4', async () => {
    const refused = await refusedPort();
    const inv = fleet.writeInventory({
      file: 'unreach.ini',
      // the silent host's own 2 s connect timeout (it never speaks, so only that can end it); the real hosts keep
      // the default, sized for a loaded machine
      extra: `[broken]\nrefuser ansible_host=${refused.host} ansible_port=${refused.port}\nsilent ansible_host=${silent.host} ansible_port=${silent.port} ansible_timeout=2\n\n[broken:vars]\nansible_user=root\nansible_ssh_private_key_file=${fleet.key.privateKeyPath}`,
    });
    const marker = join(fleet.dir, 'ran');
    const playbook = join(fleet.dir, 'p.yml');
    writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo ran > ${marker}-{{ inventory_hostname }}\n`);
    const report = join(fleet.dir, 'unreach.json');
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv), '--report-json', report]);
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`fatal: \\[refuser\\]: UNREACHABLE! => \\{[^\\n]*${refused.host.replace(/\./g, '\\.')}:${refused.port}[^\\n]*refused`, 'i'));
    assert.match(r.stdout, /fatal: \[silent\]: UNREACHABLE! => \{[^\n]*connect timeout after 2s/i);
    for (const n of fleet.names) assert.equal(readFileSync(`${marker}-${n}`, 'utf8'), 'ran\n');
    const recap = recapLines(r.stdout);
    assert.match(recap.find((l) => l.startsWith('refuser '))!, /unreachable=1 /);
    assert.match(recap.find((l) => l.startsWith('node1 '))!, /changed=1 /);
    assert.equal(readFileSync(join(fleet.dir, 'unreach.retry'), 'utf8'), 'refuser\nsilent\n');
  });

  test('a hanging command is killed at the task timeout; the host fails, exit 2', async () => {
    const inv = fleet.writeInventory({ file: 'hang.ini' });
    const playbook = join(fleet.dir, 'hang.yml');
    writeFileSync(playbook, `- hosts: node1\n  gather_facts: false\n  tasks:\n    - name: hangs\n      shell: sleep 60\n      timeout: 2\n`);
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv)]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    // 60 s of sleep against a 2 s timeout: only the timeout ends it before runCli's own bound
    assert.match(r.stdout, /fatal: \[node1\]: FAILED! => \{[^\n]*expected time frame \(2\) and was terminated", "timed_out": true\}/);
  });

  test('sshd dies mid-task (its per-connection process killed): the host is UNREACHABLE naming the drop, the rest go on; exit 4', async () => {
    const inv = fleet.writeInventory({ file: 'sshd-dies.ini' });
    const started = join(fleet.dir, 'dies-started');
    const after = join(fleet.dir, 'dies-after');
    const playbook = join(fleet.dir, 'dies.yml');
    writeFileSync(
      playbook,
      `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - name: long task\n      shell: "touch ${started}-{{ inventory_hostname }}; sleep {{ 60 if inventory_hostname == 'node1' else 0 }}"\n    - name: next task\n      shell: touch ${after}-{{ inventory_hostname }}\n`,
    );
    const h1 = fleet.hosts[0]!;
    let killed: number[] = [];
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv)], {
      timeoutMs: 120_000,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (killed.length === 0 && existsSync(`${started}-node1`)) {
            const conn = h1.connectionPids();
            if (conn.length !== 1) return;
            killed = [conn[0]!, ...descendantsOf(conn[0]!)];
            process.kill(conn[0]!, 'SIGKILL'); // only the per-connection sshd: the TCP connection drops
          }
        }, 50);
        child.on('close', () => clearInterval(poll));
      },
    });
    for (const pid of killed.slice(1)) {
      try {
        process.kill(pid, 'SIGKILL'); // what the dead sshd left (the remote shell and its sleep), if anything
      } catch {
        /* already gone */
      }
    }
    assert.ok(killed.length > 0, 'the connection was killed mid-task');
    assert.equal(r.code, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /fatal: \[node1\]: UNREACHABLE! => \{[^\n]*while a command was running/);
    assert.equal(existsSync(`${after}-node1`), false, 'nothing more ran on node1');
    assert.equal(existsSync(`${after}-node2`), true, 'node2 went on');
    const recap = recapLines(r.stdout);
    assert.match(recap.find((l) => l.startsWith('node1 '))!, /unreachable=1 /);
    assert.match(recap.find((l) => l.startsWith('node2 '))!, /unreachable=0\s+failed=0/);
  });

  test('a key the host does not accept: UNREACHABLE naming the user, host and what was tried; the others run; exit 4', async () => {
    const stranger = generateKey(fleet.dir, 'id_stranger');
    const inv = fleet.writeInventory({ file: 'auth.ini', hostVars: (i) => (i === 0 ? `ansible_ssh_private_key_file=${stranger.privateKeyPath}` : '') });
    const marker = join(fleet.dir, 'auth');
    const playbook = join(fleet.dir, 'auth.yml');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - shell: touch ${marker}-{{ inventory_hostname }}\n`);
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv)], { env: { SSH_AUTH_SOCK: undefined } });
    assert.equal(r.code, 4, r.stdout + r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('fatal: [node1]: UNREACHABLE!'));
    assert.ok(line, r.stdout);
    assert.match(line, new RegExp(`authentication as root@${fleet.hosts[0]!.host.replace(/\./g, '\\.')}:${fleet.hosts[0]!.port} failed \\(tried: [^)]*${stranger.privateKeyPath.replace(/[.\/]/g, '\\$&')}`));
    assert.equal(existsSync(`${marker}-node1`), false);
    assert.equal(existsSync(`${marker}-node2`), true);
  });

  test('a host whose key does not match known_hosts is refused and never runs anything', async () => {
    const inv = fleet.writeInventory({ file: 'mismatch.ini' });
    // node1 gets node2's key: a man in the middle as far as the client can tell.
    const wrong = join(fleet.dir, 'known_hosts_wrong');
    const [h1, h2] = fleet.hosts as [typeof fleet.hosts[0], typeof fleet.hosts[0]];
    writeFileSync(wrong, `${knownHostsLine({ host: h1.host, port: h1.port, hostKeyPub: h2.hostKeyPub })}\n${knownHostsLine(h2)}\n`);
    const marker = join(fleet.dir, 'mitm');
    const playbook = join(fleet.dir, 'mitm.yml');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - shell: touch ${marker}-{{ inventory_hostname }}\n`);
    for (const mode of ['strict', 'accept-new']) {
      const r = await runCli(['run', playbook, '-i', inv, '--known-hosts', wrong, '--host-key-checking', mode]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      const line = r.stdout.split('\n').find((l) => l.startsWith('fatal: [node1]: UNREACHABLE!'));
      assert.ok(line, r.stdout);
      assert.ok(line.includes(h1.hostKeyFingerprint), `names the offered fingerprint: ${line}`);
      assert.ok(line.includes(`${wrong}:1`), `names the known_hosts line: ${line}`);
      assert.equal(existsSync(`${marker}-node1`), false);
      assert.equal(existsSync(`${marker}-node2`), true);
    }
    // the file was not rewritten to "fix" the mismatch
    assert.equal(readFileSync(wrong, 'utf8').split('\n')[0], knownHostsLine({ host: h1.host, port: h1.port, hostKeyPub: h2.hostKeyPub }));
  });

  test('unknown host keys: refused in strict mode, recorded once each with accept-new', async () => {
    const inv = fleet.writeInventory({ file: 'new.ini' });
    const empty = join(fleet.dir, 'known_hosts_new');
    writeFileSync(empty, '');
    const playbook = join(fleet.dir, 'new.yml');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n    - raw: "true"\n`);
    const strict = await runCli(['run', playbook, '-i', inv, '--known-hosts', empty]);
    assert.equal(strict.code, 4, strict.stdout);
    assert.equal(readFileSync(empty, 'utf8'), '');
    const accept = await runCli(['run', playbook, '-i', inv, '--known-hosts', empty, '--host-key-checking', 'accept-new']);
    assert.equal(accept.code, 0, accept.stdout + accept.stderr);
    const lines = readFileSync(empty, 'utf8').trim().split('\n').sort();
    assert.deepEqual(lines, fleet.hosts.map((h) => knownHostsLine(h)).sort());
    const again = await runCli(['run', playbook, '-i', inv, '--known-hosts', empty]);
    assert.equal(again.code, 0, again.stdout);
  });

  test('Ctrl-C stops new work, closes connections, prints the recap, exits 99', async () => {
    const inv = fleet.writeInventory({ file: 'int.ini' });
    const playbook = join(fleet.dir, 'int.yml');
    // the first task never ends by itself: only the interrupt ends the run (runCli's bound fails a hung one)
    const running = join(fleet.dir, 'int-running');
    const tasks = [`    - name: hold\n      shell: echo ${startOfSelf} > ${running}-{{ inventory_hostname }}; exec sleep 600\n`, ...Array.from({ length: 19 }, (_, i) => `    - name: next ${i}\n      shell: "true"\n`)].join('');
    writeFileSync(playbook, `- hosts: nodes\n  gather_facts: false\n  tasks:\n${tasks}`);
    const pidFiles = fleet.names.map((n) => `${running}-${n}`);
    const r = await runCli(['run', playbook, ...fleet.baseArgs(inv)], {
      timeoutMs: 180_000,
      onSpawn: (child) => {
        // interrupted once every host runs `hold`, whenever that is on a busy machine
        void until(() => pidFiles.every((f) => readPidFile(f) !== undefined), 'hold running on every host').then(
          () => child.kill('SIGINT'),
          () => child.kill('SIGINT'),
        );
      },
    });
    assert.equal(r.code, 99, r.stdout + r.stderr);
    assert.match(r.stdout, /PLAY RECAP/);
    assert.doesNotMatch(r.stdout, /TASK \[next/, 'no task started after the interrupt');
    for (const f of pidFiles) await until(() => endedProcessOf(f), `${f}: the running command killed`);
    // every connection closed: no per-connection sshd left
    await until(() => fleet.hosts.every((h) => h.connectionPids().length === 0), 'every per-connection sshd gone');
  });
});
