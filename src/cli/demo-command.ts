/** `nodesweep demo` (placeholder while the lab lands). */
import type { CliIo } from './main.js';
export interface DemoArgs {
  dir?: string;
  nodes: number;
  days: number;
  plain: boolean;
  keep: boolean;
}
export async function demoCommand(_a: DemoArgs, io: CliIo): Promise<number> {
  io.stderr.write('demo: not yet\n');
  return 1;
}
