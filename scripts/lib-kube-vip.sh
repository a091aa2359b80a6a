#!/usr/bin/env bash
# kube-vip's static pod (kubernetes.controlPlaneEndpoint mode "kube-vip"), for the scripts that
# place it: kubeadm-init.sh and kubeadm-join.sh. A library of its own, not lib.sh: every remote
# command carries lib.sh, so an edit there re-runs every step on every host; this file is sent
# only with the scripts that source it (components/render/script.ts reads the source line below
# lib.sh's in each script). Needs lib.sh (ROOT, log, write_if_changed) loaded first.
#
# The manifest is rendered by the program (components/render/kubeVip.ts) with @KUBE_VIP_KUBECONFIG@
# where the kubeconfig it mounts goes. kubeadm's preflight checks only its own four manifests, so
# this one may be in place before `kubeadm init`/`join`; `kubeadm reset` removes it with the rest
# of manifests/.

# shellcheck disable=SC2034 # read by the scripts that source this file
K8SP_LIB_KUBE_VIP_LOADED=1
KUBE_VIP_MANIFEST_FILE="$ROOT/etc/kubernetes/manifests/kube-vip.yaml"

# place_kube_vip super-admin|admin: writes $KUBE_VIP_MANIFEST (when the stack runs kube-vip)
# mounting /etc/kubernetes/<that>.conf; WRITTEN=1 when the file changed.
#   super-admin: the bootstrap node until `kubeadm init` ends. kubeadm >= 1.29 binds admin.conf's
#     group to cluster-admin late in init, so kube-vip reads super-admin.conf until then
#     (github.com/kube-vip/kube-vip issue #684); super-admin.conf exists only where init ran.
#   admin: every control plane after init, and joining ones: a join writes admin.conf
#     (control-plane-prepare, before the kubelet starts static pods) and never super-admin.conf.
place_kube_vip() {
  WRITTEN=0
  [ -n "${KUBE_VIP_MANIFEST:-}" ] || return 0
  local kubeconfig="/etc/kubernetes/$1.conf"
  write_if_changed "$KUBE_VIP_MANIFEST_FILE" 0600 printf '%s\n' "${KUBE_VIP_MANIFEST//@KUBE_VIP_KUBECONFIG@/$kubeconfig}"
  [ "$WRITTEN" = 0 ] || log "kube-vip's static pod mounts $kubeconfig"
}
