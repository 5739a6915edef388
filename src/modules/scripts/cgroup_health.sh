# nodesweep node health (POSIX sh builtins + find/wc/grep/getconf): the functions that measure a node's health, in
# one place for the two scripts that measure it. The modules prepend this file to cgroup_collect.sh (a scan's
# health) and to cgroup_prune.sh (the health right after the prune acted, `health_after`), so a scan's "before"
# and a prune's "after" are measured the same way. It defines functions and defaults only and prints nothing.
# READ-ONLY, like the collector.
#
# Parameters (sh assignments the module prepends): CGROUP_ROOT KUBELET SAMPLE_S UPTIME SLEEP
# UPTIME and SLEEP are the clock (default /proc/uptime and sleep): a test passes a fake pair to count the kubelet
# CPU sample's sleep instead of racing it against a busy machine.
#
# Output of ns_health_facts / ns_kubelet_cpu_end: the collector's `@@` sections (parsed by
# src/cgroup/collect-parse.ts, parseHealthSection), payload lines prefixed with `|`.

: "${CGROUP_ROOT:=/sys/fs/cgroup}"
: "${KUBELET:=kubelet}"
: "${SAMPLE_S:=1}"
: "${UPTIME:=/proc/uptime}"
: "${SLEEP:=sleep}"

# ns_cs VAR SECONDS: a decimal number of seconds (3, 0.5, 12345.67) as centiseconds, into VAR (builtins only)
ns_cs() {
  ns_ci=${2%%.*}
  ns_cf=00
  case $2 in *.*) ns_cf=${2#*.}00 ;; esac
  ns_cf=${ns_cf%"${ns_cf#??}"}
  ns_cf=${ns_cf#0}
  case $ns_ci$ns_cf in *[!0-9]*) ns_ci=0 ns_cf=0 ;; esac
  eval "$1=\$(( ${ns_ci:-0} * 100 + ${ns_cf:-0} ))"
}
# ns_clock VAR: $UPTIME in centiseconds (0 when unreadable)
ns_clock() {
  ns_up=0
  IFS=' ' read -r ns_up ns_idle <"$UPTIME" 2>/dev/null || ns_up=0
  ns_cs "$1" "$ns_up"
}

# ns_kubelet_find: ns_kpid = this node's kubelet, ns_kby = how it was found. First the node's own cgroup
# (system.slice/kubelet.service of its cgroup root, v2, or of any hierarchy under it, v1): the kubelet of THIS
# node even when several nodes share a machine (the lab); then the first process whose comm is $KUBELET's name
# (cut to the kernel's 15 characters).
ns_kubelet_find() {
  ns_kpid=''
  ns_kby=''
  # the caller may have globbing off (cgroup_prune.sh's set -f): on for the two globs here, then as it was
  ns_kf=$-
  set +f
  ns_kubelet_find_globbing
  case $ns_kf in *f*) set -f ;; esac
  return 0
}
ns_kubelet_find_globbing() {
  for ns_f in "$CGROUP_ROOT/system.slice/kubelet.service/cgroup.procs" "$CGROUP_ROOT"/*/system.slice/kubelet.service/cgroup.procs; do
    [ -r "$ns_f" ] || continue
    ns_p=''
    IFS= read -r ns_p <"$ns_f" 2>/dev/null || :
    case $ns_p in '' | *[!0-9]*) continue ;; esac
    if [ -r "/proc/$ns_p/stat" ]; then
      ns_kpid=$ns_p
      ns_kby=cgroup
      return 0
    fi
  done
  ns_kcomm=${KUBELET##*/}
  [ "${#ns_kcomm}" -gt 15 ] && ns_kcomm=${ns_kcomm%"${ns_kcomm#???????????????}"}
  for ns_f in $(grep -lxF -e "$ns_kcomm" /proc/[0-9]*/comm 2>/dev/null); do
    ns_kpid=${ns_f#/proc/}
    ns_kpid=${ns_kpid%/comm}
    ns_kby=comm
    return 0
  done
  return 0
}

# ns_kubelet_cpu_start: the first kubelet CPU sample (when SAMPLE_S is not 0), taken now so the sample runs
# alongside whatever comes next; ns_kubelet_cpu_end takes the second one.
ns_kubelet_cpu_start() {
  ns_kpid=''
  [ "$SAMPLE_S" != 0 ] || return 0
  ns_kubelet_find
  if [ -n "$ns_kpid" ]; then
    IFS= read -r ns_u0 <"$UPTIME" && IFS= read -r ns_s0 <"/proc/$ns_kpid/stat" || ns_kpid=''
  fi
}

