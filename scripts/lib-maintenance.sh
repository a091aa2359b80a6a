#!/usr/bin/env bash
# Helpers of the maintenance programs etcd-backup.sh, cert-renewal.sh and etcd-restore.sh (and
# the lock of apiserver-certs.sh, kubeadm-upgrade.sh, kubeadm-init.sh and kubeadm-join.sh, which
# the program sends it with). A
# library of its own, not lib.sh: every remote command carries lib.sh, so an edit there re-runs
# every step on every host; this file is sent only with the scripts that source it
# (components/render/script.ts reads the source line below lib.sh's in each script), and
# control-plane-maintenance.sh installs it next to the programs in /usr/local/libexec/k8s-platform/,
# where they source it. Needs lib.sh (ROOT, die) loaded first.

# shellcheck disable=SC2034 # read by the scripts that source this file
K8SP_LIB_MAINTENANCE_LOADED=1

# maintenance_lock: one maintenance step at a time on a node: a snapshot, a renewal, a restore,
# and the steps that move kube-apiserver.yaml as they do (apiserver-certs.sh, kubeadm-upgrade.sh),
# so none moves a manifest back over another's, and kubeadm-init.sh/kubeadm-join.sh, which read
# the manifests to tell a member from a half-made one. Held on file descriptor 7 until the script exits.
# A step started by one that holds it (kubeadm-upgrade.sh's etcd-backup.sh) inherits descriptor 7
# on the same open lock file and takes that: flock(2) on an open file description that holds the
# lock succeeds at once, a new open() of the file would wait for its own parent.
maintenance_lock() {
  local lock="$ROOT/run/k8s-platform-maintenance.lock"
  mkdir -p "$ROOT/run"
  [ /proc/self/fd/7 -ef "$lock" ] || exec 7>"$lock"
  flock -w "${MAINTENANCE_LOCK_WAIT:-1800}" 7 || die "another maintenance step (etcd snapshot, certificate renewal or restore, API server certificate, Kubernetes upgrade, kubeadm init or join) still holds $lock"
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
