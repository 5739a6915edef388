/** Fallback variable lookup for controller modules when the executor gives no expression evaluator. */

/** `a.b[0].c` or `a['b']` in vars; undefined when any step is missing. */
export function lookupVar(vars: Record<string, unknown>, path: string): unknown {
  const steps: (string | number)[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[['"]([^'"]*)['"]\]|(\.)/gy;
  const src = path.trim();
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    m = re.exec(src);
    if (!m) return undefined; // not a plain path: nothing we can evaluate without the templar
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else if (m[3] !== undefined) steps.push(m[3]);
    pos = re.lastIndex;
  }
  let cur: unknown = vars;
  for (const s of steps) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

/**
 * Ansible's debug/assert/fail accept any value as msg (a dict prints as a dict). ModuleResult types msg as
 * string for the common case; these modules store the raw value, which every report sink handles.
 */
export function setMsg(res: Record<string, unknown>, value: unknown): void {
  res.msg = value;
}
