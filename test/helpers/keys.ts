/** Client key pairs for SSH tests, generated with ssh-keygen into a caller-owned directory. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestKey {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public key line, `ssh-ed25519 AAAA... comment`. */
  publicKey: string;
  /** SHA256:... as ssh-keygen -l prints it. */
  fingerprint: string;
}

export type KeyType = 'ed25519' | 'rsa' | 'ecdsa';

/** Generate a key pair `<dir>/<name>` (and `.pub`); encrypted with `passphrase` when given. */
export function generateKey(dir: string, name: string, opts: { type?: KeyType; passphrase?: string; comment?: string } = {}): TestKey {
  const privateKeyPath = join(dir, name);
  const type = opts.type ?? 'ed25519';
  const args = ['-q', '-t', type, '-N', opts.passphrase ?? '', '-C', opts.comment ?? `nodesweep-test-${name}`, '-f', privateKeyPath];
  if (type === 'rsa') args.push('-b', '2048');
  execFileSync('ssh-keygen', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const publicKeyPath = `${privateKeyPath}.pub`;
  return { privateKeyPath, publicKeyPath, publicKey: readFileSync(publicKeyPath, 'utf8').trim(), fingerprint: keyFingerprint(publicKeyPath) };
}

/** Fingerprint of a public key file, straight from ssh-keygen (the oracle for our own fingerprinting). */
export function keyFingerprint(publicKeyPath: string): string {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath], { encoding: 'utf8' });
  const fp = out.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return fp;
}
