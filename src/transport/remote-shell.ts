/**
 * One long-lived remote `sh` per host and per become user, fed framed scripts over its stdin, so that a task
 * on an open connection costs one round trip (no channel open, no sudo, no login shell per task).
 *
 * Protocol. Status lines the shell prints start with a random per-shell token K; each exec has its own random
 * nonce N that the task never sees (it lives only in the shell's memory), so output cannot forge it.
 *   start           : the preamble; without sudo the first exec is written right after it, not after READY
 *                     (the shell reads them in order; it dies before READY only if the exec never ran)
 *   client -> shell : `ns_run ID N IN 'script'` (big scripts and base64 stdin go through here-docs first)
 *   shell           : runs `setsid sh -c script <IN >o 2>e` in the background (own process group), then blocks
 *                     reading one control line from its stdin while the task runs
 *   task done       : a wrapper appends `\nN E\n` + stderr (if any) and `\nN R rc\n` to o and `cat`s it:
 *                     one write, so sshd (Nagle on, no pty) sends one segment: no 40 ms delayed-ACK stall
 *   client -> shell : `done` (sent together with the next exec, no extra round trip)  |  `kill` on timeout or
 *                     abort: the shell kills the task's process group and prints `K K ID` after the result.
 *   end             : `kill` first if an exec runs (never before READY), then EOF: the shell exits through its
 *                     EXIT trap (temp dir removed); the connection is dropped only once it has (bounded wait).
 * Output is never parsed line by line, so anything (binary, no newline, marker-like text, 10 MB) passes through.
 * The task's stdin is never the shell's stdin, so commands that read stdin cannot eat the protocol.
 * The common case costs three processes per exec: the wrapper subshell, setsid+sh, cat (exec'd by the wrapper).
 * /bin/sh by its path (as Ansible's `executable` default): no PATH search on every task.
 */
import { randomBytes } from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { shQuote } from './types.js';

export type Frame =
  | { kind: 'up' }
  | { kind: 'ready' }
  | { kind: 'result'; id: number; rc: number; stdout: Buffer; stderr: Buffer }
  | { kind: 'killed'; id: number };

