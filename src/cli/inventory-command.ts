/** `nodesweep inventory --list|--graph`: the inventory as ansible-inventory prints it. */
import { loadInventory } from '../inventory/load.js';
import { inventoryListJson, inventoryGraph } from '../inventory/output.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from './main.js';

export interface InventoryCommandArgs {
  inventory: string[];
  list: boolean;
  graph: boolean;
  limit?: string;
}

export async function inventoryCommand(a: InventoryCommandArgs, io: CliIo): Promise<number> {
  const inventory = await loadInventory(a.inventory);
  for (const w of inventory.warnings ?? []) io.stderr.write(`[WARNING]: ${w}\n`);
  if (a.list) io.stdout.write(JSON.stringify(inventoryListJson(inventory, a.limit), null, 4) + '\n');
  else io.stdout.write(inventoryGraph(inventory) + '\n');
  return ExitCode.OK;
}
