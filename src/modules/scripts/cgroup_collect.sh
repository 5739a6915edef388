# nodesweep cgroup collector (POSIX sh + coreutils + find/grep/sed; no python, perl or awk needed).
# READ-ONLY: it never writes under the cgroup root, the kubelet dir or anywhere else except one mktemp dir
# (removed at the end) used to keep a command's stdout and stderr apart.
#
# Parameters, prepended as sh assignments (see collectParams in src/cgroup/collect-parse.ts):
#   CGROUP_ROOT KUBELET_ROOT CRICTL CRIO KUBELET JOURNALCTL SINCE SAMPLE_S CRIO_CONFIG NS_MODE UPTIME SLEEP
# It runs behind cgroup_health.sh (the modules send the two as one script, see loadCollectScript in
# src/modules/cgroup_scan.ts): the clock (ns_cs, ns_clock), the kubelet CPU sample and the health facts are there,
# shared with the prune's measurement after it acted.
# NS_MODE=prune collects only what a prune decision needs: the dirs with their mtimes, crictl, the kubelet pods dir.
# No cgroup.procs (`@@procs unread`: the kernel's EBUSY on rmdir is the prune's last guard, and the prune script
# reads the holders of what it could not remove), no health facts, no kubelet CPU sample, no journal.
#
# The kubelet CPU sample overlaps the work: the first /proc/<kubelet>/stat sample is taken at the start, the second
# at the end, sleeping only what is left of SAMPLE_S; the parser takes the interval from the two $UPTIME reads.
# `@@phase NAME CS` lines say how long each part took (centiseconds of $UPTIME, read by the `read` builtin).
#
# Process count: constant in the number of cgroups. Every per-dir step is batched (`find -printf`, or
# `find -exec stat {} +`, `find -exec grep -H {} +`, `xargs grep`); loops run sh builtins only. There is a
# constant number of forks per hierarchy (cd -P, stat -f, find) and per node (crictl, date, sleep, ...).
#
# Output: line-oriented sections, each header starting with `@@`. Payload lines copied from a command are
# prefixed with `|` so no command output can forge a header. The last line is `@@end nodesweep-collect`;
# a report without it is truncated and the parser refuses it (fail closed).
# Every part reports its own rc; a missing part never fails the whole script.
# Variables are prefixed ns_ so the script can be embedded in a larger one; it never calls `exit`.

LC_ALL=C
export LC_ALL
: "${KUBELET_ROOT:=/var/lib/kubelet}"
: "${CRICTL:=crictl}"
: "${CRIO:=crio}"
: "${JOURNALCTL=journalctl}"
: "${CRIO_CONFIG:=/etc/crio}"
: "${NS_MODE:=scan}"
ns_nl='
'
ns_oldpwd=$PWD
cd / || :

printf '@@nodesweep-collect 1\n'
[ "$NS_MODE" = prune ] || NS_MODE=scan
printf '@@mode %s\n' "$NS_MODE"

# ns_phase NAME: print the time since the last mark as `@@phase NAME CS`
ns_clock ns_mark
ns_phase() {
  ns_clock ns_pnow
  printf '@@phase %s %s\n' "$1" "$((ns_pnow - ns_mark))"
  ns_mark=$ns_pnow
}

# kubelet CPU, first sample: now, so the sample runs alongside the work (the second one is taken at the end)
ns_kpid=''
[ "$NS_MODE" = scan ] && ns_kubelet_cpu_start

ns_now=$(date +%s)
printf '@@now %s\n' "$ns_now"
printf '@@root %s\n' "$CGROUP_ROOT"

ns_tmp=$(mktemp -d "${TMPDIR:-/tmp}/nodesweep-collect.XXXXXX" 2>/dev/null) || ns_tmp=''

# ns_cmd LABEL CMD... : run a command, print its rc, stdout and stderr as separate `|`-prefixed blocks.
ns_cmd() {
  ns_label=$1
  shift
  if [ -n "$ns_tmp" ]; then
    "$@" >"$ns_tmp/out" 2>"$ns_tmp/err" </dev/null
    ns_rc=$?
    printf '@@cmd %s %s\n@@stdout\n' "$ns_label" "$ns_rc"
    sed 's/^/|/' "$ns_tmp/out"
    printf '\n@@stderr\n'
    sed 's/^/|/' "$ns_tmp/err"
    printf '\n@@endcmd\n'
  else
    # no temp dir: stdout only, stderr is lost (said so)
    ns_out=$("$@" 2>/dev/null </dev/null)
    ns_rc=$?
    printf '@@cmd %s %s\n@@stdout\n' "$ns_label" "$ns_rc"
    printf '%s\n' "$ns_out" | sed 's/^/|/'
    printf '\n@@stderr\n|(stderr not captured: no temp dir)\n\n@@endcmd\n'
  fi
}

