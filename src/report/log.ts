/**
 * `--log-file`: winston JSON lines, one entry per event, each with host and task (null for run-level events),
 * through child loggers so every line of a host's work carries its name. Results are redacted like everywhere.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'winston';
import { OutputWriteError } from './files.js';
import { interruptedTaskMessage, type EventSink, type RunEvent } from '../events/events.js';
import { Redactor } from './redact.js';

export class LogSink implements EventSink {
  private readonly logger: Logger;
  private readonly redactor: Redactor;

  constructor(logger: Logger, opts: { redactor?: Redactor } = {}) {
    this.logger = logger;
    this.redactor = opts.redactor ?? new Redactor();
  }

  private child(play: string | null, host: string | null, task: string | null): Logger {
    return this.logger.child({ play, host, task });
  }

  handle(raw: RunEvent): void {
    const ev = this.redactor.event(raw);
    switch (ev.kind) {
      case 'run_start':
        this.child(null, null, null).info('run_start', { event: ev.kind, playbook: ev.playbook, check_mode: ev.checkMode, hosts: ev.hosts });
        break;
      case 'play_start':
        this.child(ev.play, null, null).info('play_start', { event: ev.kind, hosts: ev.hosts });
        break;
      case 'play_no_hosts':
        this.child(ev.play, null, null).info('play_no_hosts', { event: ev.kind });
        break;
      case 'batch_start':
        this.child(ev.play, null, null).info('batch_start', { event: ev.kind, hosts: ev.hosts, batch: ev.batch, batches: ev.batches });
        break;
      case 'task_start':
        this.child(ev.play, ev.host, ev.task).debug('task_start', { event: ev.kind, module: ev.module });
        break;
      case 'handler_start':
        this.child(ev.play, ev.host, ev.handler).debug('handler_start', { event: ev.kind });
        break;
      case 'task_retry':
        this.child(ev.play, ev.host, ev.task).warn('task_retry', { event: ev.kind, retries_left: ev.retriesLeft, result: ev.result });
        break;
      case 'task_result': {
        const level = ev.status === 'failed' || ev.status === 'unreachable' ? (ev.ignored ? 'warn' : 'error') : 'info';
        const meta: Record<string, unknown> = {
          event: ev.kind,
          module: ev.module,
          status: ev.status,
          duration_ms: ev.durationMs,
          result: ev.result,
        };
        if (ev.item !== undefined) meta.item = ev.item;
        if (ev.ignored) meta.ignored = true;
        if (ev.loop) meta.loop = true;
        this.child(ev.play, ev.host, ev.task).log(level, 'task_result', meta);
        break;
      }
      case 'task_interrupted': {
        const meta: Record<string, unknown> = { event: ev.kind, module: ev.module, status: 'interrupted', duration_ms: ev.durationMs, msg: interruptedTaskMessage(ev) };
        if ('item' in ev) meta.item = ev.item;
        this.child(ev.play, ev.host, ev.task).warn('task_interrupted', meta);
        break;
      }
      case 'host_rescued':
        this.child(ev.play, ev.host, null).info('host_rescued', { event: ev.kind });
        break;
      case 'host_done':
        this.child(ev.play, ev.host, null).debug('host_done', { event: ev.kind });
        break;
      case 'play_aborted':
        this.child(ev.play, null, null).error('play_aborted', { event: ev.kind, reason: ev.reason });
        break;
      case 'warning':
        this.child(null, ev.host ?? null, null).warn(ev.message, { event: ev.kind });
        break;
      case 'interrupted':
        this.child(null, null, null).warn('interrupted', { event: ev.kind, signal: ev.signal });
        break;
      case 'run_end':
        this.child(null, null, null).info('run_end', { event: ev.kind, exit_code: ev.exitCode, interrupted: ev.interrupted, stats: ev.stats });
        break;
    }
  }
}

/**
 * A winston logger appending JSON lines to `path` (timestamp and level on each); close() resolves once the file
 * is flushed, or rejects with an OutputWriteError when a write failed (a full disk). winston itself loads here, on
 * first use: a run without --log-file never pays for it.
 */
export async function openLogFile(path: string): Promise<{ logger: Logger; close(): Promise<void> }> {
  const { default: winston } = await import('winston');
  // Our own stream rather than winston's File transport: that one swallows a failed write and then never
  // finishes, so a full disk would hang the run at exit instead of reporting the lost log.
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: 'a' });
  let failure: unknown;
  stream.on('error', (e) => (failure ??= e));
  const closed = new Promise<void>((resolve) => stream.once('close', resolve));
  const transport = new winston.transports.Stream({ stream, eol: '\n' });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
  return {
    logger,
    close: async () => {
      // The transport finishes once every entry the logger had was written to the stream; then the file is closed.
      await new Promise<void>((resolve) => {
        transport.once('finish', resolve);
        logger.end();
      });
      stream.end();
      await closed;
      if (failure !== undefined) throw new OutputWriteError(path, failure);
    },
  };
}
