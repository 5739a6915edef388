/**
 * Parse the line report of src/modules/scripts/cgroup_collect.sh (pure).
 * Strict about structure: garbage, an unknown header, a wrong format version or a missing end marker throw
 * CollectParseError (a truncated report must never look like "no processes here").
 */
import type { CgroupDir, CgroupMode, CollectedNode, CollectParams, CommandOutput, Hierarchy, KubeletPods, ProcessInfo, RawHealth } from './types.js';
import { COLLECT_FORMAT_VERSION, CollectParseError, KUBELET_LOG_PATTERNS } from './types.js';

/** The sh assignments cgroup_collect.sh expects (prepend with shAssignments(..., shQuote)). */
export function collectParams(p: CollectParams): Record<string, string> {
  return {
    CGROUP_ROOT: p.cgroupRoot,
    KUBELET_ROOT: p.kubeletRoot,
    CRICTL: p.crictl,
    SINCE: p.since !== undefined ? String(Math.floor(p.since)) : '',
    // a plain decimal with at most 2 places (the script counts in centiseconds; String(1e-7) would be '1e-7')
    SAMPLE_S: String(Math.round((p.sampleS ?? 1) * 100) / 100),
    CRIO: p.crio ?? 'crio',
    KUBELET: p.kubelet ?? 'kubelet',
    JOURNALCTL: p.journalctl ?? 'journalctl',
    CRIO_CONFIG: p.crioConfig ?? '/etc/crio',
    ...(p.mode === 'prune' ? { NS_MODE: 'prune' } : {}),
    ...(p.clock ? { UPTIME: p.clock.uptime, SLEEP: p.clock.sleep } : {}),
  };
}

const HEADER = `@@nodesweep-collect ${COLLECT_FORMAT_VERSION}`;
const END = '@@end nodesweep-collect';
const CGROUP2_MAGIC = '63677270';

class Cursor {
  i = 0;
  constructor(readonly lines: string[]) {}
  get done(): boolean {
    return this.i >= this.lines.length;
  }
  peek(): string | undefined {
    return this.lines[this.i];
  }
  next(): string {
    const l = this.lines[this.i];
    if (l === undefined) throw new CollectParseError('unexpected end of output (truncated report)');
    this.i++;
    return l;
  }
  /** 1-based number of the line last returned by next(). */
  get lineNo(): number {
    return this.i;
  }
  fail(msg: string): never {
    throw new CollectParseError(msg, this.i);
  }
}

function int(s: string | undefined, c: Cursor, what: string): number {
  if (s === undefined || !/^-?\d+$/.test(s)) c.fail(`expected ${what} (an integer), got ${JSON.stringify(s ?? '')}`);
  return Number(s);
}

/** Lines up to (not including) the next `@@` header; each must start with one of `prefixes`. */
function payload(c: Cursor, prefixes: string, allowTrailingEmpty: boolean): string[] {
  const out: string[] = [];
  while (!c.done && !c.peek()!.startsWith('@@')) {
    const l = c.next();
    if (l === '' && allowTrailingEmpty && c.peek()?.startsWith('@@')) break;
    if (l === '' || !prefixes.includes(l[0]!)) c.fail(`expected a payload line starting with ${[...prefixes].map((p) => `'${p}'`).join(' or ')}, got ${JSON.stringify(l.slice(0, 80))}`);
    out.push(l);
  }
  return out;
}

function expect(c: Cursor, header: string): string {
  const l = c.next();
  if (l !== header && !l.startsWith(`${header} `)) c.fail(`expected '${header}', got ${JSON.stringify(l.slice(0, 80))}`);
  return l.slice(header.length + 1);
}

function parseCmd(c: Cursor, rest: string): { label: string; out: CommandOutput } {
  const [label, rcS] = rest.split(' ');
  const rc = int(rcS, c, 'an exit code');
  expect(c, '@@stdout');
  const stdout = payload(c, '|', true).map((l) => l.slice(1)).join('\n');
  expect(c, '@@stderr');
  const stderr = payload(c, '|', true).map((l) => l.slice(1)).join('\n');
  expect(c, '@@endcmd');
  return { label: label ?? '', out: { rc, stdout, stderr } };
}

