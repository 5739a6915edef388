# nodesweep cgroup prune (POSIX sh + coreutils/grep/xargs/find; no Python, no fork per cgroup).
#
# The module prepends: NS_MARK NS_CRICTL NS_KUBELET_ROOT NS_MIN_AGE_S NS_CHECK NS_KILL NS_BASES (newline separated
# real hierarchy paths); from the one grammar (src/cgroup/names.ts) NS_PROTECTED_ERE / NS_LEAKABLE_ERE (one ERE a
# line per hierarchy, anchored at the space before the path) and NS_CRIO_ARGV0_ERE (crio's own argv[0]); and for the
# health measurement after acting (cgroup_health.sh, sent ahead of this script): NS_HEALTH (1: measure) NS_HIERS
# (`VERSION NAME REALPATH` lines) CGROUP_ROOT KUBELET SAMPLE_S. stdin: the planned removals, deepest first, one per line:
#   <g|l> <k|-> <pod uid|-> <container id|-> <path>
# g: the plan says the pod is gone (re-check its UID and kubelet pods dir); l: the pod is live, only the container
# id is re-checked. k: a confirmed orphan whose processes may be killed (kill_stragglers).
# Everything is re-checked here, right before acting; the kernel's EBUSY on rmdir is the last guard. The plan comes
# from a prune-mode collection that read no cgroup.procs, so this script finds who holds what only for the dirs the
# kernel refused to remove (and the dirs below them): their cgroup.procs / cgroup.events, read after the rmdir.
# kill_stragglers works from those pids (never D state, never crio), then those dirs are rmdir'd once more.
# Output: lines "$NS_MARK <what> ..." (see src/modules/cgroup_prune.ts), plus one block of /proc cmdlines;
# "$NS_MARK phase NAME CS" lines say how long each part took (centiseconds of /proc/uptime).

LC_ALL=C
export LC_ALL
umask 077
say() { printf '%s %s\n' "$NS_MARK" "$*"; }
ns_nl='
'
# ns_cs, ns_clock (centiseconds of $UPTIME, default /proc/uptime) come from cgroup_health.sh, sent ahead of this
# script; ns_phase NAME: time since the last mark
ns_clock ns_mark
ns_phase() {
  ns_clock ns_pnow
  say phase "$1" "$((ns_pnow - ns_mark))"
  ns_mark=$ns_pnow
}
T=$(mktemp -d "${TMPDIR:-/tmp}/nodesweep-prune.XXXXXX") || { say fatal cannot create a temp dir; exit 0; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
cat > "$T/in"
: > "$T/kept"

# xargs batches as large as the kernel allows (128 KiB of ARG_MAX left for the environment): one stat and one rmdir
# per ~2 MiB of paths (~10,000 cgroups).
ns_argmax=$(getconf ARG_MAX 2>/dev/null) || ns_argmax=131072
case $ns_argmax in '' | *[!0-9]*) ns_argmax=131072 ;; esac
ns_xs=$((ns_argmax - 131072))
[ "$ns_xs" -lt 65536 ] && ns_xs=65536

# ---- 1. what the runtime knows now; any doubt refuses everything (fail closed)
rt_err=
set -f # NS_CRICTL may carry options (word-split on purpose), never globs
if ! $NS_CRICTL pods -o json > "$T/pods.json" 2> "$T/err1"; then
  rt_err="crictl pods failed: $(head -c 300 "$T/err1" | tr '\n' ' ')"
elif ! $NS_CRICTL ps -a -o json > "$T/ps.json" 2> "$T/err2"; then
  rt_err="crictl ps -a failed: $(head -c 300 "$T/err2" | tr '\n' ' ')"
elif command -v jq > /dev/null 2>&1; then
  jq -e '.items | type == "array"' "$T/pods.json" > /dev/null 2>&1 || rt_err='crictl pods -o json printed something that is not its JSON'
  [ -n "$rt_err" ] || jq -e '.containers | type == "array"' "$T/ps.json" > /dev/null 2>&1 || rt_err='crictl ps -a -o json printed something that is not its JSON'
else
  # no jq (Fedora CoreOS): crictl prints an object, "{" on its first line and "}" on its last
  for f in pods ps; do
    ns_first=$(head -c 1 "$T/$f.json")
    ns_last=$(tail -c 2 "$T/$f.json" | tr -d '\n\r ')
    [ "$ns_first$ns_last" = '{}' ] || rt_err="crictl $f -o json printed something that is not its JSON (or it was cut short)"
  done
  [ -n "$rt_err" ] || grep -q '"items"' "$T/pods.json" || rt_err='crictl pods -o json has no items'
  [ -n "$rt_err" ] || grep -q '"containers"' "$T/ps.json" || rt_err='crictl ps -a -o json has no containers'
