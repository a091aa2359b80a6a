#!/usr/bin/env bats
# kubeadm-upgrade.sh for real on prepared and joined nodes (issue 16 item 1): real apt (Ubuntu) and
# the dnf stub with the real rpm (Rocky) move the stub packages from the v1.35 repository (1.35.2)
# to v1.36's (1.36.0, 1.36.1), the stub kubeadm's
# `upgrade plan|apply|node` follow kubeadm's phases and refusals (stubs/kubeadm), kubectl drains
# and uncordons in the shared stub API server.
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

# A control plane cp1 and a worker w1 at 1.35.2, as the program's first up leaves them.
# Their containerd is Docker's containerd.io 2.2.0, new enough for 1.36 as well (1.36 needs 2.2.0+,
# config/versions.ts CONTAINERD_MINIMUMS; Debian's 2.1 would be refused by the 1.36 preparation, as
# the README's "Upgrading Kubernetes" says: install a supported containerd before a minor upgrade).
# cluster_at_1_35 [rocky [VERSION]]: on Rocky, containerd.io is Docker's 1.7.28 (version-locked by
# prepare-node), new enough for 1.35 only: the tests upgrade it as the README says (rocky_containerd_2_2).
cluster_at_1_35() {
  local node os="${1:-ubuntu}" version="${2:-1.35.2}"
  new_node cp1 "$os"
  new_node w1 "$os"
  if [ "$os" = ubuntu ]; then
    for node in cp1 w1; do
      cp "$E2E_REPOS"/containerd-2.2/containerd.io_2.2.0-1_amd64.deb "$(node_put "$node" /tmp/containerd.io.deb)"
      in_node "$node" dpkg -i /tmp/containerd.io.deb >/dev/null
    done
  fi
  prepare_node cp1 control-plane 1.35 "$version" >/dev/null 2>&1
  prepare_node w1 worker 1.35 "$version" >/dev/null 2>&1
  kubeadm_init cp1 false >/dev/null 2>&1
  kubeadm_join w1 worker >/dev/null 2>&1
}
upgrade() { # node role version [VAR=value...]
  local node="$1" role="$2" version="$3"
  shift 3
  secret_stdin "ADMIN_KUBECONFIG=apiVersion: v1
kind: Config" | node_script "$node" kubeadm-upgrade NODE_NAME="$node" UPGRADE_ROLE="$role" K8S_VERSION="$version" \
    K8S_MINOR="$(cut -d. -f1-2 <<<"$version")" API_SERVER=https://10.0.0.10:6443 "$@"
}
pkg() { in_node "$1" dpkg-query -W -f='${Version}' "$2"; }
image() { sed -n 's#^ *image: ##p' "$(node_file "$1" "/etc/kubernetes/manifests/$2.yaml")"; }
held() { in_node "$1" apt-mark showhold | sort | paste -sd' '; }
rpmv() { in_node "$1" rpm -q --qf '%{VERSION}-%{RELEASE}' "$2"; }
locks() { grep -v -e '^#' -e '^$' "$(node_file "$1" /etc/dnf/plugins/versionlock.list)" | paste -sd' '; }
# The README's procedure before a minor whose containerd minimum is above a Rocky node's
# containerd.io: the lock lifted, Docker's newer containerd.io, locked again. (Docker's repository
# here: docker-rpm-2.2/, the same repository once 2.2.0 was published.)
rocky_containerd_2_2() {
  sed -i "s#/docker-rpm\$#/docker-rpm-2.2#" "$(node_put "$1" /etc/yum.repos.d/docker-ce.repo)"
  in_node "$1" bash -c 'dnf versionlock delete containerd.io && dnf -y upgrade containerd.io && dnf versionlock add containerd.io'
}
fail_once() { echo "$2" >"$(node_put "$1" /var/lib/k8sp-stub/fail-at)"; }
calls_since() { stub_calls "$1" | tail -n +"$(($2 + 1))"; }

