/**
 * checkWritable and writeFileAtomic on real filesystems (as root, as on CI: a read-only tmpfs and a full one stand
 * for what mode bits cannot show root). Each shape of "cannot write" gives the reason the real write would, and
 * nothing is left behind: no probe, no created dir, no truncated file, no half-written temp file.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestMounts } from '../helpers/mounts.js';
import { OutputWriteError, checkWritable, ioReason, writeFileAtomic } from '../../src/report/files.js';

function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('report files', () => {
  let root: string;
  const mounts = new TestMounts();
  let ro: string;
  let full: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ns-files-'));
    ro = mounts.readOnly(join(root, 'ro'), { 'existing.log': 'kept\n' });
    full = mounts.full(join(root, 'full'), 16);
    writeFileSync(join(root, 'plain-file'), 'x\n');
    writeFileSync(join(root, 'existing.log'), 'old log\n');
  });

  after(() => {
    mounts.unmount();
    rmSync(root, { recursive: true, force: true });
  });

  const refused = async (path: string, inPlace: boolean, reason: RegExp) => {
    const before = listing(root);
    await assert.rejects(checkWritable(path, { inPlace }), (e) => {
      assert.match(ioReason(e), reason, `${path}: ${String(e)}`);
      return true;
    });
    assert.deepEqual(listing(root), before, `${path}: nothing left behind`);
  };

  for (const inPlace of [false, true]) {
    test(`refused with the system's reason (${inPlace ? 'written in place' : 'written beside and renamed'})`, async () => {
      await refused('/proc/nodesweep-test.json', inPlace, /^ENOENT: no such file or directory$/);
      await refused(join(ro, 'new.json'), inPlace, /^EROFS: read-only file system$/);
      await refused(join(ro, 'a', 'b', 'new.json'), inPlace, /^EROFS: read-only file system$/);
      await refused(join(ro, 'existing.log'), inPlace, /^EROFS: read-only file system$/);
      await refused(join(root, 'plain-file', 'x.json'), inPlace, new RegExp(`^ENOTDIR: ${join(root, 'plain-file')} is not a directory$`));
      await refused(join(root, 'plain-file', 'a', 'b', 'x.json'), inPlace, /^ENOTDIR: .*plain-file is not a directory$/);
      await refused(root, inPlace, /^EISDIR: is a directory$/);
    });
  }

  test('accepted where it can be written, creating nothing and truncating nothing', async () => {
    const before = listing(root);
    await checkWritable(join(root, 'new.json'));
    await checkWritable(join(root, 'not', 'yet', 'there.json'));
    await checkWritable(join(root, 'existing.log'), { inPlace: true });
    await checkWritable(join(root, 'existing.log'));
    // a new empty file still fits on a full disk: that failure can only show at the end (next test)
    await checkWritable(join(full, 'report.json'));
    assert.deepEqual(listing(root), before);
    assert.equal(readFileSync(join(root, 'existing.log'), 'utf8'), 'old log\n');
  });

  test('a write that fails (disk full) names the path and the cause, and leaves no temp file', async () => {
    const path = join(full, 'report.json');
    await assert.rejects(writeFileAtomic(path, 'x'.repeat(64 * 1024)), (e) => {
      assert.ok(e instanceof OutputWriteError);
      assert.equal(e.path, path);
      assert.equal(e.message, `${path}: ENOSPC: no space left on device`);
      return true;
    });
    assert.deepEqual(readdirSync(full), ['filler']);
    assert.equal(statSync(join(full, 'filler')).size, 16 * 1024);
  });
});
