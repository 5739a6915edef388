/**
 * What the executor needs from the template layer (src/playbook/template.ts's Templar satisfies it).
 * Kept as an interface so the executor depends on behaviour, not on one implementation.
 */
export type Vars = Record<string, unknown>;

export interface TemplateEngine {
  /** Deep render; a string that is exactly "{{ x }}" returns x's native value. */
  render(value: unknown, vars: Vars): unknown;
  renderString(s: string, vars: Vars): string;
  evalCondition(cond: string | boolean, vars: Vars): boolean;
  evalExpression(expr: string, vars: Vars): unknown;
}

/** True when a string (or any string inside a value) holds a template. */
export function hasTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{') || value.includes('{%');
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasTemplate);
  return false;
}

/**
 * Ansible templates variables lazily, so `a: "{{ b }}"` seen through `{{ a }}` gives b's value.
 * We get the same by rendering the templated values of the given layers against the merged vars, a few
 * passes for chains (a -> b -> c). A value that cannot render yet (undefined var) keeps its raw text:
 * it only fails if a task actually uses it.
 */
export function resolveLazyVars(merged: Vars, candidates: Iterable<string>, engine: TemplateEngine, maxPasses = 5): Vars {
  let pending = [...new Set(candidates)].filter((k) => hasTemplate(merged[k]));
  if (pending.length === 0) return merged;
  const out: Vars = { ...merged };
  for (let pass = 0; pass < maxPasses && pending.length > 0; pass++) {
    const next: string[] = [];
    for (const k of pending) {
      try {
        const v = engine.render(out[k], out);
        out[k] = v;
        if (hasTemplate(v)) next.push(k);
      } catch {
        /* leave raw; the task that uses it reports the error */
      }
    }
    if (next.length === pending.length) break; // no progress
    pending = next;
  }
  return out;
}
