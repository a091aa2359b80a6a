#!/usr/bin/env bats
# (Init resumption, half-joined control planes and join credentials are tested against the
# kubeadm/kubectl stubs in test/realroot/kubeadm.bats.)
# kubeadm-init.sh, kubeadm-join.sh, kubeadm-reset.sh, cluster-admin.sh, hosts-entry.sh and
# read-kubeconfig.sh run for real in a temporary root with kubeadm/kubectl replaced by recorders.

load helpers

TOKEN=abcdef.0123456789abcdef
CERT_KEY=0011223344556677889900112233445566778899001122334455667788990011
CONFIG='kind: InitConfiguration
bootstrapTokens:
  - token: "@BOOTSTRAP_TOKEN@"
certificateKey: "@CERTIFICATE_KEY@"
---
kind: ClusterConfiguration
kubernetesVersion: "@KUBERNETES_VERSION@"'

init() {
  secret_stdin "CA_CRT=TEST-CA-CERT" "CA_KEY=TEST-CA-KEY" "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" |
    NODE_NAME=test-master KUBEADM_CONFIG="$CONFIG" UPLOAD_CERTS="${UPLOAD:-false}" bash "$SCRIPTS/kubeadm-init.sh"
}

join() {
  secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" |
    NODE_NAME=test-node1 KUBEADM_CONFIG=$'discovery:\n  bootstrapToken:\n    token: "@BOOTSTRAP_TOKEN@"\n    caCertHashes: ["sha256:abc"]' \
      bash "$SCRIPTS/kubeadm-join.sh"
}

@test "init places the program's CA, fills in the secrets and runs kubeadm init from the config" {
  setup_root ubuntu
  run init
  [ "$status" -eq 0 ]
  [ "$(cat "$K8SP_ROOT/etc/kubernetes/pki/ca.crt")" = TEST-CA-CERT ]
  [ "$(cat "$K8SP_ROOT/etc/kubernetes/pki/ca.key")" = TEST-CA-KEY ]
  [ "$(stat -c %a "$K8SP_ROOT/etc/kubernetes/pki/ca.key")" = 600 ]
  grep -q "^kubeadm init --config $K8SP_ROOT/etc/kubernetes/k8s-platform-init.yaml --skip-token-print --skip-certificate-key-print$" "$CALLS"
  grep -q "token: \"$TOKEN\"" "$FAKE_STATE/last-kubeadm-config.yaml"
  grep -q "certificateKey: \"$CERT_KEY\"" "$FAKE_STATE/last-kubeadm-config.yaml"
  grep -q 'kubernetesVersion: "v1.35.2"' "$FAKE_STATE/last-kubeadm-config.yaml"
  # The token-bearing config does not stay on disk, and no secret reached a command line.
  [ ! -e "$K8SP_ROOT/etc/kubernetes/k8s-platform-init.yaml" ]
  ! grep -q "$TOKEN\|TEST-CA-KEY" "$CALLS"
}

@test "init with more control planes uploads the certificates" {
  setup_root ubuntu
  UPLOAD=true run init
  [ "$status" -eq 0 ]
  grep -q '^kubeadm init --config .* --upload-certs$' "$CALLS"
}

@test "an initialised node is left alone" {
  setup_root ubuntu
  run init
  : >"$CALLS"
  run init
  [ "$status" -eq 0 ]
  [[ "$output" == *"already initialised"* ]]
  [ ! -s "$CALLS" ]
}

@test "a different CA already on the node is refused" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes/pki" && echo OTHER-CA >"$K8SP_ROOT/etc/kubernetes/pki/ca.crt"
  run init
  [ "$status" -ne 0 ]
  [[ "$output" == *"holds a different CA"* ]]
  ! grep -q '^kubeadm init' "$CALLS"
}

@test "missing secrets on standard input fail before anything runs" {
  setup_root ubuntu
  run bash -c "printf '' | NODE_NAME=m KUBEADM_CONFIG=x bash '$SCRIPTS/kubeadm-init.sh'"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing parameter(s): CA_CRT CA_KEY BOOTSTRAP_TOKEN CERTIFICATE_KEY"* ]]
}

@test "join verifies the CA hash from its config and fills in the token" {
  setup_root ubuntu
  run join
  [ "$status" -eq 0 ]
  grep -q "^kubeadm join --config $K8SP_ROOT/etc/kubernetes/k8s-platform-join.yaml$" "$CALLS"
  grep -q "token: \"$TOKEN\"" "$FAKE_STATE/last-kubeadm-config.yaml"
  grep -q 'sha256:abc' "$FAKE_STATE/last-kubeadm-config.yaml"
  ! grep -q 'unsafe-skip-ca-verification' "$CALLS" "$FAKE_STATE/last-kubeadm-config.yaml"
  [ ! -e "$K8SP_ROOT/etc/kubernetes/k8s-platform-join.yaml" ]
}

