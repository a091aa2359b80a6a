#!/usr/bin/env bash
# Makes this node's containerd trust the private registry (seed 000 §15): a hosts.toml for the
# registry host in containerd's certs.d, with the registry CA (TLS mode) or plain HTTP (insecure
# mode, the seed's way, for labs). containerd reads these files on each pull: no restart.
#
# Parameters (environment): REGISTRY_HOST (registry.localtest.com), REGISTRY_MODE (tls|insecure),
#   REGISTRY_CA (PEM, tls mode), REGISTRY_PORT (optional: the port nodes reach the ingress on,
#   e.g. a node port where the load balancer cannot be reached from its own backends)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env REGISTRY_HOST REGISTRY_MODE
dir="$ROOT/etc/containerd/certs.d/$REGISTRY_HOST"
port="${REGISTRY_PORT:+:$REGISTRY_PORT}"
case "$REGISTRY_MODE" in
tls)
  require_env REGISTRY_CA
  write_if_changed "$dir/ca.crt" 0644 printf '%s\n' "$REGISTRY_CA"
  write_if_changed "$dir/hosts.toml" 0644 <<EOF
# Managed by k8s-platform
server = "https://$REGISTRY_HOST"

[host."https://$REGISTRY_HOST$port"]
  capabilities = ["pull", "resolve", "push"]
  ca = "/etc/containerd/certs.d/$REGISTRY_HOST/ca.crt"
EOF
  ;;
insecure)
  rm -f "$dir/ca.crt"
  write_if_changed "$dir/hosts.toml" 0644 <<EOF
# Managed by k8s-platform (insecure mode: plain HTTP, as seed 000)
server = "http://$REGISTRY_HOST"

[host."http://$REGISTRY_HOST$port"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF
  ;;
*) die "REGISTRY_MODE must be 'tls' or 'insecure', got '$REGISTRY_MODE'" ;;
esac
