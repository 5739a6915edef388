/**
 * npm run bench:fleet -- [--hosts 12,50] [--rounds 3] [--rtt-ms 20] [--big 500] [--only loopback|rtt|big] [--user U]
 *
 * Stands up N real OpenSSH hosts on loopback and times the same 5-command playbook in
 *   - nodesweep (the installed bin, bin/nodesweep.cjs with the bundle dist/bin/nodesweep.cjs, built by the npm script),
 *   - ansible-playbook (raw module, pipelining and ControlPersist on, fresh control path each run, forks 50),
 *   - one OpenSSH client per host running all 5 commands, all hosts in parallel,
 * interleaved, best of `rounds`. Then again through a delaying TCP proxy in front of each sshd (20 ms round
 * trips), and nodesweep's peak RSS at `big` hosts (one sshd, many inventory names). Prints a table.
 *
 * Every tool logs in as `--user` (default TEST_USER: an unprivileged account with /bin/sh and a stock home, like
 * `core` on a CoreOS node). Not root by default: on the development machine root's ~/.bashrc runs `pyenv init`,
 * about 100 processes and 110 ms of CPU on every SSH session, which would measure that dotfile rather than the
 * tools (`--user root` measures it anyway).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKey, type TestKey } from '../test/helpers/keys.js';
import { startSshd, knownHostsLine, TEST_USER, type SshdHandle } from '../test/helpers/sshd.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { machineLine } from './machine.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COMMANDS = ['echo one', 'uname -r', 'cat /proc/loadavg', 'id -u', 'date +%s'];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

interface Endpoint {
  name: string;
  host: string;
  port: number;
}

interface Timed {
  ms: number;
  code: number | null;
  rss?: number;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Timed & { out: string }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, out }));
  });
}

class Bench {
  readonly dir = mkdtempSync(join(tmpdir(), 'nodesweep-bench-'));
  readonly key: TestKey = generateKey(this.dir, 'id_ed25519');
  readonly playbook = join(this.dir, 'five.yml');

  constructor(readonly user: string) {
    const tasks = COMMANDS.map((c, i) => `    - name: step ${i + 1}\n      raw: ${c}\n`).join('');
    writeFileSync(this.playbook, `- name: five commands\n  hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
  }


  write(name: string, endpoints: Endpoint[], knownHostLines: string[]): { inventory: string; knownHosts: string } {
    const inventory = join(this.dir, `${name}.ini`);
    const knownHosts = join(this.dir, `${name}.known_hosts`);
    const lines = ['[fleet]', ...endpoints.map((e) => `${e.name} ansible_host=${e.host} ansible_port=${e.port}`)];
    lines.push('', '[fleet:vars]', `ansible_user=${this.user}`, `ansible_ssh_private_key_file=${this.key.privateKeyPath}`);
    writeFileSync(inventory, lines.join('\n') + '\n');
    writeFileSync(knownHosts, [...new Set(knownHostLines)].join('\n') + '\n');
    return { inventory, knownHosts };
  }

  /** `compileCache: false` times a start with no V8 code cache (NODESWEEP_COMPILE_CACHE=0; see bin/nodesweep.cjs). */
  async nodesweep(inventory: string, knownHosts: string, compileCache = true): Promise<Timed> {
    const rssFile = join(this.dir, 'rss');
    const r = await run(
      process.execPath,
      ['--import', join(ROOT, 'bench/rss-probe.mjs'), join(ROOT, 'bin/nodesweep.cjs'), 'run', this.playbook, '-i', inventory, '--known-hosts', knownHosts, '--forks', '50'],
      { NODESWEEP_BENCH_RSS_FILE: rssFile, NO_COLOR: '1', ...(compileCache ? {} : { NODESWEEP_COMPILE_CACHE: '0' }) },
    );
    if (r.code !== 0) {
      const fatal = r.out.split('\n').filter((l) => l.startsWith('fatal:')).slice(0, 5).map((l) => l.slice(0, 600));
      throw new Error(`nodesweep failed (${r.code}):\n${fatal.join('\n')}\n${r.out.slice(-1500)}`);
    }
    return { ms: r.ms, code: r.code, rss: Number(readFileSync(rssFile, 'utf8')) };
  }

  async ansible(inventory: string, knownHosts: string, round: number): Promise<Timed> {
    const cp = join(this.dir, `cp${round}-${Date.now() % 100000}`); // fresh control path each run
    mkdirSync(cp);
    const r = await run('ansible-playbook', ['-i', inventory, this.playbook, '--forks', '50'], {
      ANSIBLE_PIPELINING: '1',
      ANSIBLE_SSH_ARGS: `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s`,
      ANSIBLE_SSH_CONTROL_PATH_DIR: cp,
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    });
    if (r.code !== 0) throw new Error(`ansible-playbook failed (${r.code}):\n${r.out.slice(-3000)}`);
    // stop the control masters this run left (by their socket, not by name)
    await Promise.all(
      (await run('ls', [cp])).out
        .split('\n')
        .filter(Boolean)
        .map((s) => run('ssh', ['-o', `ControlPath=${join(cp, s)}`, '-O', 'exit', 'x'])),
    );
    return { ms: r.ms, code: r.code };
  }

  async openssh(endpoints: Endpoint[], knownHosts: string): Promise<Timed> {
    const started = process.hrtime.bigint();
    const results = await Promise.all(
      endpoints.map((e) =>
        run('ssh', [
          '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ControlMaster=no',
          '-i', this.key.privateKeyPath, '-p', String(e.port), `${this.user}@${e.host}`, COMMANDS.join('; '),
        ]),
      ),
    );
    const bad = results.find((r) => r.code !== 0);
    if (bad) throw new Error(`ssh failed (${bad.code}): ${bad.out}`);
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, code: 0 };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const best = (xs: Timed[]) => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function compare(bench: Bench, label: string, endpoints: Endpoint[], knownLines: string[], rounds: number): Promise<string> {
  const { inventory, knownHosts } = bench.write(label.replace(/\W+/g, '_'), endpoints, knownLines);
  const ns: Timed[] = [];
  const cold: Timed[] = [];
  const an: Timed[] = [];
  const os: Timed[] = [];
  for (let r = 0; r < rounds; r++) {
    ns.push(await bench.nodesweep(inventory, knownHosts));
    cold.push(await bench.nodesweep(inventory, knownHosts, false));
    an.push(await bench.ansible(inventory, knownHosts, r));
    os.push(await bench.openssh(endpoints, knownHosts));
  }
  const [n, c, a, o] = [best(ns), best(cold), best(an), best(os)];
  const row = `| ${label} | ${fmt(n.ms)} | ${fmt(c.ms)} | ${fmt(a.ms)} | ${fmt(o.ms)} | ${(a.ms / n.ms).toFixed(1)}x | ${(o.ms / n.ms).toFixed(2)}x (${(o.ms / c.ms).toFixed(2)}x) | ${mb(Math.max(...ns.map((x) => x.rss ?? 0)))} |`;
  console.log(row);
  return row;
}

