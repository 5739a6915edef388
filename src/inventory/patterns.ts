/**
 * Host patterns (`hosts:` of a play, `--limit`) evaluated as ansible-core 2.14's InventoryManager does:
 * split on `,` (or `:` outside brackets), regular terms first, then `&` intersections, then `!` exclusions;
 * each term is a host name, a group name, a glob or `~regex` over group and host names, with an optional
 * subscript `[i]`, `[-1]`, `[i:j]` (inclusive end), `[i:]`.
 */
import { readFileSync } from 'node:fs';
import { UsageError, errorMessage } from '../errors.js';
import { isAbsolute, resolve } from 'node:path';
import { parseAddress } from './hostpattern.js';
import { groupHosts } from './model.js';
import type { Inventory } from './types.js';

export interface SelectOptions {
  /** Directory against which a relative `@file` is resolved (default: the process's working directory). */
  retryFileBase?: string;
  /** Reads an `@file` (default: fs.readFileSync as UTF-8); injectable for tests. */
  readFile?: (path: string) => string;
  /** Ansible answers `localhost` with an implicit local host when the inventory has none; opt in to that. */
  implicitLocalhost?: boolean;
}

const LOCALHOST = ['127.0.0.1', 'localhost', '::1'];

/** split_host_pattern(). */
export function splitHostPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) {
    parts = pattern.split(',');
  } else {
    try {
      parseAddress(pattern, true);
      parts = [pattern];
    } catch {
      parts = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
    }
  }
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** order_patterns(): regular, then intersections, then exclusions; `all` if there is no regular term. */
export function orderPatterns(patterns: string[]): string[] {
  const regular: string[] = [];
  const inter: string[] = [];
  const excl: string[] = [];
  for (const p of patterns) {
    if (!p) continue;
    if (p[0] === '!') excl.push(p);
    else if (p[0] === '&') inter.push(p);
    else regular.push(p);
  }
  return [...(regular.length ? regular : ['all']), ...inter, ...excl];
}

/** fnmatch.translate(): a shell glob as an anchored regular expression (case-sensitive, as on POSIX). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) re += '\\[';
      else {
        let stuff = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        i = j;
        if (stuff[0] === '!') stuff = '^' + stuff.slice(1);
        else if (stuff[0] === '^') stuff = '\\' + stuff;
        re += `[${stuff}]`;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's');
}

/** A Python `re` pattern as JS (named groups), anchored at the start like re.match(). */
function pythonRegExp(src: string): RegExp {
  const js = src.replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>').replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>');
  try {
    return new RegExp(`^(?:${js})`, 'u');
  } catch {
    return new RegExp(`^(?:${js})`);
  }
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s;

type Subscript = [number, number | undefined];

function splitSubscript(pattern: string): [string, Subscript | undefined] {
  if (pattern[0] === '~') return [pattern, undefined];
  const m = SUBSCRIPT.exec(pattern);
  if (!m) return [pattern, undefined];
  if (m[2] !== undefined) return [m[1]!, [parseInt(m[2], 10), undefined]];
  const end = m[5] ? parseInt(m[5], 10) : -1;
  return [m[1]!, [parseInt(m[3]!, 10), end]];
}

/** _apply_subscript(): Python slicing, inclusive end; an index out of range matches nothing. */
function applySubscript(hosts: string[], sub: Subscript | undefined): string[] {
  if (!hosts.length || !sub) return hosts;
  const [start] = sub;
  let end = sub[1];
  if (end) {
    if (end === -1) end = hosts.length - 1;
    return pySlice(hosts, start, end + 1);
  }
  const i = start < 0 ? hosts.length + start : start;
  if (i < 0 || i >= hosts.length) return []; // Ansible: "No hosts matched the subscripted pattern"
  return [hosts[i]!];
}

function pySlice<T>(a: T[], start: number, stop: number): T[] {
  const n = a.length;
  const norm = (x: number): number => (x < 0 ? Math.max(0, n + x) : Math.min(n, x));
  return a.slice(norm(start), norm(stop));
}

