/**
 * SSH transport on ssh2: one connection per host (through ProxyJump hops when configured), host keys checked
 * against known_hosts, and one long-lived remote shell per become user (see remote-shell.ts) so that a task
 * costs about one round trip. ssh2 error levels map onto ConnectError / AuthError / HostKeyError here.
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, Client as ClientType, ClientChannel, ConnectConfig, NextAuthHandler } from 'ssh2';
import type { Duplex } from 'node:stream';
import { AuthError, ConnectError, HostKeyError, errorMessage } from '../errors.js';
import { KnownHostsFile, fingerprintSha256, hostKeyName, keyTypeOfBlob, knownKeyTypesFor, type LookupResult } from './known-hosts.js';
import { RemoteShell, ShellDiedError, ShellStartError, type ShellOpenOptions, type ShellResult } from './remote-shell.js';
import type { ConnectionSpec, HopSpec } from './spec.js';
import type { BecomeSpec, CloseOptions, ExecOptions, ExecResult, Transport } from './types.js';
import { shQuote } from './types.js';

const { Client, utils } = ssh2;

/** OpenSSH's default GlobalKnownHostsFile. */
export const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

export interface SshTransportOptions {
  /** Shared known_hosts writer (one per file for the whole run); default: a private one for spec.knownHostsFile. */
  knownHosts?: KnownHostsFile;
  /** Read-only system-wide files checked after the user's, like ssh's GlobalKnownHostsFile. */
  globalKnownHostsFiles?: string[];
  /** The same, already opened (shared by all hosts of a run, so each is read once); wins over globalKnownHostsFiles. */
  globalKnownHosts?: KnownHostsFile[];
  /** Reads a private key file; the factory shares one read per file across all hosts. Default: fs readFile. */
  readKeyFile?: (path: string) => Promise<Buffer>;
  /** Asked for the passphrase of an encrypted key when NODESWEEP_KEY_PASSPHRASE is not set (the CLI prompts). */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  /** Environment to read SSH_AUTH_SOCK and NODESWEEP_KEY_PASSPHRASE from; default process.env. */
  env?: Record<string, string | undefined>;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** After a timeout, how long the remote shell has to confirm the kill before it is replaced. */
  killGraceMs?: number;
  debug?: (msg: string) => void;
}

/** ssh2's default host key algorithms; the ones known_hosts has for a host go first. */
const HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

interface LoadedKey {
  path: string;
  data: Buffer;
  passphrase?: string;
}

interface Conn {
  clients: ClientType[];
  target: ClientType;
  closed: boolean;
  shells: Map<string, Promise<RemoteShell>>;
}

export class SshTransport implements Transport {
  readonly host: string;
  readonly spec: ConnectionSpec;
  private readonly knownHosts: KnownHostsFile;
  private readonly globalKnownHosts: KnownHostsFile[];
  private readonly env: Record<string, string | undefined>;
  private conn: Conn | undefined;
  private connecting: Promise<Conn> | undefined;
  private keys: Promise<{ keys: LoadedKey[]; notes: string[] }> | undefined;
  /** A connection that dropped while idle is reopened once per transport. */
  private reconnectsLeft = 1;
  private everConnected = false;

  constructor(spec: ConnectionSpec, private readonly opts: SshTransportOptions = {}) {
    this.host = spec.host;
    this.spec = spec;
    this.knownHosts = opts.knownHosts ?? new KnownHostsFile(spec.knownHostsFile);
    this.globalKnownHosts = opts.globalKnownHosts ?? (opts.globalKnownHostsFiles ?? [GLOBAL_KNOWN_HOSTS]).map((f) => new KnownHostsFile(f));
    this.env = opts.env ?? process.env;
  }

  async connect(): Promise<void> {
    await this.ensureConnection();
  }

