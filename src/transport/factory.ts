/**
 * Creates each host's transport: LocalTransport for ansible_connection=local (or -c local), SshTransport
 * otherwise. One factory per run: it owns the known_hosts writers (one per file), shared by all hosts so that
 * accept-new appends from many parallel connections are serialised.
 */
import type SSHConfig from 'ssh-config';
import type { RunOptions, TransportFactory } from '../executor/context.js';
import { KnownHostsFile } from './known-hosts.js';
import { LocalTransport } from './local.js';
import { resolveConnectionSpec, type SpecEnvironment } from './spec.js';
import { SshTransport, type SshTransportOptions } from './ssh.js';
import type { Transport } from './types.js';

export interface TransportFactoryDeps {
  /** Parsed ~/.ssh/config (or its text); the CLI reads the file. */
  sshConfig?: SSHConfig | string;
  /** Prompt for an encrypted key's passphrase (the CLI's job). */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  env?: SpecEnvironment;
  /** Passed to every SshTransport (debug logger, keepalive and kill-grace tuning). */
  ssh?: Omit<SshTransportOptions, 'knownHosts' | 'passphrase'>;
}

export class DefaultTransportFactory implements TransportFactory {
  private readonly knownHosts = new Map<string, KnownHostsFile>();

  constructor(
    private readonly options: RunOptions,
    private readonly deps: TransportFactoryDeps = {},
  ) {}

  create(host: string, hostVars: Record<string, unknown>): Transport {
    const spec = resolveConnectionSpec(host, hostVars, this.options, this.deps.sshConfig, this.deps.env);
    if (spec.connection === 'local') return new LocalTransport(host);
    let kh = this.knownHosts.get(spec.knownHostsFile);
    if (!kh) {
      kh = new KnownHostsFile(spec.knownHostsFile);
      this.knownHosts.set(spec.knownHostsFile, kh);
    }
    const opts: SshTransportOptions = { ...this.deps.ssh, knownHosts: kh };
    if (this.deps.passphrase) opts.passphrase = this.deps.passphrase;
    return new SshTransport(spec, opts);
  }
}
