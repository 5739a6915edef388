#!/usr/bin/env node
/**
 * Bundles tsc's output (dist/cli/main.js) into one CommonJS file, dist/bin/nodesweep.cjs, which the installed
 * `nodesweep` command (bin/nodesweep.cjs) loads with a V8 code cache. Node reads one file instead of hundreds
 * and, with the cache, compiles almost nothing. CommonJS because Node 20 can give a V8 code cache only to a
 * script (vm.Script), not to an ES module; esbuild turns the lazy import()s into lazily run functions.
 *
 *   node scripts/bundle.mjs [--dist DIR]     (default DIR: the repository's dist/)
 *
 * Entry DIR/cli/main.js, output DIR/bin/. dist/bin sits at the depth of dist/cli on purpose: the code's
 * `new URL('../../package.json' | '../../playbooks/...' | '../../src/modules/scripts/...', import.meta.url)`
 * resolves to the package's files from either. --dist lets test/cli/bundle.test.ts bundle a private tsc output
 * (in a temp dir shaped like an installed package) without touching the dist/ other tests and benches use.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { dist: { type: 'string' } } });
const dist = resolve(values.dist ?? join(repo, 'dist'));
const entry = join(dist, 'cli', 'main.js');
const outdir = join(dist, 'bin');
const outfile = join(outdir, 'nodesweep.cjs');

/**
 * yargs finds its translations (locales/*.json) relative to its own file; bundled, that path points nowhere and
 * every message would be English whatever LANG says, where the unbundled CLI speaks the user's language. Point
 * it at the installed yargs package instead (a dependency, so present wherever the bin is installed), falling
 * back to the old path. If a yargs upgrade changes the line, the build fails here instead of drifting silently.
 */
const yargsLocales = {
  name: 'yargs-locales',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      const from = "directory: resolve(__dirname, '../../../locales')";
      if (!src.includes(from)) throw new Error(`${args.path}: no \`${from}\` to redirect (yargs changed: update scripts/bundle.mjs)`);
      const to = "directory: (() => { try { return join(dirname(require.resolve('yargs/package.json')), 'locales') } catch { return resolve(__dirname, '../../../locales') } })()";
      return { contents: src.replace(from, to), loader: 'js' };
    });
  },
};

if (!readFileSync(entry, 'utf8').startsWith('#!')) throw new Error(`${entry} has no #! line: the bin would not be executable`);
// Nothing stale from an earlier build (e.g. chunks of the former ESM bundle): only dist/bin's own outputs go.
for (const f of existsSync(outdir) ? readdirSync(outdir) : []) if (/\.c?js(\.map)?$/.test(f)) rmSync(join(outdir, f));

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  // run/scan/history/lab/demo, winston, prom-client, the HTML report: their import()s become functions run on
  // first use, so a run still evaluates only what it needs.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  // Linked maps cost nothing at run time; `node --enable-source-maps` turns a bug's stack (exit 250) into src/ lines.
  sourcemap: 'linked',
  sourcesContent: false,
  // Loaded from node_modules at run time: native bindings found through __dirname (ssh2, cpu-features,
  // better-sqlite3) and client-node, which is large, ESM, and imported lazily only by kube_* modules.
  external: ['ssh2', 'cpu-features', 'better-sqlite3', '@kubernetes/client-node', '*.node'],
  // Our code finds package files with new URL('../../...', import.meta.url): in CommonJS, the bundle's own URL.
  // esbuild keeps the entry's #! line above this banner.
  define: { 'import.meta.url': '__nsImportMetaUrl' },
  banner: { js: "const __nsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [yargsLocales],
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