/** Health facts with nothing read yet (a report section fills them in; tests start from it too). */
export function emptyHealth(): RawHealth {
  return {
    procCgroups: [],
    numCgroupsSubtree: null,
    nrDescendants: null,
    nrDyingDescendants: null,
    systemSliceMemoryBytes: null,
    crioMemoryBytes: null,
    kubeletCpu: null,
    crioVersion: null,
    kubeletVersion: null,
    kubeletLogCounts: null,
    kubeletLogSince: null,
  };
}

export function parseCollectOutput(stdout: string): CollectedNode {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const c: Cursor = new Cursor(lines);
  if (lines[0] !== HEADER) {
    const got = lines[0]?.startsWith('@@nodesweep-collect ') ? `format ${lines[0].slice(20)}` : JSON.stringify((lines[0] ?? '').slice(0, 80));
    throw new CollectParseError(`expected '${HEADER}' (collect format ${COLLECT_FORMAT_VERSION}), got ${got}`, 1);
  }
  if (lines[lines.length - 1] !== END) {
    throw new CollectParseError(`missing '${END}' at the end: the report is truncated or the script failed (${lines.length} lines)`);
  }
  c.next();

  let now: number | undefined;
  let root = '';
  let fstypeHex: string | undefined;
  const hierarchies: Hierarchy[] = [];
  const dirs: CgroupDir[] = [];
  const dirByPath = new Map<string, CgroupDir>();
  const procs: Record<number, ProcessInfo> = {};
  const cmds = new Map<string, CommandOutput>();
  let kubeletPods: KubeletPods | undefined;
  const health = emptyHealth();
  const warnings: string[] = [];
  let sawProcs = false;
  let collectMode: 'scan' | 'prune' | undefined;
  const phasesMs: Record<string, number> = {};

  while (!c.done) {
    const line = c.next();
    if (line === END) {
      if (!c.done) c.fail(`unexpected lines after '${END}'`);
      break;
    }
    if (!line.startsWith('@@')) c.fail(`expected a '@@' section header, got ${JSON.stringify(line.slice(0, 80))}`);
    const sp = line.indexOf(' ');
    const head = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    switch (head) {
      case '@@now':
        now = int(rest, c, 'epoch seconds');
        break;
      case '@@root':
        root = rest;
        break;
      case '@@mode':
        if (rest !== 'scan' && rest !== 'prune') c.fail(`expected '@@mode scan|prune', got ${JSON.stringify(rest)}`);
        collectMode = rest;
        break;
      case '@@phase': {
        // @@phase NAME CENTISECONDS: time the script spent on a part (summed when a part repeats)
        const [name, cs] = rest.split(' ');
        if (!name || cs === undefined || !/^\d+$/.test(cs)) c.fail(`expected '@@phase NAME CENTISECONDS', got ${JSON.stringify(rest)}`);
        phasesMs[name] = (phasesMs[name] ?? 0) + Number(cs) * 10;
        break;
      }
      case '@@fstype':
        fstypeHex = rest.split(' ')[0];
        break;
      case '@@dirlister':
        if (rest === 'none') warnings.push('neither find -printf nor stat -c on the node: dir ages unknown (nothing old enough to prune)');
        break;
      case '@@skip':
      case '@@warn':
        warnings.push(rest);
        break;
      case '@@hierarchy':
        parseHierarchy(c, rest, hierarchies, dirs, dirByPath, warnings, collectMode === 'prune');
        break;
      case '@@proc-stat':
        parseProcs(c, procs, warnings);
        sawProcs = true;
        break;
      case '@@cmd': {
        const { label, out } = parseCmd(c, rest);
        cmds.set(label, out);
        break;
      }
      case '@@kubelet-pods': {
        const [state, ...p] = rest.split(' ');
        const names = payload(c, '|', false).map((l) => l.slice(1));
        expect(c, '@@end-kubelet-pods');
        if (state === 'ok') kubeletPods = { ok: true, uids: names };
        else if (state === 'missing' || state === 'unreadable') kubeletPods = { ok: false, reason: `kubelet pods dir ${p.join(' ')} is ${state}` };
        else c.fail(`expected kubelet-pods ok|missing|unreadable, got ${JSON.stringify(state)}`);
        break;
      }
      case '@@proc-cgroups':
      case '@@num-cgroups':
      case '@@cgroup-stat':
      case '@@memory':
      case '@@kubelet-cpu':
        parseHealthSection(c, head, rest, health, warnings);
        break;
      case '@@absent':
        break;
      case '@@crio-config': {
        const conf: Record<string, string> = {};
        for (const l of payload(c, '|', false)) {
          // |FILE:  key = "value"   # comment
          const m = /^\|.*?:\s*(drop_infra_ctr|conmon_cgroup|cgroup_manager)\s*=\s*("([^"]*)"|'([^']*)'|([^\s#]*))/.exec(l);
          if (m) conf[m[1]!] = m[3] ?? m[4] ?? m[5] ?? '';
        }
        expect(c, '@@end-crio-config');
        health.crioConfig = conf;
        break;
      }
      case '@@journal': {
        const [sinceS, rcS, grepRcS] = rest.split(' ');
        const body = payload(c, '|!', false);
        expect(c, '@@end-journal');
        health.kubeletLogSince = int(sinceS, c, 'journal since');
        const err = body.filter((l) => l[0] === '!').map((l) => l.slice(1));
        if (rcS !== '0') {
          warnings.push(`journalctl -u kubelet: rc ${rcS}${err.length ? `: ${err.join(' ').slice(0, 200)}` : ''}`);
          break;
        }
        if (grepRcS !== undefined && grepRcS !== '0' && grepRcS !== '1') {
          warnings.push(`counting kubelet log lines failed (grep rc ${grepRcS}; grep -o missing?)`);
          break;
        }
        const counts: Record<string, number> = {};
        for (const p of KUBELET_LOG_PATTERNS) counts[p] = 0;
        for (const l of body) {
          if (l[0] !== '|') continue;
          const m = /^\s*(\d+) (.*)$/.exec(l.slice(1));
          if (!m) c.fail(`expected 'COUNT TEXT' in the journal counts, got ${JSON.stringify(l)}`);
          const p = KUBELET_LOG_PATTERNS.find((x) => x.toLowerCase() === m[2]!.toLowerCase());
          if (p) counts[p] = (counts[p] ?? 0) + Number(m[1]);
        }
        health.kubeletLogCounts = counts;
        break;
      }
      default:
        c.fail(`unknown section ${JSON.stringify(head)}`);
    }
  }

  if (now === undefined) throw new CollectParseError("no '@@now' line");
  if (fstypeHex === undefined) throw new CollectParseError("no '@@fstype' line");
  if (!sawProcs) throw new CollectParseError("no '@@proc-stat' section");
  if (!kubeletPods) throw new CollectParseError("no '@@kubelet-pods' section");
  const crictlPods = cmds.get('crictl-pods');
  const crictlContainers = cmds.get('crictl-ps');
  if (!crictlPods || !crictlContainers) throw new CollectParseError("no '@@cmd crictl-pods' / '@@cmd crictl-ps' section");
  health.crioVersion = cmds.get('crio-version') ?? null;
  health.kubeletVersion = cmds.get('kubelet-version') ?? null;

  // Processes of the dirs, with placeholders for those that exited between the two reads.
  for (const d of dirs) {
    for (const pid of d.pids ?? []) {
      const p = procs[pid];
      if (!p) procs[pid] = { pid, state: '?', cmdline: '', comm: '' };
    }
  }
  for (const p of Object.values(procs)) if (p.cmdline === '' && p.comm !== '') p.cmdline = `[${p.comm}]`;

  let mode: CgroupMode = 'v1';
  if (fstypeHex === CGROUP2_MAGIC) mode = 'v2';
  else if (hierarchies.some((h) => h.version === 'v2')) mode = 'hybrid';

  const out: CollectedNode = { formatVersion: COLLECT_FORMAT_VERSION, now, cgroupRoot: root, mode, hierarchies, dirs, procs, crictlPods, crictlContainers, kubeletPods, health, warnings };
  if (collectMode) out.collectMode = collectMode;
  if (Object.keys(phasesMs).length > 0) out.phasesMs = phasesMs;
  return out;
}

