/**
 * known_hosts, as OpenSSH reads it: a pure parser/matcher (parseKnownHosts, lookupHostKey) and a small file
 * edge (KnownHostsFile) that appends new keys for accept-new without ever rewriting the file.
 *
 * Supported: plain names, comma lists, `[host]:port`, hashed `|1|salt|hash` names (HMAC-SHA1), `*`/`?`
 * wildcards, `!` negation, `@revoked` (refused) and `@cert-authority` (refused: we do not do host certificates).
 */
import { createHash, createHmac } from 'node:crypto';
import { open, readFile, mkdir, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker?: KnownHostsMarker;
  /** Comma-separated patterns (may start with `!`); empty when the name is hashed. */
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** The key blob, decoded from the base64 field. */
  key: Buffer;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostEntry[];
  /** Lines we could not read (OpenSSH skips them too). */
  skipped: { line: number; reason: string }[];
}

export type LookupResult =
  | { status: 'match'; line: number }
  | { status: 'mismatch'; line: number; knownKeyType: string; knownFingerprint: string }
  | { status: 'unknown'; knownKeyTypes: string[] }
  | { status: 'revoked'; line: number }
  | { status: 'cert-authority'; line: number };

export interface HostKey {
  type: string;
  blob: Buffer;
}

/** Parse the text of a known_hosts file. Never throws: bad lines land in `skipped`. */
export function parseKnownHosts(text: string, file: string): KnownHosts {
  const entries: KnownHostEntry[] = [];
  const skipped: KnownHosts['skipped'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostsMarker | undefined;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else {
        skipped.push({ line: lineNo, reason: `unknown marker ${m}` });
        continue;
      }
    }
    const [names, keyType, b64] = fields;
    if (names === undefined || keyType === undefined || b64 === undefined) {
      skipped.push({ line: lineNo, reason: 'expected "hostnames keytype base64-key"' });
      continue;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      skipped.push({ line: lineNo, reason: 'key is not base64' });
      continue;
    }
    const key = Buffer.from(b64, 'base64');
    const entry: KnownHostEntry = { line: lineNo, patterns: [], keyType, key };
    if (marker) entry.marker = marker;
    if (names.startsWith('|1|')) {
      const [, , salt, hash] = names.split('|');
      if (!salt || !hash) {
        skipped.push({ line: lineNo, reason: 'malformed hashed host name' });
        continue;
      }
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      entry.patterns = names.split(',').filter((p) => p !== '');
    }
    entries.push(entry);
  }
  return { file, entries, skipped };
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run, `?` one character; case-insensitive. */
export function wildcardMatch(name: string, pattern: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .toLowerCase()
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    's',
  );
  return re.test(name.toLowerCase());
}

/** Does an entry apply to this host/port? A matching `!pattern` excludes it whatever else matches. */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = hostKeyName(host, port);
  if (entry.hashed) {
    const h = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return h.equals(entry.hashed.hash);
  }
  let positive = false;
  for (const p of entry.patterns) {
    if (p.startsWith('!')) {
      if (wildcardMatch(name, p.slice(1))) return false;
    } else if (wildcardMatch(name, p)) {
      positive = true;
    }
  }
  return positive;
}

/** Look a server's key up the way ssh does: revoked beats match beats mismatch beats unknown. */
export function lookupHostKey(kh: KnownHosts, host: string, port: number, key: HostKey): LookupResult {
  let match: number | undefined;
  let mismatch: KnownHostEntry | undefined;
  let ca: number | undefined;
  const knownKeyTypes = new Set<string>();
  for (const e of kh.entries) {
    if (!entryMatchesHost(e, host, port)) continue;
    if (e.marker === 'cert-authority') {
      ca ??= e.line;
      continue;
    }
    const same = e.keyType === key.type && e.key.equals(key.blob);
    if (e.marker === 'revoked') {
      if (same) return { status: 'revoked', line: e.line };
      continue;
    }
    knownKeyTypes.add(e.keyType);
    if (same) match ??= e.line;
    else if (e.keyType === key.type) mismatch ??= e;
  }
  if (match !== undefined) return { status: 'match', line: match };
  if (mismatch) {
    return { status: 'mismatch', line: mismatch.line, knownKeyType: mismatch.keyType, knownFingerprint: fingerprintSha256(mismatch.key) };
  }
  if (ca !== undefined && knownKeyTypes.size === 0) return { status: 'cert-authority', line: ca };
  return { status: 'unknown', knownKeyTypes: [...knownKeyTypes] };
}

/** Key types on record for a host (to ask the server for one we can check). */
export function knownKeyTypesFor(kh: KnownHosts, host: string, port: number): string[] {
  const types = new Set<string>();
  for (const e of kh.entries) if (!e.marker && entryMatchesHost(e, host, port)) types.add(e.keyType);
  return [...types];
}

/** `SHA256:<base64 without padding>`, as ssh and ssh-keygen -l print it. */
export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside an SSH wire-format public key blob (its first string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) throw new Error('host key blob too short');
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) throw new Error('malformed host key blob');
  return blob.subarray(4, 4 + len).toString('latin1');
}

export function formatKnownHostsLine(host: string, port: number, key: HostKey): string {
  return `${hostKeyName(host, port)} ${key.type} ${key.blob.toString('base64')}`;
}

/** `known_hosts file:line`, the way our errors point at an entry. */
export function entryLocation(file: string, line: number): string {
  return `${file}:${line}`;
}

/**
 * One known_hosts file. Share one instance per file across all hosts of a run: its queue serialises appends in
 * this process; a `.lock` file (O_EXCL) plus a re-read before each append keeps other processes from duplicating
 * lines; lines are written whole with O_APPEND, so the file is never truncated or rewritten.
 */
export class KnownHostsFile {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();
  private cached: Promise<KnownHosts> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /**
   * The file as this run last read it: one read and parse shared by every host's lookups, not four per host.
   * Appends made through this instance drop it; before appending, addIfUnknown reads the file afresh under the
   * lock, so keys another process added meanwhile are seen where it matters.
   */
  read(): Promise<KnownHosts> {
    return (this.cached ??= this.readFresh());
  }

  private async readFresh(): Promise<KnownHosts> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return parseKnownHosts(text, this.path);
  }

  async lookup(host: string, port: number, key: HostKey): Promise<LookupResult> {
    return lookupHostKey(await this.read(), host, port, key);
  }

  /**
   * accept-new: append the key unless the file (re-read under the lock) already knows this host.
   * Returns the lookup as it stood before the append ('unknown' means we added it).
   */
  addIfUnknown(host: string, port: number, key: HostKey): Promise<LookupResult> {
    const run = this.queue.then(() => this.withFileLock(async () => {
      const res = lookupHostKey(await this.readFresh(), host, port, key);
      if (res.status !== 'unknown') return res;
      this.cached = undefined;
      await this.appendLine(formatKnownHostsLine(host, port, key));
      return res;
    }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendLine(line: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const fh = await open(this.path, 'a+', 0o600);
    try {
      // If the last line lacks its newline, finish it first so we never glue two entries together.
      const { size } = await fh.stat();
      let prefix = '';
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      await fh.write(`${prefix}${line}\n`);
    } finally {
      await fh.close();
    }
  }

  private async withFileLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = `${this.path}.lock`;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fh = await open(lock, 'wx', 0o600);
        await fh.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // A lock older than 10 s belongs to a process that died holding it.
        const st = await stat(lock).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 10_000) await unlink(lock).catch(() => undefined);
        if (Date.now() > deadline) throw new Error(`could not lock ${this.path} (remove ${lock} if no nodesweep is running)`);
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}