@test "upgrade 1.35.2 -> 1.36.1: the bootstrap control plane (plan, apply), then the worker (drained, kubeadm upgrade node, uncordoned); a second run does nothing" {
  cluster_at_1_35
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.35.2 ]
  # prepare-node with the new version: the repository moves, the installed packages stay.
  run prepare_node cp1 control-plane 1.36 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.35.2 is installed and the stack asks for 1.36.1: left to the upgrade step"* ]]
  grep -q '/v1.36/deb/' "$(node_file cp1 /etc/apt/sources.list.d/kubernetes.list)"
  [ "$(pkg cp1 kubeadm)" = 1.35.2-1.1 ]

  # Scheduled snapshots are on: the maintenance step left its settings and etcd-backup.sh (here one
  # that records how it is called and answers as it does; the real one: maintenance.bats).
  printf 'NODE_NAME=cp1\nDIRECTORY=/var/backups/etcd\nRETENTION=3\nNFS_TARGET=\n' >"$(node_put cp1 /etc/k8s-platform/k8s-platform-etcd-backup.env)"
  printf '#!/bin/sh\necho "etcd-backup.sh NODE_NAME=$NODE_NAME DIRECTORY=$DIRECTORY RETENTION=$RETENTION REASON=$REASON" >>/var/lib/k8sp-stub/calls\necho "$DIRECTORY/etcd-cp1-x-$REASON.db"\n' \
    >"$(node_put cp1 /usr/local/libexec/k8s-platform/etcd-backup.sh)"
  chmod 0755 "$(node_put cp1 /usr/local/libexec/k8s-platform/etcd-backup.sh)"
  before=$(stub_calls cp1 | wc -l)
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(pkg cp1 kubeadm)" = 1.36.1-1.1 ] && [ "$(pkg cp1 kubelet)" = 1.36.1-1.1 ] && [ "$(pkg cp1 kubectl)" = 1.36.1-1.1 ]
  [ "$(held cp1)" = "containerd.io kubeadm kubectl kubelet" ]
  for c in kube-apiserver kube-controller-manager kube-scheduler; do [ "$(image cp1 $c)" = "registry.k8s.io/$c:v1.36.1" ]; done
  [ "$(image cp1 etcd)" = registry.k8s.io/etcd:3.6.6-0 ] || { cat "$(node_file cp1 /etc/kubernetes/manifests/etcd.yaml)"; false; }
  [ "$(cat "$(cluster)/version")" = v1.36.1 ]
  # kubeadm's order: plan, the snapshot, apply (with --yes: nothing answers its question), then the kubelet restarted.
  calls_since cp1 "$before" | grep -E '^etcd-backup|^kubeadm upgrade|^systemctl (daemon-reload|restart kubelet)' >"$BATS_TEST_TMPDIR/order"
  diff -u <(printf '%s\n' "kubeadm upgrade plan v1.36.1" "etcd-backup.sh NODE_NAME=cp1 DIRECTORY=/var/backups/etcd RETENTION=3 REASON=before-upgrade-to-1.36.1" "kubeadm upgrade apply v1.36.1 --yes" "systemctl daemon-reload" "systemctl restart kubelet") "$BATS_TEST_TMPDIR/order"
  [ ! -f "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)" ]

  prepare_node w1 worker 1.36 1.36.1 >/dev/null 2>&1
  before=$(stub_calls w1 | wc -l)
  run upgrade w1 worker 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(pkg w1 kubelet)" = 1.36.1-1.1 ] && [ "$(pkg w1 kubeadm)" = 1.36.1-1.1 ]
  grep -q '^# kubelet-config of the cluster at v1.36.1$' "$(node_file w1 /var/lib/kubelet/config.yaml)"
  [ ! -f "$(cluster)/nodes/w1.cordoned" ]
  calls_since w1 "$before" | grep -E '^kubectl .*(drain|uncordon)|^kubeadm upgrade|^systemctl restart kubelet' >"$BATS_TEST_TMPDIR/order"
  # kubectl reaches the API server through the endpoint, with the kubeconfig from standard input.
  grep -qE '^kubectl --kubeconfig /run/k8s-platform/upgrade-kubeconfig\.[A-Za-z0-9]+ --server https://10\.0\.0\.10:6443 drain w1 --ignore-daemonsets --delete-emptydir-data --timeout=10m$' "$BATS_TEST_TMPDIR/order"
  [ "$(sed 's/ --kubeconfig [^ ]* --server [^ ]*//' "$BATS_TEST_TMPDIR/order" | cut -d' ' -f1-3 | paste -sd'|')" = "kubectl drain w1|kubeadm upgrade node|systemctl restart kubelet|kubectl uncordon w1" ] ||
    { cat "$BATS_TEST_TMPDIR/order"; false; }
  # The admin kubeconfig came on standard input and is gone.
  [ -z "$(ls "$(node_file w1 /run/k8s-platform)" 2>/dev/null | grep upgrade-kubeconfig || true)" ]

  # Again (the step re-runs on a script edit): nothing happens on either node.
  for n in cp1:bootstrap w1:worker; do
    before=$(stub_calls "${n%%:*}" | wc -l)
    run upgrade "${n%%:*}" "${n#*:}" 1.36.1
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs Kubernetes 1.36.1 already: nothing to upgrade"* ]]
    [ -z "$(calls_since "${n%%:*}" "$before" | grep -E '^(kubeadm upgrade|kubectl|apt|systemctl restart)' || true)" ]
  done
}