/**
 * Splits the shell's stdout into frames. Outside an exec it reads status lines (`K UP`, `K READY`, `K K id`);
 * bytes that are not ours (e.g. from a chatty .bashrc) go to onNoise. During an exec (after expectResult) it
 * collects bytes until the `\nN R rc\n` trailer, searching only the newly arrived bytes (no quadratic scans).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private len = 0;
  private pending: { id: number; sepE: Buffer; sepR: Buffer; rAt?: number } | undefined;
  /** A result expected once the shell has said READY (its first exec, sent together with the preamble). */
  private afterReady: { id: number; nonce: string } | undefined;

  constructor(
    private readonly token: string,
    private readonly onFrame: (f: Frame) => void,
    private readonly onNoise: (b: Buffer) => void = () => undefined,
  ) {}

  /** Like expectResult, but only after the shell's READY line: until then its bytes are status lines. */
  expectResultAfterReady(id: number, nonce: string): void {
    this.afterReady = { id, nonce };
    this.drain();
  }

  /** The next bytes (after any complete status lines) are the output of exec `id` with nonce `nonce`. */
  expectResult(id: number, nonce: string): void {
    this.pending = { id, sepE: Buffer.from(`\n${nonce} E\n`), sepR: Buffer.from(`\n${nonce} R `) };
    // Bytes already buffered could hold a whole result (a caller that pushes first): scan them.
    if (this.len > 0) {
      const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.len);
      this.chunks = [];
      this.len = 0;
      this.push(data);
    }
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    const p = this.pending;
    if (p && p.rAt === undefined) {
      // Search the new bytes plus enough of the old ones to catch a separator split across chunks.
      const keep = Math.min(this.len, p.sepR.length - 1);
      const window = keep > 0 ? Buffer.concat([this.tail(keep), data]) : data;
      const i = window.indexOf(p.sepR);
      if (i >= 0) p.rAt = this.len - keep + i;
    }
    this.chunks.push(data);
    this.len += data.length;
    this.drain();
  }

  private tail(n: number): Buffer {
    const out: Buffer[] = [];
    let need = n;
    for (let i = this.chunks.length - 1; i >= 0 && need > 0; i--) {
      const c = this.chunks[i]!;
      out.unshift(c.subarray(Math.max(0, c.length - need)));
      need -= c.length;
    }
    return Buffer.concat(out);
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
      const p = this.pending;
      if (p) {
        if (p.rAt === undefined) return;
        const all = this.take(this.len);
        const rcStart = p.rAt + p.sepR.length;
        const nl = all.indexOf(0x0a, rcStart);
        if (nl < 0) {
          this.chunks = [all];
          this.len = all.length;
          return;
        }
        this.pending = undefined;
        const rc = Number(all.subarray(rcStart, nl).toString('latin1'));
        const body = Buffer.from(all.subarray(0, p.rAt));
        const rest = all.subarray(nl + 1);
        this.chunks = rest.length ? [rest] : [];
        this.len = rest.length;
        const e = body.indexOf(p.sepE);
        const stdout = e >= 0 ? body.subarray(0, e) : body;
        const stderr = e >= 0 ? body.subarray(e + p.sepE.length) : Buffer.alloc(0);
        this.onFrame({ kind: 'result', id: p.id, rc: Number.isInteger(rc) ? rc : 255, stdout, stderr });
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
      if (parts[0] === 'UP') this.onFrame({ kind: 'up' });
      else if (parts[0] === 'READY') {
        this.onFrame({ kind: 'ready' });
        const next = this.afterReady;
        this.afterReady = undefined;
        // What follows READY is that exec's output: rescan the buffered bytes as such.
        if (next) this.expectResult(next.id, next.nonce);
      }
      else if (parts[0] === 'K' && parts.length === 2 && /^\d+$/.test(parts[1]!)) this.onFrame({ kind: 'killed', id: Number(parts[1]) });
      else this.onNoise(lineBuf);
    }
  }
}

/**
 * The shell's temp dir is `nodesweep.PID.START.XXXXXXXXXX`: the shell's PID and its start time (field 22 of
 * /proc/PID/stat, clock ticks since boot), so any later shell can tell whether its owner still lives; the name is
 * made by mktemp in one step, so there is no moment when a live shell's dir lacks its marker. Without /proc the
 * name has no marker (nodesweep.XXXXXXXXXX) and no dir is ever judged dead.
 *
 * A shell removes its dir on exit (EXIT trap; HUP, TERM and PIPE, e.g. a write to a connection already gone,
 * exit through it). One killed outright (SIGKILL, OOM) cannot: the next shell of the same user on the host removes
 * such dirs when it starts, only those owned by its user, never one whose PID runs with the same start time
 * (a zombie is dead). Builtins only (glob, test, read), so a start forks nothing more unless there is a dir to remove.
 */
