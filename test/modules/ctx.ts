/** A ModuleContext on the real LocalTransport for module tests. */
import winston from 'winston';
import { LocalTransport } from '../../src/transport/local.js';
import type { ModuleContext, ModuleDefinition, ModuleResult } from '../../src/modules/types.js';

export function makeCtx(over: Partial<ModuleContext> = {}): ModuleContext {
  return {
    host: 'localhost',
    transport: new LocalTransport('localhost'),
    check: false,
    timeoutMs: 10_000,
    vars: {},
    log: winston.createLogger({ silent: true }),
    signal: new AbortController().signal,
    ...over,
  };
}

/** Validate raw args with the module's schema (as the loader does), then run. */
export async function runModule(def: ModuleDefinition, args: Record<string, unknown>, over: Partial<ModuleContext> = {}): Promise<ModuleResult> {
  const params = def.schema.parse(args);
  return def.run(params, makeCtx(over));
}
