/**
 * The lab's SSH server: ssh2's own Server on a loopback address, so a lab needs no system sshd. Key auth only
 * (one authorized key, one user); each session's `exec` (and `shell`, for a human with `ssh -i`) runs in a local
 * `/bin/sh` with the node's environment plus the session's `env` requests. That is all nodesweep's SshTransport
 * asks for: an exec channel running `sh` (or `sudo ... sh -c ...`), fed framed scripts on stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session } from 'ssh2';

const { Server, utils } = ssh2;

/**
 * An ed25519 key pair in OpenSSH format that ssh2 can read back. ssh2's own generator writes a key its parser
 * rejects ("Malformed OpenSSH private key") about once in 250 tries, so each key is parsed before it is used.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const k = utils.generateKeyPairSync('ed25519', comment !== undefined ? { comment } : {});
    if (!(utils.parseKey(k.private) instanceof Error)) return k;
    if (attempt > 20) throw new Error('could not generate an ed25519 key that ssh2 can parse');
  }
}

export interface LabSshServerOptions {
  /** Loopback address to listen on (127.x.y.z). */
  host: string;
  /** 0 picks a free port. */
  port?: number;
  /** Host private key (OpenSSH format). */
  hostKey: string;
  /** The one public key allowed to log in (OpenSSH `ssh-ed25519 AAAA...` line). */
  authorizedKey: string;
  /** The one user allowed to log in. */
  user: string;
  /** Environment of every command (PATH with the node's stand-ins first, HOME...). */
  env: Record<string, string>;
  cwd: string;
  /** One line per connection, auth decision and command (for the lab's log). */
  log?: (line: string) => void;
}

export interface LabSshServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startLabSshServer(o: LabSshServerOptions): Promise<LabSshServer> {
  const allowed = utils.parseKey(o.authorizedKey);
  if (allowed instanceof Error) throw new Error(`lab: bad authorized key: ${allowed.message}`);
  const allowedBlob = allowed.getPublicSSH();
  const log = o.log ?? (() => undefined);
  const children = new Set<ChildProcess>();
  const conns = new Set<Connection>();

  const onAuth = (ctx: AuthContext) => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const ok = ctx.username === o.user && ctx.key.algo === allowed.type && sameBytes(ctx.key.data, allowedBlob);
    if (!ok) {
      log(`auth refused: user ${ctx.username}, key ${ctx.key.algo}`);
      return ctx.reject(['publickey']);
    }
    // No signature yet: the client only asks whether this key would do.
    if (!ctx.signature) return ctx.accept();
    if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
    log(`auth refused: bad signature for ${ctx.username}`);
    ctx.reject(['publickey']);
  };

  const run = (stream: ServerChannel, command: string | undefined, env: Record<string, string>) => {
    const args = command === undefined ? ['-i'] : ['-c', command];
    log(command === undefined ? 'shell' : `exec ${command.length > 200 ? `${command.slice(0, 200)}...` : command}`);
    // Own process group: a closed channel hangs up the whole command, not just its sh.
    const child = spawn('/bin/sh', args, { cwd: o.cwd, env: { ...o.env, ...env }, stdio: 'pipe', detached: true });
    children.add(child);
    child.on('error', (e) => {
      stream.stderr.write(`lab: cannot run /bin/sh: ${e.message}\n`);
    });
    child.stdin.on('error', () => undefined);
    stream.on('data', (d: Buffer) => child.stdin.write(d));
    stream.on('end', () => child.stdin.end());
    child.stdout.on('data', (d: Buffer) => stream.write(d));
    child.stderr.on('data', (d: Buffer) => stream.stderr.write(d));
    let exited = false;
    child.on('close', (code, signal) => {
      exited = true;
      children.delete(child);
      try {
        if (signal) stream.exit(signal.replace(/^SIG/, ''), false, '');
        else stream.exit(code ?? 255);
        stream.end();
      } catch {
        /* the channel is already gone */
      }
    });
    stream.on('close', () => {
      // A command still running a moment after its channel closed is hung up (its whole process group). Not at
      // once: a shell that just read EOF is running its EXIT trap (nodesweep's removes its temp dir), and a
      // hangup would kill that cleanup halfway, as OpenSSH's sshd (which sends none without a terminal) does not.
      const t = setTimeout(() => {
        if (!exited && child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGHUP');
          } catch {
            /* already gone */
          }
        }
      }, 1000);
      t.unref();
      child.once('close', () => clearTimeout(t));
    });
  };

  const onSession = (session: Session) => {
    const env: Record<string, string> = {};
    session.on('env', (accept, _reject, info) => {
      env[info.key] = info.val;
      accept?.();
    });
    session.on('pty', (accept) => accept?.()); // accepted, no terminal: commands see pipes
    session.on('window-change', (accept) => accept?.());
    session.on('exec', (accept, _reject, info) => run(accept(), info.command, env));
    session.on('shell', (accept) => run(accept(), undefined, env));
  };

  const server = new Server({ hostKeys: [o.hostKey], ident: 'nodesweep-lab' }, (client) => {
    conns.add(client);
    client.on('authentication', onAuth);
    client.on('ready', () => client.on('session', (accept) => onSession(accept())));
    client.on('error', (e: Error) => log(`connection error: ${e.message}`));
    client.on('close', () => conns.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    host: o.host,
    port,
    async close() {
      // TERM first: the sessions' shells run their EXIT traps (nodesweep's remote shell removes its temp dir);
      // whatever still runs after a second is killed.
      const signalAll = (sig: NodeJS.Signals) => {
        for (const c of children) if (c.pid !== undefined) {
          try {
            process.kill(-c.pid, sig);
          } catch {
            /* gone */
          }
        }
      };
      signalAll('SIGTERM');
      const deadline = Date.now() + 1000;
      while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      signalAll('SIGKILL');
      for (const c of conns) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