class Matcher {
  private readonly cache = new Map<string, string[]>();
  private readonly groupNames: string[];
  private readonly hostNames: string[];
  constructor(
    private readonly inv: Inventory,
    private readonly implicitLocalhost: boolean,
  ) {
    this.groupNames = [...inv.groups.keys()];
    this.hostNames = [...inv.hosts.keys()];
  }

  private matchList(items: string[], pattern: string): string[] {
    let re: RegExp;
    try {
      re = pattern[0] === '~' ? pythonRegExp(pattern.slice(1)) : globToRegExp(pattern);
    } catch {
      return []; // Ansible: "Invalid host list pattern"; nothing matches
    }
    return items.filter((i) => re.test(i));
  }

  private enumerate(pattern: string): string[] {
    const results: string[] = [];
    const groups = this.matchList(this.groupNames, pattern);
    for (const g of groups) results.push(...groupHosts(this.inv, g));
    if (!groups.length || pattern[0] === '~' || /[.?*[]/.test(pattern)) {
      results.push(...this.matchList(this.hostNames, pattern));
    }
    if (!results.length && this.implicitLocalhost && LOCALHOST.includes(pattern)) results.push(pattern);
    return results;
  }

  matchOne(pattern: string): string[] {
    const p = pattern[0] === '&' || pattern[0] === '!' ? pattern.slice(1) : pattern;
    let r = this.cache.get(p);
    if (!r) {
      const [expr, sub] = splitSubscript(p);
      r = applySubscript(this.enumerate(expr), sub);
      this.cache.set(p, r);
    }
    return r;
  }

  /** _evaluate_patterns(). */
  evaluate(patterns: string[]): string[] {
    let hosts: string[] = [];
    for (const p of orderPatterns(patterns)) {
      if (this.inv.hosts.has(p)) {
        hosts.push(p);
        continue;
      }
      const that = this.matchOne(p);
      if (p[0] === '!') {
        const s = new Set(that);
        hosts = hosts.filter((h) => !s.has(h));
      } else if (p[0] === '&') {
        const s = new Set(that);
        hosts = hosts.filter((h) => s.has(h));
      } else {
        const existing = new Set(hosts);
        for (const h of that) if (!existing.has(h)) hosts.push(h);
      }
    }
    return dedupe(hosts);
  }
}

function dedupe(a: string[]): string[] {
  return [...new Set(a)];
}

function expandFiles(patterns: string[], opts: SelectOptions): string[] {
  const out: string[] = [];
  for (const x of patterns) {
    if (x[0] !== '@') {
      out.push(x);
      continue;
    }
    const file = isAbsolute(x.slice(1)) ? x.slice(1) : resolve(opts.retryFileBase ?? process.cwd(), x.slice(1));
    const read = opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
    let text: string;
    try {
      text = read(file);
    } catch (e) {
      // Ansible: "Unable to find limit file ..." (a usage error, not an inventory error).
      throw new UsageError(`Unable to read limit file ${file}: ${errorMessage(e)}`, { cause: e });
    }
    out.push(...text.split('\n').map((l) => l.trim()));
  }
  return out;
}

/** Hosts matching `pattern`, in inventory order, de-duplicated; [] when nothing matches. */
export function selectHosts(inv: Inventory, pattern: string, opts: SelectOptions = {}): string[] {
  const patterns = expandFiles(splitHostPattern(pattern), opts);
  return new Matcher(inv, opts.implicitLocalhost ?? false).evaluate(patterns);
}

/** `--limit`: keeps the hosts (in their given order) that the limit pattern (or `@retry-file`) selects. */
export function applyLimit(inv: Inventory, hosts: string[], limit: string | undefined, opts: SelectOptions = {}): string[] {
  if (limit === undefined) return hosts;
  const patterns = expandFiles(splitHostPattern(limit), opts);
  const allowed = new Set(new Matcher(inv, opts.implicitLocalhost ?? false).evaluate(patterns));
  return hosts.filter((h) => allowed.has(h));
}
