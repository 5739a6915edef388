import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KnownHostsFile,
  entryMatchesHost,
  fingerprintSha256,
  formatKnownHostsLine,
  hostKeyName,
  keyTypeOfBlob,
  knownKeyTypesFor,
  lookupHostKey,
  parseKnownHosts,
  wildcardMatch,
  type HostKey,
} from '../../src/transport/known-hosts.js';
import { generateKey } from '../helpers/keys.js';

/** An SSH wire-format public key blob: string type, then a payload (enough for matching). */
function blob(type: string, seed: number): Buffer {
  const t = Buffer.from(type);
  const payload = Buffer.alloc(32, seed);
  const b = Buffer.alloc(4 + t.length + 4 + payload.length);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(payload.length, 4 + t.length);
  payload.copy(b, 8 + t.length);
  return b;
}
const ED_A: HostKey = { type: 'ssh-ed25519', blob: blob('ssh-ed25519', 1) };
const ED_B: HostKey = { type: 'ssh-ed25519', blob: blob('ssh-ed25519', 2) };
const RSA_A: HostKey = { type: 'ssh-rsa', blob: blob('ssh-rsa', 3) };
const b64 = (k: HostKey) => k.blob.toString('base64');

describe('known_hosts parsing', () => {
  test('skips comments, blanks and bad lines, keeping line numbers', () => {
    const kh = parseKnownHosts(
      [
        '# comment',
        '',
        `web1 ssh-ed25519 ${b64(ED_A)}`,
        'garbage',
        `@bogus web2 ssh-ed25519 ${b64(ED_A)}`,
        `web3 ssh-ed25519 not*base64`,
        `  web4,10.0.0.4   ssh-ed25519 ${b64(ED_B)} comment here`,
        `@revoked * ssh-ed25519 ${b64(ED_B)}`,
      ].join('\n'),
      '/kh',
    );
    assert.deepEqual(
      kh.entries.map((e) => [e.line, e.patterns.join(','), e.marker ?? '']),
      [
        [3, 'web1', ''],
        [7, 'web4,10.0.0.4', ''],
        [8, '*', 'revoked'],
      ],
    );
    assert.deepEqual(
      kh.skipped.map((s) => s.line),
      [4, 5, 6],
    );
  });

  const wild: [string, string, boolean][] = [
    ['web1', 'web1', true],
    ['WEB1', 'web1', true],
    ['web1.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['web7', 'web?', true],
    ['web17', 'web?', false],
    ['[10.0.0.1]:2222', '[10.0.0.1]:2222', true],
    ['[10.0.0.1]:2222', '[10.0.0.*]:2222', true],
    ['[10.0.0.1]:2222', '10.0.0.1', false],
    ['a.b', 'a?b', true],
    ['axb', 'a.b', false],
  ];
  for (const [name, pattern, want] of wild) {
    test(`wildcard ${pattern} vs ${name} -> ${want}`, () => assert.equal(wildcardMatch(name, pattern), want));
  }

  test('hostKeyName uses [host]:port except on 22', () => {
    assert.equal(hostKeyName('h', 22), 'h');
    assert.equal(hostKeyName('127.0.1.5', 2222), '[127.0.1.5]:2222');
  });
});

describe('known_hosts lookup', () => {
  const text = [
    `web1,web1.example.com ssh-ed25519 ${b64(ED_A)}`, // 1
    `[127.0.1.5]:2222 ssh-ed25519 ${b64(ED_A)}`, // 2
    `changed ssh-ed25519 ${b64(ED_A)}`, // 3
    `*.fleet,!bad.fleet ssh-ed25519 ${b64(ED_A)}`, // 4
    `@revoked revokedhost ssh-ed25519 ${b64(ED_B)}`, // 5
    `revokedhost ssh-ed25519 ${b64(ED_B)}`, // 6
    `@cert-authority *.ca.example ssh-ed25519 ${b64(ED_A)}`, // 7
    `rsaonly ssh-rsa ${b64(RSA_A)}`, // 8
    `multi ssh-rsa ${b64(RSA_A)}`, // 9
    `multi ssh-ed25519 ${b64(ED_B)}`, // 10
  ].join('\n');
  const kh = parseKnownHosts(text, '/home/u/.ssh/known_hosts');
  const cases: [string, string, number, HostKey, Record<string, unknown>][] = [
    ['plain name', 'web1', 22, ED_A, { status: 'match', line: 1 }],
    ['second name of a comma list', 'web1.example.com', 22, ED_A, { status: 'match', line: 1 }],
    ['bracketed host:port', '127.0.1.5', 2222, ED_A, { status: 'match', line: 2 }],
    ['same address, other port is unknown', '127.0.1.5', 2223, ED_A, { status: 'unknown', knownKeyTypes: [] }],
    ['plain entry does not match a non-22 port', 'web1', 2222, ED_A, { status: 'unknown', knownKeyTypes: [] }],
    ['mismatch names the line and the known key', 'changed', 22, ED_B, { status: 'mismatch', line: 3, knownKeyType: 'ssh-ed25519', knownFingerprint: fingerprintSha256(ED_A.blob) }],
    ['wildcard entry', 'db.fleet', 22, ED_A, { status: 'match', line: 4 }],
    ['negated name excluded from wildcard', 'bad.fleet', 22, ED_A, { status: 'unknown', knownKeyTypes: [] }],
    ['@revoked beats a matching plain line', 'revokedhost', 22, ED_B, { status: 'revoked', line: 5 }],
    ['@cert-authority only: refused as unsupported', 'x.ca.example', 22, ED_B, { status: 'cert-authority', line: 7 }],
    ['only another key type known: unknown, with the type', 'rsaonly', 22, ED_A, { status: 'unknown', knownKeyTypes: ['ssh-rsa'] }],
    ['one of several key types matches', 'multi', 22, ED_B, { status: 'match', line: 10 }],
    ['case-insensitive host', 'WEB1', 22, ED_A, { status: 'match', line: 1 }],
    ['not listed at all', 'nowhere', 22, ED_A, { status: 'unknown', knownKeyTypes: [] }],
  ];
  for (const [name, host, port, key, want] of cases) {
    test(name, () => assert.deepEqual(lookupHostKey(kh, host, port, key), want));
  }

  test('knownKeyTypesFor lists the types on record', () => {
    assert.deepEqual(knownKeyTypesFor(kh, 'multi', 22).sort(), ['ssh-ed25519', 'ssh-rsa']);
    assert.deepEqual(knownKeyTypesFor(kh, 'nowhere', 22), []);
  });
});

describe('known_hosts against OpenSSH', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-kh-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('fingerprint and key type equal what ssh-keygen prints', () => {
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const k = generateKey(dir, `fp-${type}`, { type });
      const blobBuf = Buffer.from(k.publicKey.split(' ')[1]!, 'base64');
      assert.equal(fingerprintSha256(blobBuf), k.fingerprint);
      assert.equal(keyTypeOfBlob(blobBuf), k.publicKey.split(' ')[0]);
    }
  });

  test('entries hashed by ssh-keygen -H match (HMAC-SHA1), plain and [host]:port', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `web9 ssh-ed25519 ${b64(ED_A)}\n[127.0.1.9]:2200 ssh-ed25519 ${b64(ED_B)}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'pipe' });
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^\|1\|/m);
    assert.doesNotMatch(text, /web9/);
    const kh = parseKnownHosts(text, file);
    assert.equal(lookupHostKey(kh, 'web9', 22, ED_A).status, 'match');
    assert.equal(lookupHostKey(kh, '127.0.1.9', 2200, ED_B).status, 'match');
    assert.equal(lookupHostKey(kh, 'web9', 22, ED_B).status, 'mismatch');
    assert.equal(lookupHostKey(kh, 'web10', 22, ED_A).status, 'unknown');
    assert.equal(entryMatchesHost(kh.entries[0]!, 'web9', 2222), false);
  });

  test('lines we append are read back by ssh-keygen -F', () => {
    const file = join(dir, 'appended');
    const k = generateKey(dir, 'appended-key');
    const blobBuf = Buffer.from(k.publicKey.split(' ')[1]!, 'base64');
    writeFileSync(file, formatKnownHostsLine('127.0.1.77', 2222, { type: 'ssh-ed25519', blob: blobBuf }) + '\n');
    const out = execFileSync('ssh-keygen', ['-F', '[127.0.1.77]:2222', '-f', file], { encoding: 'utf8' });
    assert.match(out, /Host \[127\.0\.1\.77\]:2222 found: line 1/);
  });
});

describe('KnownHostsFile accept-new appends', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nodesweep-kh-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('50 concurrent adds from two writers on one file: each host once, whole lines, existing lines kept', async () => {
    const file = join(dir, 'sub', 'known_hosts'); // parent dir created on demand
    const a = new KnownHostsFile(file);
    const b = new KnownHostsFile(file); // a second writer stands in for another process: only the lock file serialises them
    const keys = Array.from({ length: 50 }, (_, i) => ({ type: 'ssh-ed25519', blob: blob('ssh-ed25519', i + 10) }));
    const results = await Promise.all(
      keys.flatMap((k, i) => [a.addIfUnknown(`10.1.0.${i}`, 22, k), b.addIfUnknown(`10.1.0.${i}`, 22, k)]),
    );
    // For each host exactly one writer saw it unknown (and appended); the other found the match.
    assert.equal(results.filter((r) => r.status === 'unknown').length, 50);
    assert.equal(results.filter((r) => r.status === 'match').length, 50);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 50);
    assert.ok(text.endsWith('\n'));
    const kh = parseKnownHosts(text, file);
    assert.equal(kh.skipped.length, 0);
    for (let i = 0; i < 50; i++) assert.equal(lookupHostKey(kh, `10.1.0.${i}`, 22, keys[i]!).status, 'match');
  });

  test('a file without a final newline gets one before our line; a different key is reported, not appended', async () => {
    const file = join(dir, 'no-newline');
    writeFileSync(file, `old ssh-ed25519 ${b64(ED_A)}`);
    const kh = new KnownHostsFile(file);
    assert.equal((await kh.addIfUnknown('new', 22, ED_B)).status, 'unknown');
    assert.deepEqual((await kh.addIfUnknown('old', 22, ED_B)).status, 'mismatch');
    assert.equal(readFileSync(file, 'utf8'), `old ssh-ed25519 ${b64(ED_A)}\nnew ssh-ed25519 ${b64(ED_B)}\n`);
  });

  test('one read per run: lookups share a parse; our own appends and (under the lock) other writers are seen', async () => {
    const file = join(dir, 'cached');
    writeFileSync(file, `a ssh-ed25519 ${b64(ED_A)}\n`);
    const kh = new KnownHostsFile(file);
    const first = await kh.read();
    assert.equal(await kh.read(), first, 'the same parse, not a new read');
    // a line written behind our back is not re-read for plain lookups...
    writeFileSync(file, `a ssh-ed25519 ${b64(ED_A)}\nb ssh-ed25519 ${b64(ED_B)}\n`);
    assert.equal((await kh.lookup('b', 22, ED_B)).status, 'unknown');
    // ...but accept-new re-reads under the lock before appending: no duplicate of b
    assert.equal((await kh.addIfUnknown('b', 22, ED_B)).status, 'match');
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('b ')).length, 1);
    // our own append drops the cached parse
    assert.equal((await kh.addIfUnknown('c', 22, RSA_A)).status, 'unknown');
    assert.equal((await kh.lookup('c', 22, RSA_A)).status, 'match');
    assert.notEqual(await kh.read(), first);
  });

  test('a missing file reads as empty', async () => {
    const kh = new KnownHostsFile(join(dir, 'absent'));
    assert.deepEqual(await kh.lookup('x', 22, ED_A), { status: 'unknown', knownKeyTypes: [] });
  });
});
