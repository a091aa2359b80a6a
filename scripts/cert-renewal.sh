#!/usr/bin/env bash
# kubeadm's control-plane certificates (one year) renewed before they expire, run daily by the
# k8s-platform-cert-renewal timer that control-plane-maintenance.sh installs (parameters from
# /etc/k8s-platform/cert-renewal.env), following kubeadm's "Certificate Management with kubeadm"
# (manual renewal):
#   - `kubeadm certs check-expiration -o jsonpath=…` (kubeadm 1.35, 1.36 and 1.37 print the
#     output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo with -o json/yaml/jsonpath:
#     cmd/kubeadm/app/cmd/certs.go newCmdCertsExpiration; its Certificate fields are the same at
#     v1.35.4 and v1.37.2, cmd/kubeadm/app/apis/output/types.go; stdout then carries only the object);
#   - when a certificate expires within THRESHOLD_DAYS: `kubeadm certs renew all`, then the static
#     pods that read their certificates only at start are restarted the documented way (manifest
#     moved out of /etc/kubernetes/manifests until the kubelet has stopped the container, then
#     back): kube-apiserver, kube-controller-manager, kube-scheduler, one at a time. etcd is not
#     restarted: it loads its certificate files on every TLS handshake (go.etcd.io/etcd/client/pkg
#     v3.6.6 transport/listener.go, GetCertificate/GetClientCertificate), so a restart would only
#     cost quorum on clusters whose control planes renew on the same day;
#   - kube-vip's static pod (kubernetes.controlPlaneEndpoint mode "kube-vip"), when this node has
#     one, is restarted the same way, last: it reads admin.conf (super-admin.conf before init
#     ended) once at start (kube-vip v1.2.2 pkg/manager/manager.go New: k8s.NewRestConfig(
#     adminConfigPath, …) → pkg/k8s/client.go clientcmd.BuildConfigFromFlags("", kubeconfig)),
#     and client-go keeps a certificate given as data for the life of the client (k8s.io/client-go
#     v0.36.2 transport/transport.go TLSConfigFor: "Treat cert as static if either key or cert was
#     data, not a file" → staticCert; only CertFile/KeyFile set ReloadTLSFiles). kubeadm embeds
#     the certificate (client-certificate-data), so without a restart kube-vip would present the
#     old one until it expires and then lose its Lease, the VIP with it;
#   - copies of the old admin.conf (root's ~/.kube/config, as the kubeadm init output suggests)
#     get the renewed one; /etc/kubernetes/admin.conf itself is renewed by `renew all`.
#   - the kubelet's client certificate is not kubeadm's to renew: the kubelet rotates it, which
#     kubeadm always configures (componentconfigs/kubelet.go: RotateCertificates hard-coded to
#     true). A kubelet config without `rotateCertificates: true` fails the run, loudly.
# A manifest parked by an interrupted run is moved back first.
#
# Parameters (environment):
#   NODE_NAME       this control plane
#   THRESHOLD_DAYS  renew when a certificate expires within this many days (check)
#   ACTION          check (default: the timer's run) | report (prints this node's expiry dates as
#                   JSON on standard output: the program's certificateExpiry output)
#   RESTART_TIMEOUT seconds to wait for the kubelet to stop or start a static pod (default 180)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

RENEWAL_TIMER=k8s-platform-cert-renewal.timer
require_env NODE_NAME
action="${ACTION:-check}"
manifests="$ROOT/etc/kubernetes/manifests"
parked="$ROOT/etc/kubernetes/k8s-platform-restart"

# expirations LIST: "name expirationDate" per existing certificate of LIST (certificates or
# certificateAuthorities); missing ones are reported by kubeadm with missing=true and no date.
expirations() {
  local out
  out=$(kubeadm certs check-expiration -o "jsonpath={range .$1[*]}{.name}{\" \"}{.missing}{\" \"}{.expirationDate}{\"\\n\"}{end}") ||
    die "kubeadm certs check-expiration failed"
  # No {n} intervals: Ubuntu's and Debian's awk is mawk, whose regular expressions lack them.
  awk '$2 == "false" && $3 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z$/ { print $1, $3 }' <<<"$out"
}

report() {
  local certs cas earliest
  certs=$(expirations certificates)
  cas=$(expirations certificateAuthorities)
  [ -n "$certs" ] || die "kubeadm certs check-expiration reported no certificate on $NODE_NAME"
  earliest=$(awk '{ print $2 }' <<<"$certs" | sort | head -n 1)
  json_map() { awk 'BEGIN { ORS = "" } { printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), $1, $2 }'; }
  printf '{"node":"%s","checkedAt":"%s","earliestExpiry":"%s","certificates":{%s},"certificateAuthorities":{%s}}\n' \
    "$NODE_NAME" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$earliest" "$(json_map <<<"$certs")" "$(json_map <<<"$cas")"
}

