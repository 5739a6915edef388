/**
 * Reading inventory sources from disk the way ansible-core 2.14's InventoryManager does: several `-i` merged in
 * order; a directory is read file by file (sorted, Ansible's ignore list applied); a `host1,host2,` string is a
 * host list; each file is tried as YAML (no extension, .yml, .yaml, .json) and then as INI. group_vars/ and
 * host_vars/ beside each source (or inside a source directory) are loaded into `Inventory.varsLayers`.
 * Unlike Ansible, which only warns and goes on with an empty inventory, anything unreadable is an InventoryError.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InventoryError, errorMessage } from '../errors.js';
import { parseAddress } from './hostpattern.js';
import { parseIniInto } from './ini.js';
import { addHost, emptyInventory, finalizeInventory } from './model.js';
import type { Inventory, InventoryVarsLayer } from './types.js';
import { parseYamlInto } from './yaml.js';
import { deref, isNullNode, nodePos, parseYamlText, toValue, aTypeName } from './yamlload.js';
import { isMap } from 'yaml';

const YAML_EXTS = ['.yml', '.yaml', '.json'];
/** InventoryManager's IGNORED: hidden files, group_vars/host_vars/vars_plugins, and these extensions. */
const IGNORED_EXTS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
const IGNORED_NAMES = new Set(['host_vars', 'group_vars', 'vars_plugins']);

function isIgnored(name: string): boolean {
  return name.startsWith('.') || IGNORED_NAMES.has(name) || IGNORED_EXTS.some((e) => name.endsWith(e));
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

async function statOrUndefined(p: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}

/** Decodes a file as UTF-8; like Ansible's INI reader, undecodable bytes are tolerated only in comment lines. */
export function decodeInventoryText(data: Buffer, fileName: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    const dec = new TextDecoder('utf-8', { fatal: true });
    const lines: string[] = [];
    let start = 0;
    let lineNo = 0;
    while (start <= data.length) {
      let end = data.indexOf(0x0a, start);
      if (end < 0) end = data.length;
      lineNo++;
      const chunk = data.subarray(start, end);
      try {
        lines.push(dec.decode(chunk));
      } catch {
        const first = chunk.find((b) => b !== 0x20 && b !== 0x09);
        if (first === 0x23 || first === 0x3b) lines.push('');
        else throw new InventoryError({ file: fileName, line: lineNo }, 'invalid UTF-8: this does not look like a text inventory (binary file?)');
      }
      start = end + 1;
    }
    return lines.join('\n');
  }
}

const INI_SECTION_START = /^\[[^\]]*\]\s*(?:[#;].*)?$/;

function firstSignificantLine(text: string): string | undefined {
  for (const raw of text.split(/\r?\n/, 200)) {
    const l = raw.trim();
    if (l && l[0] !== '#' && l[0] !== ';') return l;
  }
  return undefined;
}

function looksLikeYaml(text: string): boolean {
  const l = firstSignificantLine(text);
  if (l === undefined) return false;
  return l.startsWith('---') || l.startsWith('{') || /^[^\s=]+:(\s|$)/.test(l);
}

/** Parses one inventory file's text into `inv` (INI or YAML, detected as Ansible does). */
export function parseInventoryText(inv: Inventory, text: string, fileName: string, source: string = fileName): void {
  if (text.startsWith('#!')) {
    throw new InventoryError({ file: fileName, line: 1 }, 'executable inventory scripts are not supported by nodesweep; run the script and save its output as a YAML/JSON inventory');
  }
  const ext = extname(fileName).toLowerCase();
  const yamlCandidate = ext === '' || YAML_EXTS.includes(ext);
  if (!yamlCandidate) {
    parseIniInto(inv, text, fileName, source);
    return;
  }
  const first = firstSignificantLine(text);
  const iniFirst = ext === '' && first !== undefined && INI_SECTION_START.test(first);
  const tryYaml = (): InventoryError | undefined => {
    try {
      parseYamlInto(inv, text, fileName, source);
      return undefined;
    } catch (e) {
      if (e instanceof InventoryError && e.code === 'INVENTORY_NOT_YAML') return e;
      throw e;
    }
  };
  if (iniFirst) {
    try {
      parseIniInto(inv, text, fileName, source);
      return;
    } catch (iniErr) {
      if (tryYaml() === undefined) return;
      throw iniErr;
    }
  }
  const yamlErr = tryYaml();
  if (!yamlErr) return;
  // Not YAML (or empty): Ansible then tries the INI plugin on the same file.
  try {
    parseIniInto(inv, text, fileName, source);
  } catch (iniErr) {
    if (ext !== '' || looksLikeYaml(text)) throw yamlErr;
    throw iniErr;
  }
}

/** The host_list plugin: `-i 'web1,web2:2222,'`. */
export function parseHostList(inv: Inventory, list: string): void {
  for (const raw of list.split(',')) {
    const h = raw.trim();
    if (!h) continue;
    let host = h;
    let port: number | undefined;
    try {
      [host, port] = parseAddress(h, false);
    } catch {
      host = h;
      port = undefined;
    }
    if (!inv.hosts.has(host)) addHost(inv, host, 'ungrouped', port, list);
  }
}

async function parseFileSource(inv: Inventory, file: string, shown: string): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    throw new InventoryError({ file: shown }, `cannot read inventory: ${errorMessage(e)}`);
  }
  const text = decodeInventoryText(data, shown);
  inv.sources.push(shown);
  parseInventoryText(inv, text, shown, file);
}

