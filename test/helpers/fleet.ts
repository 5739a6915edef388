/**
 * A fleet of real OpenSSH hosts on loopback for end-to-end tests: N sshd servers, one client key,
 * a known_hosts file with their keys and an INI inventory that points at them.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, type TestKey } from './keys.js';
import { startSshd, knownHostsLine, type SshdHandle, type SshdOptions } from './sshd.js';

export interface Fleet {
  dir: string;
  key: TestKey;
  hosts: SshdHandle[];
  /** Inventory names node1..nodeN, in order. */
  names: string[];
  knownHosts: string;
  /** Write an INI inventory; `extra` lines are appended (groups, vars). */
  writeInventory(opts?: { user?: string; hostVars?: (i: number) => string; extra?: string; file?: string }): string;
  /** CLI args that every run against this fleet needs. */
  baseArgs(inventory: string): string[];
  stop(): Promise<void>;
}

export async function startFleet(n: number, sshdOpts: Partial<SshdOptions> = {}): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'nodesweep-fleet-'));
  const key = generateKey(dir, 'id_ed25519');
  const hosts: SshdHandle[] = [];
  try {
    const started = await Promise.all(
      Array.from({ length: n }, (_, i) => startSshd({ host: `127.0.1.${10 + i + Math.floor(Math.random() * 20) * 10}`, authorizedKeys: [key.publicKey], ...sshdOpts })),
    );
    hosts.push(...started);
  } catch (e) {
    await Promise.all(hosts.map((h) => h.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => knownHostsLine(h) + '\n').join(''));
  const names = hosts.map((_, i) => `node${i + 1}`);
  return {
    dir,
    key,
    hosts,
    names,
    knownHosts,
    writeInventory(opts = {}) {
      const file = join(dir, opts.file ?? 'hosts.ini');
      const lines = ['[nodes]'];
      hosts.forEach((h, i) => {
        lines.push(`${names[i]} ansible_host=${h.host} ansible_port=${h.port}${opts.hostVars ? ' ' + opts.hostVars(i) : ''}`);
      });
      lines.push('', '[nodes:vars]', `ansible_user=${opts.user ?? 'root'}`, `ansible_ssh_private_key_file=${key.privateKeyPath}`);
      if (opts.extra) lines.push('', opts.extra);
      writeFileSync(file, lines.join('\n') + '\n');
      return file;
    },
    baseArgs(inventory: string) {
      return ['-i', inventory, '--known-hosts', knownHosts];
    },
    async stop() {
      await Promise.all(hosts.map((h) => h.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
