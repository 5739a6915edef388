#!/usr/bin/env node
// Folder-level import cycles in src/ (issue 12): each top-level folder of src/ is one node (files directly in src/
// are each a node of their own), every relative import, `import type`, re-export and dynamic import() an arrow.
// A cycle between folders means a contract lives in the wrong place ("no arrow runs back up"); this prints each
// cycle with one file:line per arrow and exits 1, else prints nothing and exits 0.
//   node scripts/check-imports.mjs [SRC_DIR]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function tsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The graph node of a file: its top-level folder under src/, or the file's own name for files in src/ itself. */
function nodeOf(src, file) {
  const rel = relative(src, file);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  return parts.length === 1 ? parts[0].replace(/\.(m|c)?[jt]s$/, '') : parts[0];
}

/** arrows: Map from -> Map to -> first "file:line" seen. */
export function importGraph(src) {
  const arrows = new Map();
  for (const file of tsFiles(src)) {
    const from = nodeOf(src, file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const to = nodeOf(src, resolve(dirname(file), m[1]));
      if (to === null || to === from) continue;
      const line = text.slice(0, m.index).split('\n').length;
      if (!arrows.has(from)) arrows.set(from, new Map());
      const outs = arrows.get(from);
      if (!outs.has(to)) outs.set(to, `${relative(process.cwd(), file)}:${line}`);
    }
  }
  return arrows;
}

/** Strongly connected components with more than one node (Tarjan), each as a sorted list of nodes. */
export function cycles(arrows) {
  const nodes = new Set([...arrows.keys(), ...[...arrows.values()].flatMap((m) => [...m.keys()])]);
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of (arrows.get(v) ?? new Map()).keys()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a.join().localeCompare(b.join()));
}

/** The report: per cycle, its folders and every arrow inside it with the first place it is made. */
export function describe(arrows, comps) {
  const lines = [];
  for (const comp of comps) {
    lines.push(`import cycle between src/ folders: ${comp.join(', ')}`);
    const inComp = new Set(comp);
    for (const from of comp) {
      for (const [to, where] of [...(arrows.get(from) ?? new Map())].sort()) {
        if (inComp.has(to)) lines.push(`  ${from} -> ${to}  (${where})`);
      }
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const arrows = importGraph(src);
  const comps = cycles(arrows);
  if (comps.length > 0) {
    console.error(describe(arrows, comps));
    process.exit(1);
  }
}
