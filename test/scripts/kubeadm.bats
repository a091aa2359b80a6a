#!/usr/bin/env bats
# (Init resumption, half-joined control planes, join credentials, drain, delete-node and reset are
# tested against the kubeadm/kubectl stubs in test/realroot/.)
# kubeadm-init.sh, kubeadm-join.sh and cluster-admin.sh run for real in a temporary root with
# kubeadm/kubectl replaced by recorders.

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
  run grep -q "$TOKEN\|TEST-CA-KEY" "$CALLS"
  [ "$status" -eq 1 ]
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
  run grep -q '^kubeadm init' "$CALLS"
  [ "$status" -eq 1 ]
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
  run grep -q 'unsafe-skip-ca-verification' "$CALLS" "$FAKE_STATE/last-kubeadm-config.yaml"
  [ "$status" -eq 1 ]
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

@test "cluster-side actions refuse to run off the control plane" {
  setup_root ubuntu
  ACTION=drain NODE_NAME=test-node1 run bash "$SCRIPTS/cluster-admin.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"admin.conf is missing"* ]]
}