@test "a rollout that fails part way resumes on the next run: apply failed on the control plane; kubelet-config failed on a drained worker (left cordoned, said so)" {
  cluster_at_1_35
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  fail_once cp1 upgrade/control-plane
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"couldn't upgrade control plane"* ]]
  # kubeadm moved, the kubelet did not; the unfinished upgrade is recorded.
  [ "$(pkg cp1 kubeadm)" = 1.36.1-1.1 ] && [ "$(pkg cp1 kubelet)" = 1.35.2-1.1 ]
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.35.2 ]
  [ "$(cat "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)")" = 1.36.1 ]
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"resuming the upgrade of cp1 to Kubernetes 1.36.1 that stopped part way"* ]]
  [ "$(pkg cp1 kubelet)" = 1.36.1-1.1 ] && [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.36.1 ]
  [ ! -f "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)" ]

  prepare_node w1 worker 1.36 1.36.1 >/dev/null 2>&1
  fail_once w1 upgrade/kubelet-config
  run upgrade w1 worker 1.36.1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the upgrade of w1 stopped part way; it stays cordoned"* ]]
  [ -f "$(cluster)/nodes/w1.cordoned" ]
  [ "$(pkg w1 kubelet)" = 1.35.2-1.1 ]
  run upgrade w1 worker 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -f "$(cluster)/nodes/w1.cordoned" ] && [ "$(pkg w1 kubelet)" = 1.36.1-1.1 ]
}

@test "an apply that failed after its control-plane phase (upload-config) is run again on resume: the cluster's ClusterConfiguration moves, so the other nodes follow" {
  cluster_at_1_35
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  fail_once cp1 upgrade/upload-config
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -ne 0 ]
  # The local control plane moved; the cluster's ClusterConfiguration (what `kubeadm upgrade node`
  # takes its version from) did not.
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.36.1 ]
  [ "$(cat "$(cluster)/version")" = v1.35.2 ]
  before=$(stub_calls cp1 | wc -l)
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"resuming the upgrade of cp1 to Kubernetes 1.36.1 that stopped part way"* ]]
  calls_since cp1 "$before" | grep -qx 'kubeadm upgrade apply v1.36.1 --yes'
  [ "$(cat "$(cluster)/version")" = v1.36.1 ]
  [ "$(pkg cp1 kubelet)" = 1.36.1-1.1 ]
  [ ! -f "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)" ]
  # The worker's `kubeadm upgrade node` brings it to the cluster's version: 1.36.1.
  prepare_node w1 worker 1.36 1.36.1 >/dev/null 2>&1
  run upgrade w1 worker 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q '^# kubelet-config of the cluster at v1.36.1$' "$(node_file w1 /var/lib/kubelet/config.yaml)"
}

