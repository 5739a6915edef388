/**
 * Real OpenSSH servers for transport tests: `/usr/sbin/sshd -D -e -f <own config>` on a loopback address,
 * with its own host key, authorized_keys and pid file in a mkdtemp dir. Stopped by PID, dir removed.
 * Also: a TCP server that never speaks (connect timeouts) and a port nobody listens on (refused).
 * Needs root (we are root on the test machine): it creates /run/sshd and the test users below.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync, chmodSync, mkdirSync, renameSync, existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFingerprint } from './keys.js';
import { processGone } from './proc.js';

/** Non-root user with passwordless sudo (become tests). */
export const TEST_USER = 'nodesweep-test';
/** Non-root user whose sudo asks for a password. */
export const TEST_PW_USER = 'nodesweep-pw';
/** The sudo password of TEST_PW_USER (a throwaway account on the test machine). */
export const TEST_PW_USER_PASSWORD = 'nodesweep-pw-Secret-42';

export interface SshdOptions {
  /** Loopback address to listen on; default a random 127.0.1.x. */
  host?: string;
  /** Fixed port (fails if taken); default a free one. */
  port?: number;
  /** Public key lines accepted for every user. */
  authorizedKeys: string[];
  hostKeyType?: 'ed25519' | 'rsa' | 'ecdsa';
  /** sshd LogLevel; VERBOSE logs one "Accepted publickey" line per connection. */
  logLevel?: 'INFO' | 'VERBOSE' | 'DEBUG1';
  passwordAuthentication?: boolean;
  /** Extra sshd_config lines. */
  extraConfig?: string[];
}

export interface SshdHandle {
  host: string;
  port: number;
  pid: number;
  dir: string;
  /** `ssh-ed25519 AAAA...` (type and base64, no comment). */
  hostKeyPub: string;
  hostKeyType: string;
  hostKeyBase64: string;
  /** SHA256:... as ssh-keygen prints it. */
  hostKeyFingerprint: string;
  /** Everything sshd wrote to stderr so far. */
  log(): string;
  /** Number of successful logins so far (one per SSH connection). */
  acceptedLogins(): number;
  /** PIDs of the per-connection sshd processes (children of the listener). */
  connectionPids(): number[];
  stop(): Promise<void>;
}

let usersReady = false;

/** /run/sshd, the two test users and their sudoers file; idempotent and safe when two test files race. */
export function ensureTestUsers(): void {
  if (usersReady) return;
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (const user of [TEST_USER, TEST_PW_USER]) {
    for (let attempt = 0; !userExists(user); attempt++) {
      try {
        execFileSync('useradd', ['-m', '-s', '/bin/sh', user], { stdio: 'pipe' });
      } catch (e) {
        // Another test process (or another suite on this machine) may be creating it right now (passwd lock).
        if (attempt > 300) throw e;
        execFileSync('sleep', ['0.1']);
      }
    }
  }
  // Without PAM, sshd refuses accounts whose password field starts with "!" (locked): use "*" (no password).
  const shadow = readFileSync('/etc/shadow', 'utf8');
  const field = (u: string) => shadow.split('\n').find((l) => l.startsWith(`${u}:`))?.split(':')[1] ?? '';
  if (field(TEST_USER).startsWith('!')) retry(() => execFileSync('usermod', ['-p', '*', TEST_USER], { stdio: 'pipe' }));
  if (!field(TEST_PW_USER).startsWith('$')) {
    retry(() => execFileSync('chpasswd', [], { input: `${TEST_PW_USER}:${TEST_PW_USER_PASSWORD}\n`, stdio: ['pipe', 'pipe', 'pipe'] }));
  }
  const sudoers = `${TEST_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n${TEST_PW_USER} ALL=(ALL:ALL) ALL\n`;
  const target = '/etc/sudoers.d/nodesweep-test';
  if (!existsSync(target) || readFileSync(target, 'utf8') !== sudoers) {
    const tmp = `${target}.tmp${process.pid}`; // sudo ignores files with a dot in the name
    writeFileSync(tmp, sudoers, { mode: 0o440 });
    execFileSync('visudo', ['-c', '-q', '-f', tmp], { stdio: 'pipe' });
    renameSync(tmp, target);
  }
  usersReady = true;
}

function userExists(user: string): boolean {
  try {
    execFileSync('getent', ['passwd', user], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function retry(fn: () => void): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fn();
      return;
    } catch (e) {
      if (attempt > 300) throw e; // 30 s of another suite holding the passwd lock
      execFileSync('sleep', ['0.1']);
    }
  }
}

export function randomLoopback(): string {
  return `127.0.1.${2 + Math.floor(Math.random() * 250)}`;
}

/** A port that is free on `host` right now (bind to 0, read, close). */
export async function freePort(host: string): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** A host:port where nothing listens (connection refused). */
export async function refusedPort(host = randomLoopback()): Promise<{ host: string; port: number }> {
  return { host, port: await freePort(host) };
}