# ---- mode: cgroup2fs at the root means a pure v2 node
ns_roottype=$(stat -f -c '%t %T' "$CGROUP_ROOT" 2>/dev/null) || ns_roottype='? ?'
printf '@@fstype %s\n' "$ns_roottype"

# ---- how to print "MTIME PATH" for every dir: GNU find -printf, else find -exec stat {} +, else no mtime
# NS_PORTABLE=1 forces the POSIX fallbacks below (tests check both paths give the same report)
if [ "${NS_PORTABLE:-0}" != 1 ] && find "$CGROUP_ROOT" -prune -printf '' >/dev/null 2>&1; then
  ns_dirlister=printf
elif stat -c '%Y %n' "$CGROUP_ROOT" >/dev/null 2>&1; then
  ns_dirlister=stat
else
  ns_dirlister=none
fi
printf '@@dirlister %s\n' "$ns_dirlister"
# GNU grep -r --include reads every cgroup.procs of a tree in one process; else find -exec grep {} + batches
if [ "${NS_PORTABLE:-0}" != 1 ] && { grep -r -H --include=cgroup.procs -e x /dev/null >/dev/null 2>&1; [ $? -eq 1 ]; }; then ns_grep_r=1; else ns_grep_r=0; fi

ns_all_pids=''
ns_hiers='' # `VERSION NAME REALPATH` lines of the hierarchies visited, for the health facts

# ns_hierarchy NAME REALPATH: one hierarchy, visited once. Forks: stat -f, find dirs, find procs (+grep, sed).
# It ends with `@@phase listing CS` and `@@phase procs CS` (the parser adds them up over the hierarchies).
ns_hierarchy() {
  ns_name=$1
  ns_h=$2
  ns_t=$(stat -f -c '%t' "$ns_h" 2>/dev/null) || ns_t='?'
  case $ns_t in
    27e0eb) ns_ver=v1 ;;
    63677270) ns_ver=v2 ;;
    *)
      printf '@@skip %s not a cgroup fs (type %s): %s\n' "$ns_name" "$ns_t" "$ns_h"
      return 0
      ;;
  esac
  ns_hiers="$ns_hiers$ns_ver $ns_name $ns_h$ns_nl"
  printf '@@hierarchy %s %s %s\n' "$ns_ver" "$ns_name" "$ns_h"
  # the start points: kubepods.slice (systemd driver), kubepods (cgroupfs driver), and in a v2 hierarchy the
  # bogus pids/ tree that cri-o 6349 created
  set --
  for ns_s in kubepods.slice kubepods; do
    [ -d "$ns_h/$ns_s" ] && set -- "$@" "$ns_h/$ns_s"
    [ "$ns_ver" = v2 ] && [ -d "$ns_h/pids/$ns_s" ] && set -- "$@" "$ns_h/pids/$ns_s"
  done
  printf '@@dirs %s\n' "$#"
  ns_clock ns_h0
  if [ "$#" -gt 0 ]; then
    case $ns_dirlister in
      printf) find "$@" -type d -printf '%T@ %p\n' 2>/dev/null ;;
      stat) find "$@" -type d -exec stat -c '%Y %n' {} + 2>/dev/null ;;
      *) find "$@" -type d -exec printf -- '- %s\n' {} + 2>/dev/null ;;
    esac
    printf '@@rc find-dirs %s\n' "$?"
  fi
  ns_clock ns_h1
  if [ "$NS_MODE" = prune ]; then
    printf '@@procs unread\n@@end-hierarchy\n@@phase listing %s\n' "$((ns_h1 - ns_h0))"
    return 0
  fi
  printf '@@procs\n'
  if [ "$#" -gt 0 ]; then
    # cgroup.procs lists the thread-group id of every task in the cgroup (also on v1, where one thread of a
    # process may sit in another cgroup than its leader), so `tasks` adds nothing for "is it empty".
    # v2 cgroup.events `populated` covers the whole subtree.
    if [ "$ns_grep_r" = 1 ]; then
      # one process however many dirs (find -exec {} + would add a grep per ~128 KiB of paths)
      ns_p=$(grep -r -H --include=cgroup.procs --include=cgroup.events -e '^[0-9]' -e '^populated' "$@" 2>/dev/null)
    else
      ns_p=$(find "$@" \( -name cgroup.procs -o -name cgroup.events \) -type f -exec grep -H -e '^[0-9]' -e '^populated' {} + 2>/dev/null)
    fi
    ns_rc=$?
    if [ -n "$ns_p" ]; then
      printf '%s\n' "$ns_p"
      ns_all_pids="$ns_all_pids$(printf '%s\n' "$ns_p" | sed -n 's/^.*\/cgroup\.procs:\([0-9][0-9]*\)$/\1/p')$ns_nl"
    fi
    printf '@@rc find-procs %s\n' "$ns_rc"
  fi
  ns_clock ns_h2
  printf '@@end-hierarchy\n@@phase listing %s\n@@phase procs %s\n' "$((ns_h1 - ns_h0))" "$((ns_h2 - ns_h1))"
}