fi
if [ -n "$rt_err" ]; then
  say runtime fail "$rt_err"
  exit 0
fi
say runtime ok
ns_phase runtime

# ---- 2. anything the runtime mentions now is refused (it appeared since the plan)
# (Large lists go through grep/sed/find, never through a sh `read` loop: sh reads a file one byte per syscall.)
# The runtime's output is small, the plan may be huge: take every id-like JSON string crictl printed (pod UIDs,
# sandbox and container ids: hex and dashes) and look for those in the plan's uid/cid fields, not the reverse.
grep -o -h -E '"[0-9a-f][0-9a-f-]{6,}[0-9a-f]"' "$T/pods.json" "$T/ps.json" | tr -d '"' | sort -u > "$T/tokens"
: > "$T/mentioned"
if [ -s "$T/tokens" ]; then
  # " ID /": the container id field (the path follows); "g - UID " / "g k UID ": the UID of a pod called gone
  { sed 's|.*| & /|' "$T/tokens"; sed 's|.*|g - & |' "$T/tokens"; sed 's|.*|g k & |' "$T/tokens"; } > "$T/mentioned"
fi
if [ -s "$T/mentioned" ] && grep -F -f "$T/mentioned" "$T/in" > "$T/known"; then
  sed "s|^[^ ]* [^ ]* [^ ]* [^ ]* |$NS_MARK refused runtime |" "$T/known"
  grep -v -F -f "$T/mentioned" "$T/in" > "$T/in2"
  sed 's|^[^ ]* [^ ]* [^ ]* [^ ]* ||' "$T/known" >> "$T/kept"
else
  cp "$T/in" "$T/in2"
fi

# ---- 3. per path: shape, scope (under a hierarchy's kubepods or bogus pids/ tree), protected names, pod or
# container names, and the kubelet pods dir of pods the plan calls gone. Each step keeps the list's order.
ns_refuse() { # (the refused paths are kept in $T/kept too: check mode says which dirs above them would stay)
  sed 's|^[^ ]* [^ ]* [^ ]* [^ ]* ||' | tee -a "$T/kept" | sed "s|^|$NS_MARK refused $1 |"
}
# one grep pass when nothing is refused (the usual case), a second only to split when something is
ns_keep() { # ns_keep REASON GREP-ARGS...: keep the lines that match, refuse the others
  ns_reason=$1
  shift
  grep -v "$@" "$T/cur" > "$T/bad" || return 0
  ns_refuse "$ns_reason" < "$T/bad"
  grep "$@" "$T/cur" > "$T/next"
  mv "$T/next" "$T/cur"
}
ns_drop() { # ns_drop REASON GREP-ARGS...: refuse the lines that match, keep the others
  ns_reason=$1
  shift
  grep "$@" "$T/cur" > "$T/bad" || return 0
  ns_refuse "$ns_reason" < "$T/bad"
  grep -v "$@" "$T/cur" > "$T/next"
  mv "$T/next" "$T/cur"
}
cp "$T/in2" "$T/cur"
# The ages (step 4) are read meanwhile, in the background, after the runtime re-check: the name checks are user
# time, the stats kernel time, and there are two cores. The step waits for them; a dir whose age is not known by
# then is never removed.
now=$(date +%s)
ns_stat_bg=''
if stat -c '%Y %n' / > /dev/null 2>&1; then
  sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* //' "$T/in2" | xargs -s "$ns_xs" stat -c '%Y %n' > "$T/st.all" 2> /dev/null &
  ns_stat_bg=$!
fi
ns_keep bad-path -E '^[gl] [k-] [^ ]+ [^ ]+ /[A-Za-z0-9_.,:@/-]+$'
ns_drop bad-path -E '//|/\.\.?(/|$)'
printf '%s\n' "$NS_BASES" | sed -n 's|^\(/.*[^/]\)$| \1/kubepods.slice/\n \1/kubepods/\n \1/pids/kubepods.slice/\n \1/pids/kubepods/|p' > "$T/scope"
ns_keep outside-kubepods -F -f "$T/scope"
printf '%s\n' "$NS_PROTECTED_ERE" > "$T/protected"
printf '%s\n' "$NS_LEAKABLE_ERE" > "$T/leakable"
ns_drop protected -E -f "$T/protected"
ns_keep unknown-name -E -f "$T/leakable"
if [ -d "$NS_KUBELET_ROOT/pods" ] && [ -r "$NS_KUBELET_ROOT/pods" ] && ls -A "$NS_KUBELET_ROOT/pods" > "$T/kp" 2> /dev/null; then
  if [ -s "$T/kp" ]; then
    { sed 's/^/g - /; s/$/ /' "$T/kp"; sed 's/^/g k /; s/$/ /' "$T/kp"; } > "$T/kpats"
    ns_drop kubelet-pod-dir -F -f "$T/kpats"
  fi
