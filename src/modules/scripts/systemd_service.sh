# nodesweep systemd_service (POSIX sh; no Python needed on the host).
# The module prepends: NS_NAME NS_STATE (started|stopped|restarted|reloaded|'') NS_ENABLED (true|false|'')
# NS_DAEMON_RELOAD (0|1) NS_CHECK (0|1) NS_POLLS (how many 0.5 s polls to wait for the target state).
# Output: "key=value" lines on stdout, read by the module; systemctl's own chatter goes to stderr.
# Exit 0 on success, 1 on failure (with error= and diagnostics).
SYSTEMCTL=${SYSTEMCTL:-systemctl}

ns_fail() {
  printf 'error=%s\n' "$1"
  exit 1
}

# is-active prints one word (active, inactive, failed, activating, ...); an unknown unit prints "inactive" or "unknown"
ns_active() {
  ns_a=$("$SYSTEMCTL" is-active "$NS_NAME" 2>/dev/null)
  ns_a=$(printf '%s' "$ns_a" | head -n 1)
  [ -n "$ns_a" ] || ns_a=unknown
}

command -v "$SYSTEMCTL" >/dev/null 2>&1 || ns_fail "$SYSTEMCTL not found: this host is not run by systemd"

ns_changed=0

if [ "$NS_DAEMON_RELOAD" = 1 ]; then
  if [ "$NS_CHECK" != 1 ]; then
    "$SYSTEMCTL" daemon-reload 1>&2 || ns_fail "failure $? during daemon-reload"
  fi
  echo daemon_reloaded=1
fi

if [ -n "$NS_ENABLED" ]; then
  ns_e=$("$SYSTEMCTL" is-enabled "$NS_NAME" 2>/dev/null | head -n 1)
  [ -n "$ns_e" ] || ns_e=unknown
  printf 'enabled_before=%s\n' "$ns_e"
  case "$ns_e" in enabled|enabled-runtime|alias|static|indirect|generated|transient) ns_is_en=1 ;; *) ns_is_en=0 ;; esac
  if [ "$NS_ENABLED" = true ] && [ "$ns_is_en" = 0 ]; then
    ns_changed=1
    if [ "$NS_CHECK" != 1 ]; then
      "$SYSTEMCTL" enable "$NS_NAME" 1>&2 || ns_fail "Unable to enable service $NS_NAME"
    fi
    echo enabled_after=enabled
  elif [ "$NS_ENABLED" = false ] && [ "$ns_is_en" = 1 ]; then
    ns_changed=1
    if [ "$NS_CHECK" != 1 ]; then
      "$SYSTEMCTL" disable "$NS_NAME" 1>&2 || ns_fail "Unable to disable service $NS_NAME"
    fi
    echo enabled_after=disabled
  else
    printf 'enabled_after=%s\n' "$ns_e"
  fi
fi

ns_active
ns_before=$ns_a
printf 'before=%s\n' "$ns_before"

ns_action=
case "$NS_STATE" in
  started)
    [ "$ns_before" = active ] || ns_action=start ;;
  stopped)
    case "$ns_before" in active|activating|reloading|deactivating) ns_action=stop ;; esac ;;
  restarted)
    ns_action=restart ;;
  reloaded)
    if [ "$ns_before" = active ]; then ns_action=reload; else ns_action=start; fi ;;
esac

if [ -n "$ns_action" ]; then
  ns_changed=1
  printf 'action=%s\n' "$ns_action"
  if [ "$NS_CHECK" = 1 ]; then
    printf 'changed=%s\n' "$ns_changed"
    printf 'after=%s\n' "$ns_before"
    exit 0
  fi
  "$SYSTEMCTL" "$ns_action" "$NS_NAME" 1>&2 || {
    ns_rc=$?
    ns_active
    printf 'after=%s\n' "$ns_a"
    printf 'changed=%s\n' "$ns_changed"
    ns_fail "Unable to $ns_action service $NS_NAME (rc $ns_rc)"
  }
fi

# wait for the unit to settle in the target state
ns_want=
case "$NS_STATE" in started|restarted|reloaded) ns_want=active ;; stopped) ns_want=inactive ;; esac
ns_i=0
ns_active
if [ -n "$ns_want" ] && [ "$NS_CHECK" != 1 ]; then
  while :; do
    if [ "$ns_want" = active ] && [ "$ns_a" = active ]; then break; fi
    if [ "$ns_want" = inactive ]; then
      case "$ns_a" in active|activating|reloading|deactivating) ;; *) break ;; esac
    fi
    if [ "$ns_i" -ge "$NS_POLLS" ]; then
      printf 'after=%s\n' "$ns_a"
      printf 'changed=%s\n' "$ns_changed"
      printf 'polls=%s\n' "$ns_i"
      # the last lines of status and the journal tell the user why
      "$SYSTEMCTL" status "$NS_NAME" --no-pager -l -n 20 2>&1 | tail -n 20 | sed 's/^/status_line=/'
      if command -v journalctl >/dev/null 2>&1; then
        journalctl -u "$NS_NAME" -n 20 --no-pager 2>&1 | tail -n 20 | sed 's/^/journal_line=/'
      fi
      ns_fail "service $NS_NAME did not become $ns_want (last state: $ns_a)"
    fi
    sleep 0.5
    ns_i=$((ns_i + 1))
    ns_active
  done
fi
printf 'polls=%s\n' "$ns_i"
printf 'after=%s\n' "$ns_a"
printf 'changed=%s\n' "$ns_changed"
exit 0
