import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectError } from '../../src/errors.js';
import type { RunOptions } from '../../src/contracts/run-options.js';
import { proxyCommandToJump, resolveConnectionSpec, shellSplit, type ConnectionSpec } from '../../src/transport/spec.js';

const ENV = { home: '/home/me', localUser: 'me' };
const DEFAULT_IDS = ['/home/me/.ssh/id_ed25519', '/home/me/.ssh/id_ecdsa', '/home/me/.ssh/id_rsa'];

function opts(extra: Partial<RunOptions> = {}): RunOptions {
  return {
    forks: 5,
    check: false,
    tags: [],
    skipTags: [],
    extraVars: {},
    taskTimeoutMs: 300_000,
    connectTimeoutMs: 10_000,
    become: false,
    knownHosts: '~/.ssh/known_hosts',
    hostKeyChecking: 'strict',
    verbosity: 0,
    ...extra,
  };
}

const SSH_CONFIG = `
Host bastion
  HostName 10.9.9.9
  User jumper
  Port 2201
  IdentityFile ~/.ssh/bastion_key

Host web-*
  User deploy
  IdentityFile ~/.ssh/%r_%h
  ProxyJump bastion

Host alias1
  HostName real1.example.com
  Port 2022

Host *
  User fallback
`;

type Case = {
  name: string;
  host: string;
  vars?: Record<string, unknown>;
  options?: Partial<RunOptions>;
  config?: string;
  want: (s: ConnectionSpec) => void;
};

