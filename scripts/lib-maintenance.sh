#!/usr/bin/env bash
# Helpers of the maintenance programs etcd-backup.sh, cert-renewal.sh and etcd-restore.sh. A
# library of its own, not lib.sh: every remote command carries lib.sh, so an edit there re-runs
# every step on every host; this file is sent only with the scripts that source it
# (components/render/script.ts reads the source line below lib.sh's in each script), and
# control-plane-maintenance.sh installs it next to the programs in /usr/local/libexec/k8s-platform/,
# where they source it. Needs lib.sh (ROOT, die) loaded first.

# shellcheck disable=SC2034 # read by the scripts that source this file
K8SP_LIB_MAINTENANCE_LOADED=1

# maintenance_lock: one maintenance step at a time on a node (snapshot, renewal, restore); held
# on file descriptor 7 until the script exits.
maintenance_lock() {
  mkdir -p "$ROOT/run"
  exec 7>"$ROOT/run/k8s-platform-maintenance.lock"
  flock -w "${MAINTENANCE_LOCK_WAIT:-1800}" 7 || die "another maintenance step (etcd snapshot, certificate renewal or restore) still holds $ROOT/run/k8s-platform-maintenance.lock"
}

# etcd_tools: sets ETCDCTL and ETCDUTL: the pinned release control-plane-maintenance.sh installed
# (the etcd image kubeadm runs ships etcd and etcdctl but no etcdutl), else both on PATH.
etcd_tools() {
  local dir="$ROOT/usr/local/libexec/k8s-platform/etcd"
  if [ -x "$dir/etcdctl" ] && [ -x "$dir/etcdutl" ]; then
    ETCDCTL="$dir/etcdctl" ETCDUTL="$dir/etcdutl"
  elif command -v etcdctl >/dev/null 2>&1 && command -v etcdutl >/dev/null 2>&1; then
    ETCDCTL=$(command -v etcdctl) ETCDUTL=$(command -v etcdutl)
  else
    die "etcdctl and etcdutl are neither in $dir (installed by control-plane-maintenance.sh) nor on PATH"
  fi
}
