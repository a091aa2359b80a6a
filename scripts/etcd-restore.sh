#!/usr/bin/env bash
# Restores this control plane's etcd member from a snapshot (etcd-backup.sh's), run by hand as root
# on the node; control-plane-maintenance.sh installs it as
# /usr/local/libexec/k8s-platform/etcd-restore.sh (README "Day-2 operations", restore).
#   1. checks the snapshot (etcdutl snapshot status) before touching anything;
#   2. stops etcd and the API server: moves their static pod manifests to
#      /etc/kubernetes/k8s-platform-restore/ and waits until the kubelet has stopped them;
#   3. moves the current data directory aside (<data-dir>.before-restore-<UTC time>; never
#      deleted);
#   4. `etcdutl snapshot restore` into the data directory with this member's name and peer URL
#      from its manifest, the given INITIAL_CLUSTER, and the revision bumped and compacted (so
#      watchers and informers resync instead of missing the rolled-back revisions: etcd's
#      recovery guide, "Restoring a cluster" with --bump-revision/--mark-compacted);
#   5. moves the manifests back: the kubelet starts etcd on the restored data, then the API server.
# Several control planes (etcd's procedure): copy the same snapshot to every control plane and run
# this script on each with the same INITIAL_CLUSTER listing every member; the cluster answers once
# a majority of them runs. A re-run (after a failure) finds the parked manifests and goes on.
#
# Parameters (environment):
#   SNAPSHOT         the snapshot file (required)
#   INITIAL_CLUSTER  "name=https://ip:2380,..." (default: this member alone, from its manifest)
#   STOP_TIMEOUT     seconds to wait for the kubelet to stop etcd and the API server (default 120)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

require_env SNAPSHOT
[ -f "$SNAPSHOT" ] || die "SNAPSHOT $SNAPSHOT does not exist"
manifests="$ROOT/etc/kubernetes/manifests"
parked="$ROOT/etc/kubernetes/k8s-platform-restore"
maintenance_lock
etcd_tools

log "checking $SNAPSHOT (etcdutl snapshot status)"
"$ETCDUTL" snapshot status "$SNAPSHOT" -w table >&2 || die "$SNAPSHOT does not read back; nothing was changed"

etcd_manifest="$manifests/etcd.yaml"
[ -f "$etcd_manifest" ] || etcd_manifest="$parked/etcd.yaml"
[ -f "$etcd_manifest" ] || die "no etcd static pod manifest in $manifests or $parked: this is not a kubeadm control plane"
# A flag of the etcd command in kubeadm's manifest ("    - --name=cp1").
flag() { sed -n "s/^[[:space:]]*- --$1=//p" "$etcd_manifest" | head -n 1; }
member=$(flag name)
peer_url=$(flag initial-advertise-peer-urls)
data_dir="$ROOT$(flag data-dir)"
if [ -z "$member" ] || [ -z "$peer_url" ] || [ "$data_dir" = "$ROOT" ]; then
  die "cannot read --name, --initial-advertise-peer-urls and --data-dir from $etcd_manifest"
fi
initial_cluster="${INITIAL_CLUSTER:-$member=$peer_url}"
[[ ",$initial_cluster," == *",$member=$peer_url,"* ]] || die "INITIAL_CLUSTER '$initial_cluster' does not list this member as $member=$peer_url"

# Stop etcd and the API server (the kubelet stops a static pod whose manifest is gone).
mkdir -p "$parked"
for pod in kube-apiserver etcd; do
  if [ -f "$manifests/$pod.yaml" ]; then
    log "stopping $pod: moving its manifest to $parked"
    mv -f "$manifests/$pod.yaml" "$parked/$pod.yaml"
  fi
done
if command -v crictl >/dev/null 2>&1; then
  for _ in $(seq 1 "${STOP_TIMEOUT:-120}"); do
    [ -n "$(crictl ps -q --name '^(etcd|kube-apiserver)$' 2>/dev/null)" ] || break
    sleep 1
  done
  [ -z "$(crictl ps -q --name '^(etcd|kube-apiserver)$' 2>/dev/null)" ] ||
    die "etcd or the API server still runs after ${STOP_TIMEOUT:-120}s; their manifests are in $parked (move them back to $manifests to undo)"
else
  log "crictl not found: not waiting for the kubelet to stop the containers"
fi

if [ -e "$data_dir" ] && [ -n "$(ls -A "$data_dir" 2>/dev/null)" ]; then
  aside="$data_dir.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
  log "moving the current data directory $data_dir aside to $aside"
  mv -T "$data_dir" "$aside"
elif [ -e "$data_dir" ]; then
  rmdir "$data_dir"
fi
log "restoring $SNAPSHOT into $data_dir as member $member ($initial_cluster)"
"$ETCDUTL" snapshot restore "$SNAPSHOT" --data-dir "$data_dir" --name "$member" \
  --initial-cluster "$initial_cluster" --initial-advertise-peer-urls "$peer_url" \
  --bump-revision 1000000000 --mark-compacted >&2
chmod 0700 "$data_dir"

for pod in etcd kube-apiserver; do
  if [ -f "$parked/$pod.yaml" ]; then
    log "starting $pod: moving its manifest back"
    mv -f "$parked/$pod.yaml" "$manifests/$pod.yaml"
  fi
done
rmdir "$parked" 2>/dev/null || true
log "restored $member from $SNAPSHOT; with several control planes, run this on each of them with the same SNAPSHOT and INITIAL_CLUSTER"
