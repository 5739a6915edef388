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
import { dirname, resolve, join } from 'node:path';
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
 * Two changes to yargs' Node shim (lib/platform-shims/esm.mjs), each guarded: if a yargs upgrade changes the
 * lines, the build fails here instead of drifting silently.
 * - Translations: yargs finds locales/*.json relative to its own file; bundled, that path points nowhere and every
 *   message would be English whatever LANG says. Point it at the installed yargs package.
 * - Help layout on demand: cliui and string-width (loaded only to lay out --help and usage errors) build large
 *   Unicode regular expressions and an Intl.Segmenter when loaded, about 30 ms of every start. They come from
 *   `ns-lazy-ui` instead, a module whose functions require() them on first use; esbuild bundles such require()s as
 *   modules that run when first required.
 */
const yargsShim = {
  name: 'yargs-shim',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      let src = await readFile(args.path, 'utf8');
      const edits = [
        [
          "directory: resolve(__dirname, '../../../locales')",
          "directory: (() => { try { return join(dirname(require.resolve('yargs/package.json')), 'locales') } catch { return resolve(__dirname, '../../../locales') } })()",
        ],
        ["import cliui from 'cliui'", "import { cliui } from 'ns-lazy-ui'"],
        ["import stringWidth from 'string-width';", "import { stringWidth } from 'ns-lazy-ui';"],
      ];
      for (const [from, to] of edits) {
        if (!src.includes(from)) throw new Error(`${args.path}: no \`${from}\` to change (yargs changed: update scripts/bundle.mjs)`);
        src = src.replace(from, to);
      }
      return { contents: src, loader: 'js', resolveDir: dirname(args.path) };
    });
    b.onResolve({ filter: /^ns-lazy-ui$/ }, (args) => ({ path: 'ns-lazy-ui', namespace: 'ns-lazy-ui', pluginData: args.resolveDir }));
    b.onLoad({ filter: /.*/, namespace: 'ns-lazy-ui' }, (args) => ({
      resolveDir: args.pluginData,
      loader: 'js',
      contents: [
        "export const cliui = (opts) => require('cliui').default(opts);",
        "export const stringWidth = (s) => require('string-width').default(s);",
      ].join('\n'),
    }));
  },
};

/**
 * ssh2 is bundled (its ~25 files would otherwise be compiled on every start, outside the code cache), but its
 * optional native crypto binding is found relative to its own file: keep that one require pointing into the
 * installed package, where `npm ci` built it. Without the binding ssh2 falls back to its JavaScript ciphers.
 */
const ssh2Binding = {
  name: 'ssh2-binding',
  setup(b) {
    b.onResolve({ filter: /[\\/]sshcrypto\.node$/ }, () => ({ path: 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node', external: true }));
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
  supported: { 'regexp-set-notation': true }, // Node 20 has the v flag; esbuild would turn such literals into new RegExp() (parsed at load)
  // Whitespace and syntax only: names stay, so a bug's stack trace (exit 250) reads as the source's functions.
  minifyWhitespace: process.env.NS_BUNDLE_NOMINIFY === undefined,
  minifySyntax: process.env.NS_BUNDLE_NOMINIFY === undefined,
  // bin/nodesweep.cjs reads the bundle as latin1: non-ASCII characters must be escaped (esbuild's default).
  charset: 'ascii',
  // Linked maps cost nothing at run time; `node --enable-source-maps` turns a bug's stack (exit 250) into src/ lines.
  sourcemap: 'linked',
  sourcesContent: false,
  // Loaded from node_modules at run time: native modules (cpu-features, which ssh2 asks for, better-sqlite3),
  // and client-node, which is large and loaded only by the kube_* modules.
  external: ['cpu-features', 'better-sqlite3', '@kubernetes/client-node', '*.node'],
  // Our code finds package files with new URL('../../...', import.meta.url): in CommonJS, the bundle's own URL.
  // esbuild keeps the entry's #! line above this banner.
  define: { 'import.meta.url': '__nsImportMetaUrl' },
  banner: { js: "const __nsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [yargsShim, ssh2Binding],
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
if (readFileSync(outfile).some((b) => b > 0x7f)) throw new Error(`${outfile}: not pure ASCII (bin/nodesweep.cjs reads it as latin1)`);
