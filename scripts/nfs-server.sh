#!/usr/bin/env bash
# The shared storage of seed 000 §14: an NFS server exporting one directory to the node network
# only, with a subdirectory per volume. Never deletes anything: volumes' data outlive the stack.
#
# Parameters (environment):
#   EXPORT_PATH (/share_storage), EXPORT_NETWORK (the node network CIDR),
#   VOLUME_DIRS (space-separated subdirectories, e.g. "docker_registry test_service"),
#   FIREWALL_MODE (disabled|open)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env EXPORT_PATH EXPORT_NETWORK FIREWALL_MODE
FAMILY=$(os_family)
if [ "$FAMILY" = apt ]; then
  ensure_packages apt nfs-kernel-server
  service=nfs-kernel-server
else
  ensure_packages dnf nfs-utils
  service=nfs-server
fi

mkdir -p "$ROOT$EXPORT_PATH"
for dir in ${VOLUME_DIRS:-}; do
  # Pods write as various users (the registry as root, tomcat as root in the official image).
  [ -d "$ROOT$EXPORT_PATH/$dir" ] || install -d -m 0777 "$ROOT$EXPORT_PATH/$dir"
done

case "$FIREWALL_MODE" in
disabled)
  if systemctl is-enabled --quiet firewalld 2>/dev/null || systemctl is-active --quiet firewalld 2>/dev/null; then
    systemctl disable --now firewalld
  fi
  ;;
open)
  if systemctl is-active --quiet firewalld 2>/dev/null; then
    reload=0
    for svc in nfs rpc-bind mountd; do
      firewall-cmd --permanent --query-service="$svc" >/dev/null 2>&1 || {
        firewall-cmd --permanent --add-service="$svc"
        reload=1
      }
    done
    [ "$reload" -eq 0 ] || firewall-cmd --reload
  fi
  ;;
*) die "FIREWALL_MODE must be 'disabled' or 'open', got '$FIREWALL_MODE'" ;;
esac

unit_enable_now "$service"
# rw for the node network only; root squashing off because pods run as root (seed 000).
if printf '%s %s(rw,sync,no_subtree_check,no_root_squash)\n' "$EXPORT_PATH" "$EXPORT_NETWORK" |
  write_if_changed "$ROOT/etc/exports.d/k8s-platform.exports" 0644; then
  exportfs -ra
fi
