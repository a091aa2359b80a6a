#!/usr/bin/env bats
# prepare-node.sh's first check, run for real in a temporary root with the package tools replaced
# by recorders: a cluster member already newer than the stack's version (kubernetes.version set
# back after a rollout that stopped part way) is refused before anything on the host changes.
# (The whole script, with real apt/dpkg/rpm, is tested in test/realroot/prepare-node.bats and
# upgrade.bats.)

load helpers

prepare() { # minor version (in the test's directory: the fake gpg writes its "-o -" there)
  cd "$BATS_TEST_TMPDIR" || return 1
  NODE_NAME=cp1 NODE_ROLE=control-plane K8S_MINOR="$1" K8S_VERSION="$2" CONTAINERD_MINIMUMS="2.2.0 2.1.5" \
    K8S_REPO_BASE=http://127.0.0.1:1/unused FIREWALL_MODE=disabled bash "$SCRIPTS/prepare-node.sh"
}
installed() { # os version: kubeadm and kubelet at that version, as the fake dpkg-query/rpm report them
  printf '%s\n' "$1" >"$FAKE_STATE/pkg/kubeadm"
  printf '%s\n' "${2:-$1}" >"$FAKE_STATE/pkg/kubelet"
}

@test "a member (kubelet.conf) whose kubeadm is a minor newer: refused first, naming the version to resume with; nothing changed, no package tool run" {
  for os in ubuntu rocky; do
    setup_root "$os"
    mkdir -p "$K8SP_ROOT/etc/kubernetes" && echo stub >"$K8SP_ROOT/etc/kubernetes/kubelet.conf"
    installed 1.36.1 1.35.2
    before=$(tree_state)
    run prepare 1.35 1.35.2
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"cp1 is a member of the cluster and runs kubeadm 1.36.1, newer than the stack's Kubernetes 1.35.2: the rollout to 1.36.1 is unfinished"* ]]
    [[ "$output" == *'set kubernetes.version to "1.36.1" and run pulumi up'* ]]
    [ "$(tree_state)" = "$before" ]
    [ -z "$(calls_matching '^(apt-get|apt-mark|dnf|curl|systemctl|swapoff|modprobe|sysctl|ufw|firewall-cmd|setenforce) ')" ]
  done
}

@test "the unfinished upgrade's record names the version; a completion record or etcd member data is membership too; a newer pinned patch is refused" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/var/lib/k8s-platform" && echo 1.36.1 >"$K8SP_ROOT/var/lib/k8s-platform/upgrade.pending"
  echo joined >"$K8SP_ROOT/var/lib/k8s-platform/join.done"
  installed 1.36.1 1.36.1
  run prepare 1.35 1.35
  [ "$status" -ne 0 ]
  [[ "$output" == *"runs kubeadm 1.36.1, kubelet 1.36.1, newer than the stack's Kubernetes 1.35: the rollout to 1.36.1 is unfinished"* ]]
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/var/lib/etcd/member"
  installed 1.35.4
  run prepare 1.35 1.35.2
  [ "$status" -ne 0 ]
  [[ "$output" == *"newer than the stack's Kubernetes 1.35.2: the rollout to 1.35.4 is unfinished"* ]]
}

@test "not refused: a member at the version or older (the upgrade step's), a newer patch with the minor unpinned, a host that is no member" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes" && echo stub >"$K8SP_ROOT/etc/kubernetes/kubelet.conf"
  for case in "1.35.2 1.35 1.35.2" "1.35.2 1.36 1.36.1" "1.35.4 1.35 1.35"; do
    read -r have minor version <<<"$case"
    installed "$have"
    run prepare "$minor" "$version"
    [[ "$output" != *"is unfinished"* ]] || { echo "$case: $output"; false; }
  done
  rm "$K8SP_ROOT/etc/kubernetes/kubelet.conf"
  installed 1.36.1
  run prepare 1.35 1.35.2
  [[ "$output" != *"is unfinished"* ]]
}
