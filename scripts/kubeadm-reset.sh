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
# First: from here on this host is no longer a member, whatever happens next (a later init or
# join must run again, not trust a record of the membership being taken apart). Nor is an upgrade
# of it unfinished (kubeadm-upgrade.sh's upgrade.pending): added back, it joins at the stack's
# version, and a stale record would make its next upgrade a "resumed" one (left cordoned when its
# drain fails).
# apiserver-certs.sh's records (the names it applied, the sum of the ClusterConfiguration it stored)
# describe this cluster's certificate and ConfigMap, and the pair it kept aside is a private key
# of this cluster: none of them is true of the host once it is reset.
for record in "$INIT_DONE" "$JOIN_DONE" "$ROOT/var/lib/k8s-platform/upgrade.pending" \
  "$ROOT/var/lib/k8s-platform/apiserver-sans" "$ROOT/var/lib/k8s-platform/cluster-configuration.sha256"; do
  if [ -f "$record" ]; then
    log "removing $record"
    rm -f "$record"
  fi
done
if [ -d "$ROOT/etc/kubernetes/k8s-platform-previous-apiserver" ]; then
  log "removing $ROOT/etc/kubernetes/k8s-platform-previous-apiserver (the API server pair an earlier certificate change replaced)"
  rm -rf "$ROOT/etc/kubernetes/k8s-platform-previous-apiserver"
fi
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
# kube-proxy's, Flannel's and the CNI plugins' iptables rules, which kubeadm reset leaves: only
# theirs. kubeadm reset's advice ("iptables -F && iptables -t nat -F && ... iptables -X") would
# also flush ufw's or firewalld's chains and leave their DROP policies, cutting the host off
# (SSH included). Theirs are the chains named KUBE-* (kube-proxy, kubelet), FLANNEL-* (Flannel)
# and CNI-* (the bridge/portmap plugins), and the rules in other chains that jump or go to them.
# One iptables-restore --noflush transaction per table and family: the jumps deleted (-D with
# the rule exactly as iptables-save prints it), then those chains flushed and deleted; every
# other chain, rule and policy is left as it is. Whichever backend iptables uses (nft on Ubuntu
# 22.04+ and Rocky 9), these commands address the tables kube-proxy wrote through it.
ours='(KUBE|FLANNEL|CNI)-[A-Za-z0-9_-]+'
for family in iptables ip6tables; do
  command -v "$family-save" >/dev/null 2>&1 || continue
  for table in filter nat mangle; do
    saved=$("$family-save" -t "$table") || die "$family-save -t $table failed"
    chains=$(sed -nE "s/^:($ours) .*/\\1/p" <<<"$saved")
    jumps=$(grep -E "^-A [^ ]+ .*-[jg] $ours( |\$)" <<<"$saved" | grep -vE "^-A $ours " || true)
    [ -n "$chains$jumps" ] || continue
    log "removing Kubernetes' and Flannel's $family rules from the $table table ($(wc -w <<<"$chains") chains)"
    {
      echo "*$table"
      [ -z "$jumps" ] || while IFS= read -r rule; do echo "-D ${rule#-A }"; done <<<"$jumps"
      for chain in $chains; do echo "-F $chain"; done
      for chain in $chains; do echo "-X $chain"; done
      echo COMMIT
    } | "$family-restore" --noflush || die "$family-restore could not remove the Kubernetes chains from the $table table; nothing else was changed"
  done
done
log "$NODE_NAME has left Kubernetes"
