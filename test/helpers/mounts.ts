/**
 * Real filesystems for tests that run as root (as on CI), where mode bits cannot make a path unwritable: a
 * read-only tmpfs, and a small tmpfs filled to ENOSPC. Every mount is undone by unmount() (call it in after()).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class TestMounts {
  private readonly mounted: string[] = [];

  /** A read-only tmpfs at dir holding `files` (name -> content), written before it is remounted read-only. */
  readOnly(dir: string, files: Record<string, string> = {}): string {
    this.tmpfs(dir, 'size=1m');
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    return dir;
  }

  /** A tmpfs of `kib` KiB at dir with no space left (one file, `filler`, takes it all; new empty files still fit). */
  full(dir: string, kib: number): string {
    this.tmpfs(dir, `size=${kib}k`);
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      /* dd stops with ENOSPC: that is the point */
    }
    return dir;
  }

  unmount(): void {
    for (const m of this.mounted.splice(0).reverse()) {
      try {
        execFileSync('umount', [m]);
      } catch (e) {
        console.error(`umount ${m}: ${String(e)}`);
      }
    }
  }

  private tmpfs(dir: string, opts: string): void {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
    this.mounted.push(dir);
  }
}
