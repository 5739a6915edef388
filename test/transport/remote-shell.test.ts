import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FrameReader, execMessage, preamble, type Frame } from '../../src/transport/remote-shell.js';
import { until } from '../helpers/until.js';

const TOKEN = 'NStest0123';

const N1 = 'NNnonce1';
const N2 = 'NNnonce2';

/** What the shell sends for one finished exec: stdout, then (if any) the E separator and stderr, then R. */
function result(nonce: string, rc: number, out: Buffer | string, err: Buffer | string): Buffer {
  const e = Buffer.from(err);
  return Buffer.concat([Buffer.from(out), e.length ? Buffer.concat([Buffer.from(`\n${nonce} E\n`), e]) : Buffer.alloc(0), Buffer.from(`\n${nonce} R ${rc}\n`)]);
}

/** Feed `chunks`; `expect` maps a byte offset to the exec announced just before that offset is pushed. */
function run(chunks: Buffer[], expects: { at: number; id: number; nonce: string }[]): { frames: Frame[]; noise: string[] } {
  const out: Frame[] = [];
  const noise: string[] = [];
  const r = new FrameReader(TOKEN, (f) => out.push(f), (b) => noise.push(b.toString()));
  let offset = 0;
  for (const c of chunks) {
    for (const e of expects) if (e.at === offset) r.expectResult(e.id, e.nonce);
    r.push(c);
    offset += c.length;
  }
  return { frames: out, noise };
}

describe('FrameReader', () => {
  const tricky = Buffer.concat([Buffer.from(`line\n${TOKEN} R 9 0 0 0\n\nNNother R 0\nEOF\n`), Buffer.from([0, 1, 2, 255, 10, 13]), Buffer.from('no newline')]);
  const head = Buffer.from(`motd from a chatty bashrc\n${TOKEN} READY\n`);
  const r1 = result(N1, 0, 'hello\n', '');
  const r2 = result(N2, 3, tricky, 'err without newline');
  const kill = Buffer.from(`${TOKEN} K 2\n`);
  const stream = Buffer.concat([head, r1, r2, kill]);
  const expects = [
    { at: head.length, id: 1, nonce: N1 },
    { at: head.length + r1.length, id: 2, nonce: N2 },
  ];
  const check = (got: Frame[]) => {
    assert.equal(got.length, 4);
    assert.deepEqual(got[0], { kind: 'ready' });
    const f1 = got[1] as Extract<Frame, { kind: 'result' }>;
    assert.deepEqual([f1.id, f1.rc, f1.stdout.toString(), f1.stderr.length], [1, 0, 'hello\n', 0]);
    const f2 = got[2] as Extract<Frame, { kind: 'result' }>;
    assert.equal(f2.rc, 3);
    assert.ok(f2.stdout.equals(tricky), 'body bytes pass through untouched, marker-like text included');
    assert.equal(f2.stderr.toString(), 'err without newline');
    assert.deepEqual(got[3], { kind: 'killed', id: 2 });
  };

  test('whole pieces', () => {
    const { frames: got, noise } = run([head, r1, r2, kill], expects);
    check(got);
    assert.deepEqual(noise, ['motd from a chatty bashrc']);
  });

  test('one byte at a time', () => {
    check(run([...stream].map((b) => Buffer.from([b])), expects).frames);
  });

  test('result bytes pushed before expectResult are still found', () => {
    const r = new FrameReader(TOKEN, (f) => got.push(f));
    const got: Frame[] = [];
    r.push(r1.subarray(0, 5));
    r.expectResult(1, N1);
    r.push(r1.subarray(5));
    assert.equal((got[0] as Extract<Frame, { kind: 'result' }>).stdout.toString(), 'hello\n');
  });

  test('text glued before a status line is noise, the status still counts', () => {
    const { frames: got, noise } = run([Buffer.from(`partial${TOKEN} UP\n`)], []);
    assert.deepEqual(got, [{ kind: 'up' }]);
    assert.deepEqual(noise, ['partial']);
  });

  test('a 10 MB body arriving in 64 KiB chunks', () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const all = result(N1, 0, big, 'e');
    const chunks: Buffer[] = [];
    for (let i = 0; i < all.length; i += 65536) chunks.push(all.subarray(i, i + 65536));
    const got = run(chunks, [{ at: 0, id: 7, nonce: N1 }]).frames;
    assert.equal(got.length, 1);
    const r = got[0] as Extract<Frame, { kind: 'result' }>;
    assert.equal(r.stdout.length, big.length);
    assert.equal(r.stderr.toString(), 'e');
  });
});