check_kubelet_rotation() {
  local config="$ROOT/var/lib/kubelet/config.yaml"
  grep -Eq '^rotateCertificates:[[:space:]]*true[[:space:]]*$' "$config" 2>/dev/null ||
    die "kubelet client certificate rotation is off on $NODE_NAME: $config has no 'rotateCertificates: true' (kubeadm always sets it); the kubelet's client certificate would expire after a year. Set it and restart the kubelet."
}

# running POD: the id of its running container ("" when none).
running() { crictl ps -q --state running --name "^$1\$" 2>/dev/null | head -n 1; }

wait_for() { # description command...
  local what="$1" i
  shift
  for i in $(seq 1 "${RESTART_TIMEOUT:-180}"); do
    if "$@"; then return 0; fi
    [ "$i" -gt 1 ] || log "waiting until $what"
    sleep 1
  done
  die "timed out waiting until $what"
}

unpark() {
  local f
  for f in "$parked"/*.yaml; do
    [ -f "$f" ] || continue
    log "moving back the manifest $(basename "$f") parked by an earlier run"
    mv -f "$f" "$manifests/$(basename "$f")"
  done
}

restart_static_pod() { # name
  local pod="$1" before
  [ -f "$manifests/$pod.yaml" ] || die "$manifests/$pod.yaml is missing"
  before=$(running "$pod")
  log "restarting $pod: its manifest leaves $manifests until the kubelet stops it"
  mkdir -p "$parked"
  mv -f "$manifests/$pod.yaml" "$parked/$pod.yaml"
  wait_for "the kubelet stopped $pod" test -z "$(running "$pod")"
  mv -f "$parked/$pod.yaml" "$manifests/$pod.yaml"
  # shellcheck disable=SC2016 # expanded by the inner bash
  wait_for "the kubelet started $pod again" bash -c 'id=$(crictl ps -q --state running --name "^$1\$" 2>/dev/null | head -n 1); [ -n "$id" ] && [ "$id" != "$2" ]' _ "$pod" "$before"
}

if [ ! -f "$ROOT/etc/kubernetes/pki/ca.crt" ] && [ ! -f "$manifests/kube-apiserver.yaml" ] && [ ! -f "$parked/kube-apiserver.yaml" ]; then
  if [ -n "${INVOCATION_ID:-}" ]; then
    log "$NODE_NAME is no longer a control plane (kubeadm reset removed its certificates and manifests): disabling $RENEWAL_TIMER"
    systemctl disable --now "$RENEWAL_TIMER"
    exit 0
  fi
  die "$NODE_NAME is not a kubeadm control plane: /etc/kubernetes/pki/ca.crt and the kube-apiserver manifest are missing"
fi

case "$action" in
report)
  report
  ;;
check)
  require_env THRESHOLD_DAYS
  [[ "$THRESHOLD_DAYS" =~ ^[1-9][0-9]{0,2}$ ]] || die "THRESHOLD_DAYS must be a whole number of days, got '$THRESHOLD_DAYS'"
  maintenance_lock
  check_kubelet_rotation
  unpark
  now=$(date -u +%s)
  limit=$((now + THRESHOLD_DAYS * 86400))
  due=""
  while read -r name expires; do
    [ -n "$name" ] || continue
    if [ "$(date -u -d "$expires" +%s)" -le "$limit" ]; then due+="$name ($expires) "; fi
  done <<<"$(expirations certificates)"
  if [ -z "$due" ]; then
    log "no certificate of $NODE_NAME expires within $THRESHOLD_DAYS days; nothing to renew"
    exit 0
  fi
  log "expiring within $THRESHOLD_DAYS days on $NODE_NAME: ${due% }; renewing every certificate (kubeadm certs renew all)"
  admin="$ROOT/etc/kubernetes/admin.conf"
  old_admin=$(mktemp)
  trap 'rm -f "$old_admin"' EXIT
  cp "$admin" "$old_admin"
  kubeadm certs renew all >&2
  for pod in kube-apiserver kube-controller-manager kube-scheduler; do restart_static_pod "$pod"; done
  # Last, once the API server serves again: its Lease moves (15 s) to another control plane, if any.
  if [ -f "$manifests/kube-vip.yaml" ]; then restart_static_pod kube-vip; fi
  # Copies of the old admin.conf (kubeadm init's advice: cp /etc/kubernetes/admin.conf $HOME/.kube/config).
  copy="$ROOT/root/.kube/config"
  if [ -f "$copy" ] && cmp -s "$copy" "$old_admin"; then
    install -m 0600 "$admin" "$copy"
    log "refreshed $copy with the renewed admin.conf"
  fi
  mkdir -p "$ROOT/var/lib/k8s-platform"
  report >"$ROOT/var/lib/k8s-platform/cert-renewal.last"
  log "certificates of $NODE_NAME renewed: $(cat "$ROOT/var/lib/k8s-platform/cert-renewal.last")"
  ;;
*) die "unknown ACTION '$action' (allowed: check, report)" ;;
esac
