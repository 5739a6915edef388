/**
 * Creates each host's transport: LocalTransport for ansible_connection=local (or -c local), SshTransport
 * otherwise. One factory per run: it owns the known_hosts writers (one per file), shared by all hosts so that
 * accept-new appends from many parallel connections are serialised, reads ~/.ssh/config once, and asks for
 * each encrypted key's passphrase once however many hosts connect at the same time.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { UsageError, errorMessage } from '../errors.js';
import type { RunOptions } from '../contracts/run-options.js';
import { KnownHostsFile } from './known-hosts.js';
import { LocalTransport } from './local.js';
import { defaultEnvironment, resolveConnectionSpec, type SpecEnvironment } from './spec.js';
import { GLOBAL_KNOWN_HOSTS, SshTransport, type SshTransportOptions } from './ssh.js';
import { closeTransports, type CloseOptions, type Transport, type TransportFactory } from './types.js';

export interface TransportFactoryDeps {
  /** Parsed ssh config (or its text). Default: read `sshConfigFile`. */
  sshConfig?: SSHConfig | string;
  /** Default `<home>/.ssh/config`; false to read none. A missing file is fine. */
  sshConfigFile?: string | false;
  /** Prompt for an encrypted key's passphrase (the CLI's job). Called once per key file. */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  env?: SpecEnvironment;
  /** Passed to every SshTransport (debug logger, keepalive and kill-grace tuning, agent environment). */
  ssh?: Omit<SshTransportOptions, 'knownHosts' | 'passphrase'>;
}

export class DefaultTransportFactory implements TransportFactory {
  private readonly knownHosts = new Map<string, KnownHostsFile>();
  /** The system-wide known_hosts, read once for the whole run. */
  private readonly globalKnownHosts = new KnownHostsFile(GLOBAL_KNOWN_HOSTS);
  private readonly passphrases = new Map<string, Promise<string | undefined>>();
  private readonly keyFiles = new Map<string, Promise<Buffer>>();
  private readonly env: SpecEnvironment;
  private sshConfig: SSHConfig | undefined;
  private sshConfigLoaded = false;
  /** Every transport made, for closeAll. */
  private readonly made: Transport[] = [];

  constructor(
    private readonly options: RunOptions,
    private readonly deps: TransportFactoryDeps = {},
  ) {
    this.env = deps.env ?? defaultEnvironment();
  }

  create(host: string, hostVars: Record<string, unknown>): Transport {
    const t = this.make(host, hostVars);
    this.made.push(t);
    return t;
  }

  /**
   * Close every transport this factory made, giving the hosts `graceMs` to clean up: for a quit (a second Ctrl-C)
   * that cannot wait for the run to wind down (the run closes its own at its end).
   */
  closeAll(opts: CloseOptions): Promise<void> {
    return closeTransports(this.made, opts);
  }

  private make(host: string, hostVars: Record<string, unknown>): Transport {
    const spec = resolveConnectionSpec(host, hostVars, this.options, this.config(), this.env);
    if (spec.connection === 'local') return new LocalTransport(host);
    const kh = getOrCreate(this.knownHosts, spec.knownHostsFile, (f) => new KnownHostsFile(f));
    // One read per key file for the whole run (every host usually shares the same key).
    const opts: SshTransportOptions = { ...this.deps.ssh, knownHosts: kh, readKeyFile: (path) => getOrCreate(this.keyFiles, path, readFile) };
    if (this.deps.ssh?.globalKnownHostsFiles === undefined) opts.globalKnownHosts = [this.globalKnownHosts];
    // --ask-key-passphrase's answer, when the CLI did not hand us a prompt callback instead.
    const given = this.options.keyPassphrase;
    const ask = this.deps.passphrase ?? (given !== undefined ? async () => given : undefined);
    if (ask) {
      opts.passphrase = (path) => getOrCreate(this.passphrases, path, ask);
    }
    return new SshTransport(spec, opts);
  }

  private config(): SSHConfig | undefined {
    if (this.sshConfigLoaded) return this.sshConfig;
    this.sshConfigLoaded = true;
    const given = this.deps.sshConfig;
    if (given !== undefined) {
      this.sshConfig = typeof given === 'string' ? SSHConfig.parse(given) : given;
      return this.sshConfig;
    }
    if (this.deps.sshConfigFile === false) return undefined;
    const file = this.deps.sshConfigFile ?? join(this.env.home, '.ssh', 'config');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UsageError(`cannot read ssh config ${file}: ${errorMessage(e)}`, { cause: e });
    }
    try {
      this.sshConfig = SSHConfig.parse(text);
    } catch (e) {
      throw new UsageError(`${file}: not a valid ssh config: ${errorMessage(e)}`, { cause: e });
    }
    return this.sshConfig;
  }
}

/** The map's value for `key`, made (once) by `make` when there is none yet. */
function getOrCreate<V>(map: Map<string, V>, key: string, make: (key: string) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    map.set(key, v);
  }
  return v;
}
