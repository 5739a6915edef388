/**
 * The small programs a lab node has on its PATH instead of the real ones (POSIX sh scripts):
 * - `sudo`: runs the command as the lab's own user (the lab has no other user); understands the options
 *   nodesweep's become sends (`-n`, `-S`, `-p`, `-H`, `-u`, `--`).
 * - `systemctl`: knows one unit, crio. `restart crio` is recorded in systemctl.log, kills crio's processes
 *   (also the ones sitting in leaked pod cgroups, which frees those cgroups as a real restart does) and starts a
 *   new one; `is-active` answers from a state file.
 * - `crio`: `crio --version` of a release in cri-o issue 6349's leaking range.
 * - `stat` (plain-tree mode only): `stat -f` answers "cgroupfs" for the dirs below the node's plain cgroup root,
 *   as the kernel would for real hierarchies, so the collector accepts the simulated node; anything else is the
 *   real stat.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function writeExec(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export function sudoStandin(): string {
  return `#!/bin/sh
# nodesweep lab stand-in for sudo: the lab runs everything as its own user (see src/lab/standins.ts)
while [ $# -gt 0 ]; do
  case "$1" in
    -n|-H|-E|-i) shift ;;
    -S) read -r _ns_pw || :; shift ;;
    -p|-u|-g) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo 'sudo (lab stand-in): no command' >&2; exit 1; }
exec "$@"
`;
}

export interface SystemctlStandinOptions {
  /** The node's state dir (crio.state, systemctl.log, crio.pids, crio-main.pids). */
  stateDir: string;
  /** Binary to start as the new crio (a copy of sleep named crio). */
  crioBin: string;
  /** Real mode: cgroup.procs files the new crio is placed in (system.slice/crio.service). */
  crioCgroupProcs: string[];
  /** Plain mode: the node's plain cgroup root (cgroup.procs files naming a killed pid are removed there). */
  plainRoot?: string;
  /** Plain mode: memory files a restart resets (crio's memory drops back after a restart). */
  memoryFiles?: Array<{ path: string; afterRestart: number }>;
}

export function systemctlStandin(o: SystemctlStandinOptions): string {
  const procs = o.crioCgroupProcs.map((p) => `  echo "$new" > ${q(p)} 2>/dev/null || :`).join('\n');
  const mem = (o.memoryFiles ?? []).map((m) => `  echo ${m.afterRestart} > ${q(m.path)}`).join('\n');
  const plain = o.plainRoot
    ? `  # plain tree: the "kernel" forgets a dead process; drop the cgroup.procs files that named it
  for pid in $killed; do
    grep -rlx --include=cgroup.procs -e "$pid" ${q(o.plainRoot)}/ 2>/dev/null | while IFS= read -r f; do
      # keep the dir's age: cgroupfs would not restamp it, a plain dir does when a file goes
      d=\${f%/*}
      t=$(/usr/bin/stat -c %Y "$d" 2>/dev/null || /bin/stat -c %Y "$d")
      rm -f "$f"
      [ -n "$t" ] && touch -m -d "@$t" "$d"
    done
  done`
    : '';
  return `#!/bin/sh
# nodesweep lab stand-in for systemctl: one unit, crio (see src/lab/standins.ts)
S=${q(o.stateDir)}
cmd=
unit=
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd=$a; else unit=$a; fi ;;
  esac
done
unit=\${unit%.service}
if [ "$unit" != crio ]; then
  echo "Unit $unit.service could not be found." >&2
  [ "$cmd" = is-active ] && { echo inactive; exit 4; }
  exit 5
fi
restart_crio() {
  killed=
  for f in "$S/crio.pids" "$S/crio-main.pids"; do
    [ -f "$f" ] || continue
    while IFS= read -r pid; do
      [ -n "$pid" ] || continue
      # only a process that is still ours (PIDs get reused)
      [ "$(cat /proc/$pid/comm 2>/dev/null)" = crio ] || continue
      kill -9 "$pid" 2>/dev/null && killed="$killed $pid"
    done < "$f"
  done
  : > "$S/crio.pids"
  for pid in $killed; do
    n=0
    while [ -d /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ] && [ $n -lt 100 ]; do sleep 0.02; n=$((n + 1)); done
  done
${plain}
${mem}
  setsid ${q(o.crioBin)} 86400 </dev/null >/dev/null 2>&1 &
  new=$!
  echo "$new" > "$S/crio-main.pids"
  echo "$new" >> "$S/spawned.pids"
${procs}
  echo active > "$S/crio.state"
}
case "$cmd" in
  is-active)
    st=$(cat "$S/crio.state" 2>/dev/null || echo inactive)
    echo "$st"
    [ "$st" = active ] ;;
  restart|try-restart|reload-or-restart)
    echo "$(date +%s) $cmd crio" >> "$S/systemctl.log"
    restart_crio ;;
  start)
    echo "$(date +%s) start crio" >> "$S/systemctl.log"
    [ "$(cat "$S/crio.state" 2>/dev/null)" = active ] || restart_crio ;;
  stop)
    echo "$(date +%s) stop crio" >> "$S/systemctl.log"
    echo inactive > "$S/crio.state" ;;
  status)
    echo "* crio.service - Container Runtime Interface for OCI (CRI-O) [nodesweep lab stand-in]"
    echo "     Active: $(cat "$S/crio.state" 2>/dev/null)" ;;
  show)
    echo "ActiveState=$(cat "$S/crio.state" 2>/dev/null)" ;;
  *)
    echo "systemctl (lab stand-in): unsupported command: $cmd" >&2
    exit 1 ;;
esac
`;
}

