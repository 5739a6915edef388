// The README is a front page that links every docs/ page; every relative link and #anchor in it and in docs/
// must resolve, so a page moved or a heading renamed shows up here instead of as a dead link for an operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');
/** Bound for the front page: a few screens. */
const readmeMaxBytes = 9 * 1024;

/** GitHub's heading slug: lower case, punctuation dropped (except - and _), spaces to -, duplicates numbered. */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!.replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

/** Relative link targets of a markdown file (code spans and fences left out). */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
}

/** Every broken relative link or anchor in the given files, as "file: target (why)". */
export function brokenLinks(files: string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const target of linkTargets(readFileSync(file, 'utf8'))) {
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const targetFile = path === '' ? file : resolve(dirname(file), path);
      if (!existsSync(targetFile)) {
        problems.push(`${file}: ${target} (no such file)`);
      } else if (anchor !== undefined && targetFile.endsWith('.md') && !headingSlugs(readFileSync(targetFile, 'utf8')).has(anchor)) {
        problems.push(`${file}: ${target} (no heading #${anchor})`);
      }
    }
  }
  return problems;
}

/** docs/*.md pages the README does not link to. */
export function unlinkedPages(root: string): string[] {
  const readme = linkTargets(readFileSync(join(root, 'README.md'), 'utf8')).map((t) => t.split('#')[0]);
  return readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).filter((f) => !readme.includes(`docs/${f}`));
}

const docFiles = (root: string) => [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs', f)),
];

test('every docs/ page is linked from the README', () => {
  assert.deepEqual(unlinkedPages(repoRoot), []);
});

test('every relative link and anchor in the README and docs/ resolves', () => {
  assert.deepEqual(brokenLinks(docFiles(repoRoot)), []);
});

test(`the README stays a front page (under ${readmeMaxBytes} bytes)`, () => {
  const size = readFileSync(join(repoRoot, 'README.md')).length;
  assert.ok(size < readmeMaxBytes, `README.md is ${size} bytes`);
});

test('the checks catch a broken link, a missing anchor and an unlinked page', () => {
  const root = mkdtempSync(join(tmpdir(), 'nodesweep-docs-'));
  try {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'a.md'), '# Page A\n\n## Some `code` heading: here\n\nBack to [README](../README.md).\n');
    writeFileSync(join(root, 'docs', 'orphan.md'), '# Orphan\n');
    writeFileSync(
      join(root, 'README.md'),
      '# Top\n\n[ok](docs/a.md#some-code-heading-here) [gone](docs/gone.md) [bad](docs/a.md#nope) [self](#top) [x](#missing)\n' +
        '`[not a link](nowhere.md)`\n',
    );
    assert.deepEqual(brokenLinks(docFiles(root)).map((p) => p.slice(root.length + 1)), [
      'README.md: docs/gone.md (no such file)',
      'README.md: docs/a.md#nope (no heading #nope)',
      'README.md: #missing (no heading #missing)',
    ]);
    assert.deepEqual(unlinkedPages(root), ['orphan.md']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
