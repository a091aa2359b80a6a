#!/usr/bin/env bash
# Keeps this control plane's API server certificate on the configured names. kubeadm init and join
# write /etc/kubernetes/pki/apiserver.crt once; a later change of apiServer.certSANs reaches the
# cluster only by the procedure of kubernetes.io "Reconfiguring a kubeadm cluster" (applying
# apiServer.certSANs changes) and "Certificate Management with kubeadm" (restarting static Pods):
#   1. move apiserver.crt and apiserver.key aside (here: copied to
#      /etc/kubernetes/k8s-platform-previous-apiserver/, then removed from pki/, since kubeadm keeps
#      an existing pair; put back whenever the step fails before kubeadm wrote a new one),
#   2. `kubeadm init phase certs apiserver --config <file>` writes a new pair signed by the cluster CA,
#   3. restart the kube-apiserver static Pod: its manifest out of /etc/kubernetes/manifests for
#      longer than the kubelet's fileCheckFrequency (20 s), then back,
#   4. (once per cluster, on the bootstrap node) `kubeadm init phase upload-config kubeadm --config
#      <file>` stores the new ClusterConfiguration in kube-system/kubeadm-config, which joins read.
# Nothing happens when every configured name is in the certificate and no name applied by an
# earlier run has been removed (the names applied are kept in /var/lib/k8s-platform/apiserver-sans).
# The bootstrap node also stores a ClusterConfiguration that changed otherwise (imageRepository,
# config `images`): `kubeadm upgrade apply` and `upgrade node` read it from kubeadm-config, not from
# a file (cmd/kubeadm/app/cmd/upgrade/common.go enforceRequirements at v1.35.4:
# FetchInitConfigurationFromCluster), and so do joins; the static pods follow at the next upgrade.
# What was stored last is kept as its sha256 in /var/lib/k8s-platform/cluster-configuration.sha256.
# The step holds the maintenance lock (lib-maintenance.sh) while it runs: cert-renewal.sh,
# etcd-restore.sh and kubeadm-upgrade.sh move kube-apiserver.yaml too. A run that stopped part way
# is finished first: the manifest it parked goes back, and the previous pair goes back to a pki/
# that has none (a failed kubeadm, a killed run), so a re-run with a fixed config works.
#
# Parameters (environment):
#   NODE_NAME       this control plane
#   NODE_IP         its advertise address (where its own API server answers)
#   CERT_SANS       the space-separated names of the ClusterConfiguration's apiServer.certSANs
#   KUBEADM_CONFIG  this node's InitConfiguration and the cluster's ClusterConfiguration (no
#                   secrets), with @KUBERNETES_VERSION@ for a stack that pins only a minor
#   UPLOAD_CONFIG   true on the bootstrap node: store the ClusterConfiguration in the cluster
set -euo pipefail
export LC_ALL=C
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

require_env NODE_NAME NODE_IP CERT_SANS KUBEADM_CONFIG
pki="$ROOT/etc/kubernetes/pki"
crt="$pki/apiserver.crt"
key="$pki/apiserver.key"
record="$ROOT/var/lib/k8s-platform/apiserver-sans"
manifest="$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
aside="$ROOT/etc/kubernetes/k8s-platform-previous-apiserver"
parked="$ROOT/etc/kubernetes/k8s-platform-kube-apiserver.yaml"

# restore_previous_pair: a pki/ without the API server's pair gets the previous one back (the
# running API server keeps its certificate in memory; without the files its next start fails).
restore_previous_pair() {
  if { [ ! -f "$crt" ] || [ ! -f "$key" ]; } && [ -f "$aside/apiserver.crt" ] && [ -f "$aside/apiserver.key" ]; then
    log "putting the previous API server certificate and key back from $aside"
    cp -p "$aside/apiserver.crt" "$aside/apiserver.key" "$pki/" || die "could not copy the previous pair from $aside to $pki: copy it by hand before the API server restarts"
  fi
}