export function crioVersionStandin(): string {
  return `#!/bin/sh
# nodesweep lab stand-in for crio: only --version (a release in cri-o issue 6349's leaking range)
case "$1" in
  --version|version) printf 'crio version 1.24.3\\nVersion:        1.24.3\\nGitCommit:      nodesweep-lab\\n' ;;
  *) echo 'crio (lab stand-in): only --version' >&2; exit 1 ;;
esac
`;
}

export function statStandin(plainRoot: string): string {
  return `#!/bin/sh
# nodesweep lab stand-in for stat (plain-tree mode): \`stat -f\` says cgroupfs below the simulated cgroup root
R=${q(plainRoot)}
real() {
  for s in /usr/bin/stat /bin/stat; do [ -x "$s" ] && exec "$s" "$@"; done
  echo 'stat: not found' >&2; exit 127
}
fs=0 fmt=
for a in "$@"; do
  case "$a" in -f|--file-system) fs=1 ;; esac
done
[ "$fs" = 1 ] || real "$@"
prev=
for a in "$@"; do
  [ "$prev" = -c ] && fmt=$a
  case "$a" in --format=*|--printf=*) fmt=\${a#*=} ;; esac
  prev=$a
  last=$a
done
case "$last" in
  "$R"/*)
    [ -d "$last" ] || real "$@"
    [ -n "$fmt" ] || fmt='%t %T'
    out=$(printf '%s' "$fmt" | sed -e 's/%t/27e0eb/g' -e 's/%T/cgroupfs/g')
    printf '%s\\n' "$out" ;;
  *) real "$@" ;;
esac
`;
}

export interface NodeBin {
  dir: string;
  sudo: string;
  systemctl: string;
  crio: string;
  stat?: string;
}

export function writeNodeBin(dir: string, systemctl: SystemctlStandinOptions, plainRoot?: string): NodeBin {
  mkdirSync(dir, { recursive: true });
  const bin: NodeBin = { dir, sudo: join(dir, 'sudo'), systemctl: join(dir, 'systemctl'), crio: join(dir, 'crio') };
  writeExec(bin.sudo, sudoStandin());
  writeExec(bin.systemctl, systemctlStandin(systemctl));
  writeExec(bin.crio, crioVersionStandin());
  if (plainRoot) {
    bin.stat = join(dir, 'stat');
    writeExec(bin.stat, statStandin(plainRoot));
  }
  return bin;
}
