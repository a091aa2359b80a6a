#!/usr/bin/env bash
# Takes this node out of Kubernetes: `kubeadm reset` and the CNI state it leaves behind.
# Runs when a node is removed from the stack, after the control plane drained it and before its
# VM (if any) is destroyed. Data on the NFS share is never touched. Safe to run twice.
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
rm -rf "$ROOT/etc/cni/net.d" "$ROOT/run/flannel"
log "$NODE_NAME has left Kubernetes"