# ns_kubelet_cpu_end: sleep only what is left of SAMPLE_S since the first sample, then print both samples as
# `@@kubelet-cpu PID CLK_TCK FOUND_BY` (the parser takes the interval from the two $UPTIME reads)
ns_kubelet_cpu_end() {
  [ -n "$ns_kpid" ] || return 0
  ns_clk=$(getconf CLK_TCK 2>/dev/null) || ns_clk=100
  printf '@@kubelet-cpu %s %s %s\n' "$ns_kpid" "${ns_clk:-100}" "$ns_kby"
  if IFS= read -r ns_u1 <"$UPTIME"; then
    ns_cs ns_want "$SAMPLE_S"
    ns_cs ns_a "${ns_u0%% *}"
    ns_cs ns_b "${ns_u1%% *}"
    ns_left=$((ns_want - (ns_b - ns_a)))
    if [ "$ns_left" -gt 0 ]; then
      "$SLEEP" "$((ns_left / 100)).$((ns_left % 100 / 10))$((ns_left % 10))" 2>/dev/null || "$SLEEP" "$(((ns_left + 99) / 100))"
    fi
    if IFS= read -r ns_u1 <"$UPTIME" && IFS= read -r ns_s1 <"/proc/$ns_kpid/stat"; then
      printf '|%s|%s\n|%s|%s\n' "${ns_u0%% *}" "$ns_s0" "${ns_u1%% *}" "$ns_s1"
    fi
  fi
  printf '@@end-kubelet-cpu\n'
}

# ns_health_facts HIERARCHIES: the node's cgroup counts and memory. HIERARCHIES: one `VERSION NAME REALPATH` line
# per hierarchy (as the collector's `@@hierarchy` lines say). num_cgroups: /proc/cgroups on a real node; when the
# cgroup root is not /sys/fs/cgroup (a node that is a subtree of a machine, as in the lab, where /proc/cgroups
# counts the whole machine) the dirs of the node's own hierarchies, counted with find (`@@num-cgroups subtree`).
# cgroup.stat (nr_descendants, nr_dying_descendants) of the first v2 hierarchy; memory of system.slice and
# crio.service from the v1 memory hierarchy, else the first v2 one.
ns_health_facts() {
  ns_hv1mem=''
  ns_hv2=''
  ns_hlist=''
  while IFS=' ' read -r ns_hver ns_hname ns_hpath; do
    [ -n "$ns_hpath" ] || continue
    [ "$ns_hver" = v1 ] && [ "$ns_hname" = memory ] && ns_hv1mem=$ns_hpath
    [ "$ns_hver" = v2 ] && [ -z "$ns_hv2" ] && ns_hv2=$ns_hpath
  done <<EOF
$1
EOF
  if [ "$CGROUP_ROOT" = /sys/fs/cgroup ] || [ "$CGROUP_ROOT" = /sys/fs/cgroup/ ]; then
    printf '@@proc-cgroups\n'
    if [ -r /proc/cgroups ]; then
      while IFS= read -r ns_l; do printf '|%s\n' "$ns_l"; done </proc/cgroups
    fi
    printf '@@end-proc-cgroups\n'
  else
    printf '@@num-cgroups subtree\n'
    while IFS=' ' read -r ns_hver ns_hname ns_hpath; do
      [ -n "$ns_hpath" ] || continue
      ns_n=$(find "$ns_hpath" -type d 2>/dev/null | wc -l)
      printf '|%s %s\n' "$ns_hname" "$((ns_n + 0))"
    done <<EOF
$1
EOF
    printf '@@end-num-cgroups\n'
  fi

  if [ -n "$ns_hv2" ] && [ -r "$ns_hv2/cgroup.stat" ]; then
    printf '@@cgroup-stat %s\n' "$ns_hv2"
    while IFS= read -r ns_l; do printf '|%s\n' "$ns_l"; done <"$ns_hv2/cgroup.stat"
    printf '@@end-cgroup-stat\n'
  fi

  if [ -n "$ns_hv1mem" ]; then
    ns_memfile system.slice "$ns_hv1mem/system.slice/memory.usage_in_bytes"
    ns_memfile crio.service "$ns_hv1mem/system.slice/crio.service/memory.usage_in_bytes"
  elif [ -n "$ns_hv2" ]; then
    ns_memfile system.slice "$ns_hv2/system.slice/memory.current"
    ns_memfile crio.service "$ns_hv2/system.slice/crio.service/memory.current"
  fi
  return 0
}

# ns_memfile KEY FILE: one number from a memory file, if it is there
ns_memfile() {
  if [ -r "$2" ] && IFS= read -r ns_v <"$2"; then
    printf '@@memory %s %s %s\n' "$1" "$ns_v" "$2"
    return 0
  fi
  return 1
}

# ns_health_block MARK HIERARCHIES: the health facts and (SAMPLE_S not 0) the kubelet CPU sample, between the lines
# `MARK health-begin` and `MARK health-end`: what cgroup_prune.sh measures right after it acted.
ns_health_block() {
  printf '%s health-begin\n' "$1"
  ns_kubelet_cpu_start
  ns_health_facts "$2"
  ns_kubelet_cpu_end
  printf '%s health-end\n' "$1"
}