export function preamble(token: string): string {
  return `NS_K=${token}
NS_D=\${TMPDIR:-/tmp}
NS_M=
if read -r NS_L 2>/dev/null </proc/$$/stat; then
  set -- \${NS_L##*') '}
  [ $# -ge 20 ] && NS_M=$$.\${20}.
fi
NS_T=$(mktemp -d "$NS_D/nodesweep.\${NS_M}XXXXXXXXXX") || exit 97
trap 'rm -rf "$NS_T"' EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM
trap 'exit 141' PIPE
if [ -n "$NS_M" ]; then
  for NS_O in "$NS_D"/nodesweep.*.*.*; do
    [ -d "$NS_O" ] && [ ! -L "$NS_O" ] && [ -O "$NS_O" ] || continue
    NS_L=\${NS_O##*/nodesweep.}
    NS_P=\${NS_L%%.*}
    NS_L=\${NS_L#*.}
    NS_S=\${NS_L%%.*}
    case "$NS_P:$NS_S" in :*|*:|*[!0-9:]*) continue ;; esac
    NS_L=
    read -r NS_L 2>/dev/null </proc/"$NS_P"/stat
    if [ -n "$NS_L" ]; then
      set -- \${NS_L##*') '}
      [ "$1" != Z ] && [ "\${20}" = "$NS_S" ] && continue
    fi
    rm -rf "$NS_O"
  done
fi
NS_SETSID=
command -v setsid >/dev/null 2>&1 && NS_SETSID=setsid
ns_run() {
  NS_I=$1 NS_N=$2 NS_IN=$3
  shift 3
  : >"$NS_T/p"
  (
    if [ $# -gt 0 ]; then
      $NS_SETSID /bin/sh -c "$1" sh <"$NS_IN" >"$NS_T/o" 2>"$NS_T/e" &
    else
      $NS_SETSID /bin/sh "$NS_T/s" <"$NS_IN" >"$NS_T/o" 2>"$NS_T/e" &
    fi
    echo $! >"$NS_T/p"
    wait $!
    r=$?
    if [ -s "$NS_T/e" ]; then
      printf '\\n%s E\\n' "$NS_N" >>"$NS_T/o"
      cat "$NS_T/e" >>"$NS_T/o"
    fi
    printf '\\n%s R %d\\n' "$NS_N" "$r" >>"$NS_T/o"
    exec cat "$NS_T/o"
  ) &
  NS_W=$!
  IFS= read -r NS_C
  if [ "$NS_C" = kill ]; then
    while [ ! -s "$NS_T/p" ] && kill -0 "$NS_W" 2>/dev/null; do sleep 1; done
    NS_P=$(cat "$NS_T/p" 2>/dev/null)
    if [ -n "$NS_P" ]; then kill -9 -"$NS_P" 2>/dev/null || kill -9 "$NS_P" 2>/dev/null; fi
    wait "$NS_W"
    # New inodes for the next exec, in case something the task started still holds the old files open.
    rm -f "$NS_T/o" "$NS_T/e"
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
export function execMessage(id: number, nonce: string, delim: string, script: string, stdin: Buffer | undefined, env: Record<string, string> | undefined): string {
  let body = '';
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    body += `export ${k}=${shQuote(v)}\n`;
  }
  body += script.endsWith('\n') || script === '' ? script : `${script}\n`;
  // Here-docs write stdin/big scripts to files first; if that fails (no base64, disk full) the exec must fail
  // rather than run with empty input or a stale script.
  let prep = '';
  let input = '/dev/null';
  if (stdin !== undefined) {
    const b64 = stdin.toString('base64').replace(/.{1,76}/g, '$&\n');
    prep += `base64 -d >"$NS_T/i" <<'${delim}' || NS_OK=\n${b64}${delim}\n`;
    input = '"$NS_T/i"';
  }
  let run: string;
  if (Buffer.byteLength(body) <= INLINE_SCRIPT_MAX) run = `ns_run ${id} ${nonce} ${input} ${shQuote(body)}`;
  else {
    prep += `cat >"$NS_T/s" <<'${delim}' || NS_OK=\n${body}${delim}\n`;
    run = `ns_run ${id} ${nonce} ${input}`;
  }
  if (!prep) return `${run}\n`;
  const fail = `ns_run ${id} ${nonce} /dev/null ${shQuote('echo "nodesweep: could not stage the command on the host (base64 -d missing or disk full?)" >&2; exit 125')}`;
  return `NS_OK=1\n${prep}if [ -n "$NS_OK" ]; then ${run}; else ${fail}; fi\n`;
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
  /** The shell printed READY (its preamble ran): execs written before then wait for it on the host. */
  private ready = false;
  /** Set when a pipelined start timed out (the shell is then destroyed). */
  private startFailure: string | undefined;
  /** Kills the exec in flight, then calls `then` (at once if the kill went out already, else once it does). */
  private killRunning: ((then: () => void) => void) | undefined;
  /** Resolves once the shell's channel closed (the shell exited, its EXIT trap ran, or the channel was dropped). */
  private closedP: Promise<void> = Promise.resolve();

  private constructor(private readonly opts: ShellOpenOptions) {
    this.reader = new FrameReader(this.token, (f) => {
      if (f.kind === 'ready' && !this.ready) {
        this.ready = true;
        this.whenReady?.();
      }
      this.onFrame?.(f);
    });
  }

  /**
   * Open a channel running `sh` (through sudo when becoming). With sudo, wait until the shell answers (there may
   * be a password to give). Without, return once the preamble is written: the first exec follows it at once, in
   * the same round trip, and a shell that dies before its READY fails that exec with ShellStartError.
   */
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
      // No quotes inside: the login shell that parses this may not be POSIX (csh, fish).
      const announce = `'echo ${this.token} UP; exec sh'`;
      const auth = o.becomePassword !== undefined ? `-S -p ${shQuote(prompt)}` : '-n';
      command = `sudo ${auth} -H -u ${shQuote(o.becomeUser)} -- sh -c ${announce}`;
    }
    this.channel = await new Promise<ClientChannel>((resolve, reject) => {
      exec(command, (err, ch) => (err ? reject(new ShellStartError(`cannot open a session channel: ${err.message}`)) : resolve(ch)));
    });
    const ch = this.channel;
    this.closedP = new Promise((resolve) => ch.once('close', () => resolve()));
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
    if (o.becomeUser === undefined) {
      this.startPipelined();
      return;
    }

    await new Promise<void>((resolve, reject) => {
      let prompts = 0;
      const fail = (msg: string) => {
        cleanup();
        this.destroy(msg);
        reject(new ShellStartError(msg));
      };
      const timer = setTimeout(() => fail(this.startTimeoutMessage()), o.startTimeoutMs);
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
    });
  }

  /** No sudo: write the preamble and watch for READY (or the shell's death) without waiting for it. */
  private startPipelined(): void {
    const timer = setTimeout(() => {
      if (this.ready || this.dead) return;
      this.startFailure = this.startTimeoutMessage();
      this.destroy(this.startFailure);
    }, this.opts.startTimeoutMs);
    this.channel.on('close', () => clearTimeout(timer));
    this.whenReady = () => {
      clearTimeout(timer);
      this.stderrTail = '';
    };
    this.channel.write(preamble(this.token));
  }

  private startTimeoutMessage(): string {
    return `remote shell did not start within ${this.opts.startTimeoutMs / 1000}s${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`;
  }

  /** Why a pipelined start failed: its timeout, else what the dying shell said on stderr. */
  private startFailureMessage(): string {
    return this.startFailure ?? `remote shell failed${this.deathReason ? `: ${this.deathReason}` : ''}`;
  }

  /** Called once on READY in pipelined starts. */
  private whenReady: (() => void) | undefined;

  /** Run one script; execs on one shell run one at a time, in call order. */
  run(script: string, opts: { stdin?: Buffer; env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<ShellResult> {
    const p = this.queue.then(() => this.runNow(script, opts));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private runNow(script: string, opts: { stdin?: Buffer; env?: Record<string, string>; timeoutMs: number; signal?: AbortSignal }): Promise<ShellResult> {
    if (this.dead) {
      if (!this.ready) return Promise.reject(new ShellStartError(this.startFailureMessage()));
      return Promise.reject(new ShellDiedError(`remote shell is gone${this.deathReason ? `: ${this.deathReason}` : ''}`, false));
    }
    const id = this.nextId++;
    const nonce = `NN${randomBytes(16).toString('hex')}`;
    const msg = execMessage(id, nonce, `NS_END_${this.token}`, script, opts.stdin, opts.env);
    return new Promise<ShellResult>((resolve, reject) => {
      let killing: 'timeout' | 'abort' | undefined;
      let killSent = false;
      let partial: ShellResult | undefined;
      let grace: NodeJS.Timeout | undefined;
      const finish = (r: ShellResult) => {
        clearTimeout(timer);
        clearTimeout(grace);
        opts.signal?.removeEventListener('abort', onAbort);
        this.onFrame = undefined;
        this.onClose = undefined;
        this.killRunning = undefined;
        resolve(r);
      };
      let afterKill: (() => void) | undefined;
      const sendKill = () => {
        if (killSent) return;
        killSent = true;
        this.channel.write(this.takeDone() + 'kill\n');
        afterKill?.();
      };
      // Ending the shell while this exec runs: kill it first, then `then` (the EOF). Never before READY: a line
      // that reaches the shell before it has parsed this exec's ns_run may be read as a command, not by ns_run.
      this.killRunning = (then) => {
        if (killSent) return then();
        afterKill = then;
        kill('abort');
      };
      const kill = (why: 'timeout' | 'abort') => {
        if (killing) return;
        killing = why;
        // Before READY the shell is not in ns_run yet: the kill goes out when it is (see onFrame).
        if (!this.ready) return;
        sendKill();
        grace = setTimeout(() => {
          // The shell did not confirm: drop it; the next exec opens a fresh one.
          this.destroy(`remote shell did not confirm killing a command within ${this.opts.killGraceMs / 1000}s`);
          finish({ ...(partial ?? { rc: 137, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }), killed: why });
        }, this.opts.killGraceMs);
      };
      const onAbort = () => kill('abort');
      // A non-finite or huge timeout means none (setTimeout would fire at once on overflow). The clock starts when
      // the shell is ready (its start has a timeout of its own), as it did when the start was waited for.
      let timer: NodeJS.Timeout | undefined;
      const startClock = () => {
        if (Number.isFinite(opts.timeoutMs) && opts.timeoutMs < 2 ** 31) timer = setTimeout(() => kill('timeout'), Math.max(0, opts.timeoutMs));
      };
      this.onFrame = (f) => {
        if (f.kind === 'ready') {
          startClock();
          if (killing) {
            const why = killing;
            killing = undefined;
            kill(why);
          }
          return;
        }
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
        this.killRunning = undefined;
        // Dead before READY: the command never ran (the shell reads it only after its preamble).
        if (!this.ready) reject(new ShellStartError(this.startFailureMessage()));
        else reject(new ShellDiedError(`remote shell exited while a command was running${why ? `: ${why}` : ''}`, true));
      };
      if (opts.signal?.aborted) {
        // Never started: report it as killed without touching the host.
        finish({ rc: 130, stdout: Buffer.alloc(0), stderr: Buffer.from('aborted before start\n'), killed: 'abort' });
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.ready) {
        startClock();
        this.reader.expectResult(id, nonce);
      } else this.reader.expectResultAfterReady(id, nonce);
      this.channel.write(this.takeDone() + msg);
    });
  }

  private takeDone(): string {
    const d = this.pendingDone ? 'done\n' : '';
    this.pendingDone = false;
    return d;
  }

  /** End the shell: a command still running is killed, then EOF makes it exit, and its EXIT trap removes its temp dir. */
  end(): void {
    if (this.dead) return;
    this.dead = true;
    const eof = () => {
      try {
        if (this.pendingDone) this.channel.write(this.takeDone());
        this.channel.end();
      } catch {
        /* already closed */
      }
    };
    if (this.killRunning) this.killRunning(eof);
    else eof();
  }

  /**
   * Resolves when the shell has exited (its channel closed), or after `ms` at most: dropping the connection
   * before then would cut a shell still writing (a killed command's output) and leave its temp dir.
   */
  async exited(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closedP, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
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
