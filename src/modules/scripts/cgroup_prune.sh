# nodesweep cgroup prune (POSIX sh + coreutils/grep/xargs/find; no Python, no fork per cgroup).
#
# The module prepends: NS_MARK NS_CRICTL NS_KUBELET_ROOT NS_MIN_AGE_S NS_CHECK NS_KILL NS_BASES (newline separated
# real hierarchy paths). stdin: the planned removals, deepest first, one per line:
#   <g|l> <k|-> <pod uid|-> <container id|-> <path>
# g: the plan says the pod is gone (re-check its UID and kubelet pods dir); l: the pod is live, only the container
# id is re-checked. k: a confirmed orphan whose processes may be killed (kill_stragglers).
# Everything is re-checked here, right before acting; the kernel's EBUSY on rmdir is the last guard.
# Output: lines "$NS_MARK <what> ..." (see src/modules/cgroup_prune.ts), plus one block of /proc cmdlines.

LC_ALL=C
export LC_ALL
umask 077
say() { printf '%s %s\n' "$NS_MARK" "$*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nodesweep-prune.XXXXXX") || { say fatal cannot create a temp dir; exit 0; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
cat > "$T/in"

# xargs batches as large as the kernel allows (half of ARG_MAX leaves room for the environment).
ns_argmax=$(getconf ARG_MAX 2>/dev/null) || ns_argmax=131072
case $ns_argmax in '' | *[!0-9]*) ns_argmax=131072 ;; esac
ns_xs=$((ns_argmax / 2))
[ "$ns_xs" -gt 1048576 ] && ns_xs=1048576

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
else
  cp "$T/in" "$T/in2"
fi

# ---- 3. per path: shape, scope (under a hierarchy's kubepods or bogus pids/ tree), protected names, pod or
# container names, and the kubelet pods dir of pods the plan calls gone. Each step keeps the list's order.
ns_refuse() { sed "s|^[^ ]* [^ ]* [^ ]* [^ ]* |$NS_MARK refused $1 |"; }
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
ns_keep bad-path -E '^[gl] [k-] [^ ]+ [^ ]+ /[A-Za-z0-9_.,:@/-]+$'
ns_drop bad-path -E '//|/\.\.?(/|$)'
printf '%s\n' "$NS_BASES" | sed -n 's|^\(/.*[^/]\)$| \1/kubepods.slice/\n \1/kubepods/\n \1/pids/kubepods.slice/\n \1/pids/kubepods/|p' > "$T/scope"
ns_keep outside-kubepods -F -f "$T/scope"
ns_drop protected -E '/(kubepods\.slice|kubepods-burstable\.slice|kubepods-besteffort\.slice|kubepods|burstable|besteffort|pids)$'
ns_keep unknown-name -E '/crio-[^/]+(/[^/]+)*$|/kubepods-([a-z]+-)?pod[^/]+\.slice$|/pod[^/]+$'
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

# ---- 4. still there, and old enough: a reference file stamped now - min_age, one find per batch (POSIX -newer).
# The age is a lower bound: kernfs stamps a dir's times at its first lookup and when children change.
now=$(date +%s)
say now "$now"
: > "$T/rm"
: > "$T/young"
if [ -s "$T/list" ]; then
  if [ "$NS_MIN_AGE_S" -le 0 ]; then
    xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d -print' sh < "$T/list" > "$T/rm" 2> /dev/null
  else
    touch -d "@$((now - NS_MIN_AGE_S))" "$T/ref" 2> /dev/null || touch -t "$(date -d "@$((now - NS_MIN_AGE_S))" +%Y%m%d%H%M.%S)" "$T/ref"
    if find "$T/ref" -prune -printf '' > /dev/null 2>&1; then
      # GNU find: one pass sorts old from young, in the list's order
      xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d \( -newer "$0" -printf "Y %p\n" -o -printf "O %p\n" \)' "$T/ref" < "$T/list" > "$T/aged" 2> /dev/null
      sed -n 's/^O //p' "$T/aged" > "$T/rm"
      sed -n 's/^Y //p' "$T/aged" > "$T/young"
    else
      xargs -s "$ns_xs" sh -c 'exec find "$@" -prune ! -newer "$0" -type d -print' "$T/ref" < "$T/list" > "$T/rm" 2> /dev/null
      xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -newer "$0" -type d -print' "$T/ref" < "$T/list" > "$T/young" 2> /dev/null
    fi
  fi
  if [ -s "$T/young" ]; then
    xargs -s "$ns_xs" stat -c '%Y %n' < "$T/young" 2> /dev/null | sed "s|^|$NS_MARK too_young_mtime |"
  fi
  # what find did not see is gone (sorting only when the counts differ)
  if [ "$(cat "$T/rm" "$T/young" | wc -l)" -ne "$(wc -l < "$T/list")" ]; then
    sort "$T/rm" "$T/young" > "$T/seen"
    sort "$T/list" | comm -23 - "$T/seen" | sed "s|^|$NS_MARK vanished |"
  fi