export async function startSshd(opts: SshdOptions): Promise<SshdHandle> {
  ensureTestUsers();
  const host = opts.host ?? randomLoopback();
  const dir = mkdtempSync(join(tmpdir(), 'nodesweep-sshd-'));
  chmodSync(dir, 0o755); // sshd reads authorized_keys as the login user
  try {
    const type = opts.hostKeyType ?? 'ed25519';
    const hostKey = join(dir, `ssh_host_${type}_key`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', hostKey], { stdio: ['ignore', 'ignore', 'pipe'] });
    const hostKeyPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const [hostKeyType, hostKeyBase64] = hostKeyPub.split(' ') as [string, string];
    writeFileSync(join(dir, 'authorized_keys'), opts.authorizedKeys.map((k) => `${k}\n`).join(''), { mode: 0o644 });
    for (let attempt = 0; ; attempt++) {
      const port = opts.port ?? (await freePort(host));
      const config = [
        `Port ${port}`,
        `ListenAddress ${host}`,
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'UsePAM no',
        'StrictModes no',
        `PasswordAuthentication ${opts.passwordAuthentication ? 'yes' : 'no'}`,
        'KbdInteractiveAuthentication no',
        'PermitRootLogin yes',
        'AllowTcpForwarding yes',
        'PrintMotd no',
        'MaxStartups 200',
        'MaxSessions 50',
        `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
        'Subsystem sftp internal-sftp',
        ...(opts.extraConfig ?? []),
        '',
      ].join('\n');
      writeFileSync(join(dir, 'sshd_config'), config);
      const started = await launch(dir, host, port);
      if ('retry' in started) {
        if (attempt < 3 && opts.port === undefined) continue;
        throw new Error(`sshd could not bind ${host}:${port}:\n${started.log}`);
      }
      const { child, logRef } = started;
      const pid = child.pid!;
      return {
        host,
        port,
        pid,
        dir,
        hostKeyPub,
        hostKeyType,
        hostKeyBase64,
        hostKeyFingerprint: keyFingerprint(`${hostKey}.pub`),
        log: () => logRef.text,
        acceptedLogins: () => (logRef.text.match(/Accepted (publickey|password) for /g) ?? []).length,
        connectionPids: () => childrenOf(pid),
        stop: async () => {
          // TERM first: the per-connection sshd closes its channels and remote shells run their EXIT traps
          // (removing their temp dirs); whatever is left after a second is killed.
          killQuiet(pid, 'SIGTERM');
          const tree = descendantsOf(pid);
          for (const p of tree) killQuiet(p, 'SIGTERM');
          const deadline = Date.now() + 1000;
          while (tree.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          for (const p of tree) if (isAlive(p)) killQuiet(p, 'SIGKILL');
          if (child.exitCode === null && child.signalCode === null) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(() => {
                killQuiet(pid, 'SIGKILL');
                resolve();
              }, 2000);
              child.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
            });
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function launch(dir: string, host: string, port: number): Promise<{ child: ChildProcess; logRef: { text: string } } | { retry: true; log: string }> {
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const logRef = { text: '' };
  child.stderr!.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    // a bound for a hung sshd only: 30 starting at once on a loaded 2-core machine may take many seconds
    const timer = setTimeout(() => {
      killQuiet(child.pid!, 'SIGKILL');
      reject(new Error(`sshd on ${host}:${port} did not start within 60s:\n${logRef.text}`));
    }, 60_000);
    let done = false;
    child.stderr!.on('data', (d: string) => {
      logRef.text += d;
      if (!done && logRef.text.includes('Server listening on')) {
        done = true;
        clearTimeout(timer);
        resolve({ child, logRef });
      }
    });
    child.once('exit', (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (/Bind to port|Cannot bind any address|Address already in use/.test(logRef.text)) resolve({ retry: true, log: logRef.text });
      else reject(new Error(`sshd on ${host}:${port} exited with ${code}:\n${logRef.text}`));
    });
  });
}

/** Direct children of `pid`, from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 is the ppid; the command name (field 2) may contain spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* process exited while we looked */
    }
  }
  return out;
}

export function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of childrenOf(queue.shift()!)) {
      all.push(c);
      queue.push(c);
    }
  }
  return all;
}

/** Running (a zombie counts as gone: this container's init may never reap it). */
const isAlive = (pid: number): boolean => !processGone(pid);

function killQuiet(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** A TCP server that accepts connections and never sends a byte (an SSH server that hangs). */
export async function startSilentServer(host = randomLoopback()): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  const addr = srv.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    host,
    port: addr.port,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

/** A known_hosts line for a started server, as ssh-keyscan would print it. */
export function knownHostsLine(s: Pick<SshdHandle, 'host' | 'port' | 'hostKeyPub'>): string {
  const name = s.port === 22 ? s.host : `[${s.host}]:${s.port}`;
  return `${name} ${s.hostKeyPub}`;
}
