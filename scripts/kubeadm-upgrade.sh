#!/usr/bin/env bash
# Upgrades this node to K8S_VERSION the way kubernetes.io "Upgrading kubeadm clusters" (v1.35)
# orders it, one step per node, run by the program when kubernetes.version changes:
#   bootstrap control plane: kubeadm package -> `kubeadm upgrade plan` -> `kubeadm upgrade apply
#     vX.Y.Z --yes` (an etcd snapshot right before it where scheduled snapshots are on: the settings
#     control-plane-maintenance.sh keeps in /etc/k8s-platform/k8s-platform-etcd-backup.env, so a
#     change of kubernetes.etcdBackup never re-runs this step) -> kubelet and kubectl
#     packages -> kubelet restart
#   other control planes (after it, one at a time): kubeadm package -> `kubeadm upgrade node` ->
#     kubelet and kubectl packages -> kubelet restart
#   workers (after every control plane): drain -> kubeadm package -> `kubeadm upgrade node` ->
#     kubelet and kubectl packages -> kubelet restart -> uncordon
# Control planes are not drained: kubeadm replaces their static pods one at a time, and the
# program keeps workloads on workers.
#
# Idempotent and resumable: a node whose kubeadm and kubelet packages are at the target and that
# has no unfinished upgrade (the record $ROOT/var/lib/k8s-platform/upgrade.pending, written before
# the first change and removed after the last) does nothing; a node with one carries on from the
# start (each step is one kubeadm accepts again: apply/node to the version it runs; apply runs
# again even where this node's control plane moved already, see the bootstrap case below).
# Refused before anything changes: a target more than one minor above the installed kubeadm, or
# below it (kubeadm upgrades one minor at a time; downgrades are not this program's, see
# config/upgrade.ts).
# On failure: a worker whose drain failed is uncordoned (nothing was changed on it); a later
# failure leaves it cordoned, says so, and the next `pulumi up` resumes it.
#
# Parameters (environment):
#   NODE_NAME, UPGRADE_ROLE (bootstrap|control-plane|worker)
#   K8S_VERSION (1.36 or 1.36.1: a patch pins the packages), K8S_MINOR (1.36)
#   API_SERVER      (worker) https://<control-plane endpoint>, where kubectl drains and uncordons
#   DRAIN_TIMEOUT   (worker) how long evictions may take (default 10m)
# Secrets (standard input): ADMIN_KUBECONFIG (worker): a kubeconfig allowed to drain.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib-maintenance.sh
[ -n "${K8SP_LIB_MAINTENANCE_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib-maintenance.sh"

require_env NODE_NAME UPGRADE_ROLE K8S_VERSION K8S_MINOR
case "$UPGRADE_ROLE" in bootstrap | control-plane | worker) ;; *) die "unknown UPGRADE_ROLE '$UPGRADE_ROLE' (allowed: bootstrap, control-plane, worker)" ;; esac
FAMILY=$(os_family)
# kubeadm replaces the static pod manifests: not while a renewal or restore has one moved out.
maintenance_lock
PENDING="$ROOT/var/lib/k8s-platform/upgrade.pending"
LIBEXEC="$ROOT/usr/local/libexec/k8s-platform"

