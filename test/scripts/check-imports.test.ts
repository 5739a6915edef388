/**
 * scripts/check-imports.mjs: folder-level import cycles of src/ (issue 12), run on small fixture trees through
 * the real script, so its exit code and message are what a developer sees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'check-imports.mjs');

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodesweep-imports-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** The script run on a fixture tree of these files (removed afterwards). */
function check(files: Record<string, string>) {
  const dir = tree(files);
  try {
    const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8', cwd: dir });
    return { code: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an acyclic tree passes: arrows inside a folder and down the layers are fine', () => {
  const r = check({
    'errors.ts': 'export const E = 1;\n',
    'util/a.ts': "import { E } from '../errors.js';\nimport { b } from './b.js';\nexport const a = E + b;\n",
    'util/b.ts': 'export const b = 2;\n',
    'core/c.ts': "import type { X } from '../util/a.js';\nexport const c = await import('../util/b.js');\n",
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('a cycle through a type import, a re-export and a dynamic import is found, each arrow with file:line', () => {
  const r = check({
    'alpha/one.ts': "export const x = 1;\n\nimport type { Y } from '../beta/two.js';\n",
    'beta/two.ts': "export * from '../gamma/three.js';\n",
    'gamma/three.ts': "const m = () => import('../alpha/one.js');\nexport { m };\n",
    'delta/four.ts': "import { x } from '../alpha/one.js';\nexport const y = x;\n",
  });
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines[0], 'import cycle between src/ folders: alpha, beta, gamma');
  assert.deepEqual(lines.slice(1).map((l) => l.trim()), [
    'alpha -> beta  (alpha/one.ts:3)',
    'beta -> gamma  (beta/two.ts:1)',
    'gamma -> alpha  (gamma/three.ts:1)',
  ]);
  assert.ok(!r.stderr.includes('delta'), 'a folder that only points into the cycle is not part of it');
});
