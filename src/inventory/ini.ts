/**
 * INI inventories, read as ansible-core 2.14's plugins/inventory/ini.py reads them.
 * Pure: (text, fileName) in, Inventory out; errors are InventoryError with file:line.
 */
import { InventoryError, errorMessage } from '../errors.js';
import { expandHostPattern } from './hostpattern.js';
import { addChild, addGroup, addHost, emptyInventory, finalizeInventory, setGroupVar } from './model.js';
import { parsePythonValue } from './pyliteral.js';
import { shlexSplit } from '../util/shlex.js';
import type { Inventory } from './types.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/u;
const GROUPNAME = /^([^:\]\s]+)\s*(?:#.*)?$/u;
/** Python's str.splitlines() separators. */
const LINE_SPLIT = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  name: string;
  parents: string[];
}

/** Parses one INI inventory into a fresh, reconciled Inventory. */
export function parseIni(text: string, fileName: string): Inventory {
  const inv = emptyInventory();
  inv.sources.push(fileName);
  parseIniInto(inv, text, fileName);
  return finalizeInventory(inv);
}

/**
 * Adds one INI source to `inv` (groups declared by earlier sources count as declared, as in Ansible).
 * The caller runs finalizeInventory() once after the last source.
 */
export function parseIniInto(inv: Inventory, text: string, fileName: string, source: string = fileName): void {
  const lines = text.split(LINE_SPLIT);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let lineno = 0;
  const err = (msg: string): InventoryError => new InventoryError({ file: fileName, line: lineno }, msg);
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof InventoryError) throw e;
      throw err(errorMessage(e));
    }
  };

  const pending = new Map<string, Pending>();
  let groupname = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';

  const addPendingChildren = (group: string): void => {
    const p = pending.get(group)!;
    for (const parent of p.parents) {
      addChild(inv, parent, group);
      if (pending.get(parent)?.state === 'children') addPendingChildren(parent);
    }
    pending.delete(group);
  };

  for (const raw of lines) {
    lineno++;
    const line = raw.trim();
    if (!line || line[0] === '#' || line[0] === ';') continue;
    if (line.includes('\0')) throw err('line contains NUL bytes: this does not look like a text inventory (binary file?)');

    const m = SECTION.exec(line);
    if (m) {
      groupname = m[1]!;
      const tag = m[2] ?? 'hosts';
      if (tag !== 'hosts' && tag !== 'children' && tag !== 'vars') {
        throw err(`Section [${m[1]}:${tag}] has unknown type: ${tag} (expected [${m[1]}], [${m[1]}:vars] or [${m[1]}:children])`);
      }
      state = tag;
      if (!inv.groups.has(groupname)) {
        // [g] or [g:children] declares a group; [g:vars] needs a declaration somewhere else (checked at EOF).
        if (state === 'vars' && !pending.has(groupname)) pending.set(groupname, { line: lineno, state, name: groupname, parents: [] });
        addGroup(inv, groupname);
      }
      const p = pending.get(groupname);
      if (p && state !== 'vars') {
        if (p.state === 'children') wrap(() => addPendingChildren(groupname));
        else pending.delete(groupname);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      throw err(
        `Invalid section entry: '${line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters`,
      );
    }

    if (state === 'hosts') {
      let tokens: string[];
      try {
        tokens = shlexSplit(line, true);
      } catch (e) {
        throw err(`Error parsing host definition '${line}': ${errorMessage(e)}`);
      }
      if (tokens.length === 0) continue; // only possible for odd lines such as a lone quote pair comment
      const pattern = tokens[0]!;
      const { hosts, port } = wrap(() => expandHostPattern(pattern));
      if (pattern.trim().endsWith(':') && port === undefined) {
        throw err(`Invalid host pattern '${pattern}' supplied, ending in ':' is not allowed, this character is reserved to provide a port.`);
      }
      for (const h of hosts) {
        if (h.trim() === '---') throw err(`Invalid host pattern '${pattern}' supplied, '---' is normally a sign this is a YAML file.`);
      }
      const vars: [string, unknown][] = [];
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf('=');
        if (eq < 0) throw err(`Expected key=value host variable assignment, got: ${t}`);
        vars.push([t.slice(0, eq), parsePythonValue(t.slice(eq + 1))]);
      }
      const group = groupname;
      wrap(() => {
        for (const h of hosts) {
          const host = addHost(inv, h, group, port, source);
          for (const [k, v] of vars) host.vars[k] = v;
        }
      });
    } else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) throw err(`Expected key=value, got: ${line}`);
      const k = line.slice(0, eq).trim();
      const v = parsePythonValue(line.slice(eq + 1).trim());
      const group = groupname;
      wrap(() => setGroupVar(inv, group, k, v));
    } else {
      const gm = GROUPNAME.exec(line);
      if (!gm) throw err(`Expected group name, got: ${line}`);
      const child = gm[1]!;
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: lineno, state: 'children', name: child, parents: [groupname] });
        else p.parents.push(groupname);
      } else {
        const parent = groupname;
        wrap(() => addChild(inv, parent, child));
      }
    }
  }

  for (const decl of pending.values()) {
    const pos = { file: fileName, line: decl.line };
    if (decl.state === 'vars') {
      throw new InventoryError(pos, `Section [${decl.name}:vars] not valid for undefined group: ${decl.name}`);
    }
    throw new InventoryError(
      pos,
      `Section [${decl.parents[decl.parents.length - 1]}:children] includes undefined group: ${decl.name} (declare it with [${decl.name}])`,
    );
  }
}
