#!/usr/bin/env bash
# Adds or removes one line "IP NAME" in /etc/hosts (seed 000 §6: every node knows every node).
# One resource per (node, host) pair, so adding a node only adds lines and never rewrites the
# others. Lines it manages carry a "# k8s-platform" marker; other lines are never touched.
#
# Parameters (environment): ACTION (add|remove), ENTRY_IP, ENTRY_NAME
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env ACTION ENTRY_IP ENTRY_NAME
hosts="$ROOT/etc/hosts"
marker="# k8s-platform"
touch "$hosts"
# Several of these commands run at once on one node: take turns.
mkdir -p "$ROOT/run"
exec 9>"$ROOT/run/k8s-platform-hosts.lock"
flock 9
# Every line except our own for this name.
others=$(awk -v name="$ENTRY_NAME" -v marker="$marker" \
  '!(index($0, marker) > 0 && $2 == name)' "$hosts")
case "$ACTION" in
add) printf '%s\n%s\t%s %s\n' "$others" "$ENTRY_IP" "$ENTRY_NAME" "$marker" | sed '/^$/d' | write_if_changed "$hosts" 0644 || true ;;
remove) printf '%s\n' "$others" | sed '/^$/d' | write_if_changed "$hosts" 0644 || true ;;
*) die "ACTION must be add or remove, got '$ACTION'" ;;
esac