  private async ensureConnection(): Promise<Conn> {
    if (this.conn && !this.conn.closed) return this.conn;
    if (this.connecting) return this.connecting;
    if (this.conn?.closed) {
      if (this.reconnectsLeft <= 0) {
        throw new ConnectError(this.host, `connection to ${this.target()} dropped again; not reconnecting`, { code: 'CONNECT_DROPPED' });
      }
      this.reconnectsLeft--;
      this.debug(`connection dropped while idle; reconnecting once`);
    }
    this.connecting = this.open();
    try {
      this.conn = await this.connecting;
      this.everConnected = true;
      return this.conn;
    } finally {
      this.connecting = undefined;
    }
  }

  async exec(script: string, opts: ExecOptions): Promise<ExecResult> {
    const stdin = opts.stdin !== undefined ? Buffer.from(opts.stdin, 'utf8') : undefined;
    return this.execRaw(script, { ...opts, stdin });
  }

  private async execRaw(script: string, opts: Omit<ExecOptions, 'stdin'> & { stdin: Buffer | undefined }): Promise<ExecResult> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const conn = await this.ensureConnection();
      const key = shellKey(opts.become, this.spec.user);
      const shellP = this.shellFor(conn, opts.become, opts.timeoutMs);
      // Forget this shell only if nobody has replaced it yet (concurrent execs may race here).
      const forget = () => {
        if (conn.shells.get(key) === shellP) conn.shells.delete(key);
      };
      let shell: RemoteShell | undefined;
      let r: ShellResult;
      try {
        shell = await shellP;
        const runOpts: Parameters<RemoteShell['run']>[1] = { timeoutMs: opts.timeoutMs };
        if (opts.stdin !== undefined) runOpts.stdin = opts.stdin;
        if (opts.env) runOpts.env = opts.env;
        if (opts.signal) runOpts.signal = opts.signal;
        r = await shell.run(script, runOpts);
      } catch (e) {
        if (e instanceof ShellStartError) {
          // sudo refused, no password, a shell dead before its READY (the first exec goes out with the preamble,
          // so run() reports that too): the task fails, the host stays reachable.
          forget();
          if (!conn.closed) return { rc: 1, stdout: '', stderr: `${e.message}\n`, timedOut: false, durationMs: Date.now() - started };
        } else if (shell === undefined) {
          if (!conn.closed) throw new ConnectError(this.host, `could not start a remote shell: ${errorMessage(e)}`, { cause: e });
        } else if (e instanceof ShellDiedError) {
          forget();
          if (e.started) {
            this.reconnectsLeft = 0; // a drop mid-command: the host is unreachable now
            throw this.dropError(conn, true, e.message);
          }
        } else throw e;
        // Dropped under us, or the shell gone, before anything ran: reconnect (once) and retry.
        if (attempt === 0) continue;
        throw this.dropError(conn, false, errorMessage(e));
      }
      if (shell.dead) forget();
      const res: ExecResult = {
        rc: r.rc,
        stdout: r.stdout.toString('utf8'),
        stderr: r.stderr.toString('utf8'),
        timedOut: r.killed === 'timeout',
        durationMs: Date.now() - started,
      };
      if (r.killed === 'timeout') {
        res.rc = 124;
        res.stderr += `${res.stderr && !res.stderr.endsWith('\n') ? '\n' : ''}command timed out after ${fmtSeconds(opts.timeoutMs)} and was killed\n`;
      } else if (r.killed === 'abort') {
        res.stderr += `${res.stderr && !res.stderr.endsWith('\n') ? '\n' : ''}command killed: run interrupted\n`;
      }
      return res;
    }
  }

  private dropError(conn: Conn, midCommand: boolean, detail?: string): ConnectError {
    const what = conn.closed ? `connection to ${this.target()} dropped` : `remote shell on ${this.target()} died`;
    const when = midCommand ? ' while a command was running' : '';
    return new ConnectError(this.host, `${what}${when}${detail && !conn.closed ? ` (${detail})` : ''}`, { code: 'CONNECT_DROPPED' });
  }

  private shellFor(conn: Conn, become: BecomeSpec | undefined, taskTimeoutMs: number): Promise<RemoteShell> {
    const key = shellKey(become, this.spec.user);
    let p = conn.shells.get(key);
    if (p) return p;
    const target = conn.target;
    const openOpts: ShellOpenOptions = {
      // Starting the shell is part of the task that needs it, so the task's timeout bounds it: a host busy with
      // hundreds of logins (or a slow sudo) may take longer than the connect timeout to fork a session.
      startTimeoutMs: Math.max(this.spec.connectTimeoutMs, 10_000, Number.isFinite(taskTimeoutMs) ? taskTimeoutMs : 0),
      killGraceMs: this.opts.killGraceMs ?? 5_000,
    };
    if (key !== '') {
      openOpts.becomeUser = become!.user;
      if (become!.password !== undefined) openOpts.becomePassword = become!.password;
    }
    p = RemoteShell.open((cmd, cb) => target.exec(cmd, cb as (err: Error | undefined, ch: ClientChannel) => void), openOpts);
    conn.shells.set(key, p);
    const opened = p;
    opened.catch(() => {
      if (conn.shells.get(key) === opened) conn.shells.delete(key);
    });
    return p;
  }

  async put(content: string | Buffer, remotePath: string, opts?: { mode?: number; become?: BecomeSpec; timeoutMs?: number }): Promise<void> {
    const mode = (opts?.mode ?? 0o600).toString(8);
    const dst = shQuote(remotePath);
    // Write a temp file next to the target and rename it: readers never see half a file.
    const script = [
      `d=$(dirname ${dst}) || exit 1`,
      `t="$d/.nodesweep-put.$$"`,
      `umask 077`,
      `cat > "$t" && chmod ${mode} "$t" && mv -f "$t" ${dst} || { rc=$?; rm -f "$t"; exit $rc; }`,
    ].join('\n');
    const execOpts: Omit<ExecOptions, 'stdin'> & { stdin: Buffer } = {
      timeoutMs: opts?.timeoutMs ?? 60_000,
      stdin: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
    };
    if (opts?.become) execOpts.become = opts.become;
    const r = await this.execRaw(script, execOpts);
    if (r.rc !== 0) {
      const who = opts?.become ? ` as ${opts.become.user}` : '';
      throw new Error(`writing ${remotePath} on ${this.host}${who} failed (rc=${r.rc}): ${r.stderr.trim()}`);
    }
  }

  async close(opts: CloseOptions = {}): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.reconnectsLeft = 1;
    const pending = this.connecting;
    if (pending) {
      const c = await pending.catch(() => undefined);
      if (c) closeConn(c);
    }
    if (!conn) return;
    const shells = (await Promise.all([...conn.shells.values()].map((sp) => sp.catch(() => undefined)))).filter((s) => s !== undefined);
    for (const s of shells) s.end();
    // The shells exit on their own (killing what still runs, removing their temp dirs) before the connection goes.
    const graceMs = opts.graceMs ?? this.opts.killGraceMs ?? 5_000;
    await Promise.all(shells.map((s) => s.exited(graceMs)));
    closeConn(conn);
  }

  private target(): string {
    return `${this.spec.hostname}:${this.spec.port}`;
  }

  private debug(msg: string): void {
    this.opts.debug?.(`${this.host}: ${msg}`);
  }

  // ---- connecting ----------------------------------------------------------------------------------------

  private async open(): Promise<Conn> {
    this.keys ??= this.loadKeys();
    const { keys, notes } = await this.keys;
    const hops: HopSpec[] = [...this.spec.jumps, this.spec];
    const clients: ClientType[] = [];
    try {
      for (let i = 0; i < hops.length; i++) {
        const hop = hops[i]!;
        const isTarget = i === hops.length - 1;
        const via = i > 0 ? `${hops[i - 1]!.hostname}:${hops[i - 1]!.port}` : undefined;
        const sock = i > 0 ? await this.forward(clients[i - 1]!, hop, via!) : undefined;
        clients.push(await this.connectHop(hop, sock, isTarget, via, keys, notes));
      }
    } catch (e) {
      for (const c of clients.reverse()) c.end();
      throw e;
    }
    const conn: Conn = { clients, target: clients[clients.length - 1]!, closed: false, shells: new Map() };
    for (const c of clients) {
      c.on('error', (err: Error) => this.debug(`connection error: ${err.message}`));
      c.on('close', () => {
        if (!conn.closed) this.debug('connection closed');
        conn.closed = true;
        for (const sp of conn.shells.values()) sp.then((s) => s.destroy('connection closed'), () => undefined);
        // A bastion dropping takes every later hop with it.
        for (const other of conn.clients) if (other !== c) other.end();
      });
    }
    return conn;
  }

  private forward(via: ClientType, hop: HopSpec, viaLabel: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ConnectError(this.host, `bastion ${viaLabel} did not open a channel to ${hop.hostname}:${hop.port} within ${fmtSeconds(this.spec.connectTimeoutMs)}`)),
        this.spec.connectTimeoutMs,
      );
      via.forwardOut('127.0.0.1', 0, hop.hostname, hop.port, (err, stream) => {
        clearTimeout(timer);
        if (err) reject(new ConnectError(this.host, `bastion ${viaLabel} could not connect to ${hop.hostname}:${hop.port}: ${err.message}`, { cause: err }));
        else resolve(stream);
      });
    });
  }

  private async connectHop(hop: HopSpec, sock: Duplex | undefined, isTarget: boolean, via: string | undefined, allKeys: LoadedKey[], keyNotes: string[]): Promise<ClientType> {
    const label = `${hop.hostname}:${hop.port}${via ? ` (via ${via})` : ''}`;
    let knownTypes: string[] = [];
    if (this.spec.hostKeyChecking !== 'off') {
      for (const f of [this.knownHosts, ...this.globalKnownHosts]) knownTypes.push(...knownKeyTypesFor(await f.read(), hop.hostname, hop.port));
    }
    const preferred = knownTypes.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t])).filter((a) => HOST_KEY_ALGOS.includes(a));
    const hostKeyAlgos = [...new Set([...preferred, ...HOST_KEY_ALGOS])];

    const hopKeys = hop.identities.map((id) => allKeys.find((k) => k.path === id.path)).filter((k): k is LoadedKey => k !== undefined);
    const attempts: { method: AuthenticationType; describe: string; auth: AnyAuthMethod }[] = [];
    const agentSock = this.env['SSH_AUTH_SOCK'];
    if (agentSock) attempts.push({ method: 'publickey', describe: 'ssh-agent', auth: { type: 'agent', username: hop.user, agent: agentSock } });
    for (const k of hopKeys) {
      const auth: AnyAuthMethod = { type: 'publickey', username: hop.user, key: k.data };
      if (k.passphrase !== undefined) auth.passphrase = k.passphrase;
      attempts.push({ method: 'publickey', describe: `key ${k.path}`, auth });
    }
    if (isTarget && this.spec.password !== undefined) {
      attempts.push({ method: 'password', describe: 'password', auth: { type: 'password', username: hop.user, password: this.spec.password } });
    }
    if (attempts.length === 0) {
      const looked = hop.identities.map((i) => i.path).join(', ');
      throw new AuthError(this.host, `no way to authenticate as ${hop.user}@${label}: no ssh-agent (SSH_AUTH_SOCK), no password, no usable key (looked for ${looked})${keyNotes.length ? `; ${keyNotes.join('; ')}` : ''}`);
    }

    const client = new Client();
    return new Promise<ClientType>((resolve, reject) => {
      let settled = false;
      let hostKeyError: HostKeyError | undefined;
      const tried: string[] = [];
      let serverMethods: string[] | undefined;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) {
          client.end();
          reject(err);
        } else resolve(client);
      };
      client.once('ready', () => done());
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        if (hostKeyError) return done(hostKeyError);
        done(this.mapError(err, hop, label, tried, serverMethods, keyNotes));
      });
      client.once('close', () => done(hostKeyError ?? new ConnectError(this.host, `connection to ${label} closed during the SSH handshake`)));

      let next = 0;
      const authHandler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, cb: NextAuthHandler) => {
        if (methodsLeft) serverMethods = methodsLeft;
        while (next < attempts.length) {
          const a = attempts[next++]!;
          if (methodsLeft && !methodsLeft.includes(a.method)) continue;
          tried.push(a.describe);
          cb(a.auth);
          return;
        }
        (cb as unknown as (x: false) => void)(false);
      };

      const cfg: ConnectConfig = {
        host: hop.hostname,
        port: hop.port,
        username: hop.user,
        readyTimeout: this.spec.connectTimeoutMs,
        keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: this.opts.keepaliveCountMax ?? 3,
        algorithms: { serverHostKey: hostKeyAlgos as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        authHandler: authHandler as ConnectConfig['authHandler'],
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          this.verifyHostKey(hop, key).then(
            () => verify(true),
            (e: unknown) => {
              hostKeyError = e instanceof HostKeyError ? e : new HostKeyError(this.host, `checking the host key of ${label}: ${errorMessage(e)}`, { cause: e });
              verify(false);
            },
          );
        },
      };
      if (sock) cfg.sock = sock as ConnectConfig['sock'];
      try {
        client.connect(cfg);
        // Small request/response packets: Nagle + delayed ACK would add ~40 ms to every task.
        client.setNoDelay(true);
      } catch (e) {
        done(new ConnectError(this.host, `cannot connect to ${label}: ${errorMessage(e)}`, { cause: e }));
      }
    });
  }

  private mapError(err: Error & { level?: string; code?: string }, hop: HopSpec, label: string, tried: string[], serverMethods: string[] | undefined, keyNotes: string[]): ConnectError {
    switch (err.level) {
      case 'client-timeout':
        return new ConnectError(this.host, `connect timeout after ${fmtSeconds(this.spec.connectTimeoutMs)} (${label})`, { cause: err, code: 'CONNECT_TIMEOUT' });
      case 'client-authentication': {
        const server = serverMethods ? `; server accepts: ${serverMethods.join(', ')}` : '';
        const notes = keyNotes.length ? `; ${keyNotes.join('; ')}` : '';
        return new AuthError(this.host, `authentication as ${hop.user}@${label} failed (tried: ${tried.join(', ') || 'nothing'}${server})${notes}`, { cause: err });
      }
      case 'client-socket': {
        const code = err.code ?? '';
        if (code === 'ECONNREFUSED') return new ConnectError(this.host, `connection to ${label} refused (ECONNREFUSED)`, { cause: err, code: 'CONNECT_REFUSED' });
        if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConnectError(this.host, `cannot resolve ${hop.hostname} (${code})`, { cause: err });
        return new ConnectError(this.host, `connection to ${label} failed: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, { cause: err });
      }
      case 'handshake':
      case 'protocol':
        return new ConnectError(this.host, `SSH handshake with ${label} failed: ${err.message}`, { cause: err });
      default:
        return new ConnectError(this.host, `connection to ${label} failed: ${err.message}`, { cause: err });
    }
  }

  private async verifyHostKey(hop: HopSpec, blob: Buffer): Promise<void> {
    const mode = this.spec.hostKeyChecking;
    if (mode === 'off') return;
    const type = keyTypeOfBlob(blob);
    const key = { type, blob };
    let res = await this.knownHosts.lookup(hop.hostname, hop.port, key);
    let file = this.knownHosts.path;
    for (const g of this.globalKnownHosts) {
      if (res.status !== 'unknown') break;
      const gres = await g.lookup(hop.hostname, hop.port, key);
      if (gres.status !== 'unknown') {
        res = gres;
        file = g.path;
      }
    }
    if (res.status === 'unknown' && mode === 'accept-new') {
      res = await this.knownHosts.addIfUnknown(hop.hostname, hop.port, key);
      if (res.status === 'unknown') {
        this.debug(`added ${hostKeyName(hop.hostname, hop.port)} ${type} ${fingerprintSha256(blob)} to ${this.knownHosts.path}`);
        return;
      }
    }
    this.judgeHostKey(res, file, hop, type, blob);
  }

  private judgeHostKey(res: LookupResult, file: string, hop: HopSpec, type: string, blob: Buffer): void {
    const name = hostKeyName(hop.hostname, hop.port);
    const offered = `${type} ${fingerprintSha256(blob)}`;
    switch (res.status) {
      case 'match':
        return;
      case 'mismatch':
        throw new HostKeyError(
          this.host,
          `HOST KEY MISMATCH for ${name}: the server offered ${offered}, but known_hosts ${file}:${res.line} has ${res.knownKeyType} ${res.knownFingerprint}. ` +
            `Someone may be intercepting the connection, or the host was reinstalled; if so, remove the old entry (ssh-keygen -R '${name}' -f ${file})`,
        );
      case 'revoked':
        throw new HostKeyError(this.host, `the host key of ${name} (${offered}) is marked @revoked in known_hosts ${file}:${res.line}; refusing to connect`);
      case 'cert-authority':
        throw new HostKeyError(
          this.host,
          `known_hosts ${file}:${res.line} is a @cert-authority entry for ${name}; nodesweep does not check host certificates: add the host's own key (${offered}) to ${file}`,
        );
      case 'unknown': {
        const other = res.knownKeyTypes.length ? ` (known_hosts only has ${res.knownKeyTypes.join(', ')} keys for it)` : '';
        throw new HostKeyError(
          this.host,
          `host key for ${name} is not in known_hosts ${file}${other}; the server offered ${offered}. ` +
            `Add it after checking the fingerprint (ssh-keyscan -p ${hop.port} ${hop.hostname} >> ${file}), or use host key checking accept-new`,
        );
      }
    }
  }

  /** Read every key file once; encrypted keys get NODESWEEP_KEY_PASSPHRASE or the passphrase callback. */
  private async loadKeys(): Promise<{ keys: LoadedKey[]; notes: string[] }> {
    const keys: LoadedKey[] = [];
    const notes: string[] = [];
    const ids = new Map<string, boolean>();
    for (const hop of [this.spec, ...this.spec.jumps]) for (const id of hop.identities) ids.set(id.path, (ids.get(id.path) ?? false) || id.required);
    for (const [path, required] of ids) {
      let data: Buffer;
      try {
        data = await (this.opts.readKeyFile ?? readFile)(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (required) throw new AuthError(this.host, `private key file ${path} cannot be read (${code ?? errorMessage(e)})`, { cause: e });
        continue;
      }
      let parsed = utils.parseKey(data);
      if (!(parsed instanceof Error)) {
        keys.push({ path, data });
        continue;
      }
      if (!/passphrase|encrypted/i.test(parsed.message)) {
        if (required) throw new AuthError(this.host, `private key file ${path} is not a usable key: ${parsed.message}`);
        notes.push(`skipped ${path}: ${parsed.message}`);
        continue;
      }
      const passphrase = this.env['NODESWEEP_KEY_PASSPHRASE'] ?? (await this.opts.passphrase?.(path));
      if (passphrase === undefined) {
        notes.push(`skipped encrypted key ${path}: no passphrase (set NODESWEEP_KEY_PASSPHRASE)`);
        continue;
      }
      parsed = utils.parseKey(data, passphrase);
      if (parsed instanceof Error) throw new AuthError(this.host, `wrong passphrase for private key ${path}`);
      keys.push({ path, data, passphrase });
    }
    return { keys, notes };
  }

  /** Whether a connection has ever been established (for diagnostics). */
  get connected(): boolean {
    return this.everConnected && !!this.conn && !this.conn.closed;
  }
}

function shellKey(become: BecomeSpec | undefined, loginUser: string): string {
  if (!become || become.user === loginUser) return '';
  return `become:${become.user}`;
}

function closeConn(conn: Conn): void {
  conn.closed = true;
  for (const sp of conn.shells.values()) sp.then((s) => s.end(), () => undefined);
  for (const c of [...conn.clients].reverse()) {
    try {
      c.end();
    } catch {
      /* already closed */
    }
  }
}

function fmtSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
