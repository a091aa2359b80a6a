#!/usr/bin/env bats
# kubeadm-init.sh, kubeadm-join.sh and cluster-admin.sh for real on prepared nodes (real apt
# installed the stub kubeadm/kubectl packages); the nodes of a test share one stub API server.
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

TOKEN=abcdef.0123456789abcdef
CERT_KEY=0011223344556677889900112233445566778899001122334455667788990011
INIT_CONFIG='apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "@BOOTSTRAP_TOKEN@"
certificateKey: "@CERTIFICATE_KEY@"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "@KUBERNETES_VERSION@"'
JOIN_CP='apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.10:6443
    token: "@BOOTSTRAP_TOKEN@"
    caCertHashes: ["sha256:abc"]
controlPlane:
  certificateKey: "@CERTIFICATE_KEY@"'

prepared() { # node role
  new_node "$1" ubuntu
  node_script "$1" prepare-node NODE_NAME="$1" NODE_ROLE="$2" K8S_MINOR=1.35 K8S_VERSION=1.35 \
    K8S_REPO_BASE="$E2E_REPO_BASE" FIREWALL_MODE=disabled >/dev/null 2>&1
}
init() {
  secret_stdin "CA_CRT=TEST-CA-CERT" "CA_KEY=TEST-CA-KEY" "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" |
    node_script cp1 kubeadm-init NODE_NAME=cp1 KUBEADM_CONFIG="$INIT_CONFIG" UPLOAD_CERTS=true
}
credentials() { # node
  secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" | node_script cp1 cluster-admin ACTION=issue-join-credentials NODE_NAME="$1"
}
join_cp() { # node
  secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" | node_script "$1" kubeadm-join NODE_NAME="$1" KUBEADM_CONFIG="$JOIN_CP"
}
cluster() { echo "$BATS_TEST_TMPDIR/cluster"; }

@test "init: kubeadm runs every phase, prints no secret, and a second run leaves the node alone" {
  prepared cp1 control-plane
  run init
  [ "$status" -eq 0 ]
  [[ "$output" != *"$TOKEN"* ]]
  [[ "$output" != *"$CERT_KEY"* ]]
  [ -f "$(cluster)/addons/coredns" ]
  [ -f "$(cluster)/configmaps/cluster-info" ]
  [ "$(cat "$(node_file cp1 /etc/kubernetes/pki/ca.crt)")" = TEST-CA-CERT ]
  run init
  [ "$status" -eq 0 ]
  [[ "$output" == *"already initialised"* ]]
}

@test "init that failed at wait-control-plane (admin.conf written) is finished on the next run, never reset" {
  prepared cp1 control-plane
  echo wait-control-plane >"$(node_put cp1 /var/lib/k8sp-stub/fail-at)"
  run init
  [ "$status" -ne 0 ]
  [ -f "$(node_file cp1 /etc/kubernetes/admin.conf)" ]
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(cluster)/addons/coredns" ]
  [ -f "$(cluster)/configmaps/cluster-info" ]
  [ -f "$(cluster)/rbac-bootstrap" ]
  ! stub_calls cp1 | grep -q '^kubeadm reset' || false
}

@test "a working control plane whose admin.conf was moved is not reset: the run stops and says what to check" {
  prepared cp1 control-plane
  run init
  [ "$status" -eq 0 ]
  in_node cp1 bash -c 'mv /etc/kubernetes/admin.conf /root/admin.conf; rm -f /var/lib/k8s-platform/init.done'
  run init
  [ "$status" -ne 0 ]
  [[ "$output" == *"/var/lib/etcd/member"* ]]
  in_node cp1 test -d /var/lib/etcd/member
  ! stub_calls cp1 | grep -q '^kubeadm reset' || false
}

@test "a control-plane join that failed after kubelet-start is reset (its etcd member removed) and joined again" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  credentials cp2
  echo control-plane-join >"$(node_put cp2 /var/lib/k8sp-stub/fail-at)"
  run join_cp cp2
  [ "$status" -ne 0 ]
  [ -f "$(node_file cp2 /etc/kubernetes/kubelet.conf)" ]
  [ ! -f "$(cluster)/etcd-members/cp2" ]
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(cluster)/etcd-members/cp2" ]
  stub_calls cp2 | grep -q '^kubeadm reset -f'
  run join_cp cp2
  [[ "$output" == *"already joined"* ]]
}

@test "join credentials: concurrent issuing for several members all succeed, idempotently, with no secret in argv" {
  prepared cp1 control-plane
  init
  # The token exists already (init created it): re-issuing extends it; three members at once.
  run in_node cp1 bash -c "
    for n in w1 w2 cp2; do
      printf 'BOOTSTRAP_TOKEN=%s\nCERTIFICATE_KEY=%s\n' '$(printf %s "$TOKEN" | base64 -w0)' '$(printf %s "$CERT_KEY" | base64 -w0)' |
        env ACTION=issue-join-credentials NODE_NAME=\$n bash /opt/k8sp-scripts/cluster-admin.sh &
    done
    rc=0; for j in 1 2 3; do wait -n || rc=1; done; exit \$rc"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cut -d' ' -f1 "$(cluster)/tokens/abcdef")" = 0123456789abcdef ]
  [ "$(cut -d' ' -f1 "$(cluster)/secrets/kubeadm-certs")" = "$CERT_KEY" ]
  ! stub_calls cp1 | grep -q "0123456789abcdef\|$CERT_KEY" || false
  # Deleted meanwhile (expired and cleaned up): issued again.
  rm "$(cluster)/tokens/abcdef"
  run credentials w3
  [ "$status" -eq 0 ]
  [ -f "$(cluster)/tokens/abcdef" ]
}
