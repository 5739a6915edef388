/**
 * The lab's ssh2-based server accepts nodesweep's own SshTransport: exec through the long-lived remote shell,
 * stdin, exit codes, become through the lab's sudo stand-in, the node's environment; a wrong key is refused;
 * the host key is the one in the lab's known_hosts (and a different one is refused).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthError, HostKeyError } from '../../src/errors.js';
import { generateEd25519KeyPair, startLabSshServer, type LabSshServer } from '../../src/lab/ssh-server.js';
import { writeNodeBin } from '../../src/lab/standins.js';
import type { ConnectionSpec } from '../../src/transport/spec.js';
import { SshTransport } from '../../src/transport/ssh.js';


let dir: string;
let server: LabSshServer;
let knownHosts: string;
let clientKey: string;
let otherKey: string;
const transports: SshTransport[] = [];

function spec(extra: Partial<ConnectionSpec> = {}): ConnectionSpec {
  return {
    host: 'worker-01',
    connection: 'ssh',
    hostname: server.host,
    port: server.port,
    user: 'core',
    identities: [{ path: clientKey, required: true }],
    jumps: [],
    connectTimeoutMs: 30_000, // a bound for a hung server, sized for a loaded 2-core machine
    hostKeyChecking: 'strict',
    knownHostsFile: knownHosts,
    ...extra,
  };
}

function ssh(sp: ConnectionSpec): SshTransport {
  const t = new SshTransport(sp, { env: {}, globalKnownHostsFiles: [] });
  transports.push(t);
  return t;
}

describe('lab ssh server', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ns-lab-ssh-'));
    const client = generateEd25519KeyPair();
    const other = generateEd25519KeyPair();
    const hostKey = generateEd25519KeyPair();
    clientKey = join(dir, 'id_ed25519');
    otherKey = join(dir, 'other');
    writeFileSync(clientKey, client.private, { mode: 0o600 });
    writeFileSync(otherKey, other.private, { mode: 0o600 });
    const state = join(dir, 'state');
    mkdirSync(state);
    const bin = writeNodeBin(join(dir, 'bin'), { stateDir: state, crioBin: '/bin/sleep', crioCgroupProcs: [] });
    server = await startLabSshServer({
      host: '127.42.9.1',
      hostKey: hostKey.private,
      authorizedKey: client.public,
      user: 'core',
      cwd: dir,
      env: { PATH: `${bin.dir}:/usr/bin:/bin`, HOME: dir, NODESWEEP_LAB_NODE: 'worker-01' },
    });
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[${server.host}]:${server.port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`);
  });

  after(async () => {
    for (const t of transports) await t.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exec: output, exit codes, stdin, the node environment, several commands on one connection', async () => {
    const t = ssh(spec());
    const r = await t.exec('echo "node=$NODESWEEP_LAB_NODE"; echo oops >&2; exit 3', { timeoutMs: 60_000 });
    assert.equal(r.rc, 3);
    assert.equal(r.stdout, 'node=worker-01\n');
    assert.equal(r.stderr, 'oops\n');
    const r2 = await t.exec('tr a-z A-Z', { timeoutMs: 60_000, stdin: 'piped in\n' });
    assert.deepEqual([r2.rc, r2.stdout], [0, 'PIPED IN\n']);
    const r3 = await t.exec('echo "$GREETING"', { timeoutMs: 60_000, env: { GREETING: 'hello there' } });
    assert.equal(r3.stdout, 'hello there\n');
  });

  test('become goes through the lab sudo stand-in (same user, PATH kept)', async () => {
    const t = ssh(spec());
    const r = await t.exec('id -u; command -v systemctl; systemctl is-active crio', { timeoutMs: 60_000, become: { user: 'root', method: 'sudo' } });
    const [uid, systemctl, active] = r.stdout.trim().split('\n');
    assert.equal(uid, String(process.getuid?.()));
    assert.equal(systemctl, join(dir, 'bin', 'systemctl'));
    assert.equal(active, 'inactive'); // no crio.state yet in this bare node
  });

  test('a key the lab did not make is refused', async () => {
    const t = ssh(spec({ identities: [{ path: otherKey, required: true }] }));
    await assert.rejects(t.exec('true', { timeoutMs: 5000 }), (e: unknown) => e instanceof AuthError && /authentication as core@/.test(e.message));
  });

  test('another user is refused even with the right key', async () => {
    const t = ssh(spec({ user: 'root' }));
    await assert.rejects(t.exec('true', { timeoutMs: 5000 }), AuthError);
  });

  test("the host key is checked against the lab's known_hosts", async () => {
    const wrong = join(dir, 'known_hosts.wrong');
    writeFileSync(wrong, `[${server.host}]:${server.port} ${generateEd25519KeyPair().public.split(' ').slice(0, 2).join(' ')}\n`);
    await assert.rejects(ssh(spec({ knownHostsFile: wrong })).exec('true', { timeoutMs: 5000 }), HostKeyError);
    const empty = join(dir, 'known_hosts.empty');
    writeFileSync(empty, '');
    await assert.rejects(ssh(spec({ knownHostsFile: empty })).exec('true', { timeoutMs: 5000 }), HostKeyError);
  });
});