pinned() { [[ "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }
# pkg_version PKG: its upstream version ("1.36.1" of "1.36.1-1.1"), "" when not installed.
pkg_version() {
  local v
  v=$(installed_version "$FAMILY" "$1")
  printf '%s' "${v%%-*}"
}
minor_number() { # 1.36.1 -> 36
  local rest="${1#*.}"
  printf '%s' "${rest%%.*}"
}
at_target() {
  [ -n "$1" ] || return 1
  if pinned; then [ "$1" = "$K8S_VERSION" ]; else [[ "$1" == "$K8S_MINOR".* ]]; fi
}

# kubeadm's skew policy, checked against the kubeadm this node runs before anything changes.
check_skew() {
  local installed="$1" from to
  [ -n "$installed" ] || die "kubeadm is not installed on $NODE_NAME: it is prepared and joined before it is upgraded"
  from=$(minor_number "$installed")
  to=$(minor_number "$K8S_MINOR")
  if [ "$to" -lt "$from" ]; then
    die "$NODE_NAME runs kubeadm $installed; Kubernetes $K8S_VERSION would be a downgrade, which this program does not do (nothing was changed)"
  elif [ "$to" -gt $((from + 1)) ]; then
    die "$NODE_NAME runs kubeadm $installed; Kubernetes $K8S_VERSION skips a minor (kubeadm upgrades one minor at a time: 1.$((from + 1)) first; nothing was changed)"
  elif pinned && [ "$to" -eq "$from" ] && [ "${K8S_VERSION##*.}" -lt "${installed##*.}" ]; then
    die "$NODE_NAME runs kubeadm $installed; Kubernetes $K8S_VERSION would be a patch downgrade (nothing was changed)"
  fi
}

# The kube-apiserver image tag in this control plane's static pod manifest ("v1.36.1").
apiserver_tag() {
  sed -n 's#^ *image: .*/kube-apiserver:\(v[0-9.]*\).*#\1#p' "$ROOT/etc/kubernetes/manifests/kube-apiserver.yaml" 2>/dev/null | head -n 1
}

# upgrade_packages PKG...: the packages at the target version, held (apt) or excluded (dnf)
# again afterwards, as prepare-node.sh installed them; the repository of K8S_MINOR is
# prepare-node.sh's (it ran with this version before this step).
upgrade_packages() {
  local pkg todo=()
  for pkg in "$@"; do at_target "$(pkg_version "$pkg")" || todo+=("$pkg"); done
  [ "${#todo[@]}" -gt 0 ] || return 0
  log "upgrading ${todo[*]} to $K8S_VERSION"
  if [ "$FAMILY" = apt ]; then
    grep -qs "/v$K8S_MINOR/deb/" "$ROOT/etc/apt/sources.list.d/kubernetes.list" ||
      die "the Kubernetes package repository of $NODE_NAME is not v$K8S_MINOR's (prepare-node.sh sets it; it runs before this step)"
    local v="$K8S_MINOR.*" specs=()
    ! pinned || v="$K8S_VERSION-*"
    for pkg in "${todo[@]}"; do specs+=("$pkg=$v"); done
    apt_retry apt-mark unhold "${todo[@]}"
    apt_update
    apt_get install -y --allow-change-held-packages "${specs[@]}"
    apt_retry apt-mark hold "${todo[@]}"
  else
    # The repository's exclude= keeps them from any other dnf run; a pinned patch is installed
    # exactly (dnf install of another version of an installed package replaces it), a minor takes
    # its newest (`dnf install` of an installed name would do nothing). --refresh, as apt_update
    # above: dnf reuses cached metadata for metadata_expire (48 h, dnf.conf(5)), and prepare-node.sh
    # refreshes it only when the repository moved, so a patch published since would not be found.
    local specs=()
    if pinned; then
      for pkg in "${todo[@]}"; do specs+=("$pkg-$K8S_VERSION"); done
      dnf install -y -q --refresh "${specs[@]}" --disableexcludes=kubernetes
    else
      dnf upgrade -y -q --refresh "${todo[@]}" --disableexcludes=kubernetes
    fi
  fi
  for pkg in "${todo[@]}"; do
    at_target "$(pkg_version "$pkg")" || die "$pkg on $NODE_NAME is $(pkg_version "$pkg") after the install, not $K8S_VERSION (is it in the v$K8S_MINOR repository?)"
  done
}

restart_kubelet() {
  log "restarting the kubelet"
  systemctl daemon-reload
  systemctl restart kubelet
}

etcd_snapshot() {
  local settings="$ROOT/etc/k8s-platform/k8s-platform-etcd-backup.env"
  if [ ! -f "$settings" ]; then
    log "no scheduled etcd snapshots on $NODE_NAME (kubernetes.etcdBackup.enabled: false): no snapshot before the upgrade"
    return 0
  fi
  [ -x "$LIBEXEC/etcd-backup.sh" ] || die "$LIBEXEC/etcd-backup.sh is not installed on $NODE_NAME (control-plane-maintenance.sh installs it); nothing was upgraded"
  log "taking an etcd snapshot before the upgrade"
  # The timer's own parameters (NODE_NAME, DIRECTORY, RETENTION, NFS_TARGET), another reason.
  (
    set -a
    # shellcheck source=/dev/null
    . "$settings"
    set +a
    REASON="before-upgrade-to-$1" K8SP_ROOT="$ROOT" "$LIBEXEC/etcd-backup.sh" >/dev/null
  )
}

KUBECTL=()
worker_kubectl() {
  require_env API_SERVER
  read_secrets ADMIN_KUBECONFIG
  require_env ADMIN_KUBECONFIG
  mkdir -p "$ROOT/run/k8s-platform"
  KUBECONFIG_FILE=$(mktemp "$ROOT/run/k8s-platform/upgrade-kubeconfig.XXXXXX")
  chmod 0600 "$KUBECONFIG_FILE"
  trap 'rm -f "$KUBECONFIG_FILE"' EXIT
  printf '%s\n' "$ADMIN_KUBECONFIG" >"$KUBECONFIG_FILE"
  KUBECTL=(kubectl --kubeconfig "$KUBECONFIG_FILE" --server "$API_SERVER")
}

drain() {
  log "draining $NODE_NAME (up to ${DRAIN_TIMEOUT:-10m})"
  if ! "${KUBECTL[@]}" drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="${DRAIN_TIMEOUT:-10m}"; then
    if [ "$RESUMED" = true ]; then
      die "could not drain $NODE_NAME within ${DRAIN_TIMEOUT:-10m}; an earlier upgrade of it stopped part way, so it stays cordoned: fix what holds the eviction (a PodDisruptionBudget, pods that do not stop) and run pulumi up again"
    fi
    # Nothing has changed on the node yet: give it back to the scheduler.
    "${KUBECTL[@]}" uncordon "$NODE_NAME" >/dev/null || log "could not uncordon $NODE_NAME either: run 'kubectl uncordon $NODE_NAME'"
    die "could not drain $NODE_NAME within ${DRAIN_TIMEOUT:-10m} (a PodDisruptionBudget, or pods that do not stop); it is uncordoned and was not upgraded: fix what holds the eviction and run pulumi up again"
  fi
}

kubeadm_now=$(pkg_version kubeadm)
kubelet_now=$(pkg_version kubelet)
check_skew "$kubeadm_now"
if [ ! -f "$PENDING" ] && at_target "$kubeadm_now" && at_target "$kubelet_now" &&
  { [ "$UPGRADE_ROLE" = worker ] || [ "$(apiserver_tag)" = "v$kubeadm_now" ]; }; then
  log "$NODE_NAME runs Kubernetes $kubelet_now already: nothing to upgrade"
  exit 0
fi
RESUMED=false
if [ -f "$PENDING" ]; then
  RESUMED=true
  log "resuming the upgrade of $NODE_NAME to Kubernetes $(cat "$PENDING") that stopped part way"
fi
log "upgrading $NODE_NAME ($UPGRADE_ROLE) from kubeadm ${kubeadm_now}, kubelet ${kubelet_now:-none} to Kubernetes $K8S_VERSION"
mkdir -p "$(dirname "$PENDING")"
write_if_changed "$PENDING" 0644 echo "$K8S_VERSION"

if [ "$UPGRADE_ROLE" = worker ]; then
  worker_kubectl
  drain
  trap 'rc=$?; rm -f "$KUBECONFIG_FILE"; [ "$rc" -eq 0 ] || log "ERROR: the upgrade of $NODE_NAME stopped part way; it stays cordoned (kubectl get nodes: SchedulingDisabled) until pulumi up runs again and finishes it"' EXIT
fi

upgrade_packages kubeadm
target=$(kubeadm version -o short) || die "'kubeadm version' failed after the kubeadm upgrade"
case "$UPGRADE_ROLE" in
bootstrap)
  # apply runs again on a resumed upgrade even when this node's manifests are at the target: an
  # apply that failed after its control-plane phase (upload-config, kubelet-config, addon,
  # post-upgrade: cmd/kubeadm/app/cmd/upgrade/apply.go at v1.35.4 and v1.37.2) left the cluster's
  # ClusterConfiguration at the old version, which `kubeadm upgrade node` on every other node takes
  # its version from. Running it again at the same version is what kubeadm allows: its version
  # policy (phases/upgrade/policy.go EnforceVersionPolicies) refuses only a skipped minor, a
  # target above kubeadm's own, or more than one minor down, and the control-plane phase skips a
  # component whose manifest is already the one it would write (phases/upgrade/staticpods.go:
  # "Current and new manifests of %s are equal, skipping upgrade"); the phases after it write the
  # same objects again. (The ClusterConfiguration's kubernetesVersion alone would not say "done":
  # kubelet-config, addon and post-upgrade run after upload-config.)
  log "kubeadm upgrade plan $target"
  kubeadm upgrade plan "$target"
  if [ "$(apiserver_tag)" = "$target" ]; then
    # A snapshot now would not be the state before the upgrade, and would count against the
    # retention of the one taken before it.
    log "the control plane of $NODE_NAME runs $target already (an earlier apply got past its control-plane phase): no second snapshot; apply runs again to finish the cluster-wide phases"
  else
    # The plan checked the cluster's health; the snapshot is the state right before apply.
    etcd_snapshot "${target#v}"
  fi
  log "kubeadm upgrade apply $target"
  kubeadm upgrade apply "$target" --yes
  ;;
*)
  log "kubeadm upgrade node"
  kubeadm upgrade node
  ;;
esac
upgrade_packages kubelet kubectl
restart_kubelet
if [ "$UPGRADE_ROLE" = worker ]; then
  log "uncordoning $NODE_NAME"
  "${KUBECTL[@]}" uncordon "$NODE_NAME"
fi
rm -f "$PENDING"
log "$NODE_NAME runs Kubernetes ${target#v}"