else
  ns_drop kubelet-dir-unreadable '^g '
fi
sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* //' "$T/cur" > "$T/list"
sed -n 's/^[gl] k [^ ]* [^ ]* //p' "$T/cur" > "$T/kill"

# ---- 4. still there, and old enough. The age is a lower bound: kernfs stamps a dir's times at its first lookup and
# when children change. GNU/busybox stat: one `stat -c '%Y %n'` per batch (in the list's order) and an ERE for
# "MTIME <= now - min_age - 1" (whole seconds, so strictly older than min_age); else POSIX find -newer a stamped file.
ns_phase recheck
say now "$now"
: > "$T/rm"
: > "$T/young"
# ns_le_re T: an ERE (into ns_re) matching exactly the decimal numbers 0..T written without leading zeros
ns_le_re() {
  ns_t=$1
  ns_re=$ns_t
  [ "${#ns_t}" -gt 1 ] && ns_re="$ns_re|[0-9]{1,$((${#ns_t} - 1))}"
  ns_pre=''
  ns_rest=$ns_t
  while [ -n "$ns_rest" ]; do
    ns_d=${ns_rest%"${ns_rest#?}"}
    ns_rest=${ns_rest#?}
    if [ "$ns_d" -gt 0 ]; then
      ns_alt="$ns_pre[0-$((ns_d - 1))]"
      [ -n "$ns_rest" ] && ns_alt="$ns_alt[0-9]{${#ns_rest}}"
      ns_re="$ns_re|$ns_alt"
    fi
    ns_pre=$ns_pre$ns_d
  done
}
if [ -s "$T/list" ]; then
  if [ -n "$ns_stat_bg" ]; then
    wait "$ns_stat_bg"
    # the background stats cover every path the runtime did not refuse; if a name check refused some, stat the
    # rest again (the list keeps in2's order, so equal counts mean equal lists)
    if [ "$(wc -l < "$T/list")" -eq "$(wc -l < "$T/in2")" ]; then
      mv "$T/st.all" "$T/st"
    else
      xargs -s "$ns_xs" stat -c '%Y %n' < "$T/list" > "$T/st" 2> /dev/null
    fi
    if [ "$NS_MIN_AGE_S" -le 0 ]; then
      sed 's/^[^ ]* //' "$T/st" > "$T/rm"
    else
      ns_le_re "$((now - NS_MIN_AGE_S - 1))"
      grep -E "^($ns_re) " "$T/st" | sed 's/^[^ ]* //' > "$T/rm"
      grep -v -E "^($ns_re) " "$T/st" > "$T/youngst"
      sed "s|^|$NS_MARK too_young_mtime |" "$T/youngst"
      sed 's/^[^ ]* //' "$T/youngst" > "$T/young"
    fi
  elif [ "$NS_MIN_AGE_S" -le 0 ]; then
    xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d -print' sh < "$T/list" > "$T/rm" 2> /dev/null
  else
    touch -d "@$((now - NS_MIN_AGE_S))" "$T/ref" 2> /dev/null || touch -t "$(date -d "@$((now - NS_MIN_AGE_S))" +%Y%m%d%H%M.%S)" "$T/ref"
    xargs -s "$ns_xs" sh -c 'exec find "$@" -prune ! -newer "$0" -type d -print' "$T/ref" < "$T/list" > "$T/rm" 2> /dev/null
    xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -newer "$0" -type d -print' "$T/ref" < "$T/list" > "$T/young" 2> /dev/null
    # no portable printer of an mtime here: the age is only known to be below min_age (a lower bound of 0)
    sed "s|^|$NS_MARK too_young 0 |" "$T/young"
  fi
  # what stat/find did not see is gone (sorting only when the counts differ)
  if [ "$(cat "$T/rm" "$T/young" | wc -l)" -ne "$(wc -l < "$T/list")" ]; then
    sort "$T/rm" "$T/young" > "$T/seen"
    sort "$T/list" | comm -23 - "$T/seen" | sed "s|^|$NS_MARK vanished |"
  fi
fi
[ -n "$ns_stat_bg" ] && wait "$ns_stat_bg" 2> /dev/null # (nothing to check: still never leave it running)
ns_phase age


# ---- 5. rmdir, deepest first (the list's order), many paths per process; never rm -r. The kernel refuses a dir that
# holds processes or still has children (EBUSY): the last guard. What rmdir refused is read from its messages
# (rc 123 from xargs); if those cannot be read, every path is looked at again.
ns_rmdir() { # ns_rmdir LIST: sets $T/failed (in LIST's order) and $T/rmerr
  xargs -s "$ns_xs" rmdir < "$1" 2> "$T/rmerr"
  ns_rc=$?
  : > "$T/failed"
  [ "$ns_rc" -eq 0 ] && return 0
  # GNU: rmdir: failed to remove 'P': REASON    busybox: rmdir: 'P': REASON
  sed -n "s|^rmdir: \(failed to remove \)\{0,1\}'\(/[^']*\)': .*|\2|p" "$T/rmerr" > "$T/failed"
  if [ "$ns_rc" -ne 123 ] || [ ! -s "$T/failed" ]; then
    xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d -print' sh < "$1" > "$T/failed" 2> /dev/null
  fi
}
# ns_removed LIST: what of LIST is not in $T/failed was removed
ns_removed() {
  if [ -s "$T/failed" ]; then
    grep -v -x -F -f "$T/failed" "$1" | sed "s|^|$NS_MARK removed |"
  else
    sed "s|^|$NS_MARK removed |" "$1"
  fi
}
# ns_holders: for the refused dirs still there, every cgroup.procs / cgroup.events line in them and below them,
# and the dirs left below them (a parent is refused because of its child: it is blocked, not busy)
ns_holders() {
  : > "$T/still"
  : > "$T/holders"
  : > "$T/left"
  [ -s "$T/failed" ] || return 0
  xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d -print' sh < "$T/failed" > "$T/still" 2> /dev/null
  [ -s "$T/still" ] || return 0
  xargs -s "$ns_xs" sh -c 'exec find "$@" \( -name cgroup.procs -o -name cgroup.events \) -type f -exec grep -H -e "^[0-9]" -e "^populated" {} +' sh < "$T/still" 2> /dev/null | sort -u > "$T/holders"
  xargs -s "$ns_xs" sh -c 'exec find "$@" -mindepth 1 -type d -print' sh < "$T/still" 2> /dev/null | sort -u > "$T/left"
}

: > "$T/failed"
: > "$T/rmerr"
: > "$T/holders"
: > "$T/left"
if [ "$NS_CHECK" = 1 ]; then
  # Check mode removes nothing, so no EBUSY says what the kernel would refuse: read who holds the dirs it would
  # remove (their own cgroup.procs, v2 cgroup.events), and call refused those, and the dirs above them in the list
  # (a parent is refused while its child is there).
  if [ -s "$T/rm" ]; then
    { sed 's|$|/cgroup.procs|' "$T/rm"; sed 's|$|/cgroup.events|' "$T/rm"; } |
      xargs -s "$ns_xs" grep -H -e '^[0-9]' -e '^populated 1' 2> /dev/null | sort -u > "$T/holders"
    sed -n -e 's|^\(.*\)/cgroup\.procs:[0-9][0-9]*$|\1|p' -e 's|^\(.*\)/cgroup\.events:populated 1$|\1|p' "$T/holders" | sort -u > "$T/held"
    # the dirs above a held one, or above one kept (too young, refused at the re-check), would stay too
    cat "$T/young" "$T/kept" >> "$T/held"
    if [ -s "$T/held" ]; then
      cp "$T/held" "$T/up"
      cp "$T/held" "$T/would-fail"
      while [ -s "$T/up" ]; do
        sed -n 's|/[^/]*$||; /./p' "$T/up" | sort -u > "$T/up2"
        cat "$T/up2" >> "$T/would-fail"
        mv "$T/up2" "$T/up"
      done
      grep -x -F -f "$T/would-fail" "$T/rm" > "$T/failed"
    fi
    ns_removed "$T/rm" | sed "s|^$NS_MARK removed |$NS_MARK would_remove |"
  fi
  ns_phase check
elif [ -s "$T/rm" ]; then
  ns_rmdir "$T/rm"
  ns_removed "$T/rm"
  ns_phase rmdir
  ns_holders
  ns_phase holders
fi

# ---- 6. kill_stragglers: only in dirs that passed every re-check and are confirmed orphans (k), only their own
# processes, and not at all in a dir where one is in D state (no kill frees it: reboot) or is crio itself (restart)
if [ "$NS_CHECK" != 1 ] && [ "$NS_KILL" = 1 ] && [ -s "$T/kill" ] && [ -s "$T/holders" ]; then
  grep -x -F -f "$T/still" "$T/kill" > "$T/kdirs"
  if [ -s "$T/kdirs" ]; then
    ns_kset="$ns_nl$(cat "$T/kdirs")$ns_nl"
    # argv[0] of each holder (cmdline args end in NUL, which [:cntrl:] stops at): which of them run crio
    sed -n 's|^.*/cgroup\.procs:\([0-9][0-9]*\)$|/proc/\1/cmdline|p' "$T/holders" | sort -u |
      xargs grep -a -H -m 1 -o '^[^[:cntrl:]]*' 2> /dev/null | grep -E "^/proc/[0-9]+/cmdline:$NS_CRIO_ARGV0_ERE\$" |
      sed 's|^/proc/\([0-9]*\)/.*|\1|' > "$T/criopids"
    ns_crio="$ns_nl$(cat "$T/criopids")$ns_nl"
    ns_nokill=$ns_nl
    sed -n 's|^\(.*\)/cgroup\.procs:\([0-9][0-9]*\)$|\2 \1|p' "$T/holders" > "$T/own"
    while read -r pid dir; do
      case $ns_kset in *"$ns_nl$dir$ns_nl"*) ;; *) continue ;; esac
      st=''
      read -r st < "/proc/$pid/stat" 2> /dev/null || continue
      state=${st##*) }
      state=${state%% *}
      comm=${st#*(}
      comm=${comm%)*}
      case $ns_crio in *"$ns_nl$pid$ns_nl"*) comm=crio ;; esac
      if [ "$state" = D ] || [ "$comm" = crio ]; then ns_nokill="$ns_nokill$dir$ns_nl"; fi
    done < "$T/own"
    : > "$T/killed"
    while read -r pid dir; do
      case $ns_kset in *"$ns_nl$dir$ns_nl"*) ;; *) continue ;; esac
      case $ns_nokill in *"$ns_nl$dir$ns_nl"*) continue ;; esac
      kill -9 "$pid" 2> /dev/null && { say killed "$pid" "$dir"; printf '%s\n' "$pid" >> "$T/killed"; }
    done < "$T/own"
    if [ -s "$T/killed" ]; then
      # wait (up to 5 s) for the killed processes to leave their cgroups, then rmdir what was refused once more
      ns_killed="$ns_nl$(cat "$T/killed")$ns_nl"
      i=0
      while [ $i -lt 50 ]; do
        left=0
        while read -r p; do
          [ -r "$p/cgroup.procs" ] || continue
          while read -r pid; do
            case $ns_killed in *"$ns_nl$pid$ns_nl"*) left=1 ;; esac
          done < "$p/cgroup.procs"
        done < "$T/kdirs"
        [ $left = 0 ] && break
        sleep 0.1 2> /dev/null || sleep 1
        i=$((i + 1))
      done
      grep -x -F -f "$T/failed" "$T/rm" > "$T/retry"
      ns_rmdir "$T/retry"
      ns_removed "$T/retry"
      ns_holders
    fi
  fi
  ns_phase kill
