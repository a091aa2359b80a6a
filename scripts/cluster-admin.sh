#!/usr/bin/env bash
# Cluster-side steps, run on the bootstrap control-plane node with its admin kubeconfig.
# (Role labels and uncordoning a node that is in config again are done by the program through
# the Kubernetes API: a NodePatch with spec.unschedulable=false.)
#
# Parameters (environment):
#   ACTION        issue-join-credentials | drain | delete-node
#   NODE_NAME     (drain, delete-node) the node the action is about
#   JOINING_NODES (issue-join-credentials, optional) the space-separated names of the nodes
#                 the credentials are for, shown in the token's description
#   DRAIN_TIMEOUT (drain) how long to wait for evictions, e.g. 10m
# Standard input (issue-join-credentials): BOOTSTRAP_TOKEN, and CERTIFICATE_KEY when a
# control-plane node joins.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env ACTION
case "$ACTION" in drain | delete-node) require_env NODE_NAME ;; esac
[ -f "$ADMIN_KUBECONFIG" ] || die "$ADMIN_KUBECONFIG is missing: this is not an initialised control-plane node"
export KUBECONFIG="$ADMIN_KUBECONFIG"

# node_ready: NODE_READY becomes True, False or Unknown (the Ready condition), or "absent" when
# the API server says the node does not exist. Anything else — the API server unreachable or
# slow, an answer without a Ready condition — is not a fact about the node: the run stops
# (nothing drained, forced or reset) and the next `up` asks again. kubectl prints a missing
# object as 'Error from server (NotFound): nodes "x" not found' and exits 1; a connection
# failure as "The connection to the server … was refused" or "Unable to connect to the server:
# …", also exit 1 (k8s.io/kubectl/pkg/cmd/util/helpers.go, checkErr/StandardErrorMessage).
node_ready() {
  local out
  if ! out=$(kubectl get node "$NODE_NAME" --request-timeout=30s -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>&1); then
    case "$out" in
    *"(NotFound)"*) NODE_READY=absent; return 0 ;;
    *) die "could not ask the API server about node $NODE_NAME (nothing was drained or deleted; run again when it answers): $out" ;;
    esac
  fi
  case "$out" in
  True | False | Unknown) NODE_READY="$out" ;;
  *) die "node $NODE_NAME has no Ready condition the API server could report (got '$out'); nothing was drained or deleted: run again once the node has reported its status" ;;
  esac
}