fi

if [ "$NS_CHECK" = 1 ]; then
  sed "s|^|$NS_MARK would_remove |" "$T/rm"
  exit 0
fi

# ---- 5. kill_stragglers: confirmed orphans only, never D state, never crio itself
if [ "$NS_KILL" = 1 ] && [ -s "$T/kill" ]; then
  : > "$T/killed"
  while read -r p; do
    grep -qxF "$p" "$T/rm" 2> /dev/null || continue # only what passed every re-check
    [ -r "$p/cgroup.procs" ] || continue
    while read -r pid; do
      [ -r "/proc/$pid/stat" ] || continue
      read -r st < "/proc/$pid/stat" || continue
      state=${st##*) }
      state=${state%% *}
      comm=${st#*(}
      comm=${comm%)*}
      [ "$state" = D ] && continue
      [ "$comm" = crio ] && continue
      kill -9 "$pid" 2> /dev/null && { say killed "$pid" "$p"; printf '%s\n' "$pid" >> "$T/killed"; }
    done < "$p/cgroup.procs"
  done < "$T/kill"
  # wait (up to 5 s) for the killed processes to leave their cgroups
  i=0
  while [ -s "$T/killed" ] && [ $i -lt 50 ]; do
    left=0
    while read -r p; do
      [ -r "$p/cgroup.procs" ] || continue
      while read -r pid; do
        grep -qxF "$pid" "$T/killed" && left=1
      done < "$p/cgroup.procs"
    done < "$T/kill"
    [ $left = 0 ] && break
    sleep 0.1 2> /dev/null || sleep 1
    i=$((i + 1))
  done
fi

# ---- 6. rmdir, deepest first (the list's order), many paths per process; never rm -r
: > "$T/failed"
if [ -s "$T/rm" ]; then
  xargs -s "$ns_xs" rmdir < "$T/rm" 2> "$T/rmerr"
  # what is still there was not removed
  xargs -s "$ns_xs" sh -c 'exec find "$@" -prune -type d -print' sh < "$T/rm" > "$T/failed" 2> /dev/null
  sed "s|^|$NS_MARK failed |" "$T/failed"
  sort "$T/failed" > "$T/failed.s"
  sort "$T/rm" | comm -23 - "$T/failed.s" | sed "s|^|$NS_MARK removed |"
  sed "s|^|$NS_MARK rmerr |" "$T/rmerr"
fi
if [ -s "$T/failed" ]; then
  # who holds what we could not remove: one find over all of them
  xargs -s "$ns_xs" sh -c 'exec find "$@" -name cgroup.procs -exec grep -H . {} +' sh < "$T/failed" 2> /dev/null > "$T/holders"
  sed -n "s|^\(.*\)/cgroup\.procs:\([0-9][0-9]*\)\$|$NS_MARK holder \1 \2|p" "$T/holders"
  sed -n 's|^.*/cgroup\.procs:\([0-9][0-9]*\)$|\1|p' "$T/holders" | sort -un > "$T/pids"
  if [ -s "$T/pids" ]; then
    for pid in $(cat "$T/pids"); do
      if read -r st < "/proc/$pid/stat" 2> /dev/null; then say stat "$pid" "$st"; fi
    done
    say cmdlines-begin
    sed 's|.*|/proc/&/cmdline|' "$T/pids" | xargs head -v -c 2048 -- 2> /dev/null
    printf '\n'
    say cmdlines-end
  fi
fi
exit 0
