/** `--junit FILE`: one testcase per host per task (classname = play, name = "host: task"). */
import { interruptedTaskMessage, type EventSink, type RunEvent } from '../events/events.js';
import { Redactor } from './redact.js';
import { isItemResult } from '../events/stats.js';
import { displayDict } from './view.js';
import { resultDump } from '../compat/python.js';
import { writeFileAtomic } from './files.js';

/** Escape for XML text and attributes, dropping characters XML 1.0 cannot carry (e.g. ESC from coloured output). */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

interface Case {
  classname: string;
  name: string;
  seconds: number;
  kind: 'pass' | 'failure' | 'error' | 'skipped';
  /** The type attribute of a failure or error. */
  type: string;
  message: string;
  detail: string;
  stdout: string;
  stderr: string;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : resultDump(v);
}

export class JunitSink implements EventSink {
  private readonly path: string;
  private readonly redactor: Redactor;
  private readonly cases: Case[] = [];
  private suiteName: string;
  private startedAt: string | null = null;
  private totalSeconds = 0;

  constructor(path: string, opts: { suiteName?: string; redactor?: Redactor } = {}) {
    this.path = path;
    this.redactor = opts.redactor ?? new Redactor();
    this.suiteName = opts.suiteName ?? '';
  }

  handle(raw: RunEvent): void {
    const ev = this.redactor.event(raw);
    if (ev.kind === 'run_start') {
      if (!this.suiteName) this.suiteName = ev.playbook;
      this.startedAt = ev.startedAt;
    } else if (ev.kind === 'run_end' && this.startedAt) {
      this.totalSeconds = Math.max(0, (Date.parse(ev.finishedAt) - Date.parse(this.startedAt)) / 1000);
    } else if (ev.kind === 'task_result' && !isItemResult(ev)) {
      const r = ev.result;
      let kind: Case['kind'] = 'pass';
      if (ev.status === 'failed' && !ev.ignored) kind = 'failure';
      else if (ev.status === 'unreachable' && !ev.ignored) kind = 'error';
      else if (ev.status === 'skipped') kind = 'skipped';
      const message = text(r.msg) || text(r.skip_reason) || text(r.skipped_reason) || (kind === 'pass' ? '' : ev.status);
      this.cases.push({
        classname: ev.play,
        name: `${ev.host}: ${ev.task}`,
        seconds: ev.durationMs / 1000,
        kind,
        type: kind === 'failure' ? 'failed' : 'unreachable',
        message,
        detail: kind === 'failure' || kind === 'error' ? resultDump(displayDict(ev.module, ev.status, r), 4) : '',
        stdout: text(r.stdout),
        stderr: text(r.stderr),
      });
    } else if (ev.kind === 'task_interrupted') {
      // The task never finished: an error of the test run, not a failure of the host.
      const message = interruptedTaskMessage(ev);
      this.cases.push({ classname: ev.play, name: `${ev.host}: ${ev.task}`, seconds: ev.durationMs / 1000, kind: 'error', type: 'interrupted', message, detail: message, stdout: '', stderr: '' });
    }
  }

  /** The document close() writes. */
  xml(): string {
    const count = (k: Case['kind']) => this.cases.filter((c) => c.kind === k).length;
    const time = (this.totalSeconds || this.cases.reduce((a, c) => a + c.seconds, 0)).toFixed(3);
    const attrs = `name="${xmlEscape(this.suiteName)}" tests="${this.cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${time}"`;
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites ${attrs}>`, `  <testsuite ${attrs}>`];
    for (const c of this.cases) {
      const head = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}" time="${c.seconds.toFixed(3)}"`;
      const body: string[] = [];
      if (c.kind === 'failure' || c.kind === 'error') {
        body.push(`      <${c.kind} message="${xmlEscape(c.message)}" type="${c.type}">${xmlEscape(c.detail)}</${c.kind}>`);
      } else if (c.kind === 'skipped') {
        body.push(`      <skipped message="${xmlEscape(c.message)}"/>`);
      }
      if (c.stdout) body.push(`      <system-out>${xmlEscape(c.stdout)}</system-out>`);
      if (c.stderr) body.push(`      <system-err>${xmlEscape(c.stderr)}</system-err>`);
      lines.push(body.length ? `${head}>\n${body.join('\n')}\n    </testcase>` : `${head}/>`);
    }
    lines.push('  </testsuite>', '</testsuites>', '');
    return lines.join('\n');
  }

  async close(): Promise<void> {
    await writeFileAtomic(this.path, this.xml());
  }
}