# ns_visit NAME REALPATH: each hierarchy is listed (and its processes read) by a background job of its own, all at
# once: kernfs locks are per hierarchy, so on two cores the listing takes about half the time. The reports are
# printed in the order the hierarchies were found. Without a temp dir, one after the other.
ns_nh=0
ns_visit() {
  if [ -n "$ns_tmp" ]; then
    ns_nh=$((ns_nh + 1))
    ns_hierarchy "$1" "$2" > "$ns_tmp/h.$((10000 + ns_nh))" 2> /dev/null &
  else
    ns_hierarchy "$1" "$2"
  fi
}
ns_phase start

case $ns_roottype in
  63677270*)
    # v2: the root itself is the single hierarchy
    if cd -P -- "$CGROUP_ROOT" 2>/dev/null; then
      ns_real=$PWD
      cd / || :
      ns_visit unified "$ns_real"
    else
      printf '@@warn cannot enter %s\n' "$CGROUP_ROOT"
    fi
    ;;
  *)
    # v1/hybrid: every controller dir under the root, each real path once. Real dirs first, then symlinks whose
    # name has a comma (cpu,cpuacct), then the other symlinks (cpu, cpuacct -> cpu,cpuacct), so a shared
    # hierarchy keeps its full name.
    ns_seen=$ns_nl
    for ns_pass in dir comma link; do
      for ns_e in "$CGROUP_ROOT"/*; do
        [ -d "$ns_e" ] || continue
        ns_n=${ns_e##*/}
        if [ -L "$ns_e" ]; then
          [ "$ns_pass" = dir ] && continue
          case $ns_n in *,*) [ "$ns_pass" = comma ] || continue ;; *) [ "$ns_pass" = link ] || continue ;; esac
        else
          [ "$ns_pass" = dir ] || continue
        fi
        case $ns_n in
          *[!A-Za-z0-9_,.=-]*)
            printf '@@skip %s odd name\n' "$ns_n"
            continue
            ;;
        esac
        cd -P -- "$ns_e" 2>/dev/null || { printf '@@skip %s cannot enter\n' "$ns_n"; continue; }
        ns_real=$PWD
        cd / || :
        case $ns_seen in *"$ns_nl$ns_real$ns_nl"*) continue ;; esac
        ns_seen="$ns_seen$ns_real$ns_nl"
        ns_visit "$ns_n" "$ns_real"
      done
    done
    ;;
esac

if [ "$ns_nh" -gt 0 ]; then
  wait
  cat "$ns_tmp"/h.1*
  # what the jobs could not tell the parent: the hierarchies (for the health facts), and the pids seen in the
  # kubepods dirs
  for ns_f in "$ns_tmp"/h.1*; do
    IFS= read -r ns_l < "$ns_f" || continue
    case $ns_l in '@@hierarchy '*) ns_hiers="$ns_hiers${ns_l#'@@hierarchy '}$ns_nl" ;; esac
  done
  [ "$NS_MODE" = scan ] && ns_all_pids=$(sed -n 's/^.*\/cgroup\.procs:\([0-9][0-9]*\)$/\1/p' "$ns_tmp"/h.1*)
fi
ns_phase hierarchies

# ---- processes found in kubepods dirs: state (/proc/PID/stat) and command line, one batched grep each
ns_pids=''
[ -n "$ns_all_pids" ] && ns_pids=$(printf '%s\n' "$ns_all_pids" | sort -un 2>/dev/null)
printf '@@proc-stat\n'
if [ -n "$ns_pids" ]; then
  for ns_pid in $ns_pids; do printf '/proc/%s/stat\n' "$ns_pid"; done | xargs grep -H '' 2>/dev/null