const HEALTH_SECTIONS = new Set(['@@proc-cgroups', '@@num-cgroups', '@@cgroup-stat', '@@memory', '@@kubelet-cpu']);

/** One health section of cgroup_health.sh's output (a scan's report, or the block a prune prints after acting). */
function parseHealthSection(c: Cursor, head: string, rest: string, health: RawHealth, warnings: string[]): void {
  switch (head) {
    case '@@proc-cgroups':
      for (const l of payload(c, '|', false)) {
        if (l.startsWith('|#')) continue;
        const f = l.slice(1).split(/\s+/);
        if (f.length < 4) c.fail(`expected a /proc/cgroups row, got ${JSON.stringify(l)}`);
        health.procCgroups.push({ subsys: f[0]!, hierarchy: int(f[1], c, 'hierarchy'), num_cgroups: int(f[2], c, 'num_cgroups'), enabled: f[3] === '1' });
      }
      expect(c, '@@end-proc-cgroups');
      break;
    case '@@cgroup-stat':
      for (const l of payload(c, '|', false)) {
        const [k, v] = l.slice(1).split(' ');
        if (k === 'nr_descendants') health.nrDescendants = int(v, c, 'nr_descendants');
        if (k === 'nr_dying_descendants') health.nrDyingDescendants = int(v, c, 'nr_dying_descendants');
      }
      expect(c, '@@end-cgroup-stat');
      break;
    case '@@memory': {
      const [key, v] = rest.split(' ');
      if (v !== undefined && /^\d+$/.test(v)) {
        if (key === 'system.slice') health.systemSliceMemoryBytes = Number(v);
        else if (key === 'crio.service') health.crioMemoryBytes = Number(v);
      } else warnings.push(`memory ${key}: unreadable value ${JSON.stringify(v ?? '')}`);
      break;
    }
    case '@@kubelet-cpu':
      health.kubeletCpu = parseKubeletCpu(c, rest, warnings);
      break;
    case '@@num-cgroups': {
      // the dirs of the node's own hierarchies (its cgroup root is a subtree of the machine's): NAME COUNT
      if (rest !== 'subtree') c.fail(`expected '@@num-cgroups subtree', got ${JSON.stringify(rest)}`);
      const counts: Record<string, number> = {};
      for (const l of payload(c, '|', false)) {
        const m = /^\|(\S+) (\d+)$/.exec(l);
        if (!m) c.fail(`expected '|HIERARCHY COUNT', got ${JSON.stringify(l)}`);
        counts[m[1]!] = Number(m[2]);
      }
      expect(c, '@@end-num-cgroups');
      health.numCgroupsSubtree = counts;
      break;
    }
    default:
      c.fail(`unknown health section ${JSON.stringify(head)}`);
  }
}

