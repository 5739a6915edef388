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
while read -r pc k uid cid p; do
  [ "$cid" = - ] || printf '%s\n' "$cid"
  [ "$pc" = g ] && [ "$uid" != - ] && printf '%s\n' "$uid"
done < "$T/in" > "$T/pats"
: > "$T/mentioned"
[ -s "$T/pats" ] && grep -o -h -F -f "$T/pats" "$T/pods.json" "$T/ps.json" > "$T/mentioned"
if [ -s "$T/mentioned" ]; then
  grep -F -f "$T/mentioned" "$T/in" > "$T/known"
  grep -v -F -f "$T/mentioned" "$T/in" > "$T/in2"
  while read -r pc k uid cid p; do say refused runtime "$p"; done < "$T/known"
else
  cp "$T/in" "$T/in2"
fi

# ---- 3. per path, shell builtins only: shape, scope, kubelet pods dir, still there
ns_kubelet_ok=0
[ -d "$NS_KUBELET_ROOT/pods" ] && [ -r "$NS_KUBELET_ROOT/pods" ] && ns_kubelet_ok=1
: > "$T/list"
: > "$T/kill"
while read -r pc k uid cid p; do
  case $p in
    /*) ;;
    *) say refused not-absolute "$p"; continue ;;
  esac
  case $p in
    *[!A-Za-z0-9_.,:@/-]* | */../* | */./* | *//* | */. | */..)
      say refused bad-path "$p"
      continue ;;
  esac
  rel=
  ns_ifs=$IFS
  IFS='
'
  for b in $NS_BASES; do
    case $p in "$b"/*) rel=${p#"$b"/}; break ;; esac
  done
  IFS=$ns_ifs
  if [ -z "$rel" ]; then say refused outside-hierarchy "$p"; continue; fi
  case $rel in
    kubepods.slice/?* | kubepods/?* | pids/kubepods.slice/?* | pids/kubepods/?*) ;;
    *) say refused outside-kubepods "$p"; continue ;;
  esac
  name=${p##*/}
  case $name in
    kubepods.slice | kubepods-burstable.slice | kubepods-besteffort.slice | kubepods | burstable | besteffort | pids)
      say refused protected "$p"
      continue ;;
  esac
  ok=0
  case $name in kubepods-*pod*.slice | pod*) ok=1 ;; esac
  case /$rel in */crio-*) ok=1 ;; esac
  if [ $ok = 0 ]; then say refused unknown-name "$p"; continue; fi
  if [ "$pc" = g ]; then
    if [ $ns_kubelet_ok = 0 ]; then say refused kubelet-dir-unreadable "$p"; continue; fi
    if [ "$uid" != - ] && [ -e "$NS_KUBELET_ROOT/pods/$uid" ]; then say refused kubelet-pod-dir "$p"; continue; fi
  fi
  if [ ! -d "$p" ]; then say vanished "$p"; continue; fi
  printf '%s\n' "$p" >> "$T/list"
  [ "$k" = k ] && printf '%s\n' "$p" >> "$T/kill"
done < "$T/in2"

# ---- 4. age (a lower bound: kernfs stamps times at first lookup), one stat per batch
: > "$T/stats"
[ -s "$T/list" ] && xargs -s "$ns_xs" stat -c '%Y %n' < "$T/list" > "$T/stats" 2> /dev/null
now=$(date +%s)
: > "$T/rm"
exec 3< "$T/stats"
sline=
read -r sline <&3 || sline=
while read -r p; do
  # stat prints in input order and skips what is gone: walk both lists together
  if [ "${sline#* }" != "$p" ]; then say vanished "$p"; continue; fi
  mt=${sline%% *}
  read -r sline <&3 || sline=
  age=$((now - mt))
  if [ "$age" -lt "$NS_MIN_AGE_S" ]; then say too_young "$age" "$p"; continue; fi
  printf '%s\n' "$p" >> "$T/rm"
done < "$T/list"
exec 3<&-

if [ "$NS_CHECK" = 1 ]; then
  while read -r p; do say would_remove "$p"; done < "$T/rm"
  exit 0
fi

# ---- 5. kill_stragglers: confirmed orphans only, never D state, never crio itself
if [ "$NS_KILL" = 1 ] && [ -s "$T/kill" ]; then
  : > "$T/killed"
  while read -r p; do
    grep -qxF "$p" "$T/rm" 2> /dev/null || continue
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
[ -s "$T/rm" ] && xargs -s "$ns_xs" rmdir < "$T/rm" 2> "$T/rmerr"
: > "$T/failed"
while read -r p; do
  if [ -d "$p" ]; then
    say failed "$p"
    printf '%s\n' "$p" >> "$T/failed"
  else
    say removed "$p"
  fi
done < "$T/rm"
if [ -s "$T/failed" ]; then
  while read -r l; do say rmerr "$l"; done < "$T/rmerr"
  # who holds what we could not remove: one find over all of them
  xargs -s "$ns_xs" sh -c 'find "$@" -name cgroup.procs -exec grep -H . {} +' sh < "$T/failed" 2> /dev/null > "$T/holders"
  : > "$T/pids"
  while IFS=: read -r f pid; do
    say holder "${f%/cgroup.procs}" "$pid"
    printf '%s\n' "$pid" >> "$T/pids"
  done < "$T/holders"
  : > "$T/cmdfiles"
  for pid in $(sort -un "$T/pids"); do
    if read -r st < "/proc/$pid/stat" 2> /dev/null; then say stat "$pid" "$st"; fi
    printf '/proc/%s/cmdline\n' "$pid" >> "$T/cmdfiles"
  done
  if [ -s "$T/cmdfiles" ]; then
    say cmdlines-begin
    xargs head -v -c 2048 -- < "$T/cmdfiles" 2> /dev/null
    printf '\n'
    say cmdlines-end
  fi
fi
exit 0
