#!/usr/bin/env bash
# Joins this node to the cluster with `kubeadm join --config`. Discovery verifies the API server
# against the cluster CA's public-key hash (never skipping the check); the bootstrap token and,
# for control-plane nodes, the certificate key arrive on standard input.
# Completion is recorded (/var/lib/k8s-platform/join.done, naming the node) only after `kubeadm
# join` exits 0; a record naming another node stops the run (lib-membership.sh).
# kubeadm writes kubelet.conf (kubelet-start) before control-plane-join adds the etcd member, so
# a control plane with kubelet.conf but no record is half-joined: it is reset (which removes its
# etcd member) and joins again. A worker with kubelet.conf has finished its TLS bootstrap.
# The previous version of this script kept no record. A control plane it joined is recognised by
# the node-role.kubernetes.io/control-plane label on its Node: mark-control-plane is the last
# sub-phase of control-plane-join, after etcd (phase order: kubeadm join reference,
# kubeadm_join_phase_control-plane-join; /work/shared/REFERENCE.md), so the label plus
# admin.conf and kubeadm's four manifests (etcd.yaml last) means the join completed: it is
# recorded, never reset. Missing one of them, it is what the record would not trust either. When the API cannot
# be asked, nothing is reset either: the run stops.
# A member is never reset for a manifest that is not in place: the step waits for the maintenance
# lock (a renewal or restore restarting a static pod), refuses while a manifest is parked by one
# that did not finish, and refuses a control plane with etcd data (/var/lib/etcd/member) whose
# manifests are not all there, with or without its record (lib-maintenance.sh refuse_moved_member
# and the half-joined branch below).
#
# Parameters (environment):
#   NODE_NAME
#   KUBEADM_CONFIG       the rendered JoinConfiguration (YAML), with @BOOTSTRAP_TOKEN@ and
#                        @CERTIFICATE_KEY@ placeholders
#   KUBE_VIP_MANIFEST    kube-vip's static pod (mode "kube-vip", control planes; default: none),
#                        placed before the join, mounting admin.conf (a join writes no super-admin.conf)
# Standard input: BOOTSTRAP_TOKEN and, for control-plane nodes, CERTIFICATE_KEY.
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
control_plane=false role=worker
if grep -q '^controlPlane:' <<<"$KUBEADM_CONFIG"; then control_plane=true role=control-plane; fi
refuse_moved_member "$JOIN_DONE" "$role"

record_done() { write_record "$JOIN_DONE" "$NODE_NAME"; }
if trust_named_record "$JOIN_DONE" "$role" "$NODE_NAME"; then
  log "$NODE_NAME has already joined; leaving it alone"
  # A new kube-vip manifest (another image) still reaches a joined control plane.
  place_kube_vip admin
  exit 0
fi
if [ -f "$KUBELET_KUBECONFIG" ] && [ "$control_plane" = false ]; then
  log "$NODE_NAME has already joined (kubelet.conf); recording it"
  record_done
  exit 0
fi
read_secrets BOOTSTRAP_TOKEN CERTIFICATE_KEY
require_env BOOTSTRAP_TOKEN

if kubeadm_files_present control-plane; then
  # control-plane-prepare wrote admin.conf before kubelet-start; the labels come back as JSON.
  if ! labels=$(kubectl --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=30s get node "$NODE_NAME" -o 'jsonpath={.metadata.labels}' 2>&1); then
    case "$labels" in
    *"(NotFound)"*) labels="" ;;
    *) die "$NODE_NAME has kubelet.conf and an etcd manifest but no completed-join record, and the API server could not say whether it is a joined control plane: $labels. Nothing was reset; run again when the API server answers." ;;
    esac
  fi
  if [[ "$labels" == *'"node-role.kubernetes.io/control-plane":'* ]]; then
    log "$NODE_NAME is a joined control plane (its Node has the control-plane label, etcd.yaml exists) without a record; recording it, no reset"
    place_kube_vip admin
    record_done
    exit 0
  fi
fi
if [ -f "$KUBELET_KUBECONFIG" ]; then
  # A half-join ends before or with etcd.yaml (control-plane-join's etcd phase): etcd data with a
  # manifest missing is a member whose manifest was moved, whose data a reset would wipe.
  if [ "$control_plane" = true ] && [ -d "$ROOT/var/lib/etcd/member" ] && ! all_manifests; then
    die "$NODE_NAME has etcd data (/var/lib/etcd/member) and kubelet.conf but not all four manifests in /etc/kubernetes/manifests and no completed-join record: a member whose manifests were moved, not a half-joined node. Put them back and run again, or rebuild the member: remove the node from the stack (its kubeadm-reset.sh step removes its etcd member) and add it again. Nothing was reset."
  fi
  log "found a half-joined control plane (kubelet.conf, no completed join); resetting it (removes its etcd member) before joining again"
  kubeadm reset -f
elif [ -f "$ROOT/etc/kubernetes/pki/ca.crt" ] || [ -f "$ROOT/etc/kubernetes/bootstrap-kubelet.conf" ]; then
  log "found the remains of an unfinished kubeadm join; resetting before trying again"
  kubeadm reset -f
fi

config="$ROOT/etc/kubernetes/k8s-platform-join.yaml"
mkdir -p "$(dirname "$config")"
umask 077
# Placeholders are filled in by the shell, so no secret ever appears in a process's arguments.
text="${KUBEADM_CONFIG//@BOOTSTRAP_TOKEN@/$BOOTSTRAP_TOKEN}"
printf '%s\n' "${text//@CERTIFICATE_KEY@/${CERTIFICATE_KEY:-}}" >"$config"
trap 'rm -f "$config"' EXIT

# After any reset above (which empties manifests/): the kubelet starts kube-vip with the control
# plane's own pods, once the join's control-plane-prepare has written admin.conf.
[ "$control_plane" = false ] || place_kube_vip admin
log "kubeadm join on $NODE_NAME ($role): discovery, TLS bootstrap$([ "$control_plane" = false ] || echo ', certificates, etcd member, control-plane manifests')"
kubeadm join --config "$config"
record_done
log "$NODE_NAME joined"
