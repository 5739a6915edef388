# nodesweep crio_restart (POSIX sh; no Python needed on the host).
# The module prepends: NS_MODE (restart|probe|check) NS_NAME (unit) NS_SYSTEMCTL NS_CRICTL.
# Output: "key=value" lines, and for probe/check the output of `crictl info` between marker lines.
# restart: exit 0 when systemctl accepted the restart, 1 (with error=) when not.
ns_fail() {
  printf 'error=%s\n' "$1"
  exit 1
}
command -v "$NS_SYSTEMCTL" >/dev/null 2>&1 || ns_fail "$NS_SYSTEMCTL not found: this host is not run by systemd"
ns_a=$("$NS_SYSTEMCTL" is-active "$NS_NAME" 2>/dev/null | head -n 1)
[ -n "$ns_a" ] || ns_a=unknown
printf 'active=%s\n' "$ns_a"
case "$NS_MODE" in
  restart)
    # systemctl's own chatter goes to stderr; its exit code decides
    "$NS_SYSTEMCTL" restart "$NS_NAME" 1>&2 || ns_fail "systemctl restart $NS_NAME failed (rc $?)"
    echo restarted=1
    ;;
  probe|check)
    if command -v "$NS_CRICTL" >/dev/null 2>&1; then
      echo '__NS_CRICTL_INFO_BEGIN__'
      "$NS_CRICTL" info 2>&1
      ns_rc=$?
      echo '__NS_CRICTL_INFO_END__'
      printf 'crictl_rc=%s\n' "$ns_rc"
    else
      printf 'crictl_rc=127\n'
      printf 'crictl_missing=%s\n' "$NS_CRICTL"
    fi
    ;;
esac
exit 0
