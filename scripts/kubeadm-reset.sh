#!/usr/bin/env bash
# Takes this node out of Kubernetes: `kubeadm reset`, then what it leaves behind (its own output:
# "The reset process does not clean CNI configuration … does not reset or clean up iptables
# rules"): Flannel's interfaces (cni0, flannel.1), its config and leases, kube-proxy's iptables
# rules. Left in place they break a later join of the same host ("cni0 already has an IP address
# different from …"). Runs when a node is removed from the stack, after the control plane
# drained it and before its VM (if any) is destroyed. Data on the NFS share is never touched,
# and nothing beyond what `kubeadm reset` itself removes (etcd data included). Safe to run twice.
#
# Parameters (environment): NODE_NAME
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME
if command -v kubeadm >/dev/null 2>&1 && [ -d "$ROOT/etc/kubernetes" ]; then
  log "kubeadm reset on $NODE_NAME"
  kubeadm reset -f
fi

# Interfaces: the bridge and the VXLAN device Flannel created (only those that exist).
for link in cni0 flannel.1; do
  if ip link show dev "$link" >/dev/null 2>&1; then
    log "deleting interface $link"
    ip link delete "$link"
  fi
done
# Flannel's CNI config and state; other files in /etc/cni/net.d are not ours.
rm -f "$ROOT/etc/cni/net.d/10-flannel.conflist"
rm -rf "$ROOT/var/lib/cni" "$ROOT/run/flannel"
# kube-proxy's rules, as kubeadm reset advises ("iptables -F && iptables -t nat -F && iptables -t
# mangle -F && iptables -X", and ip6tables), plus -X in nat and mangle: the advice's -X covers the
# filter table only and leaves kube-proxy's empty KUBE-* chains there (seen with the real
# iptables in the tests). Whichever backend iptables uses (nft on Ubuntu 22.04+ and Rocky 9),
# these commands address the tables kube-proxy wrote through it.
for tool in iptables ip6tables; do
  command -v "$tool" >/dev/null 2>&1 || continue
  for table in filter nat mangle; do
    "$tool" -t "$table" -F
    "$tool" -t "$table" -X
  done
done
log "$NODE_NAME has left Kubernetes"