maintenance_lock
if [ ! -f "$manifest" ] && [ -f "$parked" ]; then
  log "moving back $manifest, parked by an earlier run that stopped part way"
  mv "$parked" "$manifest"
fi
if [ -f "$manifest" ]; then restore_previous_pair; fi
if [ ! -f "$crt" ] || [ ! -f "$manifest" ]; then
  die "$crt or $manifest is missing: $NODE_NAME is not an initialised control plane"
fi

# The certificate's names, one per line ("DNS:x, IP Address:y" in openssl's text).
present=$(openssl x509 -in "$crt" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' | sed -e 's/^ *//' -e 's/^DNS://' -e 's/^IP Address://')
missing=()
for san in $CERT_SANS; do
  grep -qxF -- "$san" <<<"$present" || missing+=("$san")
done
recorded_sans=""
[ ! -f "$record" ] || recorded_sans=$(cat "$record")
removed=()
for san in $recorded_sans; do
  case " $CERT_SANS " in *" $san "*) ;; *) ! grep -qxF -- "$san" <<<"$present" || removed+=("$san") ;; esac
done

uploaded="$ROOT/var/lib/k8s-platform/cluster-configuration.sha256"
upload_config() {
  log "storing the ClusterConfiguration (apiServer.certSANs: $CERT_SANS) in kube-system/kubeadm-config"
  kubeadm init phase upload-config kubeadm --config "$config"
  mkdir -p "$(dirname "$uploaded")"
  printf '%s\n' "$config_sum" >"$uploaded.tmp"
  mv "$uploaded.tmp" "$uploaded"
}
record_sans() {
  mkdir -p "$(dirname "$record")"
  printf '%s\n' "$CERT_SANS" >"$record.tmp"
  mv "$record.tmp" "$record"
}

config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf '%s\n' "${KUBEADM_CONFIG//@KUBERNETES_VERSION@/$(kubeadm version -o short)}" >"$config"
config_sum=$(sha256sum "$config" | cut -d' ' -f1)

if [ "${#missing[@]}" -eq 0 ] && [ "${#removed[@]}" -eq 0 ]; then
  log "the API server certificate of $NODE_NAME has every configured name; nothing to do"
  if [ "${UPLOAD_CONFIG:-false}" = true ] && { [ "$recorded_sans" != "$CERT_SANS" ] || [ "$(cat "$uploaded" 2>/dev/null || true)" != "$config_sum" ]; }; then
    upload_config
  fi
  record_sans
  exit 0
fi

log "regenerating the API server certificate of $NODE_NAME (names to add: ${missing[*]:-none}; to drop: ${removed[*]:-none})"
mkdir -p "$aside"
chmod 700 "$aside"
# kubeadm keeps an existing certificate, so the pair leaves pki/; its copy stays for a manual
# roll-back and comes back on any failure before kubeadm wrote the new one (kubeadm refusing the
# config, e.g. a name its ValidateCertSANs rejects).
cp -p "$crt" "$key" "$aside/"
trap 'rm -f "$config"; restore_previous_pair' EXIT
rm -f "$crt" "$key"
kubeadm init phase certs apiserver --config "$config"

log "restarting the kube-apiserver static pod on $NODE_NAME"
mv "$manifest" "$parked"
# The kubelet looks at the manifests every fileCheckFrequency (20 s): wait it out so the pod stops.
sleep "${MANIFEST_CHECK_SECONDS:-25}"
mv "$parked" "$manifest"
ready=false
for _ in $(seq 1 90); do
  if kubectl --kubeconfig "$ADMIN_KUBECONFIG" --server "https://$NODE_IP:6443" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; then
    ready=true
    break
  fi
  sleep 2
done
[ "$ready" = true ] || die "the API server on $NODE_NAME did not answer within 3 minutes after the restart; check 'crictl ps' and its logs (the previous certificate is in $aside)"

if [ "${UPLOAD_CONFIG:-false}" = true ]; then
  upload_config
fi
record_sans
log "the API server certificate of $NODE_NAME carries: $CERT_SANS"
