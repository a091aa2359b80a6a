#!/usr/bin/env bash
# Initialises the cluster on the first control-plane node with `kubeadm init --config`.
# The cluster CA comes from the program (placed before init, so joins can verify it) and the
# bootstrap token and certificate key are generated secrets; all three arrive on standard input.
# Completion is recorded (/var/lib/k8s-platform/init.done, naming the node) only after `kubeadm
# init` exits 0; a record naming another node stops the run (lib-membership.sh).
# kubeadm writes admin.conf in its kubeconfig phase, long before the cluster-side phases
# (upload-config, bootstrap-token, addon, ...), so a node with admin.conf but no record finishes
# the init: every phase again but preflight (they are idempotent). A node whose
# /var/lib/etcd/member exists is never reset. Nor is init re-run over a member whose manifests a
# maintenance step moved out: the step waits for the maintenance lock, refuses while a manifest
# is parked by one that did not finish, and a record next to etcd data whose manifests are not
# all there stops the run (lib-maintenance.sh refuse_moved_member).
# The previous version of this script kept no record. A node it initialised is recognised by the
# objects of init's last phases (phase order: kubeadm init reference, "init workflow";
# /work/shared/REFERENCE.md): ConfigMaps kube-system/kubeadm-config (upload-config) and
# kube-public/cluster-info (bootstrap-token), then the addon phase's Deployment kube-system/coredns
# and DaemonSet kube-system/kube-proxy. With all four, init completed: it is recorded, not re-run
# (re-running would rewrite the live static-pod manifests and the cluster's kubeadm objects).
#
# Parameters (environment):
#   NODE_NAME
#   KUBEADM_CONFIG       the rendered kubeadm config (YAML), with @BOOTSTRAP_TOKEN@,
#                        @CERTIFICATE_KEY@ and @KUBERNETES_VERSION@ placeholders
#   UPLOAD_CERTS         true when more control-plane nodes will join
#   KUBE_VIP_MANIFEST    kube-vip's static pod (mode "kube-vip"; default: none), placed before
#                        init mounting super-admin.conf, switched to admin.conf once init ended
# Standard input: CA_CRT, CA_KEY, BOOTSTRAP_TOKEN, CERTIFICATE_KEY as NAME=<base64> lines.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-kube-vip.sh
[ -n "${K8SP_LIB_KUBE_VIP_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-kube-vip.sh"
# shellcheck source=scripts/lib-membership.sh
[ -n "${K8SP_LIB_MEMBERSHIP_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-membership.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

require_env NODE_NAME KUBEADM_CONFIG
# Not while a renewal, snapshot or restore has a manifest moved out (it waits for them); one that
# stopped part way left its manifests parked: this node is a member, refused as it is.
maintenance_lock
refuse_moved_member "$INIT_DONE" control-plane

# wait_for_endpoint: after kube-vip's pod was replaced, the VIP moves to a new holder (its lease
# lasts 15 s): the API must answer through admin.conf (the endpoint) again before the next step
# uses it. Bounded: 36 tries, 5 s apart.
wait_for_endpoint() {
  local try
  for try in $(seq 1 36); do
    kubectl --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=5s get --raw /readyz >/dev/null 2>&1 && return 0
    [ "$try" = 1 ] && log "waiting for the API server to answer at the control-plane endpoint (kube-vip's VIP) again"
    sleep 5
  done
  die "the API server does not answer through $ADMIN_KUBECONFIG (the control-plane endpoint, kube-vip's VIP) after 3 minutes: check 'crictl ps --name kube-vip' and 'crictl logs' of it on the control planes, and that the VIP is free on the network"
}

record_done() { write_record "$INIT_DONE" "$NODE_NAME"; }
# kube_vip_container: the running kube-vip container's id (none without crictl).
kube_vip_container() {
  command -v crictl >/dev/null 2>&1 || return 0
  crictl ps -q --state running --name '^kube-vip$' 2>/dev/null | head -n 1
}
# kube_vip_after_init: kube-vip reads admin.conf from now on. A changed manifest is a new static
# pod for the kubelet (its UID hashes the pod: pkg/kubelet/config/common.go, applyDefaults), so
# the old container stops and a new one starts; only then is the VIP's gap ahead of us or behind
# us, and the next steps reach the API through the VIP again once it answers. Bounded: 36 tries,
# 5 s apart, for the new container.
kube_vip_after_init() {
  local before try id
  before=$(kube_vip_container)
  place_kube_vip admin
  [ "$WRITTEN" = 1 ] || return 0
  if command -v crictl >/dev/null 2>&1; then
    for try in $(seq 1 36); do
      id=$(kube_vip_container)
      if [ -n "$id" ] && [ "$id" != "$before" ]; then break; fi
      [ "$try" -lt 36 ] || die "the kubelet did not start kube-vip's pod with admin.conf within 3 minutes: check 'crictl ps -a --name kube-vip', its logs and 'journalctl -u kubelet' on $NODE_NAME"
      sleep 5
    done
  fi
  wait_for_endpoint
}
if trust_named_record "$INIT_DONE" control-plane "$NODE_NAME"; then
  log "$NODE_NAME is already initialised; leaving it alone"
  # A new kube-vip manifest (another image) still reaches an initialised node.
  kube_vip_after_init
  exit 0
fi
# init_completed: kubeadm's files are all there (what the record would be trusted on), admin.conf
# answers and every object of init's last phases exists (see above).
init_completed() {
  local object
  kubeadm_files_present control-plane || return 1
  for object in "configmap kubeadm-config -n kube-system" "configmap cluster-info -n kube-public" \
    "deployment coredns -n kube-system" "daemonset kube-proxy -n kube-system"; do
    # shellcheck disable=SC2086 # the words of $object are separate arguments
    kubectl --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=30s get $object -o name >/dev/null 2>&1 || return 1
  done
}
if init_completed; then
  log "$NODE_NAME was initialised without a record (cluster-info, kubeadm-config, coredns and kube-proxy exist); recording it, kubeadm init is not run again"
  kube_vip_after_init
  record_done
  exit 0
fi
read_secrets CA_CRT CA_KEY BOOTSTRAP_TOKEN CERTIFICATE_KEY
require_env CA_CRT CA_KEY BOOTSTRAP_TOKEN CERTIFICATE_KEY

finish=false
# An unfinished init: admin.conf (kubeconfig phase) or one of kubeadm's manifests (etcd and
# control-plane phases) exists. Other files in manifests/ (.kubelet-keep) are not kubeadm's.
if [ -f "$ADMIN_KUBECONFIG" ] || any_manifest; then
  if [ ! -f "$ADMIN_KUBECONFIG" ] && [ -d "$ROOT/var/lib/etcd/member" ]; then
    die "$NODE_NAME has etcd data (/var/lib/etcd/member) and static pod manifests but no $ADMIN_KUBECONFIG: it may be a working control plane whose admin.conf was moved. Check 'crictl ps' and the etcd data; restore admin.conf (kubeadm init phase kubeconfig admin) and run again. Nothing was reset."
  fi
  log "found an unfinished kubeadm init; finishing its remaining phases"
  finish=true
fi

pki="$ROOT/etc/kubernetes/pki"
mkdir -p "$pki"
if [ -f "$pki/ca.crt" ] && ! printf '%s\n' "$CA_CRT" | cmp -s - "$pki/ca.crt"; then
  die "$pki/ca.crt holds a different CA than this stack's; run 'kubeadm reset' on $NODE_NAME if it is stale"
fi
# printf is a builtin: the key never appears in a process's arguments.
write_if_changed "$pki/ca.crt" 0644 printf '%s\n' "$CA_CRT"
write_if_changed "$pki/ca.key" 0600 printf '%s\n' "$CA_KEY"

kubeadm_version=$(kubeadm version -o short)
config="$ROOT/etc/kubernetes/k8s-platform-init.yaml"
umask 077
# Placeholders are filled in by the shell, so no secret ever appears in a process's arguments.
text="${KUBEADM_CONFIG//@BOOTSTRAP_TOKEN@/$BOOTSTRAP_TOKEN}"
text="${text//@CERTIFICATE_KEY@/$CERTIFICATE_KEY}"
printf '%s\n' "${text//@KUBERNETES_VERSION@/$kubeadm_version}" >"$config"
# The file holds the bootstrap token: remove it whatever happens.
trap 'rm -f "$config"' EXIT

# Its standard output is kept in Pulumi state: no token or certificate key printed.
args=(init --config "$config" --skip-token-print --skip-certificate-key-print)
[ "${UPLOAD_CERTS:-false}" != true ] || args+=(--upload-certs)
# Finishing: preflight would refuse the existing manifests and etcd data; the other phases
# reuse what is there (certificates, kubeconfigs) and redo the rest.
[ "$finish" = false ] || args+=(--skip-phases=preflight)
# kube-vip announces the VIP (the endpoint init waits on) as soon as the local API server answers.
place_kube_vip super-admin
log "kubeadm init on $NODE_NAME (Kubernetes $kubeadm_version): preflight, certificates, kubeconfigs, etcd and control-plane manifests, then up to 4 minutes waiting for the API server, then the cluster-side phases"
kubeadm "${args[@]}"
kube_vip_after_init
record_done
log "$NODE_NAME initialised"
