#!/usr/bin/env bash
# Cluster-side steps for one node, run on the first control-plane node with its admin kubeconfig.
#
# Parameters (environment):
#   ACTION        issue-join-credentials | label | drain | delete-node
#   NODE_NAME     the node the action is about
#   NODE_LABEL    (label) the role shown by `kubectl get nodes`: worker or control-plane
#   DRAIN_TIMEOUT (drain) how long to wait for evictions, e.g. 10m
# Standard input (issue-join-credentials): BOOTSTRAP_TOKEN, and CERTIFICATE_KEY for a
# control-plane node.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env ACTION NODE_NAME
[ -f "$ADMIN_KUBECONFIG" ] || die "$ADMIN_KUBECONFIG is missing: this is not an initialised control-plane node"
export KUBECONFIG="$ADMIN_KUBECONFIG"

node_exists() { kubectl get node "$NODE_NAME" >/dev/null 2>&1; }

case "$ACTION" in
issue-join-credentials)
  # Bootstrap tokens expire (24h), so each joining node gets the stack's token re-issued just
  # before it joins: a worker added months later joins as well as one added on day one.
  read_secrets BOOTSTRAP_TOKEN CERTIFICATE_KEY
  require_env BOOTSTRAP_TOKEN
  if kubeadm token list -o jsonpath='{.token}{"\n"}' 2>/dev/null | grep -qx "$BOOTSTRAP_TOKEN"; then
    kubeadm token delete "${BOOTSTRAP_TOKEN%%.*}" >/dev/null
  fi
  kubeadm token create "$BOOTSTRAP_TOKEN" --ttl 2h --description "k8s-platform join of $NODE_NAME" >/dev/null
  if [ -n "${CERTIFICATE_KEY:-}" ]; then
    # Control-plane joins fetch the shared certificates, which kubeadm keeps for two hours only.
    kubeadm init phase upload-certs --upload-certs --certificate-key "$CERTIFICATE_KEY" >/dev/null
  fi
  log "join credentials issued for $NODE_NAME"
  ;;
label)
  require_env NODE_LABEL
  # The kubelet registers its Node object just after `kubeadm join` returns.
  for _ in $(seq 1 60); do
    node_exists && break
    sleep "${WAIT_INTERVAL:-2}"
  done
  kubectl label node "$NODE_NAME" "node-role.kubernetes.io/$NODE_LABEL=" --overwrite
  ;;
drain)
  # Fails (and so stops the removal before the VM goes) when pods cannot be evicted in time.
  if node_exists; then
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_TIMEOUT:-10m}"
  else
    log "node $NODE_NAME is not registered; nothing to drain"
  fi
  ;;
delete-node)
  kubectl delete node "$NODE_NAME" --ignore-not-found
  ;;
*) die "unknown ACTION '$ACTION' (allowed: issue-join-credentials, label, drain, delete-node)" ;;
esac
