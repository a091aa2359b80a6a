#!/usr/bin/env bash
# Initialises the cluster on the first control-plane node with `kubeadm init --config`.
# The cluster CA comes from the program (placed before init, so joins can verify it) and the
# bootstrap token and certificate key are generated secrets; all three arrive on standard input.
# A node that already has /etc/kubernetes/admin.conf is left alone; a half-finished init (from an
# earlier failed run) is reset first, so re-running converges.
#
# Parameters (environment):
#   NODE_NAME
#   KUBEADM_CONFIG       the rendered kubeadm config (YAML), with @BOOTSTRAP_TOKEN@,
#                        @CERTIFICATE_KEY@ and @KUBERNETES_VERSION@ placeholders
#   UPLOAD_CERTS         true when more control-plane nodes will join
# Standard input: CA_CRT, CA_KEY, BOOTSTRAP_TOKEN, CERTIFICATE_KEY as NAME=<base64> lines.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME KUBEADM_CONFIG
if [ -f "$ADMIN_KUBECONFIG" ]; then
  log "$NODE_NAME is already initialised; leaving it alone"
  exit 0
fi
read_secrets CA_CRT CA_KEY BOOTSTRAP_TOKEN CERTIFICATE_KEY
require_env CA_CRT CA_KEY BOOTSTRAP_TOKEN CERTIFICATE_KEY

if [ -f "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" ]; then
  log "found the remains of an unfinished kubeadm init; resetting before trying again"
  kubeadm reset -f
fi

pki="$ROOT/etc/kubernetes/pki"
mkdir -p "$pki"
if [ -f "$pki/ca.crt" ] && ! printf '%s\n' "$CA_CRT" | cmp -s - "$pki/ca.crt"; then
  die "$pki/ca.crt holds a different CA than this stack's; run 'kubeadm reset' on $NODE_NAME if it is stale"
fi
printf '%s\n' "$CA_CRT" | write_if_changed "$pki/ca.crt" 0644 || true
printf '%s\n' "$CA_KEY" | write_if_changed "$pki/ca.key" 0600 || true

kubeadm_version=$(kubeadm version -o short)
config="$ROOT/etc/kubernetes/k8s-platform-init.yaml"
umask 077
# Placeholders are filled in by the shell, so no secret ever appears in a process's arguments.
text="${KUBEADM_CONFIG//@BOOTSTRAP_TOKEN@/$BOOTSTRAP_TOKEN}"
text="${text//@CERTIFICATE_KEY@/$CERTIFICATE_KEY}"
printf '%s\n' "${text//@KUBERNETES_VERSION@/$kubeadm_version}" >"$config"
# The file holds the bootstrap token: remove it whatever happens.
trap 'rm -f "$config"' EXIT

args=(init --config "$config")
[ "${UPLOAD_CERTS:-false}" != true ] || args+=(--upload-certs)
log "kubeadm init on $NODE_NAME (Kubernetes $kubeadm_version)"
kubeadm "${args[@]}"
log "$NODE_NAME initialised"
