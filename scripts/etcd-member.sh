#!/usr/bin/env bash
# A removed control plane's etcd member, seen to from a surviving control plane (the bootstrap one,
# where the program runs its cluster-side steps), with the etcdctl control-plane-maintenance.sh
# installs and the etcd client certificate kubeadm writes for health checks (kubeadm itself uses
# that one to remove members: phases/etcd/local.go RemoveStackedEtcdMemberFromCluster →
# util/etcd/etcd.go NewFromCluster, "EtcdHealthcheckClientCertName"; etcd runs without RBAC).
# Why not leave it to `kubeadm reset` on the removed node: its remove-etcd-member phase
# (cmd/kubeadm/app/cmd/phases/reset/removeetcdmember.go, the same at v1.35.4 and v1.37.2) only
# warns when the removal fails — `klog.Warningf("[reset] Failed to remove etcd member: %v, please
# manually remove this etcd member using etcdctl", err)` — then still empties the data directory
# ("Cleanup the data in the etcd data dir …") and returns nil, so the reset exits 0; and a node
# whose host is gone runs no reset at all. A member left behind breaks the next control-plane join
# (join's check-etcd, cmd/kubeadm/app/cmd/phases/join/checketcd.go → CheckLocalEtcdClusterStatus
# → CheckClusterHealth asks every member's Status, "etcd cluster is not healthy") and counts
# towards quorum. Kubespray does the same before its reset (roles/remove-node/remove-etcd-node:
# `etcdctl member list` on the first etcd host, `member remove` of the one with the node's peer URL).
#
# ACTION check-removal: before anything of the removal changes (the drain, the reset): refuses when
#   removing the member would leave etcd without quorum, counting the members that are unhealthy
#   now. Changes nothing.
# ACTION remove: the same check, then `etcdctl member remove` of the node's member, then the list
#   again: the run fails while the member is still listed. Nothing to do when it is not a member.
# Which member is the node's: the one named NODE_NAME (kubeadm's etcd manifest: --name=<node name>),
# or an unstarted one (no name yet: a join that stopped between adding the member and starting
# etcd) with the node's peer URL https://NODE_IP:2380 (kubeadm's GetPeerURL of its advertise
# address). A member named after a control plane still in config (KEEP_MEMBERS) is never touched.
# Checks and removals take turns on this host (maintenance_lock), so two control planes removed
# in one `up` are each checked against the membership the other left.
#
# Parameters (environment):
#   ACTION         check-removal | remove
#   NODE_NAME      the control plane being removed
#   NODE_IP        its IP (the advertise address of its member)
#   KEEP_MEMBERS   space-separated names of the control planes still in config (never removed)
#   ETCD_ENDPOINT  default https://127.0.0.1:2379 (this host's member)
#   ETCD_PEER_PORT default 2380 (kubeadm's EtcdListenPeerPort; the tests run members side by side)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

require_env ACTION NODE_NAME NODE_IP
case "$ACTION" in check-removal | remove) ;; *) die "unknown ACTION '$ACTION' (allowed: check-removal, remove)" ;; esac
endpoint="${ETCD_ENDPOINT:-https://127.0.0.1:2379}"
peer_url="https://$NODE_IP:${ETCD_PEER_PORT:-2380}"
for kept in ${KEEP_MEMBERS:-}; do
  [ "$kept" != "$NODE_NAME" ] || die "$NODE_NAME is still a control plane in config (KEEP_MEMBERS): its etcd member is not removed"
done
pki="$ROOT/etc/kubernetes/pki/etcd"
[ -f "$pki/healthcheck-client.crt" ] || die "$pki/healthcheck-client.crt is missing: this host is not a kubeadm control plane with a local etcd member"

maintenance_lock
etcd_tools
ctl() {
  "$ETCDCTL" --endpoints="$endpoint" --cacert="$pki/ca.crt" --cert="$pki/healthcheck-client.crt" \
    --key="$pki/healthcheck-client.key" --dial-timeout=5s --command-timeout=15s "$@"
}
manual="run on a surviving control plane: etcdctl --endpoints=$endpoint --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key member list, then ... member remove <ID of $NODE_NAME>, then pulumi up again"