case "$ACTION" in
issue-join-credentials)
  # Bootstrap tokens expire (24h), so the stack's token is re-issued before nodes join: a worker
  # added months later joins as well as one added on day one. Safe to run on every `up` and
  # cheap: the token is created when absent, otherwise only its expiry is extended (one read,
  # one patch); runs may overlap (a retried up, a hand-run), so they take turns. With
  # CERTIFICATE_KEY (a control plane is to join) each run uploads the control-plane
  # certificates afresh: kubeadm keeps them two hours (kubeadm-certs), so a control-plane join
  # retried later gets valid ones by running this step again. No secret goes into a process's
  # arguments. 24 h is kubeadm's own default token TTL: a slow node still joins within the day.
  read_secrets BOOTSTRAP_TOKEN CERTIFICATE_KEY
  require_env BOOTSTRAP_TOKEN
  mkdir -p "$ROOT/run"
  exec 9>"$ROOT/run/k8s-platform-credentials.lock"
  flock 9
  id="${BOOTSTRAP_TOKEN%%.*}"
  expiry=$(date -u -d '+24 hours' +%Y-%m-%dT%H:%M:%SZ)
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  chmod 600 "$config"
  kubeadm_version=$(kubeadm version -o short)
  # With --config, `kubeadm token create` and `init phase upload-certs` default a missing
  # ClusterConfiguration, whose kubernetesVersion "stable-1" kubeadm resolves on dl.k8s.io
  # (a warning and a wait on air-gapped nodes; the flag path of token.go sets
  # CurrentKubernetesVersion "to avoid the lookup of the version from the internet"). The
  # installed kubeadm's own version is what the cluster runs. Only the defaults matter
  # otherwise (certificatesDir /etc/kubernetes/pki, local etcd: what upload-certs copies).
  {
    echo "apiVersion: kubeadm.k8s.io/v1beta4"
    echo "kind: InitConfiguration"
    echo "bootstrapTokens:"
    echo "  - token: \"$BOOTSTRAP_TOKEN\""
    echo "    ttl: 24h0m0s"
    echo "    description: \"k8s-platform joins of ${JOINING_NODES:-nodes}\""
    [ -z "${CERTIFICATE_KEY:-}" ] || echo "certificateKey: \"$CERTIFICATE_KEY\""
    echo "---"
    echo "apiVersion: kubeadm.k8s.io/v1beta4"
    echo "kind: ClusterConfiguration"
    echo "kubernetesVersion: \"$kubeadm_version\""
  } >"$config"
  # The Secret holds the token's secret half (base64); compare it from output, never argv.
  current=""
  if out=$(kubectl -n kube-system get secret "bootstrap-token-$id" -o 'jsonpath={.data.token-secret}' 2>&1); then
    current=$(printf '%s' "$out" | base64 -d 2>/dev/null || true)
  elif [[ "$out" != *NotFound* ]]; then
    die "cannot read the bootstrap token Secret: $out"
  fi
  if [ -z "$current" ]; then
    # kubeadm token create --config: the token, ttl and description come from the file
    # (flags cannot be mixed with --config, cmd/kubeadm/app/cmd/token.go).
    kubeadm token create --config "$config" >/dev/null
  elif [ "$current" = "${BOOTSTRAP_TOKEN#*.}" ]; then
    kubectl -n kube-system patch secret "bootstrap-token-$id" --type merge --patch-file /dev/stdin >/dev/null <<EOF
{"stringData":{"expiration":"$expiry"}}
EOF
  else
    # Same id, another secret (the stack's token was rotated): replace it.
    kubectl -n kube-system delete secret "bootstrap-token-$id" >/dev/null
    kubeadm token create --config "$config" >/dev/null
  fi
  if [ -n "${CERTIFICATE_KEY:-}" ]; then
    # Control-plane joins fetch the shared certificates, which kubeadm keeps for two hours only.
    log "uploading the control-plane certificates (kept two hours)"
    kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$config" >/dev/null
  fi
  log "join credentials issued${JOINING_NODES:+ for $JOINING_NODES}"
  ;;
drain)
  node_ready
  if [ "$NODE_READY" = absent ]; then
    log "node $NODE_NAME is not registered; nothing to drain"
  elif [ "$NODE_READY" = True ]; then
    # Fails (and so stops the removal before the VM goes) when pods cannot be evicted in time.
    log "draining $NODE_NAME (up to ${DRAIN_TIMEOUT:-10m})"
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_TIMEOUT:-10m}"
  else
    # NotReady (host down, kubelet gone): evicted pods never finish terminating without a
    # kubelet, so a drain would only wait out its timeout. Keep new pods off and delete its pods
    # without waiting for the kubelet's confirmation; their controllers recreate them elsewhere.
    log "node $NODE_NAME is not Ready (Ready=$NODE_READY): cordoning it and force-deleting its pods"
    kubectl cordon "$NODE_NAME" >/dev/null
    forced=$(kubectl delete pods -A --field-selector "spec.nodeName=$NODE_NAME" --force --grace-period=0)
    if [ -n "$forced" ]; then
      while IFS= read -r line; do log "forced on $NODE_NAME: $line"; done <<<"$forced"
    else
      log "no pods on $NODE_NAME"
    fi
  fi
  ;;
delete-node)
  log "deleting node $NODE_NAME from the cluster"
  kubectl delete node "$NODE_NAME" --ignore-not-found
  ;;
*) die "unknown ACTION '$ACTION' (allowed: issue-join-credentials, drain, delete-node)" ;;
esac
