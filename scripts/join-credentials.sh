#!/usr/bin/env bash
# Arms the join credentials for the nodes of this `pulumi up` and stays until they have joined, on
# the bootstrap control plane with its admin kubeconfig. Why it waits: pulumi-command keeps no
# state for a command whose create failed, so a step that fails whenever a join has not completed
# runs again in the next `up`, exactly when a retried join needs fresh credentials, and never on an
# unchanged one (see KubeadmCluster in components/kubeadmCluster.ts).
#   1. Control planes still to join: the control-plane certificates are uploaded first
#      (kubeadm init phase upload-certs; kubeadm keeps them 2 h), then the token is armed for 1 h,
#      so a valid token always finds valid certificates behind it.
#   2. The stack's bootstrap token is created, or its expiry extended (24 h with only workers).
#   3. It waits, up to WAIT_MINUTES, until every listed worker's kubelet registered it and every listed
#      control plane carries node-role.kubernetes.io/control-plane (set by mark-control-plane, the
#      last sub-phase of a control-plane join).
#   4. If some have not joined by then, the token and the uploaded certificates are revoked and the
#      step fails: no join can pass discovery with stale credentials until the next `up` arms new
#      ones (kubeadm's discovery retries until the token is there).
# Runs may overlap (a retried up, a hand-run): they take turns at arming (a lock).
#
# Parameters (environment):
#   NODE_NAME               the bootstrap control plane (for the log)
#   JOINING_WORKERS         space-separated worker names (may be empty)
#   JOINING_CONTROL_PLANES  space-separated control-plane names (may be empty)
#   WAIT_MINUTES            how long to wait for the joins (default 15)
# Standard input: BOOTSTRAP_TOKEN, and CERTIFICATE_KEY when control planes join.
set -euo pipefail
export LC_ALL=C
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME
[ -f "$ADMIN_KUBECONFIG" ] || die "$ADMIN_KUBECONFIG is missing: $NODE_NAME is not an initialised control-plane node"
export KUBECONFIG="$ADMIN_KUBECONFIG"
read_secrets BOOTSTRAP_TOKEN CERTIFICATE_KEY
require_env BOOTSTRAP_TOKEN
workers="${JOINING_WORKERS:-}"
control_planes="${JOINING_CONTROL_PLANES:-}"
[ -z "$control_planes" ] || require_env CERTIFICATE_KEY

# joined NODE ROLE: the node's kubelet has registered its Node (worker) and, for a control plane,
# finished its control-plane join. Registered means the Node's status has the InternalIP the
# kubelet reports (its --node-ip): the kubelet fills the status before it creates its Node
# (kubernetes pkg/kubelet/kubelet_node_status.go, initialNode -> setNodeStatus), while a Node
# made through the API alone (a server-side apply of labels to a missing Node creates it) has no
# status, and no kubelet behind it.
# An answer other than the node or NotFound (API server unreachable) stops the step.
joined() {
  local out
  if ! out=$(kubectl get node "$1" -o 'jsonpath={.metadata.labels}{"\n"}{.status.addresses[?(@.type=="InternalIP")].address}' 2>&1); then
    [[ "$out" == *NotFound* ]] || die "cannot ask the API server about node $1: $out"
    return 1
  fi
  [ -n "$(sed -n 2p <<<"$out")" ] || return 1
  [ "$2" = worker ] || [[ "$out" == *'"node-role.kubernetes.io/control-plane"'* ]]
}
pending() {
  local n
  for n in $workers; do joined "$n" worker || printf '%s ' "$n"; done
  for n in $control_planes; do joined "$n" control-plane || printf '%s ' "$n"; done
}
pending_control_planes() {
  local n
  for n in $control_planes; do joined "$n" control-plane || printf '%s ' "$n"; done
}

waiting=$(pending)
if [ -z "$waiting" ]; then
  log "every listed node has joined; no credentials to arm"
  exit 0
fi

id="${BOOTSTRAP_TOKEN%%.*}"
config=$(mktemp)
trap 'rm -f "$config"' EXIT
chmod 600 "$config"
mkdir -p "$ROOT/run"
exec 9>"$ROOT/run/k8s-platform-credentials.lock"
flock 9
certs=false
[ -z "$(pending_control_planes)" ] || certs=true
ttl=24h0m0s
[ "$certs" = false ] || ttl=1h0m0s
{
  echo "apiVersion: kubeadm.k8s.io/v1beta4"
  echo "kind: InitConfiguration"
  echo "bootstrapTokens:"
  echo "  - token: \"$BOOTSTRAP_TOKEN\""
  echo "    ttl: $ttl"
  echo "    description: \"k8s-platform joins of ${waiting% }\""
  [ "$certs" = false ] || echo "certificateKey: \"$CERTIFICATE_KEY\""
  # A ClusterConfiguration with the installed version: without one kubeadm looks up stable-1 online.
  echo "---"
  echo "apiVersion: kubeadm.k8s.io/v1beta4"
  echo "kind: ClusterConfiguration"
  echo "kubernetesVersion: \"$(kubeadm version -o short)\""
} >"$config"
if [ "$certs" = true ]; then
  log "uploading the control-plane certificates for ${waiting% }"
  kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$config" >/dev/null
fi
# The Secret holds the token's secret half (base64); compared from output, never argv.
current=""
if out=$(kubectl -n kube-system get secret "bootstrap-token-$id" -o 'jsonpath={.data.token-secret}' 2>&1); then
  current=$(printf '%s' "$out" | base64 -d 2>/dev/null || true)
elif [[ "$out" != *NotFound* ]]; then
  die "cannot read the bootstrap token Secret: $out"
fi
if [ "$current" = "${BOOTSTRAP_TOKEN#*.}" ]; then
  expiry=$(date -u -d "+${ttl%%h*} hours" +%Y-%m-%dT%H:%M:%SZ)
  kubectl -n kube-system patch secret "bootstrap-token-$id" --type merge --patch-file /dev/stdin >/dev/null <<EOF
{"stringData":{"expiration":"$expiry"}}
EOF
else
  # Absent, or the same id with another secret (the stack's token was rotated): (re)create it.
  [ -z "$current" ] || kubectl -n kube-system delete secret "bootstrap-token-$id" >/dev/null
  kubeadm token create --config "$config" >/dev/null
fi
flock -u 9
log "join credentials armed (token valid $ttl) for ${waiting% }; waiting for the joins"

deadline=$(($(date +%s) + ${WAIT_MINUTES:-15} * 60))
while [ -n "$waiting" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  sleep "${POLL_SECONDS:-10}"
  waiting=$(pending)
done
if [ -n "$waiting" ]; then
  log "not joined after ${WAIT_MINUTES:-15} minutes: ${waiting% }; revoking the credentials"
  kubeadm token delete "$id" >/dev/null 2>&1 || true
  [ "$certs" = false ] || kubectl -n kube-system delete secret kubeadm-certs --ignore-not-found >/dev/null
  die "${waiting% } did not join (see their -join steps); the next \`pulumi up\` arms new credentials and they join again"
fi
log "every listed node has joined"