# members: MEMBERS becomes `etcdctl member list -w simple`, one member a line:
# "<hex ID>, <started|unstarted>, <name>, <peer URLs>, <client URLs>, <is learner>" (URLs joined by
# ","). Standard output only: etcdctl logs its retries on standard error (e.g. "etcdserver: leader
# changed" while a dead leader is replaced), which is no member.
members() {
  local listed
  listed=$(mktemp)
  if ! ctl member list -w simple >"$listed" 2>"$listed.err"; then
    MEMBERS=$(cat "$listed.err")
    rm -f "$listed" "$listed.err"
    die "cannot list the etcd members through $endpoint (nothing was changed): $MEMBERS"
  fi
  MEMBERS=$(grep -E '^[0-9a-f]+, (started|unstarted), ' "$listed" || true)
  rm -f "$listed" "$listed.err"
  [ -n "$MEMBERS" ] || die "etcdctl member list through $endpoint listed no member (nothing was changed)"
}

# target: TARGET_IDS becomes the IDs of the node's member(s) in MEMBERS (see the header).
target() {
  local line id name peers kept
  TARGET_IDS=""
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    id=$(field 1 "$line") name=$(field 3 "$line") peers=$(field 4 "$line")
    for kept in ${KEEP_MEMBERS:-}; do
      if [ "$name" = "$kept" ]; then continue 2; fi
    done
    if [ "$name" = "$NODE_NAME" ] || { [ -z "$name" ] && [[ ",$peers," == *",$peer_url,"* ]]; }; then
      TARGET_IDS+="$id "
    elif [[ ",$peers," == *",$peer_url,"* ]]; then
      log "etcd member $id ($name) has $NODE_NAME's peer URL $peer_url but another name: left alone"
    fi
  done <<<"$MEMBERS"
}

# field N LINE: the Nth column of a `member list -w simple` line (columns are joined by ", ", the
# URLs within a column by ",").
field() { awk -F', ' -v n="$1" '{ print $n }' <<<"$2"; }

# check_quorum: fails unless the voting members left after removing TARGET_IDS, counting only those
# healthy now, are a majority of what is left. Health is `endpoint health --cluster` (each member's
# client URLs; an unstarted member has none and counts as unhealthy).
check_quorum() {
  local health line id name clients learner left=0 healthy=0 unhealthy="" url ok
  # A dead member costs one timeout: kubeadm gives a member 2 s (util/etcd/etcd.go etcdTimeout).
  health=$(ctl endpoint health --cluster -w simple --command-timeout=5s 2>&1 || true)
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    id=$(field 1 "$line") name=$(field 3 "$line") clients=$(field 5 "$line") learner=$(field 6 "$line")
    [[ " $TARGET_IDS " != *" $id "* ]] || continue
    # A learner does not vote (etcd's quorum counts voting members only).
    [ "$learner" != true ] || continue
    left=$((left + 1))
    ok=""
    for url in ${clients//,/ }; do
      if grep -qF "$url is healthy" <<<"$health"; then ok=1; fi
    done
    if [ -n "$ok" ]; then healthy=$((healthy + 1)); else unhealthy+="${name:-$id} "; fi
  done <<<"$MEMBERS"
  local quorum=$((left / 2 + 1))
  if [ "$healthy" -lt "$quorum" ]; then
    die "removing $NODE_NAME's etcd member would leave $left voting members of which $healthy are healthy (unhealthy: ${unhealthy% }), below their quorum of $quorum: the API server would stop. $unchanged Bring the unhealthy members back, or remove a control plane whose host is gone first (README, \"Removing a node whose host is gone\"), then run pulumi up again"
  fi
  log "etcd keeps quorum without $NODE_NAME: $healthy of $left voting members healthy, quorum $quorum"
}

if [ "$ACTION" = check-removal ]; then
  unchanged="Nothing was changed (the removal stops before the drain)."
else
  unchanged="The member was not removed and the node not reset (it was drained)."
fi
log "etcd membership of $NODE_NAME ($ACTION), asking $endpoint"
members
target
if [ -z "$TARGET_IDS" ]; then
  log "$NODE_NAME ($peer_url) is not an etcd member: nothing to do"
  exit 0
fi
check_quorum
if [ "$ACTION" = check-removal ]; then
  exit 0
fi
for id in $TARGET_IDS; do
  log "removing etcd member $id ($NODE_NAME, $peer_url)"
  if ! out=$(ctl member remove "$id" 2>&1); then
    # Another run may have removed it in between: the list below decides.
    log "etcdctl member remove $id: $out"
  fi
done
members
target
[ -z "$TARGET_IDS" ] || die "etcd member(s) ${TARGET_IDS% } of $NODE_NAME are still listed after member remove; $manual"
log "$NODE_NAME's etcd member is gone"
