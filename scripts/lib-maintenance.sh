#!/usr/bin/env bash
# Helpers of the maintenance programs etcd-backup.sh, cert-renewal.sh and etcd-restore.sh (and
# the lock of apiserver-certs.sh, kubeadm-upgrade.sh, kubeadm-init.sh and kubeadm-join.sh, and the
# latter two's check for a member whose manifests a maintenance step moved out; the program sends
# it with them). A library of its own, not lib.sh: every remote command carries lib.sh, so an
# edit there re-runs every step on every host; this file is sent only with the scripts that source it
# (components/render/script.ts reads the source line below lib.sh's in each script), and
# control-plane-maintenance.sh installs it next to the programs in /usr/local/libexec/k8s-platform/,
# where they source it. Needs lib.sh (ROOT, die, kubeadm_files_present) loaded first.

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

# Where maintenance steps park kubeadm's manifests while a static pod is stopped: etcd-restore.sh
# (k8s-platform-restore/), cert-renewal.sh (k8s-platform-restart/) and apiserver-certs.sh
# (k8s-platform-kube-apiserver.yaml). A manifest there is a member's whose restore or restart did
# not finish: the four manifests are not all in place (lib.sh kubeadm_files_present), yet it is no
# half-made member to reset or re-initialise.
parked_manifests() {
  local f
  for f in "$ROOT/etc/kubernetes/k8s-platform-restore/"*.yaml "$ROOT/etc/kubernetes/k8s-platform-restart/"*.yaml "$ROOT/etc/kubernetes/k8s-platform-kube-apiserver.yaml"; do
    [ ! -f "$f" ] || printf '%s\n' "${f#"$ROOT"}"
  done
}

# refuse_moved_member RECORD control-plane|worker: for kubeadm-init.sh and kubeadm-join.sh, before
# they read their completion RECORD (lib.sh trust_record, which removes a record whose files are
# gone): stops the run, changing nothing, on a member whose manifests are out of place
#   - parked by a maintenance step that did not finish (named, with what to do), or
#   - missing on a control plane that has RECORD and etcd data: `kubeadm reset` removes
#     /var/lib/etcd and a new disk has none, so its manifests or admin.conf were moved by hand.
refuse_moved_member() {
  local parked
  parked=$(parked_manifests)
  if [ -n "$parked" ]; then
    die "$NODE_NAME has static pod manifests moved out of /etc/kubernetes/manifests by a maintenance step that did not finish: $(paste -sd' ' <<<"$parked"). Finish it first: after a failed etcd-restore.sh (k8s-platform-restore/) run it again with the same SNAPSHOT and INITIAL_CLUSTER, or move the files back to /etc/kubernetes/manifests to keep the data it had; a file of k8s-platform-restart/ (certificate renewal) or k8s-platform-kube-apiserver.yaml (API server certificate step) goes back to /etc/kubernetes/manifests. Then run pulumi up again. Nothing was changed (no kubeadm reset, init or join)."
  fi
  if [ "$2" = control-plane ] && [ -f "$1" ] && [ -d "$ROOT/var/lib/etcd/member" ] && ! kubeadm_files_present control-plane; then
    die "$1 says $NODE_NAME is a member and it has etcd data (/var/lib/etcd/member), but kubeadm's admin.conf or one of its four manifests in /etc/kubernetes/manifests is missing: they were moved, not reset. Put them back and run again, or rebuild the member: remove the node from the stack (its kubeadm-reset.sh step removes its etcd member) and add it again. Nothing was reset or removed."
  fi
}