const cases: Case[] = [
  {
    name: 'defaults: inventory name, port 22, local user, default keys, strict',
    host: 'plain',
    want: (s) => {
      assert.equal(s.connection, 'ssh');
      assert.equal(s.hostname, 'plain');
      assert.equal(s.port, 22);
      assert.equal(s.user, 'me');
      assert.deepEqual(s.identities.map((i) => i.path), DEFAULT_IDS);
      assert.ok(s.identities.every((i) => !i.required));
      assert.deepEqual(s.jumps, []);
      assert.equal(s.become, undefined);
      assert.equal(s.hostKeyChecking, 'strict');
      assert.equal(s.knownHostsFile, '/home/me/.ssh/known_hosts');
      assert.equal(s.connectTimeoutMs, 10_000);
    },
  },
  {
    name: 'ansible_host/port/user/password/key',
    host: 'web',
    vars: { ansible_host: '127.0.1.5', ansible_port: 2222, ansible_user: 'admin', ansible_password: 'pw', ansible_ssh_private_key_file: '~/keys/web' },
    want: (s) => {
      assert.equal(s.hostname, '127.0.1.5');
      assert.equal(s.port, 2222);
      assert.equal(s.user, 'admin');
      assert.equal(s.password, 'pw');
      assert.deepEqual(s.identities[0], { path: '/home/me/keys/web', required: true });
    },
  },
  {
    name: 'old spellings ansible_ssh_host/port/user/pass, port as a string',
    host: 'old',
    vars: { ansible_ssh_host: '10.0.0.1', ansible_ssh_port: '2200', ansible_ssh_user: 'legacy', ansible_ssh_pass: 'x' },
    want: (s) => {
      assert.equal(s.hostname, '10.0.0.1');
      assert.equal(s.port, 2200);
      assert.equal(s.user, 'legacy');
      assert.equal(s.password, 'x');
    },
  },
  {
    name: 'host var beats -u; -u beats ssh config; --private-key is required',
    host: 'web-1',
    vars: { ansible_user: 'fromvars' },
    options: { user: 'fromcli', privateKey: '/k/cli' },
    config: SSH_CONFIG,
    want: (s) => {
      assert.equal(s.user, 'fromvars');
      assert.deepEqual(s.identities[0], { path: '/k/cli', required: true });
    },
  },
  {
    name: '-u beats ssh config User',
    host: 'web-1',
    options: { user: 'fromcli' },
    config: SSH_CONFIG,
    want: (s) => assert.equal(s.user, 'fromcli'),
  },
  {
    name: 'ssh config: User, IdentityFile with %r/%h tokens, ProxyJump through a configured bastion',
    host: 'web-1',
    config: SSH_CONFIG,
    want: (s) => {
      assert.equal(s.user, 'deploy');
      assert.deepEqual(s.identities[0], { path: '/home/me/.ssh/deploy_web-1', required: false });
      assert.equal(s.jumps.length, 1);
      assert.equal(s.jumps[0]!.hostname, '10.9.9.9');
      assert.equal(s.jumps[0]!.port, 2201);
      assert.equal(s.jumps[0]!.user, 'jumper');
      assert.equal(s.jumps[0]!.identities[0]!.path, '/home/me/.ssh/bastion_key');
    },
  },
  {
    name: 'ssh config HostName and Port, found by ansible_host',
    host: 'inv-name',
    vars: { ansible_host: 'alias1' },
    config: SSH_CONFIG,
    want: (s) => {
      assert.equal(s.hostname, 'real1.example.com');
      assert.equal(s.port, 2022);
      assert.equal(s.user, 'fallback');
    },
  },
  {
    name: 'ansible_port beats ssh config Port',
    host: 'alias1',
    vars: { ansible_port: 22 },
    config: SSH_CONFIG,
    want: (s) => assert.equal(s.port, 22),
  },
  {
    name: 'common args -o ProxyJump=user@bastion:port',
    host: 'h',
    vars: { ansible_ssh_common_args: '-o ProxyJump=ops@127.0.1.10:2210 -o ServerAliveInterval=5' },
    want: (s) => {
      assert.deepEqual(
        s.jumps.map((j) => [j.user, j.hostname, j.port]),
        [['ops', '127.0.1.10', 2210]],
      );
    },
  },
  {
    name: 'common args -J with two hops, and ProxyJump beats ssh config',
    host: 'web-2',
    vars: { ansible_ssh_common_args: '-J a@h1,b@h2:2' },
    config: SSH_CONFIG,
    want: (s) => {
      assert.deepEqual(
        s.jumps.map((j) => [j.user, j.hostname, j.port]),
        [
          ['a', 'h1', 22],
          ['b', 'h2', 2],
        ],
      );
    },
  },
  {
    name: 'common args -o ProxyCommand="ssh -W %h:%p -q ops@bastion -p 2222" becomes a hop',
    host: 'h',
    vars: { ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p -q ops@bastion -p 2222 -i ~/.ssh/b"' },
    want: (s) => {
      assert.deepEqual(
        s.jumps.map((j) => [j.user, j.hostname, j.port]),
        [['ops', 'bastion', 2222]],
      );
      assert.deepEqual(s.jumps[0]!.identities[0], { path: '/home/me/.ssh/b', required: true });
    },
  },
  {
    name: "common args -o 'ProxyCommand ssh -l ops bastion nc %h %p' (space form, nc)",
    host: 'h',
    vars: { ansible_ssh_common_args: "-o 'ProxyCommand ssh -l ops bastion nc %h %p'" },
    want: (s) => assert.deepEqual(s.jumps.map((j) => [j.user, j.hostname, j.port]), [['ops', 'bastion', 22]]),
  },
  {
    name: 'common args StrictHostKeyChecking/UserKnownHostsFile/ConnectTimeout',
    host: 'h',
    vars: { ansible_ssh_common_args: '-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/tmp/kh -o ConnectTimeout=3' },
    want: (s) => {
      assert.equal(s.hostKeyChecking, 'accept-new');
      assert.equal(s.knownHostsFile, '/tmp/kh');
      assert.equal(s.connectTimeoutMs, 3000);
    },
  },
  {
    name: 'ansible_host_key_checking=false turns checking off',
    host: 'h',
    vars: { ansible_host_key_checking: 'False' },
    want: (s) => assert.equal(s.hostKeyChecking, 'off'),
  },
  {
    name: 'become from host vars with user and password',
    host: 'h',
    vars: { ansible_become: 'yes', ansible_become_user: 'postgres', ansible_become_password: 's3cret' },
    want: (s) => {
      assert.deepEqual(s.become, { user: 'postgres', method: 'sudo', password: 's3cret' });
      assert.equal(s.becomePassword, 's3cret');
    },
  },
  {
    name: '--become and --ask-become-pass from options; root by default',
    host: 'h',
    options: { become: true, becomePassword: 'cli' },
    want: (s) => assert.deepEqual(s.become, { user: 'root', method: 'sudo', password: 'cli' }),
  },
  {
    name: 'ansible_become=false beats --become',
    host: 'h',
    vars: { ansible_become: false },
    options: { become: true },
    want: (s) => assert.equal(s.become, undefined),
  },
  {
    name: 'ansible_connection=local',
    host: 'localhost',
    vars: { ansible_connection: 'local' },
    want: (s) => assert.equal(s.connection, 'local'),
  },
  {
    name: '-c local applies to every host',
    host: 'x',
    options: { connection: 'local' },
    want: (s) => assert.equal(s.connection, 'local'),
  },
  {
    name: 'ansible_connection=smart is ssh; ansible_timeout in seconds',
    host: 'x',
    vars: { ansible_connection: 'smart', ansible_timeout: 7 },
    want: (s) => {
      assert.equal(s.connection, 'ssh');
      assert.equal(s.connectTimeoutMs, 7000);
    },
  },
];

describe('resolveConnectionSpec', () => {
  for (const c of cases) {
    test(c.name, () => c.want(resolveConnectionSpec(c.host, c.vars ?? {}, opts(c.options), c.config, ENV)));
  }

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['port out of range', { ansible_port: 70000 }, /ansible_port must be a port number 1-65535, got "70000"/],
    ['port not a number', { ansible_port: 'ssh' }, /ansible_port must be a port number/],
    ['unsupported connection', { ansible_connection: 'winrm' }, /ansible_connection=winrm is not supported/],
    ['unsupported become method', { ansible_become: true, ansible_become_method: 'su' }, /ansible_become_method=su is not supported/],
    ['not a boolean', { ansible_become: 'maybe' }, /ansible_become must be a boolean/],
    ['unsupported ProxyCommand', { ansible_ssh_common_args: '-o ProxyCommand="corkscrew proxy 8080 %h %p"' }, /ProxyCommand .* is not supported/],
    ['unterminated quote', { ansible_ssh_common_args: '-o "ProxyJump=x' }, /No closing quotation/],
  ];
  for (const [name, vars, re] of bad) {
    test(`rejects ${name} with a ConnectError naming the host`, () => {
      assert.throws(
        () => resolveConnectionSpec('h1', vars, opts(), undefined, ENV),
        (e: unknown) => e instanceof ConnectError && e.message.startsWith('h1: ') && re.test(e.message),
      );
    });
  }
});

describe('shellSplit and ProxyCommand', () => {
  const splits: [string, string[]][] = [
    ['-o ProxyJump=a@b', ['-o', 'ProxyJump=a@b']],
    [`-o "ProxyCommand=ssh -W %h:%p b"`, ['-o', 'ProxyCommand=ssh -W %h:%p b']],
    [`-o 'a b' c\\ d`, ['-o', 'a b', 'c d']],
    [`x"y z"w`, ['xy zw']],
    ['  ', []],
  ];
  for (const [input, want] of splits) test(`split ${input}`, () => assert.deepEqual(shellSplit(input), want));

  const pcs: [string, string][] = [
    ['ssh -W %h:%p bastion', 'bastion'],
    ['ssh -W %h:%p -p 2222 ops@bastion', 'ops@bastion:2222'],
    ['/usr/bin/ssh -q -W [%h]:%p -l ops bastion', 'ops@bastion'],
    ['ssh -J first -W %h:%p second', 'first,second'],
  ];
  for (const [cmd, want] of pcs) test(`ProxyCommand ${cmd}`, () => assert.equal(proxyCommandToJump(cmd, 'h'), want));
});