@test "a drain that fails uncordons the worker and changes nothing on it" {
  cluster_at_1_35
  prepare_node w1 worker 1.36 1.36.1 >/dev/null 2>&1
  # A pod that never terminates: the kubelet is gone (NotReady), evictions time out.
  printf 'NotReady\n' >"$(cluster)/nodes/w1"
  mkdir -p "$(cluster)/pods/w1" && touch "$(cluster)/pods/w1/default_web-1"
  run upgrade w1 worker 1.36.1 DRAIN_TIMEOUT=1s
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not drain w1 within 1s"*"it is uncordoned and was not upgraded"* ]]
  [ ! -f "$(cluster)/nodes/w1.cordoned" ]
  [ "$(pkg w1 kubeadm)" = 1.35.2-1.1 ]
}

@test "a worker removed part way through its upgrade (kubeadm-reset.sh) and added back is not a resumed upgrade: a failed drain uncordons it" {
  cluster_at_1_35
  prepare_node w1 worker 1.36 1.36.1 >/dev/null 2>&1
  fail_once w1 upgrade/kubelet-config
  run upgrade w1 worker 1.36.1
  [ "$status" -ne 0 ]
  [ -f "$(node_file w1 /var/lib/k8s-platform/upgrade.pending)" ]
  # Removed from the stack: drained and deleted by the control plane, then reset.
  rm -f "$(cluster)/nodes/w1" "$(cluster)/nodes/w1".*
  run node_script w1 kubeadm-reset NODE_NAME=w1
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file w1 /var/lib/k8s-platform/upgrade.pending)" ]
  # Added back, then an upgrade whose drain fails (a pod that never terminates).
  kubeadm_join w1 worker >/dev/null 2>&1
  printf 'NotReady\n' >"$(cluster)/nodes/w1"
  mkdir -p "$(cluster)/pods/w1" && touch "$(cluster)/pods/w1/default_web-1"
  run upgrade w1 worker 1.36.1 DRAIN_TIMEOUT=1s
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" != *"resuming"* ]]
  [[ "$output" == *"it is uncordoned and was not upgraded"* ]]
  [ ! -f "$(cluster)/nodes/w1.cordoned" ]
}

@test "the upgrade waits for a maintenance step that holds the lock (a renewal); its own etcd snapshot (same lock) does not wait for it" {
  cluster_at_1_35
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  printf 'NODE_NAME=cp1\nDIRECTORY=/var/backups/etcd\nRETENTION=3\nNFS_TARGET=\n' >"$(node_put cp1 /etc/k8s-platform/k8s-platform-etcd-backup.env)"
  # etcd-backup.sh takes the lock as the installed one does (lib.sh and lib-maintenance.sh next to it, here the repository's).
  printf '#!/bin/bash\nset -euo pipefail\n. /opt/k8sp-scripts/lib.sh\n. /opt/k8sp-scripts/lib-maintenance.sh\nMAINTENANCE_LOCK_WAIT=5 maintenance_lock\necho "etcd-backup.sh REASON=$REASON with the lock" >>/var/lib/k8sp-stub/calls\necho "$DIRECTORY/etcd-cp1-x-$REASON.db"\n' \
    >"$(node_put cp1 /usr/local/libexec/k8s-platform/etcd-backup.sh)"
  chmod 0755 "$(node_put cp1 /usr/local/libexec/k8s-platform/etcd-backup.sh)"
  # Nothing of the upgrade (packages, manifests) happens while the other step holds the lock.
  run with_maintenance_lock cp1 3 "/var/lib/dpkg/status /etc/kubernetes/manifests/kube-apiserver.yaml" \
    /usr/bin/env NODE_NAME=cp1 UPGRADE_ROLE=bootstrap K8S_VERSION=1.36.1 K8S_MINOR=1.36 bash /opt/k8sp-scripts/kubeadm-upgrade.sh
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.36.1 ]
  stub_calls cp1 | grep -q '^etcd-backup.sh REASON=before-upgrade-to-1.36.1 with the lock$'
}

