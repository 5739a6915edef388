#!/usr/bin/env node
/**
 * The `nodesweep` command. It runs the CLI bundled into one file (dist/bin/nodesweep.cjs, built by
 * `npm run build`) and keeps V8's compiled code for it in a cache, so a run spends its start-up on the fleet
 * rather than on parsing and compiling JavaScript: Node 20 has no built-in compile cache for packages (Node 22's
 * module.enableCompileCache does the same thing).
 *
 * The cache lives in $XDG_CACHE_HOME/nodesweep (default ~/.cache/nodesweep), one file per command (run, scan,
 * ...; `run --help` apart from `run`), named after the Node version and the bundle's size and mtime; the eight
 * newest files are kept, so two installed versions do not evict each other. A command's file is
 * written once, at the end of the first invocation that got through (exit 0, 2 or 4: a bad option or playbook
 * compiles only part of the command and would leave a poor cache behind). V8 checks each cache against the
 * source and its own version and flags and ignores one that does not match; a missing, stale or unwritable
 * cache only costs the time it would save. NODESWEEP_COMPILE_CACHE=0 turns it off.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const vm = require('node:vm');
const Module = require('node:module');

const bundle = path.join(__dirname, '..', 'dist', 'bin', 'nodesweep.cjs');

function cacheDir() {
  if (process.env.NODESWEEP_COMPILE_CACHE === '0') return undefined;
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'nodesweep');
}

function cacheFile(dir, stat) {
  const args = process.argv.slice(2);
  const help = args.some((a) => a === '--help' || a === '-h' || a === '--version');
  const command = `${args.find((a) => /^[a-z]+$/.test(a)) || 'none'}${help ? '-help' : ''}`;
  const key = `${process.version}-${process.arch}-${stat.size}-${Math.round(stat.mtimeMs)}`;
  return path.join(dir, `v8-${key}-${command}.bin`);
}

function readCache(file) {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Caches kept per user: a few commands of a build or two (two installed versions must not evict each other). */
const KEEP_CACHES = 8;

/** Atomically (temp file + rename, so concurrent runs never read half a file); then only the newest files stay. */
function writeCache(dir, file, data) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
    const caches = fs
      .readdirSync(dir)
      .filter((name) => name.startsWith('v8-') && name.endsWith('.bin'))
      .map((name) => ({ path: path.join(dir, name), mtime: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of caches.slice(KEEP_CACHES)) if (old.path !== file) fs.rmSync(old.path, { force: true });
  } catch {
    /* a read-only or full home directory only loses the speed-up */
  }
}

function load() {
  // The bundle starts with main.ts's `#!` line, which is no JavaScript inside a function wrapper: comment it out.
  // It is pure ASCII (esbuild escapes everything else: scripts/bundle.mjs sets charset 'ascii'), so latin1 reads
  // it exactly, in a fraction of the time UTF-8 decoding takes.
  let source;
  try {
    source = fs.readFileSync(bundle, 'latin1').replace(/^#!/, '//');
  } catch (e) {
    process.stderr.write(`ERROR! nodesweep is not built: cannot read ${bundle} (${e.code || e.message}); run 'npm run build' in ${path.join(__dirname, '..')}\n`);
    process.exit(1);
  }
  const dir = cacheDir();
  const cache = dir ? cacheFile(dir, fs.statSync(bundle)) : undefined;
  const cachedData = cache ? readCache(cache) : undefined;
  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(path.dirname(bundle));
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  // Written at the end of the run, so it holds every function the command compiled, not just the top level.
  const wanted = cache && (cachedData === undefined || script.cachedDataRejected);
  const save = (code) => {
    if (wanted && (code === 0 || code === 2 || code === 4)) writeCache(dir, cache, script.createCachedData());
  };
  return { cli: mod.exports, save };
}

const { cli, save } = load();
const io = { stdout: process.stdout, stderr: process.stderr };
// Exit explicitly once output is flushed (as dist/cli/main.js does): nothing left open may keep cron waiting.
const exit = (code) => {
  save(code);
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
};
cli.main(process.argv.slice(2), io).then(exit, (e) => exit(cli.reportError(e, io)));
