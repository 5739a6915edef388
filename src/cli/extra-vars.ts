/**
 * `-e` values as ansible-playbook takes them: `KEY=VALUE [KEY=VALUE...]` (shell-split, values are strings),
 * an inline JSON/YAML mapping (`-e '{"a": 1}'`), or `@file` (YAML or JSON). Later -e wins over earlier.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { UsageError, errorMessage } from '../errors.js';
import { shlexSplit, ShlexError } from '../util/shlex.js';

const EXPECTED = 'KEY=VALUE, a JSON/YAML mapping, or @file';

function asMapping(value: unknown, source: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`extra vars from ${source} must be a mapping of names to values`);
  }
  return value as Record<string, unknown>;
}

/** Parse one -e argument that is not @file. Pure. */
export function parseExtraVarsArg(arg: string): Record<string, unknown> {
  const trimmed = arg.trim();
  // Ansible skips an empty -e; in a cron line it is an unset variable (`-e "$VARS"`), so say so instead.
  if (trimmed === '') throw new UsageError(`-e needs a value: ${EXPECTED}, got ${arg === '' ? 'an empty string' : 'only spaces'}`);
  if (trimmed.startsWith('{') || trimmed.startsWith('---')) {
    try {
      return asMapping(parseYaml(trimmed), `-e ${arg}`);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`-e ${arg}: not valid JSON/YAML: ${errorMessage(e)}`);
    }
  }
  const vars: Record<string, unknown> = {};
  let tokens: string[];
  try {
    tokens = shlexSplit(trimmed);
  } catch (e) {
    if (e instanceof ShlexError) throw new UsageError(`-e ${arg}: ${e.message}`);
    throw e;
  }
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new UsageError(`-e ${arg}: expected ${EXPECTED}`);
    vars[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return vars;
}

export async function loadExtraVars(args: string[]): Promise<Record<string, unknown>> {
  const merged: Record<string, unknown> = {};
  for (const arg of args) {
    if (arg.startsWith('@')) {
      const path = arg.slice(1);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        throw new UsageError(`-e @${path}: cannot read: ${errorMessage(e)}`);
      }
      let parsed: unknown;
      try {
        parsed = parseYaml(text);
      } catch (e) {
        throw new UsageError(`-e @${path}: not valid YAML/JSON: ${errorMessage(e)}`);
      }
      Object.assign(merged, asMapping(parsed, `@${path}`));
    } else {
      Object.assign(merged, parseExtraVarsArg(arg));
    }
  }
  return merged;
}