@test "refused before anything changes: a skipped minor and a downgrade (the script); kubeadm itself refuses a target above its minor and a NotReady control plane" {
  cluster_at_1_35
  run upgrade cp1 bootstrap 1.37.0
  [ "$status" -ne 0 ]
  [[ "$output" == *"cp1 runs kubeadm 1.35.2; Kubernetes 1.37.0 skips a minor (kubeadm upgrades one minor at a time: 1.36 first; nothing was changed)"* ]]
  run upgrade cp1 bootstrap 1.34.5
  [ "$status" -ne 0 ]
  [[ "$output" == *"would be a downgrade"* ]]
  [ "$(pkg cp1 kubeadm)" = 1.35.2-1.1 ]
  [ ! -f "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)" ]
  # The stub's own policy (cmd/kubeadm/app/phases/upgrade/policy.go).
  run in_node cp1 kubeadm upgrade apply v1.36.1 --yes
  [ "$status" -ne 0 ]
  [[ "$output" == *'Specified version to upgrade to "v1.36.1" is at least one minor release higher than the kubeadm minor release (36 > 35). Such an upgrade is not supported'* ]]
  run in_node cp1 kubeadm upgrade apply v1.35.2
  [ "$status" -ne 0 ]
  [[ "$output" == *"won't proceed; the user didn't answer (Y|n) in order to continue"* ]]
  printf 'NotReady\n' >"$(cluster)/nodes/cp1"
  run in_node cp1 kubeadm upgrade plan
  [ "$status" -ne 0 ]
  [[ "$output" == *"[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp1]"* ]]
}

