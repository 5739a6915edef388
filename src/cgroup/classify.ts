/** Classify every kubepods dir of a collected node and plan a prune (pure). */
import type { Classification, ClassifyOptions, CollectedNode, PrunePlan } from './types.js';

export function classify(node: CollectedNode, opts: ClassifyOptions): Classification {
  void node;
  void opts;
  throw new Error('not implemented yet');
}

export function planPrune(c: Classification, opts: { maxRemovals: number }): PrunePlan {
  void c;
  void opts;
  return { remove: [], skipped: [] };
}

export function crioVersionLeaking(version: string | null): boolean | null {
  void version;
  return null;
}
