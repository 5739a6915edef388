/**
 * One long-lived remote `sh` per host and per become user, fed framed scripts over its stdin, so that a task
 * on an open connection costs one round trip (no channel open, no sudo, no login shell per task).
 *
 * Protocol (all lines the shell prints start with a random per-shell token K):
 *   client -> shell : here-doc writes the script (and base64 stdin) into a private mktemp dir, then `ns_run ID IN`
 *   shell           : runs `setsid sh ID.s <IN >ID.o 2>ID.e` in the background (own process group), and waits
 *                     for one control line on its stdin while the task runs
 *   task done       : the job's wrapper prints `K R ID rc outlen errlen\n` + stdout bytes + stderr bytes
 *   client -> shell : `done` (sent with the next script, no extra round trip)  |  `kill` on timeout/abort:
 *                     the shell kills the task's process group, waits, and prints `K K ID` after the R frame.
 * Output travels length-delimited, so anything (binary, no newline, marker-like text, 10 MB) passes through.
 * The task's stdin is never the shell's stdin, so commands that read stdin cannot eat the protocol.
 */
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { shQuote } from './types.js';

export type Frame =
  | { kind: 'up' }
  | { kind: 'ready' }
  | { kind: 'result'; id: number; rc: number; stdout: Buffer; stderr: Buffer }
  | { kind: 'killed'; id: number };

/** Splits the shell's stdout into frames; bytes outside frames (e.g. from a chatty .bashrc) go to onNoise. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private len = 0;
  private body: { id: number; rc: number; outLen: number; errLen: number } | undefined;

  constructor(
    private readonly token: string,
    private readonly onFrame: (f: Frame) => void,
    private readonly onNoise: (b: Buffer) => void = () => undefined,
  ) {}

  push(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.len += data.length;
    this.drain();
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.len);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.len = rest.length;
    return head;
  }

  private drain(): void {
    for (;;) {
      if (this.body) {
        const need = this.body.outLen + this.body.errLen;
        if (this.len < need) return; // wait for the whole body: one concat, no quadratic copying
        const b = this.body;
        this.body = undefined;
        const buf = Buffer.from(this.take(need));
        this.onFrame({ kind: 'result', id: b.id, rc: b.rc, stdout: buf.subarray(0, b.outLen), stderr: buf.subarray(b.outLen) });
        continue;
      }
      if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.len)];
      const buf = this.chunks[0];
      if (!buf) return;
      const nl = buf.indexOf(0x0a);
      if (nl < 0) return;
      const lineBuf = this.take(nl + 1).subarray(0, nl);
      const line = lineBuf.toString('latin1');
      const at = line.indexOf(`${this.token} `);
      if (at < 0) {
        this.onNoise(lineBuf);
        continue;
      }
      if (at > 0) this.onNoise(lineBuf.subarray(0, at));
      const parts = line.slice(at + this.token.length + 1).split(' ');
      const nums = parts.slice(1).map(Number);
      if (parts[0] === 'UP') this.onFrame({ kind: 'up' });
      else if (parts[0] === 'READY') this.onFrame({ kind: 'ready' });
      else if (parts[0] === 'K' && nums.length === 1) this.onFrame({ kind: 'killed', id: nums[0]! });
      else if (parts[0] === 'R' && nums.length === 4 && nums.every((n) => Number.isInteger(n) && n >= 0)) {
        this.body = { id: nums[0]!, rc: nums[1]!, outLen: nums[2]!, errLen: nums[3]! };
      } else this.onNoise(lineBuf);
    }
  }
}

/**
 * The shell-side half of the protocol, sent once when the shell starts. Per exec it forks about six processes;
 * the result frame is written with one `cat` so sshd (Nagle on, no pty) sends it as one segment.
 */
