/**
 * Resolve how to reach one host: inventory connection vars (Ansible spellings, old and new), the run options
 * (-u, --private-key, --become...), `ansible_ssh_common_args` (-o ProxyJump / -o ProxyCommand "ssh -W %h:%p ...")
 * and ~/.ssh/config (Host, HostName, User, Port, IdentityFile, ProxyJump). Pure: no file or network access.
 *
 * Precedence follows ansible-playbook + OpenSSH: host vars > command-line options > ssh_common_args > ssh config.
 */
import { shlexSplit } from '../util/shlex.js';
import { homedir, userInfo } from 'node:os';
import SSHConfig from 'ssh-config';
import { ConnectError } from '../errors.js';
import type { HostKeyChecking, RunOptions } from '../contracts/run-options.js';
import type { BecomeSpec } from './types.js';
import { ansibleBoolean } from '../compat/boolean.js';

export interface IdentitySpec {
  path: string;
  /** Named explicitly (host var, --private-key, -i): a missing file is an error rather than skipped. */
  required: boolean;
}

/** One SSH hop: a bastion (ProxyJump) or the target itself. */
export interface HopSpec {
  /** Address to connect to (after HostName). */
  hostname: string;
  port: number;
  user: string;
  identities: IdentitySpec[];
}

export interface ConnectionSpec extends HopSpec {
  /** Inventory hostname. */
  host: string;
  connection: 'ssh' | 'local';
  password?: string;
  /** Bastions, in connection order; the last one forwards to the target. */
  jumps: HopSpec[];
  /** Default become for this host (ansible_become / --become); a task may override. */
  become?: BecomeSpec;
  /** ansible_become_password or --ask-become-pass, for tasks that turn become on themselves. */
  becomePassword?: string;
  connectTimeoutMs: number;
  hostKeyChecking: HostKeyChecking;
  knownHostsFile: string;
}

export interface SpecEnvironment {
  /** Local home directory, for `~` in key paths. */
  home: string;
  /** Local user name, ssh's default remote user. */
  localUser: string;
}

type Vars = Record<string, unknown>;
type ComputedConfig = Record<string, string | string[]>;

/** What `ansible_ssh_common_args` / `ansible_ssh_extra_args` / ProxyCommand contribute. */
interface SshArgs {
  user?: string;
  port?: number;
  identities: string[];
  jumps?: string;
  proxyCommand?: string;
  strictHostKeyChecking?: HostKeyChecking;
  knownHostsFile?: string;
  connectTimeoutMs?: number;
}

