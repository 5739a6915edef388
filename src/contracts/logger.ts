/** The run's logger contract, shared by the executor, the transports and the modules (see run-options.ts). */
/**
 * What the run needs of a logger: leveled methods and child loggers that add fields (host, task). A winston
 * Logger is one; a run without --log-file gets SILENT_LOGGER and never loads winston.
 */
export interface RunLogger {
  debug(message: string, ...meta: unknown[]): unknown;
  info(message: string, ...meta: unknown[]): unknown;
  warn(message: string, ...meta: unknown[]): unknown;
  error(message: string, ...meta: unknown[]): unknown;
  child(fields: Record<string, unknown>): RunLogger;
}

/** Drops everything (a run without --log-file). */
export const SILENT_LOGGER: RunLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => SILENT_LOGGER,
};