@test "rocky: containerd.io locked below 1.36's minimum is refused; the README's procedure moves it and its versionlock; 1.35.2 -> 1.36.0 on a control plane and a worker with dnf (exact versions, --disableexcludes=kubernetes); exclude= holds after; a second run does nothing; a patch published since the metadata was cached is found (--refresh)" {
  cluster_at_1_35 rocky
  [ "$(rpmv cp1 kubeadm)" = 1.35.2-150500.1.1 ] && [ "$(rpmv w1 kubelet)" = 1.35.2-150500.1.1 ]
  # kubelet's requirement came with it, as dnf resolves it.
  [ "$(rpmv w1 kubernetes-cni)" = 1.7.1-150500.1.1 ]
  [ "$(locks cp1)" = 'containerd.io-0:1.7.28-3.1.el9.*' ]

  # The 1.36 preparation refuses containerd 1.7.28 (1.36 needs 2.2.0+); nothing was upgraded.
  run prepare_node cp1 control-plane 1.36 1.36.0
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"containerd 1.7.28 is too old for Kubernetes 1.36"* ]]
  [ "$(rpmv cp1 kubeadm)" = 1.35.2-150500.1.1 ]
  # While locked, Docker's newer containerd.io is not taken even when asked for.
  sed -i "s#/docker-rpm\$#/docker-rpm-2.2#" "$(node_put cp1 /etc/yum.repos.d/docker-ce.repo)"
  run in_node cp1 dnf -y upgrade containerd.io
  [ "$status" -eq 0 ]
  [[ "$output" == *"Nothing to do."* ]]
  [ "$(rpmv cp1 containerd.io)" = 1.7.28-3.1.el9 ]
  for node in cp1 w1; do
    run rocky_containerd_2_2 "$node"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Deleting versionlock for: containerd.io-0:1.7.28-3.1.el9.*"* ]]
    [[ "$output" == *"Adding versionlock on: containerd.io-0:2.2.0-1.el9.*"* ]]
    [ "$(rpmv "$node" containerd.io)" = 2.2.0-1.el9 ]
    [ "$(locks "$node")" = 'containerd.io-0:2.2.0-1.el9.*' ]
  done

  # prepare-node with the new version: the repository moves (its exclude= stays), the packages stay.
  run prepare_node cp1 control-plane 1.36 1.36.0
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.35.2 is installed and the stack asks for 1.36.0: left to the upgrade step"* ]]
  [[ "$output" == *"containerd-version=2.2.0"* ]]
  repo=$(node_file cp1 /etc/yum.repos.d/kubernetes.repo)
  grep -qx "baseurl=$E2E_REPO_BASE/v1.36/rpm/" "$repo"
  grep -qx 'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni' "$repo"
  [ "$(rpmv cp1 kubeadm)" = 1.35.2-150500.1.1 ]

  before=$(stub_calls cp1 | wc -l)
  run upgrade cp1 bootstrap 1.36.0
  echo "$output"
  [ "$status" -eq 0 ]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv cp1 $p)" = 1.36.0-150500.1.1 ]; done
  for c in kube-apiserver kube-controller-manager kube-scheduler; do [ "$(image cp1 $c)" = "registry.k8s.io/$c:v1.36.0" ]; done
  [ "$(cat "$(cluster)/version")" = v1.36.0 ]
  # kubeadm's order, the packages by exact version from the excluded repository.
  calls_since cp1 "$before" | grep -E '^dnf|^kubeadm upgrade|^systemctl restart kubelet' >"$BATS_TEST_TMPDIR/order"
  diff -u <(printf '%s\n' "dnf install -y -q --refresh kubeadm-1.36.0 --disableexcludes=kubernetes" "kubeadm upgrade plan v1.36.0" "kubeadm upgrade apply v1.36.0 --yes" \
    "dnf install -y -q --refresh kubelet-1.36.0 kubectl-1.36.0 --disableexcludes=kubernetes" "systemctl restart kubelet") "$BATS_TEST_TMPDIR/order"
  [ ! -f "$(node_file cp1 /var/lib/k8s-platform/upgrade.pending)" ]

  prepare_node w1 worker 1.36 1.36.0 >/dev/null 2>&1
  run upgrade w1 worker 1.36.0
  echo "$output"
  [ "$status" -eq 0 ]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv w1 $p)" = 1.36.0-150500.1.1 ]; done
  grep -q '^# kubelet-config of the cluster at v1.36.0$' "$(node_file w1 /var/lib/kubelet/config.yaml)"
  [ ! -f "$(cluster)/nodes/w1.cordoned" ]

  # The holds after the upgrade: a plain `dnf upgrade` leaves the Kubernetes packages at 1.36.0
  # although v1.36's repository has 1.36.1 (exclude=), and containerd.io at its lock.
  run in_node w1 dnf -y upgrade
  echo "$output"
  [ "$status" -eq 0 ]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv w1 $p)" = 1.36.0-150500.1.1 ]; done
  [ "$(rpmv w1 containerd.io)" = 2.2.0-1.el9 ] && [ "$(locks w1)" = 'containerd.io-0:2.2.0-1.el9.*' ]
  run in_node w1 dnf -y install kubeadm-1.36.1
  [ "$status" -ne 0 ]
  [[ "$output" == *"All matches were filtered out by exclude filtering for argument: kubeadm-1.36.1"* ]]

  # Again: nothing happens on either node.
  for n in cp1:bootstrap w1:worker; do
    before=$(stub_calls "${n%%:*}" | wc -l)
    run upgrade "${n%%:*}" "${n#*:}" 1.36.0
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs Kubernetes 1.36.0 already: nothing to upgrade"* ]]
    [ -z "$(calls_since "${n%%:*}" "$before" | grep -E '^(kubeadm upgrade|kubectl|dnf|rpm|systemctl restart)' || true)" ]
  done

  # A patch published after the node last fetched v1.36's metadata (its cache as it was before
  # 1.36.1; dnf uses a cache until metadata_expire, 48 h): the upgrade refreshes it, as apt's path
  # updates its lists, and finds 1.36.1. (prepare-node refreshes only when the repository moves.)
  sed -i '/ 1\.36\.1 /d' "$BATS_TEST_TMPDIR"/nodes/cp1/upper/var/cache/dnf/kubernetes-*/primary.list
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  run upgrade cp1 bootstrap 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv cp1 $p)" = 1.36.1-150500.1.1 ]; done
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.36.1 ]
}

