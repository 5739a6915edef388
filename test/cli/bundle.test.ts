/**
 * The installed bin (bin/nodesweep.cjs running scripts/bundle.mjs's bundle of tsc's output with a V8 code cache)
 * behaves like the unbundled CLI it is made from: same help, version, errors and exit codes, same inventory
 * output, same run, reports and logs; and its code cache is written, reused, and ignored when it is bad.
 *
 * Where it builds: not in the repository's dist/. Other tests, benches and `npm run demo`/`npm run build` may
 * read or rewrite dist/ while this file runs (--test-concurrency=2), and a half-written dist/ would make either
 * side flaky. So the test lays out a private package in a mkdtemp dir, shaped like an installed nodesweep:
 * package.json, node_modules, playbooks and src/modules/scripts linked from the repository, bin/nodesweep.cjs
 * copied (a link would make the loader find the repository's dist/ through its real path), dist/ from
 * `tsc --outDir` there, dist/bin from `bundle.mjs --dist` there. That also checks what matters once installed:
 * the bundle finds ../../package.json, ../../playbooks, ../../src/modules/scripts and its node_modules externals
 * (ssh2, better-sqlite3, ...) from dist/bin, with nothing of the repository's dist/ around.
 * tsc runs with --noCheck: the same JavaScript, without type-checking (tsconfig.check.json's job), so another
 * engineer's half-typed edit elsewhere does not fail this test.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, recapLines } from '../helpers/cli.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd = REPO_ROOT): Promise<Result> {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000); // a hung child fails the test, not the suite (bound sized for a loaded machine)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir = '';
let pkg = '';
let env: Record<string, string> = {};
const unbundled = () => join(pkg, 'dist', 'cli', 'main.js');
const bundled = () => join(pkg, 'bin', 'nodesweep.cjs');
const cacheDir = () => join(dir, 'cache', 'nodesweep');

/** The same command line through both CLIs, side by side. */
async function both(args: string[], extraEnv: Record<string, string> = {}): Promise<[Result, Result]> {
  const e = { ...env, ...extraEnv };
  return Promise.all([run(process.execPath, [unbundled(), ...args], e, dir), run(process.execPath, [bundled(), ...args], e, dir)]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ns-bundle-'));
  pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'src', 'modules'), { recursive: true });
  for (const p of ['package.json', 'node_modules', 'playbooks', 'src/modules/scripts']) symlinkSync(join(REPO_ROOT, p), join(pkg, p));
  mkdirSync(join(pkg, 'bin'));
  copyFileSync(join(REPO_ROOT, 'bin', 'nodesweep.cjs'), bundled());
  const tsc = await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.json'), '--noCheck', '--outDir', join(pkg, 'dist')]);
  assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
  const b = await run(process.execPath, [join(REPO_ROOT, 'scripts/bundle.mjs'), '--dist', join(pkg, 'dist')]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  env = { XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the bundled bin against the unbundled CLI', () => {
  test('the bin and the bundle are executable node scripts', () => {
    for (const f of [bundled(), join(pkg, 'dist', 'bin', 'nodesweep.cjs')]) {
      assert.ok(readFileSync(f, 'utf8').startsWith('#!/usr/bin/env node\n'), f);
      assert.ok(statSync(f).mode & 0o100, `${f} executable`);
    }
  });

  test('the bundle run directly (as lab up starts its server) is the same CLI', async () => {
    const direct = await run(process.execPath, [join(pkg, 'dist', 'bin', 'nodesweep.cjs'), 'inventory', '-i', join(REPO_ROOT, 'inventories/example.ini'), '--graph'], env, dir);
    const [a] = await both(['inventory', '-i', join(REPO_ROOT, 'inventories/example.ini'), '--graph']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(direct, a);
  });

  test('the code cache: written by the first invocation of a command that got through, reused unchanged, a bad one ignored and replaced, off with NODESWEEP_COMPILE_CACHE=0', async () => {
    rmSync(cacheDir(), { recursive: true, force: true });
    const args = ['inventory', '-i', join(REPO_ROOT, 'inventories/example.ini'), '--list'];
    const expected = await run(process.execPath, [unbundled(), ...args], env, dir);
    assert.equal(expected.code, 0, expected.stderr);

    const off = await run(process.execPath, [bundled(), ...args], { ...env, NODESWEEP_COMPILE_CACHE: '0' }, dir);
    assert.deepEqual(off, expected);
    assert.ok(!existsSync(cacheDir()), 'no cache written when turned off');

    const first = await run(process.execPath, [bundled(), ...args], env, dir);
    assert.deepEqual(first, expected);
    const files = readdirSync(cacheDir());
    assert.equal(files.length, 1, files.join(' '));
    assert.match(files[0]!, new RegExp(`^v8-${process.version.replace(/\./g, '\\.')}-${process.arch}-\\d+-\\d+-inventory\\.bin$`));
    const file = join(cacheDir(), files[0]!);
    assert.ok(statSync(file).size > 10_000, 'holds compiled code');

    // accepted: V8 takes it, so the loader leaves it alone (an old mtime stays old)
    const old = new Date('2020-01-01T00:00:00Z');
    utimesSync(file, old, old);
    const second = await run(process.execPath, [bundled(), ...args], env, dir);
    assert.deepEqual(second, expected);
    assert.equal(statSync(file).mtimeMs, old.getTime(), 'a cache V8 accepted is not rewritten');

    // garbage (a disk error, another Node's cache under the same name): V8 rejects it, the run is unaffected
    writeFileSync(file, Buffer.alloc(50_000, 7));
    const third = await run(process.execPath, [bundled(), ...args], env, dir);
    assert.deepEqual(third, expected);
    assert.notDeepEqual(readFileSync(file), Buffer.alloc(50_000, 7), 'the bad cache was replaced');

    // a command that stops at a bad option compiles only part of itself: it leaves no cache behind
    const bad = await run(process.execPath, [bundled(), 'run', 'x.yml', '-i', 'a,', '--zzz'], env, dir);
    assert.equal(bad.code, 5, bad.stderr);
    assert.deepEqual(readdirSync(cacheDir()), [files[0]!]);
    // --help has its own file (it compiles the help, not the command); temp files never stay behind
    const v = await run(process.execPath, [bundled(), 'run', '--help'], env, dir);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(readdirSync(cacheDir()).sort(), [files[0]!, files[0]!.replace('-inventory.bin', '-run-help.bin')].sort());

    // other builds' caches (another installed version) stay, up to the eight newest files
    const others = Array.from({ length: 9 }, (_, i) => join(cacheDir(), `v8-v0.0.0-x64-1-${i}-run.bin`));
    others.forEach((f, i) => {
      writeFileSync(f, 'other build');
      const t = new Date(Date.UTC(2021, 0, 1 + i));
      utimesSync(f, t, t);
    });
    rmSync(file);
    const again = await run(process.execPath, [bundled(), ...args], env, dir);
    assert.deepEqual(again, expected);
    const kept = readdirSync(cacheDir()).sort();
    assert.equal(kept.length, 8, kept.join(' '));
    assert.ok(kept.includes(files[0]!), 'the cache just written stays');
    assert.ok(kept.includes(files[0]!.replace('-inventory.bin', '-run-help.bin')));
    // 11 files: the two of this build and the 6 newest others stay, the 3 oldest go
    for (const f of others.slice(0, 3)) assert.ok(!kept.includes(f.split('/').pop()!), `the oldest go: ${f}`);
    for (const f of others.slice(3)) assert.ok(kept.includes(f.split('/').pop()!), `newer ones stay: ${f}`);
  });

  test('a bin without its bundle says how to build it (exit 1), no stack trace', async () => {
    const lone = join(dir, 'lone');
    mkdirSync(join(lone, 'bin'), { recursive: true });
    copyFileSync(bundled(), join(lone, 'bin', 'nodesweep.cjs'));
    const r = await run(process.execPath, [join(lone, 'bin', 'nodesweep.cjs'), '--version'], env, dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR! nodesweep is not built: cannot read .*dist\/bin\/nodesweep\.cjs \(ENOENT\); run 'npm run build' in .*lone\n$/);
  });

  test('installed as the docs say (`npm install -g` of the built package): `nodesweep` on PATH is this build, run from any directory', async () => {
    // The docs' cron, systemd and CronJob examples call the installed command, not npx (about a second of npm's
    // own start-up per run). A folder install links the package; --ignore-scripts: the build is already there.
    const prefix = join(dir, 'global');
    const npm = await run('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--offline', '--no-audit', '--no-fund', pkg], env, dir);
    assert.equal(npm.code, 0, npm.stdout + npm.stderr);
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const path = { ...env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const v = await run('nodesweep', ['--version'], path, elsewhere);
    assert.deepEqual(v, { code: 0, stdout: `${version}\n`, stderr: '' });
    const args = ['inventory', '-i', join(REPO_ROOT, 'inventories/example.ini'), '--graph'];
    const installed = await run('nodesweep', args, path, elsewhere);
    const expected = await run(process.execPath, [unbundled(), ...args], env, elsewhere);
    assert.equal(expected.code, 0, expected.stderr);
    assert.deepEqual(installed, expected);
  });

  test('--version, --help, run --help: same output, exit 0', async () => {
    for (const args of [['--version'], ['--help'], ['run', '--help'], ['lab', '--help']]) {
      const [a, b] = await both(args);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(b, a, args.join(' '));
    }
    const [v] = await both(['--version']);
    assert.equal(v.stdout, `${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  test('bad command lines: the same one-line error and exit 5', async () => {
    const cases: { args: string[]; env?: Record<string, string> }[] = [
      { args: ['run'] },
      { args: ['bogus'] },
      { args: ['run', 'x.yml', '-i', 'a,', '--connection', 'telnet'] },
      { args: ['inventory', '-i', 'a,'] },
      // yargs' own messages follow the locale in both (the bundle points yargs at its installed locales/)
      { args: ['run', 'x.yml', '-i', 'a,', '--zzz'], env: { LC_ALL: 'de_DE.UTF-8' } },
    ];
    for (const c of cases) {
      const [a, b] = await both(c.args, c.env);
      assert.equal(a.code, 5, a.stderr);
      assert.deepEqual(b, a, c.args.join(' '));
      assert.match(b.stderr, /^ERROR! [^\n]+\nRun 'nodesweep --help' for usage\.\n$/);
    }
    const [, de] = await both(['run', 'x.yml', '-i', 'a,', '--zzz'], { LC_ALL: 'de_DE.UTF-8' });
    assert.match(de.stderr, /Unbekanntes Argument: zzz/);
  });

  test('inventory --list and --graph: the same output', async () => {
    for (const args of [
      ['inventory', '-i', join(REPO_ROOT, 'inventories/example.ini'), '--list'],
      ['inventory', '-i', join(REPO_ROOT, 'inventories/example-inventory.yml'), '--graph'],
    ]) {
      const [a, b] = await both(args);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(b, a, args.join(' '));
    }
  });

  test('a local run with every report and the history database: same recap, report shape and logs', async () => {
    const playbook = join(dir, 'site.yml');
    writeFileSync(
      playbook,
      [
        '- name: bundle check',
        '  hosts: all',
        '  gather_facts: false',
        '  tasks:',
        '    - name: echo through the command module',
        '      command: echo hello',
        '      register: out',
        '    - name: show it',
        '      debug:',
        '        msg: "{{ out.stdout }} from {{ inventory_hostname }}"',
        '    - name: a shell pipeline',
        "      shell: printf 'a\\nb\\n' | wc -l",
        '      changed_when: false',
        '',
      ].join('\n'),
    );
    const out = (side: string, f: string) => join(dir, side, f);
    const runArgs = (side: string) => [
      'run', playbook, '-c', 'local', '-i', 'localhost,',
      '--report-json', out(side, 'report.json'), '--log-file', out(side, 'run.log'), '--junit', out(side, 'junit.xml'),
      '--report-html', out(side, 'report.html'), '--metrics-file', out(side, 'nodesweep.prom'), '--state-db', out(side, 'history.db'),
    ];
    const [a, b] = await Promise.all([
      run(process.execPath, [unbundled(), ...runArgs('a')], env, dir),
      run(process.execPath, [bundled(), ...runArgs('b')], env, dir),
    ]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.equal(b.stderr, a.stderr);
    assert.equal(b.stdout, a.stdout);
    assert.deepEqual(recapLines(b.stdout), recapLines(a.stdout));
    assert.match(recapLines(b.stdout)[0] ?? '', /^localhost\s+: ok=3\s+changed=1\s+unreachable=0\s+failed=0/);

    const report = (side: string) => JSON.parse(readFileSync(out(side, 'report.json'), 'utf8')) as { hosts: Record<string, { stats: unknown; tasks: { task: string; status: string }[] }> };
    assert.deepEqual(shape(report('b')), shape(report('a')));
    assert.deepEqual(report('b').hosts.localhost?.stats, report('a').hosts.localhost?.stats);
    assert.deepEqual(report('b').hosts.localhost?.tasks.map((t) => [t.task, t.status]), report('a').hosts.localhost?.tasks.map((t) => [t.task, t.status]));

    const events = (side: string) => readFileSync(out(side, 'run.log'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    assert.ok(events('b').length > 0, 'the log file has lines');
    assert.deepEqual(events('b'), events('a'));

    // timings and timestamps aside, the JUnit XML and the metrics are the same
    const digitsOut = (side: string, f: string) => readFileSync(out(side, f), 'utf8').replace(/\d+(\.\d+)?/g, 'N');
    assert.equal(digitsOut('b', 'junit.xml'), digitsOut('a', 'junit.xml'));
    assert.equal(digitsOut('b', 'nodesweep.prom'), digitsOut('a', 'nodesweep.prom'));
    assert.match(readFileSync(out('b', 'report.html'), 'utf8'), /id="nodesweep-data"/);
    assert.ok(existsSync(out('b', 'history.db')));

    // `nodesweep history` reads what each run recorded (better-sqlite3 stays external to the bundle)
    const [ha, hb] = await Promise.all([
      run(process.execPath, [unbundled(), 'history', '--state-db', out('a', 'history.db'), '--json'], env, dir),
      run(process.execPath, [bundled(), 'history', '--state-db', out('b', 'history.db'), '--json'], env, dir),
    ]);
    assert.equal(ha.code, 0, ha.stderr);
    assert.equal(hb.code, 0, hb.stderr);
    const comparable = (r: Result) => ({ ...(JSON.parse(r.stdout) as Record<string, unknown>), since: 0, state_db: '' });
    assert.deepEqual(comparable(hb), comparable(ha));
  });
});

/** The keys and value types of a JSON value, recursively (arrays by their first element). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return [v.length ? shape(v[0]) : null];
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}