export function resolveConnectionSpec(
  host: string,
  hostVars: Vars,
  options: RunOptions,
  sshConfig?: SSHConfig | string,
  env: SpecEnvironment = defaultEnvironment(),
): ConnectionSpec {
  const config = typeof sshConfig === 'string' ? SSHConfig.parse(sshConfig) : sshConfig;
  const str = (name: string): string | undefined => {
    const v = hostVars[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new ConnectError(host, `${name} must be a string, got ${JSON.stringify(v)}`, { code: 'CONNECT_SPEC' });
  };
  const first = (...names: string[]) => {
    for (const n of names) {
      const v = str(n);
      if (v !== undefined) return { name: n, value: v };
    }
    return undefined;
  };

  const connVar = first('ansible_connection');
  let connection: 'ssh' | 'local';
  if (options.connection) connection = options.connection;
  else if (!connVar || ['ssh', 'smart', 'paramiko', 'paramiko_ssh'].includes(connVar.value)) connection = 'ssh';
  else if (connVar.value === 'local') connection = 'local';
  else throw new ConnectError(host, `ansible_connection=${connVar.value} is not supported (use ssh or local)`, { code: 'CONNECT_SPEC' });
  // An explicit per-host `ansible_connection` wins over -c, as in Ansible.
  if (connVar?.value === 'local') connection = 'local';

  const args: SshArgs = { identities: [] };
  for (const name of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const v = str(name);
    if (v) mergeSshArgs(args, parseSshArgs(v, host, name));
  }

  const name = first('ansible_host', 'ansible_ssh_host')?.value ?? host;
  const cfg = computeConfig(config, name);
  const hostname = expandTokens(cfgString(cfg, 'hostname') ?? name, { h: name });

  const portVar = first('ansible_port', 'ansible_ssh_port');
  const port = portVar
    ? parsePort(portVar.value, host, portVar.name)
    : (args.port ?? (cfgString(cfg, 'port') ? parsePort(cfgString(cfg, 'port')!, host, `Port in ssh config for ${name}`) : 22));

  const user = first('ansible_user', 'ansible_ssh_user')?.value ?? options.user ?? args.user ?? cfgString(cfg, 'user') ?? env.localUser;
  const tokens = { h: hostname, r: user, u: env.localUser, d: env.home };

  const explicit: IdentitySpec[] = [];
  const keyVar = first('ansible_ssh_private_key_file', 'ansible_private_key_file');
  if (keyVar) explicit.push({ path: expandPath(keyVar.value, tokens, env), required: true });
  if (options.privateKey) explicit.push({ path: expandPath(options.privateKey, tokens, env), required: true });
  for (const k of args.identities) explicit.push({ path: expandPath(k, tokens, env), required: true });
  const fromConfig = cfgList(cfg, 'identityfile').map((k) => ({ path: expandPath(k, tokens, env), required: false }));
  const identities = dedupe([...explicit, ...fromConfig, ...defaultIdentities(env)]);

  const password = first('ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password')?.value;

  // Bastions: common args' ProxyJump / ProxyCommand first, then ssh config's ProxyJump for the target name.
  let jumpText = args.jumps;
  if (jumpText === undefined && args.proxyCommand !== undefined) jumpText = proxyCommandToJump(args.proxyCommand, host);
  if (jumpText === undefined) {
    const pj = cfgString(cfg, 'proxyjump');
    if (pj) jumpText = pj;
    else if (cfgString(cfg, 'proxycommand')) jumpText = proxyCommandToJump(cfgString(cfg, 'proxycommand')!, host);
  }
  const jumps = jumpText && jumpText !== 'none' ? parseJumps(jumpText, host, config, env, explicit) : [];

  const becomePassword = first('ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass')?.value ?? options.becomePassword;
  const becomeVar = hostVars['ansible_become'] ?? hostVars['ansible_sudo'];
  const becomeOn = becomeVar !== undefined ? toBool(becomeVar, host, 'ansible_become') : options.become;
  const method = first('ansible_become_method')?.value ?? 'sudo';
  let become: BecomeSpec | undefined;
  if (becomeOn) {
    if (method !== 'sudo') {
      throw new ConnectError(host, `ansible_become_method=${method} is not supported (only sudo)`, { code: 'CONNECT_SPEC' });
    }
    become = { user: first('ansible_become_user', 'ansible_sudo_user')?.value ?? options.becomeUser ?? 'root', method: 'sudo' };
    if (becomePassword !== undefined) become.password = becomePassword;
  }

  let hostKeyChecking = options.hostKeyChecking;
  const hkVar = hostVars['ansible_host_key_checking'] ?? hostVars['ansible_ssh_host_key_checking'];
  if (hkVar !== undefined && !toBool(hkVar, host, 'ansible_host_key_checking')) hostKeyChecking = 'off';
  if (args.strictHostKeyChecking) hostKeyChecking = args.strictHostKeyChecking;

  const timeoutVar = first('ansible_timeout', 'ansible_ssh_timeout');
  let connectTimeoutMs = args.connectTimeoutMs ?? options.connectTimeoutMs;
  if (timeoutVar) {
    const s = Number(timeoutVar.value);
    if (!Number.isFinite(s) || s <= 0) {
      throw new ConnectError(host, `${timeoutVar.name} must be a number of seconds, got ${JSON.stringify(timeoutVar.value)}`, { code: 'CONNECT_SPEC' });
    }
    connectTimeoutMs = s * 1000;
  }

  const spec: ConnectionSpec = {
    host,
    connection,
    hostname,
    port,
    user,
    identities,
    jumps,
    connectTimeoutMs,
    hostKeyChecking,
    knownHostsFile: args.knownHostsFile ? expandPath(args.knownHostsFile, tokens, env) : expandPath(options.knownHosts, tokens, env),
  };
  if (password !== undefined) spec.password = password;
  if (become) spec.become = become;
  if (becomePassword !== undefined) spec.becomePassword = becomePassword;
  return spec;
}

export function defaultEnvironment(): SpecEnvironment {
  return { home: homedir(), localUser: userInfo().username };
}

function defaultIdentities(env: SpecEnvironment): IdentitySpec[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => ({ path: `${env.home}/.ssh/${f}`, required: false }));
}

function dedupe(ids: IdentitySpec[]): IdentitySpec[] {
  const seen = new Map<string, IdentitySpec>();
  for (const id of ids) {
    const prev = seen.get(id.path);
    if (!prev) seen.set(id.path, { ...id });
    else if (id.required) prev.required = true;
  }
  return [...seen.values()];
}

function computeConfig(config: SSHConfig | undefined, name: string): ComputedConfig {
  if (!config) return {};
  return config.compute(name, { ignoreCase: true, matchExec: false });
}