@test "a joined node is not re-joined" {
  setup_root ubuntu
  run join
  : >"$CALLS"
  run join
  [ "$status" -eq 0 ]
  [[ "$output" == *"already joined"* ]]
  [ ! -s "$CALLS" ]
}

@test "the remains of an unfinished join are reset first" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes/pki" && touch "$K8SP_ROOT/etc/kubernetes/pki/ca.crt"
  run join
  [ "$status" -eq 0 ]
  [ "$(grep -n '^kubeadm reset -f' "$CALLS" | cut -d: -f1)" -lt "$(grep -n '^kubeadm join' "$CALLS" | cut -d: -f1)" ]
}

@test "reset leaves Kubernetes and is safe to run twice" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes" "$K8SP_ROOT/etc/cni/net.d" && touch "$K8SP_ROOT/etc/cni/net.d/10-flannel.conflist"
  run env NODE_NAME=test-node1 bash "$SCRIPTS/kubeadm-reset.sh"
  [ "$status" -eq 0 ]
  grep -q '^kubeadm reset -f' "$CALLS"
  [ ! -e "$K8SP_ROOT/etc/cni/net.d" ]
  run env NODE_NAME=test-node1 bash "$SCRIPTS/kubeadm-reset.sh"
  [ "$status" -eq 0 ]
}

admin() { NODE_NAME=test-node1 bash "$SCRIPTS/cluster-admin.sh"; }

@test "drain evicts with the seed's flags; a node that is gone needs no drain" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes" && touch "$K8SP_ROOT/etc/kubernetes/admin.conf" "$FAKE_STATE/nodes/test-node1"
  ACTION=drain DRAIN_TIMEOUT=5m run admin
  [ "$status" -eq 0 ]
  grep -q '^kubectl drain test-node1 --ignore-daemonsets --delete-emptydir-data --timeout=5m' "$CALLS"
  rm "$FAKE_STATE/nodes/test-node1"
  : >"$CALLS"
  ACTION=drain run admin
  [ "$status" -eq 0 ]
  ! grep -q '^kubectl drain' "$CALLS"
  ACTION=delete-node run admin
  grep -q '^kubectl delete node test-node1 --ignore-not-found' "$CALLS"
}

@test "label waits for the node to register, then labels its role" {
  setup_root ubuntu
  mkdir -p "$K8SP_ROOT/etc/kubernetes" && touch "$K8SP_ROOT/etc/kubernetes/admin.conf" "$FAKE_STATE/nodes/test-node1"
  ACTION=label NODE_LABEL=worker run admin
  [ "$status" -eq 0 ]
  grep -q '^kubectl label node test-node1 node-role.kubernetes.io/worker= --overwrite' "$CALLS"
}

@test "cluster-side actions refuse to run off the control plane" {
  setup_root ubuntu
  ACTION=drain run admin
  [ "$status" -ne 0 ]
  [[ "$output" == *"admin.conf is missing"* ]]
}

@test "hosts entries: added once, replaced in place, removed; other lines untouched" {
  setup_root ubuntu
  printf '127.0.0.1 localhost\n10.0.0.5 test-node1\n' >"$K8SP_ROOT/etc/hosts"
  entry() { ACTION=$1 ENTRY_IP=$2 ENTRY_NAME=test-node1 bash "$SCRIPTS/hosts-entry.sh"; }
  entry add 192.168.111.172
  entry add 192.168.111.172
  [ "$(grep -c 'k8s-platform' "$K8SP_ROOT/etc/hosts")" -eq 1 ]
  grep -q $'^192.168.111.172\ttest-node1 # k8s-platform$' "$K8SP_ROOT/etc/hosts"
  entry add 192.168.111.180
  [ "$(grep -c 'k8s-platform' "$K8SP_ROOT/etc/hosts")" -eq 1 ]
  grep -q '^192.168.111.180' "$K8SP_ROOT/etc/hosts"
  entry remove 192.168.111.180
  [ "$(cat "$K8SP_ROOT/etc/hosts")" = "$(printf '127.0.0.1 localhost\n10.0.0.5 test-node1')" ]
}

@test "read-kubeconfig prints admin.conf and fails clearly before init" {
  setup_root ubuntu
  run bash "$SCRIPTS/read-kubeconfig.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubeadm init has not completed"* ]]
  mkdir -p "$K8SP_ROOT/etc/kubernetes" && echo KUBECONFIG-CONTENT >"$K8SP_ROOT/etc/kubernetes/admin.conf"
  run bash "$SCRIPTS/read-kubeconfig.sh"
  [ "$output" = KUBECONFIG-CONTENT ]
}