async function parseSource(inv: Inventory, abs: string, shown: string): Promise<void> {
  const st = await statOrUndefined(abs);
  if (!st) throw new InventoryError({ file: shown }, 'inventory source not found (expected a file, a directory, or a comma-separated host list such as "web1,web2,")');
  if (st.isDirectory()) {
    const names = (await readdir(abs)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))); // Python sorts bytes
    for (const n of names) {
      if (isIgnored(n)) continue;
      await parseSource(inv, join(abs, n), join(shown, n));
    }
    return;
  }
  await parseFileSource(inv, abs, shown);
}

/** Parses a vars file (YAML/JSON); empty files give {}. */
export function parseVarsText(text: string, fileName: string): Record<string, unknown> {
  if (text.startsWith('$ANSIBLE_VAULT')) {
    throw new InventoryError({ file: fileName, line: 1 }, 'vault-encrypted vars files are not supported by nodesweep; decrypt it or pass the values with -e');
  }
  const p = parseYamlText(text, fileName);
  const root = deref(p, p.doc.contents);
  if (isNullNode(root)) return {};
  if (!isMap(root)) {
    throw new InventoryError(nodePos(p, root), `a vars file must be a mapping of variable names to values, got ${aTypeName(root)}`);
  }
  return toValue(p, root) as Record<string, unknown>;
}

async function varsFilesIn(dir: string): Promise<string[]> {
  // DataLoader._get_dir_vars_files: sorted, no hidden or backup files, subdirectories without an extension.
  const out: string[] = [];
  for (const n of (await readdir(dir)).sort()) {
    if (n.startsWith('.') || n.endsWith('~')) continue;
    const full = join(dir, n);
    const ext = extname(n);
    const st = await statOrUndefined(full);
    if (!st) continue;
    if (st.isDirectory() && !ext) out.push(...(await varsFilesIn(full)));
    else if (st.isFile() && (!ext || YAML_EXTS.includes(ext))) out.push(full);
  }
  return out;
}

async function loadVarsFor(base: string, names: Iterable<string>, warnings: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const st = await statOrUndefined(base);
  if (!st) return out;
  if (!st.isDirectory()) {
    warnings.push(`Found ${basename(base)} that is not a directory, skipping: ${base}`);
    return out;
  }
  const present = new Set(await readdir(base));
  for (const name of names) {
    if (name.startsWith('/')) continue;
    // find_vars_files: the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists (a file or a directory).
    let found: string | undefined;
    for (const ext of ['', ...YAML_EXTS]) {
      const candidate = name + ext;
      if (name.includes('/') ? await statOrUndefined(join(base, candidate)) : present.has(candidate)) {
        found = join(base, candidate);
        break;
      }
    }
    if (!found) continue;
    const fst = await statOrUndefined(found);
    const files = fst?.isDirectory() ? await varsFilesIn(found) : [found];
    let merged: Record<string, unknown> | undefined;
    for (const f of files) {
      let data: Buffer;
      try {
        data = await readFile(f);
      } catch (e) {
        throw new InventoryError({ file: f }, `cannot read vars file: ${errorMessage(e)}`);
      }
      const vars = parseVarsText(decodeInventoryText(data, f), f);
      if (Object.keys(vars).length) merged = Object.assign(merged ?? {}, vars);
    }
    if (merged) out.set(name, merged);
  }
  return out;
}

/** group_vars/ and host_vars/ in `dir`, for the groups and hosts that exist. */
export async function loadVarsLayer(inv: Inventory, dir: string): Promise<InventoryVarsLayer> {
  const warnings: string[] = [];
  const groups = await loadVarsFor(join(dir, 'group_vars'), inv.groups.keys(), warnings);
  const hosts = await loadVarsFor(join(dir, 'host_vars'), inv.hosts.keys(), warnings);
  if (warnings.length) inv.warnings = [...(inv.warnings ?? []), ...warnings];
  return { dir, groups, hosts };
}

/**
 * Loads and merges inventory sources in order (each a file, a directory, or a `host1,host2,` list) with their
 * group_vars/ and host_vars/. Throws InventoryError (file:line[:column]) for anything malformed or missing.
 */
export async function loadInventory(paths: string[]): Promise<Inventory> {
  const inv = emptyInventory();
  const varsDirs: string[] = [];
  for (const p of paths) {
    if (!p) continue;
    const abs = resolve(expandHome(p));
    if (p.includes(',') && !(await statOrUndefined(abs))) {
      parseHostList(inv, p);
      inv.sources.push(p);
      continue;
    }
    const st = await statOrUndefined(abs);
    await parseSource(inv, abs, p);
    varsDirs.push(st?.isDirectory() ? abs : dirname(abs));
  }
  finalizeInventory(inv);
  const layers: InventoryVarsLayer[] = [];
  const byDir = new Map<string, InventoryVarsLayer>();
  for (const d of varsDirs) {
    let layer = byDir.get(d);
    if (!layer) byDir.set(d, (layer = await loadVarsLayer(inv, d)));
    layers.push(layer);
  }
  inv.varsLayers = layers;
  return inv;
}
