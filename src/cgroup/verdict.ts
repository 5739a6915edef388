/** One row per node for `nodesweep scan` (pure). */
import type { Classification, ScanRow } from './types.js';

export function nodeVerdict(c: Classification): ScanRow {
  void c;
  throw new Error('not implemented yet');
}