export function preamble(token: string): string {
  return `NS_K=${token}
NS_T=$(mktemp -d "\${TMPDIR:-/tmp}/nodesweep.XXXXXXXXXX") || exit 97
trap 'rm -rf "$NS_T"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
NS_SETSID=
command -v setsid >/dev/null 2>&1 && NS_SETSID=setsid
ns_run() {
  NS_I=$1 NS_IN=$2
  shift 2
  : >"$NS_T/p"
  (
    if [ $# -gt 0 ]; then
      $NS_SETSID sh -c "$1" sh <"$NS_IN" >"$NS_T/o" 2>"$NS_T/e" &
    else
      $NS_SETSID sh "$NS_T/s" <"$NS_IN" >"$NS_T/o" 2>"$NS_T/e" &
    fi
    echo $! >"$NS_T/p"
    wait $!
    r=$?
    cd "$NS_T" || exit 1
    set -- $(wc -c o e)
    { printf '%s R %s %d %d %d\\n' "$NS_K" "$NS_I" "$r" "$1" "$3"; cat o e; } >f
    cat f
  ) &
  NS_W=$!
  IFS= read -r NS_C
  if [ "$NS_C" = kill ]; then
    while [ ! -s "$NS_T/p" ] && kill -0 "$NS_W" 2>/dev/null; do sleep 1; done
    NS_P=$(cat "$NS_T/p" 2>/dev/null)
    if [ -n "$NS_P" ]; then kill -9 -"$NS_P" 2>/dev/null || kill -9 "$NS_P" 2>/dev/null; fi
    wait "$NS_W"
    # New inodes for the next exec, in case something the task started still holds the old files open.
    rm -f "$NS_T/o" "$NS_T/e" "$NS_T/f"
    printf '%s K %s\\n' "$NS_K" "$NS_I"
  else
    wait "$NS_W"
  fi
}
printf '%s READY\\n' "$NS_K"
`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Scripts up to this size travel as one quoted argument (Linux caps one argument at 128 KiB). */
const INLINE_SCRIPT_MAX = 64 * 1024;

/**
 * The client->shell message for one exec. `delim` ends here-docs and must not occur as a line of the script
 * (it is random per shell).
 */
export function execMessage(id: number, delim: string, script: string, stdin: Buffer | undefined, env: Record<string, string> | undefined): string {
  let body = '';
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    body += `export ${k}=${shQuote(v)}\n`;
  }
  body += script.endsWith('\n') || script === '' ? script : `${script}\n`;
  let msg = '';
  let input = '/dev/null';
  if (stdin !== undefined) {
    const b64 = stdin.toString('base64').replace(/.{1,76}/g, '$&\n');
    msg += `base64 -d >"$NS_T/i" <<'${delim}'\n${b64}${delim}\n`;
    input = '"$NS_T/i"';
  }
  if (Buffer.byteLength(body) <= INLINE_SCRIPT_MAX) return `${msg}ns_run ${id} ${input} ${shQuote(body)}\n`;
  return `${msg}cat >"$NS_T/s" <<'${delim}'\n${body}${delim}\n` + `ns_run ${id} ${input}\n`;
}

export interface ShellResult {
  rc: number;
  stdout: Buffer;
  stderr: Buffer;
  /** Set when we killed the task. */
  killed?: 'timeout' | 'abort';
}

/** Why a shell could not start (sudo refused, no password, ...): a task failure, not an unreachable host. */
export class ShellStartError extends Error {}

/** The shell's channel closed while a command ran or before it started. */
export class ShellDiedError extends Error {
  constructor(
    message: string,
    /** False when the command was never sent, so running it elsewhere is safe. */
    readonly started: boolean,
  ) {
    super(message);
  }
}

export interface ShellOpenOptions {
  /** Run the shell as this user through sudo. */
  becomeUser?: string;
  becomePassword?: string;
  startTimeoutMs: number;
  /** How long to wait for the shell to confirm a kill before giving up on it. */
  killGraceMs: number;
}

type ExecFn = (command: string, cb: (err: Error | undefined, ch: ClientChannel) => void) => void;

export class RemoteShell {
  private readonly token = `NS${randomBytes(12).toString('hex')}`;
  private readonly reader: FrameReader;
  private channel!: ClientChannel;
  private onFrame: ((f: Frame) => void) | undefined;
  private onClose: ((why: string) => void) | undefined;
  private stderrTail = '';
  private nextId = 1;
  /** `done` for the previous exec, sent together with the next message (one packet, no extra round trip). */
  private pendingDone = false;
  private queue: Promise<unknown> = Promise.resolve();
  dead = false;
  private deathReason = '';

  private constructor(private readonly opts: ShellOpenOptions) {
    this.reader = new FrameReader(this.token, (f) => this.onFrame?.(f));
  }

  /** Open a channel running `sh` (through sudo when becoming) and wait until it answers. */
  static async open(exec: ExecFn, opts: ShellOpenOptions): Promise<RemoteShell> {
    const shell = new RemoteShell(opts);
    await shell.start(exec);
    return shell;
  }

