/**
 * Output files through the real CLI, on real filesystems (this runs as root, as on CI: root ignores mode bits, so
 * "read-only" is a tmpfs mounted read-only, and "full" a small tmpfs filled to ENOSPC).
 * - An output path that cannot be written is exit 5 before anything runs (the playbook's marker file is never
 *   created), one line naming the option, the path and the reason, and nothing is left behind or truncated.
 * - A write that fails at the end is an [ERROR] line naming the option, path and cause; every other output is
 *   still written and the exit code is the run's own (2: the playbook fails a task on purpose).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, type CliResult } from '../helpers/cli.js';
import { TestMounts } from '../helpers/mounts.js';

const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: change the fleet
      shell: touch "{{ marker }}"
    - name: fail on purpose
      fail:
        msg: the run's own failure
`;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every path under the dirs with its content, to prove a refused run left nothing behind and changed nothing. */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of dirs) {
    out[dir] = 'dir';
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      const p = join(dir, name);
      out[p] = statSync(p).isDirectory() ? 'dir' : readFileSync(p).toString('base64');
    }
  }
  return out;
}

interface Option {
  flag: string;
  /** a good file name for it */
  file: string;
  /** written in place (an existing file is opened, not replaced) */
  inPlace?: boolean;
}

const OPTIONS: Option[] = [
  { flag: '--report-json', file: 'report.json' },
  { flag: '--junit', file: 'junit.xml' },
  { flag: '--log-file', file: 'run.log', inPlace: true },
  { flag: '--metrics-file', file: 'nodesweep.prom' },
  { flag: '--report-html', file: 'report.html' },
  { flag: '--state-db', file: 'history.db', inPlace: true },
];