async function main(): Promise<void> {
  const sizes = arg('hosts', '12,50').split(',').map(Number);
  const rounds = Number(arg('rounds', '3'));
  const rtt = Number(arg('rtt-ms', '20'));
  const big = Number(arg('big', '500'));
  const only = arg('only', 'all');
  const bench = new Bench(arg('user', TEST_USER));
  const servers: SshdHandle[] = [];
  const proxies: DelayProxy[] = [];
  const rows: string[] = [];
  console.log(machineLine('before'));
  try {
    const maxHosts = Math.max(...sizes);
    for (let i = 0; i < maxHosts; i++) servers.push(await startSshd({ host: `127.0.3.${1 + i}`, authorizedKeys: [bench.key.publicKey], logLevel: 'INFO' }));
    console.log(`\n5-command playbook as ${bench.user}, best of ${rounds}, ${new Date().toISOString()}, node ${process.version}\n`);
    console.log('| fleet | nodesweep | nodesweep, no code cache | ansible-playbook | parallel OpenSSH | vs ansible | vs OpenSSH (no code cache) | nodesweep peak RSS |');
    console.log('|---|---|---|---|---|---|---|---|');
    if (only === 'all' || only === 'loopback') {
      for (const n of sizes) {
        const eps = servers.slice(0, n).map((s, i) => ({ name: `h${i + 1}`, host: s.host, port: s.port }));
        rows.push(await compare(bench, `${n} hosts, loopback`, eps, servers.slice(0, n).map(knownHostsLine), rounds));
      }
    }
    if (only === 'all' || only === 'rtt') {
      const n = maxHosts;
      for (const s of servers.slice(0, n)) proxies.push(await startDelayProxy({ host: s.host, port: s.port }, s.host.replace('127.0.3.', '127.0.4.'), rtt / 2));
      const eps = proxies.map((p, i) => ({ name: `h${i + 1}`, host: p.host, port: p.port }));
      const known = proxies.map((p, i) => knownHostsLine({ host: p.host, port: p.port, hostKeyPub: servers[i]!.hostKeyPub }));
      rows.push(await compare(bench, `${n} hosts, ${rtt} ms RTT`, eps, known, rounds));
    }
    if (only === 'all' || only === 'big') {
      const s = await startSshd({ host: '127.0.5.1', authorizedKeys: [bench.key.publicKey], logLevel: 'INFO', extraConfig: ['MaxStartups 2000'] });
      servers.push(s);
      const eps = Array.from({ length: big }, (_, i) => ({ name: `big${i + 1}`, host: s.host, port: s.port }));
      const { inventory, knownHosts } = bench.write('big', eps, [knownHostsLine(s)]);
      const r = await bench.nodesweep(inventory, knownHosts);
      const row = `| ${big} hosts (one sshd), nodesweep only | ${fmt(r.ms)} | | | | | | ${mb(r.rss ?? 0)} |`;
      console.log(row);
      rows.push(row);
    }
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    bench.cleanup();
  }
  console.log(machineLine('after'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
