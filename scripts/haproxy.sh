#!/usr/bin/env bash
# The software L4/L7 load balancer of seed 000 §13: HAProxy in front of the ingress controller's
# node ports (and, with several control planes, the API servers). The config is rendered by the
# program; it is checked with `haproxy -c` before it replaces the running one, and HAProxy is
# reloaded (gracefully, no dropped connections) only when it changed.
#
# Parameters (environment): HAPROXY_CONFIG (the whole haproxy.cfg), FIREWALL_MODE (disabled:
#   firewalld and ufw stopped and disabled | open: HAPROXY_PORTS opened in the active one),
#   HAPROXY_PORTS (space-separated TCP ports it listens on: "80 443", plus 6443 when it fronts
#   the API servers)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env HAPROXY_CONFIG FIREWALL_MODE
FAMILY=$(os_family)
ensure_packages "$FAMILY" haproxy

if [ "$FAMILY" = dnf ] && command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" != Disabled ]; then
  # SELinux only lets haproxy connect to its standard ports; node ports are not among them.
  [ "$(getsebool haproxy_connect_any 2>/dev/null | awk '{print $3}')" = on ] || setsebool -P haproxy_connect_any 1
fi

# prepare-node.sh never runs on a dedicated HAProxy host: its firewall is handled here.
ports=()
for port in ${HAPROXY_PORTS:-}; do ports+=("$port/tcp"); done
firewall_apply "$FIREWALL_MODE" "${ports[@]}"

config="$ROOT/etc/haproxy/haproxy.cfg"
candidate=$(mktemp)
trap 'rm -f "$candidate"' EXIT
printf '%s\n' "$HAPROXY_CONFIG" >"$candidate"
haproxy -c -q -f "$candidate" || die "the rendered HAProxy config does not validate; the running one is unchanged"
write_if_changed "$config" 0644 cat "$candidate"
unit_enable_now haproxy
if [ "$WRITTEN" -eq 1 ]; then
  log "reloading haproxy"
  systemctl reload haproxy
fi
