/** Module lookup by name or alias (`shell`, `ansible.builtin.shell`, ...). */
import type { ModuleDefinition } from './types.js';

export class ModuleRegistry {
  private readonly byName = new Map<string, ModuleDefinition>();

  register(def: ModuleDefinition): this {
    for (const n of [def.name, ...(def.aliases ?? [])]) {
      if (this.byName.has(n)) throw new Error(`module name ${n} registered twice`);
      this.byName.set(n, def);
    }
    return this;
  }

  get(name: string): ModuleDefinition | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Canonical names, sorted (for "did you mean" and docs). */
  names(): string[] {
    return [...new Set([...this.byName.values()].map((d) => d.name))].sort();
  }
}
