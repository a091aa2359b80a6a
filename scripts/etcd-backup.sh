#!/usr/bin/env bash
# Takes a snapshot of this control plane's etcd member (kubeadm's stacked etcd, a static pod), checks
# it and keeps the newest RETENTION of its kind. Run by the k8s-platform-etcd-backup timer (installed
# by control-plane-maintenance.sh, parameters from /etc/k8s-platform/etcd-backup.env), by the program
# on the bootstrap control plane right before a control plane is removed (REASON
# before-removal-of-<node>), and by any step that wants a snapshot first (an upgrade: REASON
# before-upgrade-to-<version>), or by hand.
# - etcdctl talks to the local member with the etcd client certificate kubeadm makes for health
#   checks (/etc/kubernetes/pki/etcd/healthcheck-client.*, signed by the etcd CA; kubeadm's
#   certlist.go "certificate for liveness probes to healthcheck etcd"); etcd runs without RBAC.
# - Written atomically: saved under a hidden .partial name, read back with `etcdutl snapshot
#   status` (a file that does not read back is never published), fsynced, renamed to
#   etcd-<node>-<UTC time>-<reason>.db in the same directory, and the directory fsynced.
# - With NFS_TARGET the same file is copied to <export>/etcd-backups/<node>/ on the share the
#   same way; a failed copy fails the run (the local snapshot stays).
# - On a host that is no longer a control plane (kubeadm reset removed the etcd manifest and
#   certificates: the node was removed from the stack), the timer's run disables the timer.
#
# Parameters (environment):
#   NODE_NAME      this control plane (names the files)
#   DIRECTORY      absolute directory of the snapshots (kubernetes.etcdBackup.directory)
#   RETENTION      snapshots of this REASON kept (kubernetes.etcdBackup.retention)
#   REASON         default "scheduled"; lowercase letters, digits, "." and "-"
#   NFS_TARGET     optional "<server>:<export>" (kubernetes.etcdBackup.nfs)
#   ETCD_ENDPOINT  default https://127.0.0.1:2379 (kubeadm's member listens there)
# Prints the published snapshot's path on standard output.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

BACKUP_TIMER=k8s-platform-etcd-backup.timer
require_env NODE_NAME DIRECTORY RETENTION
reason="${REASON:-scheduled}"
endpoint="${ETCD_ENDPOINT:-https://127.0.0.1:2379}"
[[ "$reason" =~ ^[a-z0-9][a-z0-9.-]{0,127}$ ]] || die "REASON must be lowercase letters, digits, '.' and '-' (it names the file), got '$reason'"
[[ "$RETENTION" =~ ^[1-9][0-9]{0,3}$ ]] || die "RETENTION must be a whole number from 1, got '$RETENTION'"
[[ "$DIRECTORY" == /* ]] || die "DIRECTORY must be an absolute path, got '$DIRECTORY'"

pki="$ROOT/etc/kubernetes/pki/etcd"
if [ ! -f "$pki/ca.crt" ] && [ ! -f "$ROOT/etc/kubernetes/manifests/etcd.yaml" ]; then
  # INVOCATION_ID is set by systemd for the processes of a unit (systemd.exec(5)).
  if [ -n "${INVOCATION_ID:-}" ]; then
    log "$NODE_NAME runs no etcd member any more (kubeadm reset removed its manifest and certificates): disabling $BACKUP_TIMER"
    systemctl disable --now "$BACKUP_TIMER"
    exit 0
  fi
  die "$NODE_NAME runs no etcd member: $pki/ca.crt and /etc/kubernetes/manifests/etcd.yaml are missing"
fi

maintenance_lock
etcd_tools

partials=()
mounted=""
cleanup() {
  local f
  for f in "${partials[@]}"; do rm -f -- "$f" "$f.part"; done
  if [ -n "$mounted" ]; then umount "$mounted" || log "could not unmount $mounted"; rmdir "$mounted" 2>/dev/null || true; fi
}
trap cleanup EXIT

# publish PARTIAL FINAL: makes a finished file visible under its name, durably.
publish() {
  sync -- "$1"
  mv -T -- "$1" "$2"
  sync -- "$(dirname "$2")"
}

# prune DIR: keeps the newest RETENTION snapshots of this node and reason in DIR.
prune() {
  local dir="$1" f files
  files=$(find "$dir" -maxdepth 1 -type f -name "etcd-$NODE_NAME-*-$reason.db" -printf '%f\n' |
    { grep -E "^etcd-$NODE_NAME-[0-9]{8}T[0-9]{6}Z-$reason\.db\$" || true; } | sort -r | tail -n +"$((RETENTION + 1))")
  for f in $files; do
    log "removing $dir/$f (kubernetes.etcdBackup.retention keeps $RETENTION)"
    rm -f -- "${dir:?}/$f"
  done
}

dir="$ROOT$DIRECTORY"
mkdir -p "$dir"
chmod 0700 "$dir"
name="etcd-$NODE_NAME-$(date -u +%Y%m%dT%H%M%SZ)-$reason.db"
partial="$dir/.$name.partial"
partials+=("$partial")
log "etcd snapshot of $NODE_NAME ($endpoint) to $dir/$name"
"$ETCDCTL" --endpoints="$endpoint" --cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" --key="$pki/healthcheck-client.key" \
  --dial-timeout=10s --command-timeout=10m snapshot save "$partial" >&2
log "checking the snapshot (etcdutl snapshot status)"
status=$("$ETCDUTL" snapshot status "$partial" -w json) || die "$partial does not read back (etcdutl snapshot status failed); nothing was published"
log "snapshot status: $status"
publish "$partial" "$dir/$name"
prune "$dir"

if [ -n "${NFS_TARGET:-}" ]; then
  mounted=$(mktemp -d "$ROOT/run/k8s-platform-etcd-nfs.XXXXXX")
  log "copying the snapshot to $NFS_TARGET (etcd-backups/$NODE_NAME)"
  mount -t nfs -o soft,timeo=150,retrans=3 "$NFS_TARGET" "$mounted" || die "cannot mount $NFS_TARGET; the snapshot is kept in $dir"
  remote="$mounted/etcd-backups/$NODE_NAME"
  mkdir -p "$remote"
  partials+=("$remote/.$name.partial")
  cp -- "$dir/$name" "$remote/.$name.partial"
  publish "$remote/.$name.partial" "$remote/$name"
  prune "$remote"
fi
log "etcd snapshot $DIRECTORY/$name done"
printf '%s\n' "$DIRECTORY/$name"