function cfgString(cfg: ComputedConfig, key: string): string | undefined {
  const v = cfg[key];
  return Array.isArray(v) ? v[0] : v;
}

function cfgList(cfg: ComputedConfig, key: string): string[] {
  const v = cfg[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function parsePort(v: string, host: string, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > 65535) {
    throw new ConnectError(host, `${what} must be a port number 1-65535, got ${JSON.stringify(v)}`, { code: 'CONNECT_SPEC' });
  }
  return n;
}

/**
 * Ansible's strict boolean (compat/boolean.ts). ansible_become is strict in Ansible too; ansible_host_key_checking
 * is not (anything unknown turns checking off there): here it is, since a typo must not turn host keys off.
 */
function toBool(v: unknown, host: string, what: string): boolean {
  try {
    return ansibleBoolean(v);
  } catch {
    throw new ConnectError(host, `${what} must be a boolean, got ${JSON.stringify(v)}`, { code: 'CONNECT_SPEC' });
  }
}

/** OpenSSH percent tokens in IdentityFile/HostName: %h %r %u %d %%. */
function expandTokens(s: string, tokens: Partial<Record<'h' | 'r' | 'u' | 'd', string>>): string {
  return s.replace(/%([hrud%])/g, (m, t: string) => (t === '%' ? '%' : (tokens[t as 'h'] ?? m)));
}

function expandPath(p: string, tokens: Partial<Record<'h' | 'r' | 'u' | 'd', string>>, env: SpecEnvironment): string {
  const s = expandTokens(p, tokens);
  if (s === '~') return env.home;
  if (s.startsWith('~/')) return env.home + s.slice(1);
  return s;
}

/** ssh argument strings are split like a shell line (Python shlex rules). */
export const shellSplit = (s: string): string[] => shlexSplit(s);

/** ssh options that take an argument (from ssh(1) SYNOPSIS). */
const SSH_OPTS_WITH_ARG = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

/** Read the options we honour out of an ssh argument string; the rest is ignored. */
function parseSshArgs(text: string, host: string, varName: string): SshArgs & { destination?: string; forward?: boolean } {
  let argv: string[];
  try {
    argv = shellSplit(text);
  } catch (e) {
    throw new ConnectError(host, `${varName}: ${(e as Error).message} in ${JSON.stringify(text)}`, { code: 'CONNECT_SPEC' });
  }
  return parseSshArgv(argv, host, varName);
}

function parseSshArgv(argv: string[], host: string, varName: string): SshArgs & { destination?: string; forward?: boolean } {
  const res: SshArgs & { destination?: string; forward?: boolean } = { identities: [] };
  const setOption = (kv: string) => {
    const m = /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/.exec(kv);
    if (!m) return;
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim().replace(/^"(.*)"$/, '$1');
    switch (key) {
      case 'proxyjump':
        res.jumps ??= value;
        break;
      case 'proxycommand':
        res.proxyCommand ??= value;
        break;
      case 'user':
        res.user ??= value;
        break;
      case 'port':
        res.port ??= parsePort(value, host, `${varName} -o Port`);
        break;
      case 'identityfile':
        res.identities.push(value);
        break;
      case 'stricthostkeychecking': {
        const v = value.toLowerCase();
        res.strictHostKeyChecking ??= v === 'no' || v === 'off' ? 'off' : v === 'accept-new' ? 'accept-new' : 'strict';
        break;
      }
      case 'userknownhostsfile':
        res.knownHostsFile ??= value.split(/\s+/)[0]!;
        break;
      case 'connecttimeout':
        if (/^\d+$/.test(value)) res.connectTimeoutMs ??= Number(value) * 1000;
        break;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a.length < 2) {
      res.destination ??= a;
      continue;
    }
    const flag = a[1]!;
    if (!SSH_OPTS_WITH_ARG.has(flag)) continue; // boolean flags like -q -T -A (possibly grouped)
    const val = a.length > 2 ? a.slice(2) : argv[++i];
    if (val === undefined) throw new ConnectError(host, `${varName}: ${a} needs a value`, { code: 'CONNECT_SPEC' });
    if (flag === 'o') setOption(val);
    else if (flag === 'J') res.jumps ??= val;
    else if (flag === 'p') res.port ??= parsePort(val, host, `${varName} -p`);
    else if (flag === 'l') res.user ??= val;
    else if (flag === 'i') res.identities.push(val);
    else if (flag === 'W') res.forward = true;
  }
  return res;
}

function mergeSshArgs(into: SshArgs, from: SshArgs): void {
  for (const k of ['user', 'port', 'jumps', 'proxyCommand', 'strictHostKeyChecking', 'knownHostsFile', 'connectTimeoutMs'] as const) {
    if (into[k] === undefined && from[k] !== undefined) (into as unknown as Record<string, unknown>)[k] = from[k];
  }
  into.identities.push(...from.identities);
}

/**
 * `ssh -W %h:%p [-p port] [-l user] [-i key] [-J ...] [user@]bastion` (or `... bastion nc %h %p`) is a jump
 * host in disguise: turn it into a ProxyJump string that we run as an ssh2 forwardOut hop.
 */
export function proxyCommandToJump(command: string, host: string): string {
  const fail = () =>
    new ConnectError(host, `ProxyCommand ${JSON.stringify(command)} is not supported: only "ssh -W %h:%p [user@]bastion" forms (or use -o ProxyJump=user@bastion:port)`, { code: 'CONNECT_SPEC' });
  let argv: string[];
  try {
    argv = shellSplit(command);
  } catch {
    throw fail();
  }
  const prog = argv.shift();
  if (!prog || !/(^|\/)ssh$/.test(prog)) throw fail();
  const parsed = parseSshArgv(argv, host, 'ProxyCommand');
  const nc = argv.some((a) => /(^|\/)(nc|netcat|ncat)$/.test(a));
  if (!parsed.destination || (!parsed.forward && !nc)) throw fail();
  let dest = parsed.destination;
  const atIdx = dest.lastIndexOf('@');
  let user = atIdx >= 0 ? dest.slice(0, atIdx) : parsed.user;
  let hostPart = atIdx >= 0 ? dest.slice(atIdx + 1) : dest;
  if (dest.startsWith('ssh://')) {
    const j = parseJumpToken(dest, host);
    user = j.user ?? user;
    hostPart = j.host;
    if (j.port !== undefined && parsed.port === undefined) parsed.port = j.port;
  }
  dest = `${user ? `${user}@` : ''}${hostPart.includes(':') ? `[${hostPart}]` : hostPart}${parsed.port ? `:${parsed.port}` : ''}`;
  const keys = parsed.identities.map((k) => `#key=${k}`).join('');
  return parsed.jumps ? `${parsed.jumps},${dest}${keys}` : `${dest}${keys}`;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
function parseJumpToken(tok: string, host: string): { user?: string; host: string; port?: number } {
  let t = tok.trim();
  if (t.startsWith('ssh://')) t = t.slice(6).replace(/\/$/, '');
  let user: string | undefined;
  const at = t.lastIndexOf('@');
  if (at >= 0) {
    user = t.slice(0, at);
    t = t.slice(at + 1);
  }
  let h = t;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    h = v6[1]!;
    if (v6[2]) port = parsePort(v6[2], host, 'ProxyJump port');
  } else {
    const c = t.lastIndexOf(':');
    if (c >= 0 && t.indexOf(':') === c) {
      h = t.slice(0, c);
      port = parsePort(t.slice(c + 1), host, 'ProxyJump port');
    }
  }
  if (!h) throw new ConnectError(host, `bad ProxyJump entry ${JSON.stringify(tok)}`, { code: 'CONNECT_SPEC' });
  const res: { user?: string; host: string; port?: number } = { host: h };
  if (user) res.user = user;
  if (port !== undefined) res.port = port;
  return res;
}

/** A ProxyJump list (comma separated), each hop resolved through ssh config like ssh would. */
function parseJumps(text: string, host: string, config: SSHConfig | undefined, env: SpecEnvironment, targetKeys: IdentitySpec[]): HopSpec[] {
  return text.split(',').map((rawTok) => {
    // `#key=` suffixes carry -i from a ProxyCommand (internal to this module).
    const [tok, ...keyParts] = rawTok.split('#key=');
    const j = parseJumpToken(tok!, host);
    const cfg = computeConfig(config, j.host);
    const hostname = expandTokens(cfgString(cfg, 'hostname') ?? j.host, { h: j.host });
    const cfgPort = cfgString(cfg, 'port');
    const user = j.user ?? cfgString(cfg, 'user') ?? env.localUser;
    const tokens = { h: hostname, r: user, u: env.localUser, d: env.home };
    const identities = dedupe([
      ...keyParts.map((k) => ({ path: expandPath(k, tokens, env), required: true })),
      ...cfgList(cfg, 'identityfile').map((k) => ({ path: expandPath(k, tokens, env), required: false })),
      // The target's explicit keys usually open the bastion too (Ansible users expect that); not required here.
      ...targetKeys.map((k) => ({ path: k.path, required: false })),
      ...defaultIdentities(env),
    ]);
    return { hostname, port: j.port ?? (cfgPort ? parsePort(cfgPort, host, `Port in ssh config for ${j.host}`) : 22), user, identities };
  });
}