fi

# ---- 7. what could not be removed, and who holds it
if [ -s "$T/failed" ]; then
  sed "s|^|$NS_MARK failed |" "$T/failed"
  sed "s|^|$NS_MARK rmerr |" "$T/rmerr"
  sed -n "s|^\(.*\)/cgroup\.procs:\([0-9][0-9]*\)\$|$NS_MARK holder \1 \2|p" "$T/holders"
  sed -n "s|^\(.*\)/cgroup\.events:populated \([01]\)\$|$NS_MARK populated \1 \2|p" "$T/holders"
  sed "s|^|$NS_MARK left |" "$T/left"
  sed -n 's|^.*/cgroup\.procs:\([0-9][0-9]*\)$|\1|p' "$T/holders" | sort -un > "$T/pids"
  if [ -s "$T/pids" ]; then
    while read -r pid; do
      if read -r st < "/proc/$pid/stat" 2> /dev/null; then say stat "$pid" "$st"; fi
    done < "$T/pids"
    say cmdlines-begin
    sed 's|.*|/proc/&/cmdline|' "$T/pids" | xargs head -v -c 2048 -- 2> /dev/null
    printf '\n'
    say cmdlines-end
  fi
  ns_phase report
fi

# ---- 8. the node's health now, right after acting (the report's "after"): the same functions a scan measures with
if [ "${NS_HEALTH:-0}" = 1 ]; then
  ns_health_block "$NS_MARK" "$NS_HIERS"
  ns_phase health-after
fi
exit 0
