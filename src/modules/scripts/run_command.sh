# nodesweep shell/command runner (POSIX sh; no Python needed on the host).
# The module prepends: NS_MARK NS_CHDIR NS_CREATES NS_REMOVES NS_CHECK and a function ns_run that execs the command.
# A decision that stops the command prints "$NS_MARK <what> [detail]" as the only stdout line and exits 0;
# otherwise the command replaces this shell, so its stdout, stderr and exit code are the command's own.

# true if any path matches the pattern (globs allowed, like Python's glob.glob in Ansible's command module)
ns_exists() {
  ns_ifs=$IFS
  IFS=
  for ns_f in $1; do
    if [ -e "$ns_f" ] || [ -L "$ns_f" ]; then IFS=$ns_ifs; return 0; fi
  done
  IFS=$ns_ifs
  return 1
}

if [ -n "$NS_CHDIR" ]; then
  if ! ns_err=$(cd "$NS_CHDIR" 2>&1); then
    printf '%s chdir %s\n' "$NS_MARK" "$ns_err"
    exit 0
  fi
  cd "$NS_CHDIR" || exit 1
fi
if [ -n "$NS_CREATES" ] && ns_exists "$NS_CREATES"; then
  printf '%s creates\n' "$NS_MARK"
  exit 0
fi
if [ -n "$NS_REMOVES" ] && ! ns_exists "$NS_REMOVES"; then
  printf '%s removes\n' "$NS_MARK"
  exit 0
fi
if [ "$NS_CHECK" = 1 ]; then
  printf '%s check\n' "$NS_MARK"
  exit 0
fi
ns_run
