#!/usr/bin/env bash
# The shared storage of seed 000 §14: an NFS server exporting one directory to the node network
# only, with a subdirectory per volume. Never deletes anything: volumes' data outlive the stack.
#
# Parameters (environment):
#   EXPORT_PATH (/share_storage), EXPORT_NETWORK (the node network CIDR),
#   VOLUME_DIRS (space-separated subdirectories, e.g. "docker_registry test_service"),
#   FIREWALL_MODE (disabled: firewalld and ufw stopped and disabled | open: 2049/tcp opened)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env EXPORT_PATH EXPORT_NETWORK FIREWALL_MODE
FAMILY=$(os_family)
if [ "$FAMILY" = apt ]; then
  ensure_packages apt nfs-kernel-server
else
  ensure_packages dnf nfs-utils
fi

mkdir -p "$ROOT$EXPORT_PATH"
for dir in ${VOLUME_DIRS:-}; do
  # Pods write as various users (the registry as root, tomcat as root in the official image).
  [ -d "$ROOT$EXPORT_PATH/$dir" ] || install -d -m 0777 "$ROOT$EXPORT_PATH/$dir"
done

# prepare-node.sh may not run on a dedicated NFS host: its firewall is handled here. The
# volumes mount with nfsvers=4.1 (components/sharedVolume.ts): NFSv4 needs 2049/tcp only (no
# rpcbind, no mountd).
firewall_apply "$FIREWALL_MODE" 2049/tcp

# The unit is nfs-server on both families: Ubuntu's nfs-kernel-server.service is an alias of it
# (a symlink; `systemctl is-enabled` on an alias prints "alias" and succeeds, so checking the
# alias would never enable the server).
unit_enable_now nfs-server
# rw for the node network only; root squashing off because pods run as root (seed 000).
write_if_changed "$ROOT/etc/exports.d/k8s-platform.exports" 0644 \
  printf '%s %s(rw,sync,no_subtree_check,no_root_squash)\n' "$EXPORT_PATH" "$EXPORT_NETWORK"
# Every run (it only syncs the kernel's table with the files): an export lost to an earlier
# failure is made now. exportfs checks the file's syntax and fails on an error.
exportfs -ra