describe('execMessage', () => {
  test('env names are validated', () => {
    assert.throws(() => execMessage(1, N1, 'D', 'true', undefined, { 'BAD-NAME': 'x' }), /invalid environment variable name/);
  });

  test('large scripts go through a here-doc file instead of an argument', () => {
    const big = `echo ${'x'.repeat(70 * 1024)}`;
    const msg = execMessage(4, N1, 'DELIM', big, undefined, undefined);
    assert.match(msg, /^NS_OK=1\ncat >"\$NS_T\/s" <<'DELIM' \|\| NS_OK=\n/);
    assert.match(msg, /\nDELIM\nif \[ -n "\$NS_OK" \]; then ns_run 4 NNnonce1 \/dev\/null; else ns_run 4 NNnonce1 \/dev\/null '.*exit 125'; fi\n$/);
  });

  // The protocol, run against a local sh (the same dash the remote side uses) without SSH in between.
  test('preamble + messages against a local sh: rc, stdout/stderr split, stdin, exit inside a task, kill', async () => {
    const sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const got: Frame[] = [];
    let wake: () => void = () => undefined;
    const reader = new FrameReader(TOKEN, (f) => {
      got.push(f);
      wake();
    });
    sh.stdout.on('data', (d: Buffer) => reader.push(d));
    const next = async (): Promise<Frame> => {
      while (got.length === 0) await new Promise<void>((r) => (wake = r));
      return got.shift()!;
    };
    sh.stdin.write(preamble(TOKEN));
    assert.deepEqual(await next(), { kind: 'ready' });

    reader.expectResult(1, N1);
    sh.stdin.write(execMessage(1, N1, 'D1', 'echo out; echo err >&2; exit 3', undefined, undefined));
    let f = (await next()) as Extract<Frame, { kind: 'result' }>;
    assert.deepEqual([f.id, f.rc, f.stdout.toString(), f.stderr.toString()], [1, 3, 'out\n', 'err\n']);

    reader.expectResult(2, N2);
    sh.stdin.write('done\n' + execMessage(2, N2, 'D1', 'cat; printf tail', Buffer.from('in\0put'), { V: 'v v' }));
    f = (await next()) as Extract<Frame, { kind: 'result' }>;
    assert.deepEqual([f.rc, f.stdout.toString()], [0, 'in\0puttail']);

    reader.expectResult(3, N1);
    // killed once it has printed (not after a time: it may start late on a busy machine)
    const marker = join(mkdtempSync(join(tmpdir(), 'nodesweep-rs-')), 'printed');
    sh.stdin.write('done\n' + execMessage(3, N1, 'D1', `echo started; : > ${marker}; sleep 30`, undefined, undefined));
    await until(() => existsSync(marker), 'exec 3 running');
    rmSync(dirname(marker), { recursive: true, force: true });
    sh.stdin.write('kill\n');
    f = (await next()) as Extract<Frame, { kind: 'result' }>;
    assert.deepEqual([f.id, f.rc, f.stdout.toString()], [3, 137, 'started\n']);
    assert.deepEqual(await next(), { kind: 'killed', id: 3 });

    reader.expectResult(4, N2);
    sh.stdin.write(execMessage(4, N2, 'D1', 'echo "$V-again"', undefined, { V: "it's $HOME `x`" }));
    f = (await next()) as Extract<Frame, { kind: 'result' }>;
    assert.equal(f.stdout.toString(), "it's $HOME `x`-again\n");

    // A host where staging stdin fails (no working base64): the exec fails, it does not run with empty input.
    reader.expectResult(5, N1);
    sh.stdin.write('done\nbase64() { return 1; }\n' + execMessage(5, N1, 'D1', 'cat', Buffer.from('data'), undefined));
    f = (await next()) as Extract<Frame, { kind: 'result' }>;
    assert.equal(f.rc, 125);
    assert.match(f.stderr.toString(), /could not stage the command/);
    sh.stdin.end('done\n');
    await new Promise((r) => sh.once('close', r));
  });
});