fi
printf '@@proc-cmdline\n'
if [ -n "$ns_pids" ]; then
  if grep -a '' /dev/null 2>/dev/null; [ $? -ne 2 ]; then
    # cmdline args end in NUL; grep -a keeps going past them, tr turns them into spaces
    for ns_pid in $ns_pids; do printf '/proc/%s/cmdline\n' "$ns_pid"; done | xargs grep -a -H '' 2>/dev/null | tr '\000' ' '
  else
    printf '@@warn grep -a unsupported: no command lines\n'
  fi
fi
printf '@@end-procs\n'
ns_phase proc-info

# ---- runtime: crictl, stdout and stderr apart, each with its rc
set -f # CRICTL may carry options (word-split on purpose), never globs
ns_cmd crictl-pods $CRICTL pods -o json
ns_cmd crictl-ps $CRICTL ps -a -o json
set +f
ns_phase crictl

# ---- kubelet pods dir: the names only (report; never deleted)
ns_kp="$KUBELET_ROOT/pods"
if [ ! -e "$ns_kp" ] && [ ! -L "$ns_kp" ]; then
  printf '@@kubelet-pods missing %s\n' "$ns_kp"
elif [ ! -d "$ns_kp" ] || [ ! -r "$ns_kp" ] || [ ! -x "$ns_kp" ]; then
  printf '@@kubelet-pods unreadable %s\n' "$ns_kp"
else
  printf '@@kubelet-pods ok %s\n' "$ns_kp"
  for ns_e in "$ns_kp"/* "$ns_kp"/.[!.]*; do
    [ -e "$ns_e" ] || [ -L "$ns_e" ] || continue
    printf '|%s\n' "${ns_e##*/}"
  done
fi
printf '@@end-kubelet-pods\n'
ns_phase kubelet-pods

if [ "$NS_MODE" = scan ]; then
  # ---- node health (a scan only): cgroup counts and memory of the hierarchies listed above
  ns_health_facts "$ns_hiers"

  # versions (absent binaries are fine)
  if command -v "$CRIO" >/dev/null 2>&1; then ns_cmd crio-version "$CRIO" --version; else printf '@@absent crio-version\n'; fi
  if command -v "$KUBELET" >/dev/null 2>&1; then ns_cmd kubelet-version "$KUBELET" --version; else printf '@@absent kubelet-version\n'; fi

  # crio settings that decide the leak (reference section 2/6): later files override earlier ones
  printf '@@crio-config\n'
  grep -H -E '^[[:space:]]*(drop_infra_ctr|conmon_cgroup|cgroup_manager)[[:space:]]*=' "$CRIO_CONFIG/crio.conf" "$CRIO_CONFIG"/crio.conf.d/* 2>/dev/null | sed 's/^/|/'
  printf '@@end-crio-config\n'

  # kubelet log lines since SINCE (default: the last hour), counted by pattern in one pipeline
  if [ -n "$JOURNALCTL" ] && command -v "$JOURNALCTL" >/dev/null 2>&1 && [ -n "$ns_tmp" ]; then
    ns_since=$SINCE
    [ -n "$ns_since" ] || ns_since=$((ns_now - 3600))
    # grep's own rc is kept too: 2 (say, no -o) means "could not count", not "zero"
    { "$JOURNALCTL" -u kubelet --since "@$ns_since" --no-pager -o cat 2>"$ns_tmp/jerr" </dev/null; echo "$?" >"$ns_tmp/jrc"; } |
      { grep -o -i -F -e 'Failed to update stats for container' -e 'Unable to fetch pod log stats' \
        -e 'Failed to delete cgroup paths' -e 'orphaned pod' 2>/dev/null; echo "$?" >"$ns_tmp/grc"; } | sort | uniq -c >"$ns_tmp/jcount"
    ns_jrc='?'
    ns_grc='?'
    IFS= read -r ns_jrc <"$ns_tmp/jrc" 2>/dev/null
    IFS= read -r ns_grc <"$ns_tmp/grc" 2>/dev/null
    printf '@@journal %s %s %s\n' "$ns_since" "${ns_jrc:-?}" "${ns_grc:-?}"
    sed 's/^/|/' "$ns_tmp/jcount"
    sed 's/^/!/' "$ns_tmp/jerr"
    printf '@@end-journal\n'
  else
    printf '@@absent journal\n'
  fi
  ns_phase health
fi

# kubelet CPU, second sample: sleep only what is left of SAMPLE_S after the work above (the interval the parser
# uses is the real one, between the two $UPTIME reads)
if [ -n "$ns_kpid" ]; then
  ns_kubelet_cpu_end
  ns_phase kubelet-cpu-rest
fi

[ -n "$ns_tmp" ] && rm -rf "$ns_tmp"
cd "$ns_oldpwd" 2>/dev/null || :
printf '@@end nodesweep-collect\n'