@test "rocky: a minor without a patch (1.35 -> 1.36) takes v1.36's newest with dnf upgrade; a failed apply resumes" {
  cluster_at_1_35 rocky 1.35
  [ "$(rpmv cp1 kubeadm)" = 1.35.2-150500.1.1 ]
  rocky_containerd_2_2 cp1 >/dev/null
  prepare_node cp1 control-plane 1.36 1.36 >/dev/null 2>&1
  fail_once cp1 upgrade/control-plane
  run upgrade cp1 bootstrap 1.36
  [ "$status" -ne 0 ]
  [ "$(rpmv cp1 kubeadm)" = 1.36.1-150500.1.1 ] && [ "$(rpmv cp1 kubelet)" = 1.35.2-150500.1.1 ]
  run upgrade cp1 bootstrap 1.36
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"resuming the upgrade of cp1 to Kubernetes 1.36"* ]]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv cp1 $p)" = 1.36.1-150500.1.1 ]; done
  [ "$(image cp1 kube-apiserver)" = registry.k8s.io/kube-apiserver:v1.36.1 ]
  stub_calls cp1 | grep -qx 'dnf upgrade -y -q --refresh kubelet kubectl --disableexcludes=kubernetes'
}

reset_node() { # node: kubeadm-reset.sh (the program's delete step), in a network namespace of its own
  IN_NODE_NETNS=1 in_node "$1" env NODE_NAME="$1" bash /opt/k8sp-scripts/kubeadm-reset.sh
}

@test "re-added after a minor upgrade: a host reset at 1.35 is not a member, so prepare-node moves its held packages to 1.36.1 (held again) and back down to 1.35's newest when asked; a second run changes nothing" {
  cluster_at_1_35
  reset_node w1 >/dev/null 2>&1
  [ ! -e "$(node_file w1 /etc/kubernetes/kubelet.conf)" ]
  [ "$(held w1)" = "containerd.io kubeadm kubectl kubelet" ]
  run prepare_node w1 worker 1.36 1.36.1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.35.2 is installed on w1, which is not a member of a cluster (no completion record, kubelet.conf or etcd member data): moving kubelet, kubeadm, kubectl to 1.36.1"* ]]
  for p in kubeadm kubelet kubectl; do [ "$(pkg w1 $p)" = 1.36.1-1.1 ]; done
  [ "$(held w1)" = "containerd.io kubeadm kubectl kubelet" ]
  grep -q '/v1.36/deb/' "$(node_file w1 /etc/apt/sources.list.d/kubernetes.list)"
  # Again: nothing to move.
  run prepare_node w1 worker 1.36 1.36.1
  [ "$status" -eq 0 ]
  [[ "$output" != *"moving kubelet"* ]] && [[ "$output" != *"Unpacking"* ]]
  # Down (not a member: nothing runs there): the newest of v1.35's repository.
  run prepare_node w1 worker 1.35 1.35
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.36.1 is installed on w1, which is not a member of a cluster"*"moving kubelet, kubeadm, kubectl to 1.35"* ]]
  for p in kubeadm kubelet kubectl; do [ "$(pkg w1 $p)" = 1.35.2-1.1 ]; done
  [ "$(held w1)" = "containerd.io kubeadm kubectl kubelet" ]
  # A member keeps today's rule: an older kubeadm is left to the upgrade step, packages unchanged.
  run prepare_node cp1 control-plane 1.36 1.36.1
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.35.2 is installed and the stack asks for 1.36.1: left to the upgrade step"* ]]
  [ "$(pkg cp1 kubeadm)" = 1.35.2-1.1 ]
}