/**
 * The health block cgroup_prune.sh prints after it acted (cgroup_health.sh's sections, nothing else), parsed the
 * way a scan's are. Throws CollectParseError on anything else, so a garbled block is never a measurement.
 */
export function parseHealthReport(lines: string[]): { health: RawHealth; warnings: string[] } {
  const c = new Cursor(lines.filter((l) => l !== ''));
  const health = emptyHealth();
  const warnings: string[] = [];
  while (!c.done) {
    const line = c.next();
    const sp = line.indexOf(' ');
    const head = sp < 0 ? line : line.slice(0, sp);
    if (!HEALTH_SECTIONS.has(head)) c.fail(`expected a health section, got ${JSON.stringify(line.slice(0, 80))}`);
    parseHealthSection(c, head, sp < 0 ? '' : line.slice(sp + 1), health, warnings);
  }
  return { health, warnings };
}

function parseHierarchy(c: Cursor, rest: string, hierarchies: Hierarchy[], dirs: CgroupDir[], dirByPath: Map<string, CgroupDir>, warnings: string[], pruneMode: boolean): void {
  const m = /^(v1|v2) (\S+) (\/.*)$/.exec(rest);
  if (!m) c.fail(`expected '@@hierarchy v1|v2 NAME /PATH', got ${JSON.stringify(rest)}`);
  const version = m[1] as 'v1' | 'v2';
  const name = m[2]!;
  const hpath = m[3]!;
  if (hierarchies.some((h) => h.name === name)) c.fail(`hierarchy ${name} listed twice`);
  hierarchies.push({ name, path: hpath, version });
  const prefix = hpath === '/' ? '/' : `${hpath}/`;
  const first = dirs.length;
  expect(c, '@@dirs');
  // MTIME PATH lines ('-' when the node could not stat). find lists each dir once (the start points of a hierarchy
  // do not overlap, and a hierarchy is visited once), so no lookup per line: at 100,000 dirs that is the hot path.
  const lines = c.lines;
  const pids = pruneMode ? null : NO_PIDS;
  let i = c.i;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.charCodeAt(0) === 64 && l.charCodeAt(1) === 64) break; // '@@'
    const sp = l.indexOf(' ');
    const t = sp < 0 ? '' : l.slice(0, sp);
    if (sp < 0 || !(t === '-' || MTIME.test(t)) || l.slice(sp + 1, sp + 1 + prefix.length) !== prefix) {
      c.i = i + 1;
      c.fail(`expected 'MTIME ${prefix}...' in hierarchy ${name}, got ${JSON.stringify(l.slice(0, 120))}`);
    }
    dirs.push({ hierarchy: name, path: l.slice(sp + 1), rel: l.slice(sp + 1 + prefix.length), mtime: t === '-' ? null : Math.floor(Number(t)), pids, populated: null });
  }
  c.i = i;
  let h = c.next();
  if (h.startsWith('@@rc find-dirs ')) {
    if (h !== '@@rc find-dirs 0') warnings.push(`${name}: find (dirs) ${h.slice(5)} (dirs may have vanished while listing)`);
    h = c.next();
  }
  if (h === '@@procs unread') {
    // a prune-mode report: the processes are unknown (null, set above), never "none"
    if (!pruneMode) c.fail(`'@@procs unread' in hierarchy ${name} of a report that is not '@@mode prune'`);
    h = c.next();
    if (h !== '@@end-hierarchy') c.fail(`expected '@@end-hierarchy' for ${name}, got ${JSON.stringify(h.slice(0, 80))}`);
    return;
  }
  if (pruneMode) c.fail(`expected '@@procs unread' in hierarchy ${name} of a prune-mode report, got ${JSON.stringify(h.slice(0, 80))}`);
  if (h !== '@@procs') c.fail(`expected '@@procs' in hierarchy ${name}, got ${JSON.stringify(h.slice(0, 80))}`);
  // PATH/cgroup.procs:PID and PATH/cgroup.events:populated N
  for (let k = first; k < dirs.length; k++) dirByPath.set(dirs[k]!.path, dirs[k]!);
  while (!c.done && !c.peek()!.startsWith('@@')) {
    const l = c.next();
    const colon = l.lastIndexOf(':');
    const file = l.slice(0, colon);
    const val = l.slice(colon + 1);
    const slash = file.lastIndexOf('/');
    const dpath = file.slice(0, slash);
    const base = file.slice(slash + 1);
    if (colon < 0 || !dpath.startsWith(prefix) || (base !== 'cgroup.procs' && base !== 'cgroup.events')) {
      c.fail(`expected 'PATH/cgroup.procs:PID' or 'PATH/cgroup.events:populated N' in hierarchy ${name}, got ${JSON.stringify(l.slice(0, 120))}`);
    }
    // A dir created after the listing still counts: unknown age, so never old enough to remove.
    const d = dirByPath.get(dpath) ?? addDir(dirs, dirByPath, name, prefix, dpath, null);
    if (base === 'cgroup.procs') {
      if (!/^\d+$/.test(val)) c.fail(`expected a pid, got ${JSON.stringify(val)}`);
      if (d.pids === null || d.pids === NO_PIDS) d.pids = [Number(val)];
      else d.pids.push(Number(val));
    } else {
      const pm = /^populated ([01])$/.exec(val);
      if (!pm) c.fail(`expected 'populated 0|1', got ${JSON.stringify(val)}`);
      d.populated = pm[1] === '1';
    }
  }
  h = c.next();
  if (h.startsWith('@@rc find-procs ')) {
    // grep exits 1 when every cgroup.procs is empty: that is no error
    if (h !== '@@rc find-procs 0' && h !== '@@rc find-procs 1') warnings.push(`${name}: reading cgroup.procs ${h.slice(5)} (dirs may have vanished while reading)`);
    h = c.next();
  }
  if (h !== '@@end-hierarchy') c.fail(`expected '@@end-hierarchy' for ${name}, got ${JSON.stringify(h.slice(0, 80))}`);
}