  private async start(exec: ExecFn): Promise<void> {
    const o = this.opts;
    const prompt = `[sudo via nodesweep ${this.token}] password:`;
    let command = 'sh';
    if (o.becomeUser !== undefined) {
      const announce = shQuote(`printf '%s UP\\n' ${this.token}; exec sh`);
      const auth = o.becomePassword !== undefined ? `-S -p ${shQuote(prompt)}` : '-n';
      command = `sudo ${auth} -H -u ${shQuote(o.becomeUser)} -- sh -c ${announce}`;
    }
    this.channel = await new Promise<ClientChannel>((resolve, reject) => {
      exec(command, (err, ch) => (err ? reject(new ShellStartError(`cannot open a session channel: ${err.message}`)) : resolve(ch)));
    });
    const ch = this.channel;
    ch.on('data', (d: Buffer) => this.reader.push(d));
    ch.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4096);
    });
    ch.on('close', () => {
      this.dead = true;
      this.deathReason ||= this.stderrTail.trim();
      this.onClose?.(this.deathReason);
    });
    ch.on('error', () => undefined);

    await new Promise<void>((resolve, reject) => {
      let prompts = 0;
      const fail = (msg: string) => {
        cleanup();
        this.destroy(msg);
        reject(new ShellStartError(msg));
      };
      const timer = setTimeout(() => fail(`remote shell did not start within ${o.startTimeoutMs / 1000}s${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`), o.startTimeoutMs);
      const onStderr = () => {
        if (o.becomePassword === undefined) return;
        const seen = this.stderrTail.split(prompt).length - 1;
        if (seen > prompts) {
          prompts = seen;
          if (prompts > 1) fail(`sudo to ${o.becomeUser} rejected the become password`);
          else ch.write(`${o.becomePassword}\n`); // never logged
        }
      };
      ch.stderr.on('data', onStderr);
      const cleanup = () => {
        clearTimeout(timer);
        ch.stderr.off('data', onStderr);
        this.onFrame = undefined;
        this.onClose = undefined;
      };
      this.onClose = () => {
        cleanup();
        const why = this.stderrTail.replaceAll(prompt, '').trim();
        const who = o.becomeUser !== undefined ? `become (sudo -u ${o.becomeUser})` : 'remote shell';
        reject(new ShellStartError(`${who} failed${why ? `: ${why}` : ''}`));
      };
      this.onFrame = (f) => {
        if (f.kind === 'up') ch.write(preamble(this.token));
        else if (f.kind === 'ready') {
          cleanup();
          this.stderrTail = ''; // sudo's prompt and lecture are not the tasks' business
          resolve();
        }
      };
      if (o.becomeUser === undefined) ch.write(preamble(this.token));
    });
  }

  /** Run one script; execs on one shell run one at a time, in call order. */
  run(script: string, opts: { stdin?: Buffer; env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<ShellResult> {
    const p = this.queue.then(() => this.runNow(script, opts));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private runNow(script: string, opts: { stdin?: Buffer; env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<ShellResult> {
    if (this.dead) return Promise.reject(new ShellDiedError(`remote shell is gone${this.deathReason ? `: ${this.deathReason}` : ''}`, false));
    const id = this.nextId++;
    const msg = execMessage(id, `NS_END_${this.token}`, script, opts.stdin, opts.env);
    return new Promise<ShellResult>((resolve, reject) => {
      let killing: 'timeout' | 'abort' | undefined;
      let partial: ShellResult | undefined;
      let grace: NodeJS.Timeout | undefined;
      const finish = (r: ShellResult) => {
        clearTimeout(timer);
        clearTimeout(grace);
        opts.signal?.removeEventListener('abort', onAbort);
        this.onFrame = undefined;
        this.onClose = undefined;
        resolve(r);
      };
      const kill = (why: 'timeout' | 'abort') => {
        if (killing) return;
        killing = why;
        this.channel.write(this.takeDone() + 'kill\n');
        grace = setTimeout(() => {
          // The shell did not confirm: drop it; the next exec opens a fresh one.
          this.destroy(`remote shell did not confirm killing a command within ${this.opts.killGraceMs / 1000}s`);
          finish({ ...(partial ?? { rc: 137, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }), killed: why });
        }, this.opts.killGraceMs);
      };
      const onAbort = () => kill('abort');
      const timer = setTimeout(() => kill('timeout'), Math.max(0, opts.timeoutMs));
      this.onFrame = (f) => {
        if (f.kind === 'result' && f.id === id) {
          const r = { rc: f.rc, stdout: f.stdout, stderr: f.stderr };
          if (!killing) {
            this.pendingDone = true;
            finish(r);
          } else partial = r;
        } else if (f.kind === 'killed' && f.id === id) {
          finish({ ...(partial ?? { rc: 137, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }), killed: killing ?? 'timeout' });
        }
      };
      this.onClose = (why) => {
        clearTimeout(timer);
        clearTimeout(grace);
        opts.signal?.removeEventListener('abort', onAbort);
        this.onFrame = undefined;
        this.onClose = undefined;
        reject(new ShellDiedError(`remote shell exited while a command was running${why ? `: ${why}` : ''}`, true));
      };
      if (opts.signal?.aborted) {
        // Never started: report it as killed without touching the host.
        finish({ rc: 130, stdout: Buffer.alloc(0), stderr: Buffer.from('aborted before start\n'), killed: 'abort' });
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.channel.write(this.takeDone() + msg);
    });
  }

  private takeDone(): string {
    const d = this.pendingDone ? 'done\n' : '';
    this.pendingDone = false;
    return d;
  }

  /** End the shell: EOF makes it exit, and its EXIT trap removes its temp dir. */
  end(): void {
    if (this.dead) return;
    this.dead = true;
    try {
      if (this.pendingDone) this.channel.write(this.takeDone());
      this.channel.end();
    } catch {
      /* already closed */
    }
  }

  destroy(reason: string): void {
    this.deathReason ||= reason;
    this.dead = true;
    try {
      this.channel.close();
    } catch {
      /* already closed */
    }
  }
}