@test "kubernetes.version set back after a failed minor rollout: prepare-node refuses on a member whose kubeadm or kubelet is newer, before it changes anything, and says how to finish or go back" {
  cluster_at_1_35
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  fail_once cp1 upgrade/control-plane
  run upgrade cp1 bootstrap 1.36.1
  [ "$status" -ne 0 ]
  [ "$(pkg cp1 kubeadm)" = 1.36.1-1.1 ] && [ "$(pkg cp1 kubelet)" = 1.35.2-1.1 ]
  state=$(etc_state cp1)
  run prepare_node cp1 control-plane 1.35 1.35.2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *'cp1 is a member of the cluster and runs kubeadm 1.36.1, newer than the stack'"'"'s Kubernetes 1.35.2: the rollout to 1.36.1 is unfinished'*'nothing was changed on cp1. To finish the rollout: set kubernetes.version to "1.36.1" and run pulumi up'*'README "Restore etcd"'* ]]
  [[ "$output" != *"host firewall"* ]]
  [ "$(etc_state cp1)" = "$state" ]
  grep -q '/v1.36/deb/' "$(node_file cp1 /etc/apt/sources.list.d/kubernetes.list)"
  [ "$(pkg cp1 kubeadm)" = 1.36.1-1.1 ]
  # The worker, still at 1.35.2 (its upgrade never ran), is prepared at 1.35.2 as before.
  run prepare_node w1 worker 1.35 1.35.2
  [ "$status" -eq 0 ]
  # The way forward: 1.36.1 again resumes.
  prepare_node cp1 control-plane 1.36 1.36.1 >/dev/null 2>&1
  run upgrade cp1 bootstrap 1.36.1
  [ "$status" -eq 0 ]
  # Finished on cp1 (no record of an unfinished upgrade left): still refused, naming both packages.
  run prepare_node cp1 control-plane 1.35 1.35
  [ "$status" -ne 0 ]
  [[ "$output" == *"cp1 is a member of the cluster and runs kubeadm 1.36.1, kubelet 1.36.1, newer than the stack's Kubernetes 1.35: the rollout to 1.36.1 is unfinished"* ]]
  # A patch set back within the minor (1.36.1 -> 1.36.0) is refused the same way.
  run prepare_node cp1 control-plane 1.36 1.36.0
  [ "$status" -ne 0 ]
  [[ "$output" == *"newer than the stack's Kubernetes 1.36.0"* ]]
}

@test "rocky: a host reset at 1.35 and re-added at 1.36 gets v1.36's newest (dnf distro-sync), the repository's exclude= kept; back down to a pinned 1.35.2 (dnf install NAME-VERSION); a member set back is refused" {
  cluster_at_1_35 rocky
  rocky_containerd_2_2 w1 >/dev/null
  reset_node w1 >/dev/null 2>&1
  run prepare_node w1 worker 1.36 1.36
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.35.2 is installed on w1, which is not a member of a cluster"* ]]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv w1 $p)" = 1.36.1-150500.1.1 ]; done
  grep -qx 'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni' "$(node_file w1 /etc/yum.repos.d/kubernetes.repo)"
  [ "$(locks w1)" = 'containerd.io-0:2.2.0-1.el9.*' ]
  stub_calls w1 | grep -qx 'dnf distro-sync -y -q kubelet kubeadm kubectl --disableexcludes=kubernetes'
  run prepare_node w1 worker 1.35 1.35.2
  echo "$output"
  [ "$status" -eq 0 ]
  for p in kubeadm kubelet kubectl; do [ "$(rpmv w1 $p)" = 1.35.2-150500.1.1 ]; done
  # A member (cp1) whose upgrade to 1.36.0 finished, set back to 1.35: refused before anything.
  rocky_containerd_2_2 cp1 >/dev/null
  prepare_node cp1 control-plane 1.36 1.36.0 >/dev/null 2>&1
  upgrade cp1 bootstrap 1.36.0 >/dev/null 2>&1
  state=$(etc_state cp1)
  run prepare_node cp1 control-plane 1.35 1.35.2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"cp1 is a member of the cluster and runs kubeadm 1.36.0, kubelet 1.36.0, newer than the stack's Kubernetes 1.35.2"* ]]
  [ "$(etc_state cp1)" = "$state" ]
}