describe('output paths', () => {
  let root: string;
  const mounts = new TestMounts();
  let inventory: string;
  let playbook: string;
  /** read-only tmpfs holding one existing file per output */
  let ro: string;
  /** tmpfs with no space left */
  let full: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-outputs-'));
    inventory = join(root, 'inv.ini');
    playbook = join(root, 'pb.yml');
    writeFileSync(inventory, 'localhost ansible_connection=local\n');
    writeFileSync(playbook, PLAYBOOK);
    writeFileSync(join(root, 'plain-file'), 'not a directory\n');
    mkdirSync(join(root, 'a-dir'));
    ro = mounts.readOnly(join(root, 'ro'), Object.fromEntries(OPTIONS.map((o) => [o.file, 'existing\n'])));
    full = mounts.full(join(root, 'full'), 64);
    assert.equal(statSync(join(full, 'filler')).size, 64 * 1024, 'the tmpfs is full');
  });

  after(() => {
    mounts.unmount();
    rmSync(root, { recursive: true, force: true });
  });

  const run = (marker: string, args: string[]): Promise<CliResult> =>
    runCli(['run', playbook, '-i', inventory, '-e', `marker=${marker}`, ...args], { timeoutMs: 60_000 });

  /**
   * Where each option cannot write, and what the system says: /proc and a read-only filesystem for every option,
   * and in turn one of the other shapes (each is tried on two options; test/report/files.test.ts has them all).
   */
  const places = (o: Option): { name: string; path: string; reason: string }[] => {
    const shapes = [
      { name: 'on a read-only filesystem (a new dir)', path: join(ro, 'new', o.file), reason: 'EROFS: read-only file system' },
      { name: 'under a file in place of a dir', path: join(root, 'plain-file', 'sub', o.file), reason: `ENOTDIR: ${esc(join(root, 'plain-file'))} is not a directory` },
      { name: 'that is a directory', path: join(root, 'a-dir'), reason: 'EISDIR: is a directory' },
    ];
    return [
      { name: 'under /proc', path: `/proc/nodesweep-test-${o.file}`, reason: 'ENOENT: no such file or directory' },
      { name: 'on a read-only filesystem (the file exists)', path: join(ro, o.file), reason: 'EROFS: read-only file system' },
      shapes[OPTIONS.indexOf(o) % shapes.length]!,
    ];
  };

  for (const o of OPTIONS) {
    test(`${o.flag} that cannot be written: exit 5 before anything runs, one line, nothing left behind`, { timeout: 300_000 }, async () => {
      // the places side by side (each run has its own dir for the other outputs; the shared ones are only read)
      await Promise.all(
        places(o).map(async (p) => {
          const good = mkdtempSync(join(root, 'good-'));
          // the other outputs, at good paths, two of them already there: neither truncated nor created
          writeFileSync(join(good, 'report.json'), '{"old": true}\n');
          writeFileSync(join(good, 'run.log'), 'old log line\n');
          // ...and one in dirs that do not exist yet: the check must not create them
          const goodPath = (x: Option) => (x.flag === '--report-html' ? join(good, 'new', 'dir', x.file) : join(good, x.file));
          const others = OPTIONS.filter((x) => x !== o).flatMap((x) => [x.flag, goodPath(x)]);
          const marker = join(good, 'ran');
          const watched = [good, ro, join(root, 'a-dir')];
          const before = snapshot(watched);
          const plainFile = readFileSync(join(root, 'plain-file'), 'utf8');
          const r = await run(marker, [...others, o.flag, p.path]);
          assert.equal(r.code, 5, `${p.name}: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`^ERROR! ${esc(o.flag)} ${esc(p.path)}: cannot write: ${p.reason}\\n$`), p.name);
          assert.equal(r.stdout, '', `${p.name}: nothing ran`);
          assert.ok(!existsSync(marker), `${p.name}: the fleet was not touched`);
          assert.deepEqual(snapshot(watched), before, `${p.name}: no file created, removed or truncated`);
          assert.equal(readFileSync(join(root, 'plain-file'), 'utf8'), plainFile);
          rmSync(good, { recursive: true });
        }),
      );
    });
  }

  test('--report-json whose retry file cannot be written is refused too', async () => {
    const good = mkdtempSync(join(root, 'good-'));
    mkdirSync(join(good, 'report.retry'));
    const marker = join(good, 'ran');
    const r = await run(marker, ['--report-json', join(good, 'report.json')]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`^ERROR! --report-json \\(its retry file\\) ${esc(join(good, 'report.retry'))}: cannot write: EISDIR: is a directory\\n$`));
    assert.ok(!existsSync(marker) && !existsSync(join(good, 'report.json')));
    rmSync(good, { recursive: true });
  });

  test('a write that fails at the end (disk full): an [ERROR] line, the other outputs written, the run\'s exit code', { timeout: 300_000 }, async () => {
    for (const o of OPTIONS) {
      const good = mkdtempSync(join(root, 'good-'));
      const onFull = mkdtempSync(join(full, 'run-'));
      const bad = join(onFull, o.file);
      const others = OPTIONS.filter((x) => x !== o);
      const marker = join(good, 'ran');
      const r = await run(marker, [...others.flatMap((x) => [x.flag, join(good, x.file)]), o.flag, bad]);
      assert.equal(r.code, 2, `${o.flag}: the run's own exit code\n${r.stderr}`);
      assert.ok(existsSync(marker), 'the run ran');
      assert.doesNotMatch(r.stderr, /^\s+at |internal error/m, `${o.flag}: no stack trace`);
      const problems = r.stderr.split('\n').filter((l) => /^\[(ERROR|WARNING)\]/.test(l));
      if (o.flag === '--state-db') {
        // a history problem never fails a run: a warning, as documented, naming the database and the cause
        assert.deepEqual(problems.length, 1, r.stderr);
        assert.match(problems[0]!, new RegExp(`^\\[WARNING\\]: history not recorded \\(${esc(bad)}\\): .*(disk is full|SQLITE_FULL)`));
      } else {
        const want = [`[ERROR]: ${o.flag} ${bad}: write failed: ENOSPC: no space left on device`];
        // the retry file goes beside the JSON report, so onto the same full disk
        if (o.flag === '--report-json') want.push(`[ERROR]: --report-json (its retry file) ${join(onFull, 'report.retry')}: write failed: ENOSPC: no space left on device`);
        assert.deepEqual(problems, want, r.stderr);
      }
      // no temp file left on the full disk; an output written in place may exist, empty
      for (const f of readdirSync(onFull)) assert.ok(o.inPlace && f.startsWith(o.file) && statSync(join(onFull, f)).size === 0, `${o.flag}: left ${f}`);

      // every other output is whole
      for (const x of others) {
        const p = join(good, x.file);
        assert.ok(existsSync(p), `${o.flag} failed: ${x.flag} was still written`);
        const text = readFileSync(p, 'utf8');
        if (x.flag === '--report-json') {
          assert.equal(JSON.parse(text).exit_code, 2);
          assert.equal(readFileSync(join(good, 'report.retry'), 'utf8'), 'localhost\n');
        }
        if (x.flag === '--junit') assert.match(text, /<testcase [^>]*name="localhost: fail on purpose"/);
        if (x.flag === '--log-file') assert.match(text.trim().split('\n').at(-1)!, /"message":"run_end"/);
        if (x.flag === '--metrics-file') assert.match(text, /^nodesweep_last_run_timestamp_seconds \d+/m);
        if (x.flag === '--report-html') assert.match(text, /<\/html>\s*$/);
        if (x.flag === '--state-db') {
          const db = new Database(p, { readonly: true });
          try {
            assert.equal((db.prepare('SELECT exit_code FROM runs').get() as { exit_code: number }).exit_code, 2);
          } finally {
            db.close();
          }
        }
      }
      rmSync(good, { recursive: true });
      rmSync(onFull, { recursive: true });
    }
  });
});