const MTIME = /^\d+(\.\d+)?$/;
/** The pids of a dir whose cgroup.procs was read and is empty, shared (replaced, never pushed to, when a pid is read). */
const NO_PIDS: number[] = Object.freeze([]) as unknown as number[];

function addDir(dirs: CgroupDir[], byPath: Map<string, CgroupDir>, hierarchy: string, prefix: string, path: string, mtime: number | null): CgroupDir {
  const old = byPath.get(path);
  if (old) return old;
  const d: CgroupDir = { hierarchy, path, rel: path.slice(prefix.length), mtime, pids: NO_PIDS, populated: null };
  dirs.push(d);
  byPath.set(path, d);
  return d;
}

function parseProcs(c: Cursor, procs: Record<number, ProcessInfo>, warnings: string[]): void {
  // /proc/PID/stat:PID (COMM) S ...   -- comm may hold spaces, parens and even a newline (grep then prints a
  // second prefixed line), so lines are joined per pid and the state is read after the LAST ')'
  const statText = new Map<number, string>();
  while (!c.done && !c.peek()!.startsWith('@@')) {
    const l = c.next();
    const m = /^\/proc\/(\d+)\/stat:(.*)$/s.exec(l);
    if (!m) c.fail(`expected '/proc/PID/stat:PID (COMM) STATE ...', got ${JSON.stringify(l.slice(0, 120))}`);
    const pid = Number(m[1]);
    const prev = statText.get(pid);
    statText.set(pid, prev === undefined ? m[2]! : `${prev}\n${m[2]!}`);
  }
  for (const [pid, text] of statText) {
    const m = /^(\d+) \((.*)\) (\S)( |$)/s.exec(text);
    if (!m || Number(m[1]) !== pid) c.fail(`expected 'PID (COMM) STATE ...' in /proc/${pid}/stat, got ${JSON.stringify(text.slice(0, 120))}`);
    procs[pid] = { pid, state: m[3]!, cmdline: '', comm: m[2]! };
  }
  expect(c, '@@proc-cmdline');
  const cmd = new Map<number, string[]>();
  while (!c.done && !c.peek()!.startsWith('@@') ) {
    const l = c.next();
    const m = /^\/proc\/(\d+)\/cmdline:(.*)$/s.exec(l);
    if (!m) c.fail(`expected '/proc/PID/cmdline:ARGS', got ${JSON.stringify(l.slice(0, 120))}`);
    const pid = Number(m[1]);
    const parts = cmd.get(pid) ?? [];
    parts.push(m[2]!);
    cmd.set(pid, parts);
  }
  let h = c.next();
  while (h.startsWith('@@warn ')) {
    warnings.push(h.slice(7));
    h = c.next();
  }
  if (h !== '@@end-procs') c.fail(`expected '@@end-procs', got ${JSON.stringify(h.slice(0, 80))}`);
  for (const [pid, parts] of cmd) {
    const text = parts.join(' ').replace(/\0/g, ' ').replace(/\s+$/, '');
    const p = procs[pid] ?? (procs[pid] = { pid, state: '?', cmdline: '', comm: '' });
    p.cmdline = text;
  }
}

