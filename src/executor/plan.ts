/**
 * Pure planning rules, as ansible-playbook applies them: serial batches, tag selection,
 * max_fail_percentage, the become / check-mode resolution.
 */
import { ansibleBoolean } from '../compat/boolean.js';


/** Ansible's pct_to_int: "30%" of n rounds down, at least 1; a number is taken as is. */
export function serialSize(value: number | string, total: number): number {
  if (typeof value === 'string' && value.trim().endsWith('%')) {
    const pct = parseInt(value.trim().slice(0, -1), 10);
    return Math.floor((pct / 100) * total) || 1;
  }
  return Math.trunc(Number(value));
}

/**
 * Split hosts into batches per `serial` (the last entry repeats; 0 or less takes everything left;
 * percentages are of all the play's hosts, not of those left). Empty serial = one batch.
 */
export function computeBatches<T>(hosts: readonly T[], serial: ReadonlyArray<number | string>): T[][] {
  const left = [...hosts];
  const list = serial.length === 0 ? [0] : serial;
  const batches: T[][] = [];
  let i = 0;
  while (left.length > 0) {
    const size = serialSize(list[i]!, hosts.length);
    if (!(size > 0)) {
      batches.push(left.splice(0));
      break;
    }
    batches.push(left.splice(0, size));
    i = Math.min(i + 1, list.length - 1);
  }
  return batches;
}

const UNTAGGED = 'untagged';

/**
 * Ansible's Taggable.evaluate_tags. `taskTags` are the task's own tags plus those inherited from its
 * blocks and play; `only` is --tags (empty means "all"), `skip` is --skip-tags.
 */
export function shouldRunByTags(taskTags: readonly string[], only: readonly string[], skip: readonly string[]): boolean {
  const tags = new Set(taskTags.length > 0 ? taskTags : [UNTAGGED]);
  const untagged = taskTags.length === 0;
  const onlyTags = only.length > 0 ? only : ['all'];
  const has = (list: readonly string[]) => list.some((t) => tags.has(t));

  let run: boolean;
  if (tags.has('always')) run = true;
  else if (onlyTags.includes('all') && !tags.has('never')) run = true;
  else if (has(onlyTags)) run = true;
  else if (onlyTags.includes('tagged') && !untagged && !tags.has('never')) run = true;
  else run = false;

  if (run && skip.length > 0) {
    if (skip.includes('all')) {
      if (!tags.has('always') || skip.includes('always')) run = false;
    } else if (has(skip)) run = false;
    else if (skip.includes('tagged') && !untagged) run = false;
  }
  return run;
}

/** Ansible's rule: the play stops when failed/batch_size is strictly greater than the percentage. */
export function exceedsMaxFail(failed: number, batchSize: number, maxFailPercentage: number | undefined): boolean {
  if (maxFailPercentage === undefined || batchSize === 0) return false;
  return failed / batchSize > maxFailPercentage / 100;
}

export interface BecomeInputs {
  /** Task, then enclosing blocks, then play: the first that says something. */
  keyword?: boolean;
  keywordUser?: string;
  /** ansible_become / ansible_become_user / ansible_become_password from the host's vars. */
  varBecome?: unknown;
  varUser?: unknown;
  varPassword?: unknown;
  /** --become / --become-user / --ask-become-pass */
  cliBecome: boolean;
  cliUser?: string;
  cliPassword?: string;
}

export interface BecomeDecision {
  become: boolean;
  user: string;
  password?: string;
}

/**
 * Ansible's precedence for connection settings: command line < playbook keywords < variables.
 * The password: a host's ansible_become_password, else the one asked with -K.
 */
export function resolveBecome(i: BecomeInputs): BecomeDecision {
  let become = i.cliBecome;
  if (i.keyword !== undefined) become = i.keyword;
  if (i.varBecome !== undefined && i.varBecome !== null) become = ansibleBoolean(i.varBecome, false); // one that is not a boolean already failed the host's connection spec
  let user = i.cliUser ?? 'root';
  if (i.keywordUser !== undefined) user = i.keywordUser;
  if (typeof i.varUser === 'string' && i.varUser !== '') user = i.varUser;
  const d: BecomeDecision = { become, user };
  const pw = i.varPassword !== undefined && i.varPassword !== null ? String(i.varPassword) : i.cliPassword;
  if (pw !== undefined) d.password = pw;
  return d;
}

/** Check mode: the task's (or enclosing block's/play's) check_mode wins over --check. */
export function resolveCheckMode(keyword: boolean | undefined, cli: boolean): boolean {
  return keyword ?? cli;
}
