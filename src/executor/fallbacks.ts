/**
 * Minimal stand-ins used until the playbook loader's validateModuleArgs and the inventory layer's
 * hostVars/groupsMap/selectHosts are available; run.ts switches to those.
 */
import { PlaybookError } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Loc } from '../playbook/types.js';
import type { InventoryResolvers } from './inventory-view.js';
import type { Vars } from './host-state.js';

/** Parse templated parameters with the module's schema; a bad value names the module and the field. */
export function validateParams(def: ModuleDefinition, args: Record<string, unknown>, loc: Loc): unknown {
  const r = def.schema.safeParse(args);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw new PlaybookError(loc, `${def.name}: invalid parameters after templating: ${issues}`);
}

function groupsOf(inv: Inventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const collect = (g: string, seen: Set<string>, acc: string[]) => {
    if (seen.has(g)) return;
    seen.add(g);
    const grp = inv.groups.get(g);
    if (!grp) return;
    for (const h of grp.hosts) if (!acc.includes(h)) acc.push(h);
    for (const c of grp.children) collect(c, seen, acc);
  };
  for (const g of inv.groups.keys()) {
    const acc: string[] = [];
    collect(g, new Set(), acc);
    out[g] = g === 'all' ? [...inv.hosts.keys()] : acc;
  }
  return out;
}

function depths(inv: Inventory): Map<string, number> {
  const d = new Map<string, number>([['all', 0]]);
  let changed = true;
  for (let i = 0; changed && i < 100; i++) {
    changed = false;
    for (const g of inv.groups.values()) {
      const mine = d.get(g.name);
      if (mine === undefined) continue;
      for (const c of g.children) {
        if ((d.get(c) ?? -1) < mine + 1) {
          d.set(c, mine + 1);
          changed = true;
        }
      }
    }
  }
  return d;
}

function globToRegExp(p: string): RegExp {
  return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

function selectOne(inv: Inventory, groups: Record<string, string[]>, term: string): string[] {
  if (term === 'all' || term === '*') return [...inv.hosts.keys()];
  if (groups[term]) return groups[term]!;
  if (inv.hosts.has(term)) return [term];
  if (term.startsWith('~')) {
    const re = new RegExp(term.slice(1));
    return [...inv.hosts.keys()].filter((h) => re.test(h));
  }
  if (term.includes('*') || term.includes('?')) {
    const re = globToRegExp(term);
    const out = new Set<string>();
    for (const [g, hs] of Object.entries(groups)) if (re.test(g)) hs.forEach((h) => out.add(h));
    for (const h of inv.hosts.keys()) if (re.test(h)) out.add(h);
    return [...inv.hosts.keys()].filter((h) => out.has(h));
  }
  return [];
}

export const defaultInventoryResolvers: InventoryResolvers = {
  groupsMap: groupsOf,
  hostVars(inv, host) {
    const groups = groupsOf(inv);
    const d = depths(inv);
    const mine = Object.keys(groups)
      .filter((g) => groups[g]!.includes(host))
      .sort((a, b) => (d.get(a) ?? 0) - (d.get(b) ?? 0) || a.localeCompare(b));
    const out: Vars = {};
    for (const g of mine) Object.assign(out, inv.groups.get(g)?.vars ?? {});
    Object.assign(out, inv.hosts.get(host)?.vars ?? {});
    return out;
  },
  selectHosts(inv, pattern) {
    const groups = groupsOf(inv);
    const terms = pattern.split(/[:,]/).map((t) => t.trim()).filter((t) => t !== '');
    let set = new Set<string>();
    for (const t of terms) {
      if (t.startsWith('!')) {
        const ex = new Set(selectOne(inv, groups, t.slice(1)));
        set = new Set([...set].filter((h) => !ex.has(h)));
      } else if (t.startsWith('&')) {
        const keep = new Set(selectOne(inv, groups, t.slice(1)));
        set = new Set([...set].filter((h) => keep.has(h)));
      } else for (const h of selectOne(inv, groups, t)) set.add(h);
    }
    return [...inv.hosts.keys()].filter((h) => set.has(h));
  },
};