function parseKubeletCpu(c: Cursor, rest: string, warnings: string[]): RawHealth['kubeletCpu'] {
  const [pidS, clkS, foundBy] = rest.split(' ');
  const pid = int(pidS, c, 'kubelet pid');
  const clkTck = int(clkS, c, 'CLK_TCK');
  const body = payload(c, '|', false);
  expect(c, '@@end-kubelet-cpu');
  if (body.length !== 2) {
    warnings.push('kubelet CPU: no second sample (kubelet exited?)');
    return null;
  }
  const sample = (l: string) => {
    const bar = l.indexOf('|', 1);
    const up = Number(l.slice(1, bar));
    const stat = l.slice(bar + 1);
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(after[11]) + Number(after[12]); // utime, stime: fields 14 and 15 of /proc/PID/stat
    if (bar < 0 || !Number.isFinite(up) || !Number.isFinite(ticks)) c.fail(`expected '|UPTIME|STAT' kubelet sample, got ${JSON.stringify(l.slice(0, 120))}`);
    return { up, ticks };
  };
  const s0 = sample(body[0]!);
  const s1 = sample(body[1]!);
  return { pid, ticks0: s0.ticks, ticks1: s1.ticks, clkTck, intervalS: Math.max(0, s1.up - s0.up), foundBy: foundBy === 'cgroup' || foundBy === 'comm' ? foundBy : null };
}
