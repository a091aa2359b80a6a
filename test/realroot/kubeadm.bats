#!/usr/bin/env bats
# kubeadm-init.sh, kubeadm-join.sh and cluster-admin.sh for real on prepared nodes (real apt
# installed the stub kubeadm/kubectl packages); the nodes of a test share one stub API server.
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

prepared() { # node role
  new_node "$1" ubuntu
  prepare_node "$1" "$2" 1.35 1.35 >/dev/null 2>&1
}
init() { kubeadm_init cp1 true; }
credentials() { # joining nodes (as the program calls it: once per up, no NODE_NAME)
  secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" | node_script cp1 cluster-admin ACTION=issue-join-credentials JOINING_NODES="$1"
}
join_cp() { kubeadm_join "$1" control-plane; }

@test "init: kubeadm runs every phase, prints no secret, and a second run leaves the node alone" {
  prepared cp1 control-plane
  run init
  [ "$status" -eq 0 ]
  [[ "$output" != *"$TOKEN"* ]]
  [[ "$output" != *"$CERT_KEY"* ]]
  [ -f "$(cluster)/objects/deployments.apps/kube-system/coredns" ]
  [ -f "$(cluster)/objects/configmaps/kube-public/cluster-info" ]
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
  [ -f "$(cluster)/objects/deployments.apps/kube-system/coredns" ]
  [ -f "$(cluster)/objects/configmaps/kube-public/cluster-info" ]
  [ -f "$(cluster)/rbac-bootstrap" ]
  ! stub_calls cp1 | grep -q '^kubeadm reset' || false
}

@test "a bootstrap node initialised by the previous version (admin.conf, manifests, cluster objects, no record) is recorded, and kubeadm init is not run again" {
  prepared cp1 control-plane
  init
  # The previous version kept no record: a node it initialised has everything but init.done.
  rm "$(node_file cp1 /var/lib/k8s-platform/init.done)"
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init')" -eq 1 ]
  [[ "$output" == *"recording it, kubeadm init is not run again"* ]]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
  run init
  [[ "$output" == *"already initialised"* ]]
}

@test "init that failed in the addon phase (coredns created, kube-proxy not) is finished, not taken as complete" {
  prepared cp1 control-plane
  echo addon/kube-proxy >"$(node_put cp1 /var/lib/k8sp-stub/fail-at)"
  run init
  [ "$status" -ne 0 ]
  [ -f "$(cluster)/objects/configmaps/kube-public/cluster-info" ]
  [ -f "$(cluster)/objects/deployments.apps/kube-system/coredns" ]
  [ ! -f "$(cluster)/objects/daemonsets.apps/kube-system/kube-proxy" ]
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -q '^kubeadm init .*--skip-phases=preflight'
  [ -f "$(cluster)/objects/daemonsets.apps/kube-system/kube-proxy" ]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
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

@test "a control plane joined by the previous version is left alone (no reset), recorded" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  credentials cp2
  join_cp cp2
  rm "$(node_file cp2 /var/lib/k8s-platform/join.done)"
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  ! stub_calls cp2 | grep -q '^kubeadm reset' || false
  [ "$(stub_calls cp2 | grep -c '^kubeadm join')" -eq 1 ]
  [[ "$output" == *"is a joined control plane"* ]]
  [ -f "$(cluster)/etcd-members/cp2" ]
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
}

@test "a control-plane join that failed at mark-control-plane (etcd.yaml, no label) is still reset and joined again" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  credentials cp2
  echo control-plane-join/mark-control-plane >"$(node_put cp2 /var/lib/k8sp-stub/fail-at)"
  run join_cp cp2
  [ "$status" -ne 0 ]
  [ -f "$(node_file cp2 /etc/kubernetes/manifests/etcd.yaml)" ]
  [ ! -f "$(cluster)/nodes/cp2.control-plane" ]
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp2 | grep -q '^kubeadm reset -f'
  [ -f "$(cluster)/nodes/cp2.control-plane" ]
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
}

@test "a control plane without a record whose API server cannot be asked is not reset: the run stops" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  credentials cp2
  join_cp cp2
  rm "$(node_file cp2 /var/lib/k8s-platform/join.done)" "$(cluster)/apiserver"
  run join_cp cp2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Nothing was reset"* ]]
  ! stub_calls cp2 | grep -q '^kubeadm reset' || false
  [ -f "$(cluster)/etcd-members/cp2" ]
}

# A joined control plane cp2 (init on cp1, credentials, join).
joined_cp2() {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  credentials cp2
  join_cp cp2
}
# never_reset NODE: no kubeadm reset ran there, its etcd data and member are still there.
never_reset() {
  ! stub_calls "$1" | grep -q '^kubeadm reset' || false
  in_node "$1" test -d /var/lib/etcd/member
  [ -f "$(cluster)/etcd-members/$1" ]
}

@test "a joined control plane whose manifests a failed etcd-restore.sh left parked is refused, not reset; with them back, its join step leaves it alone" {
  joined_cp2
  in_node cp2 bash -c 'mkdir -p /etc/kubernetes/k8s-platform-restore && mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/k8s-platform-restore/'
  run join_cp cp2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/kubernetes/k8s-platform-restore/etcd.yaml"* ]]
  [[ "$output" == *"run it again with the same SNAPSHOT"* ]]
  never_reset cp2
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
  [ -f "$(node_file cp2 /etc/kubernetes/k8s-platform-restore/etcd.yaml)" ]
  in_node cp2 bash -c 'mv /etc/kubernetes/k8s-platform-restore/*.yaml /etc/kubernetes/manifests/'
  run join_cp cp2
  [ "$status" -eq 0 ]
  [[ "$output" == *"already joined"* ]]
  never_reset cp2
}

@test "a join step run while a renewal restarts a static pod (its manifest parked, the lock held) waits for it, then leaves the member alone" {
  joined_cp2
  PARKED=kube-apiserver run with_maintenance_lock cp2 3 "/var/lib/k8s-platform/join.done /etc/kubernetes/kubelet.conf" \
    /usr/bin/env NODE_NAME=cp2 KUBEADM_CONFIG="$JOIN_CP" bash /opt/k8sp-scripts/kubeadm-join.sh </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"already joined"* ]]
  never_reset cp2
}

@test "the bootstrap node with a manifest a renewal left parked (stop timeout) is refused: no kubeadm init over it" {
  prepared cp1 control-plane
  init
  in_node cp1 bash -c 'mkdir -p /etc/kubernetes/k8s-platform-restart && mv /etc/kubernetes/manifests/kube-scheduler.yaml /etc/kubernetes/k8s-platform-restart/'
  run init
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/kubernetes/k8s-platform-restart/kube-scheduler.yaml"* ]]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init')" -eq 1 ]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
  # The API server certificate step's parked manifest likewise.
  in_node cp1 bash -c 'mv /etc/kubernetes/k8s-platform-restart/kube-scheduler.yaml /etc/kubernetes/manifests/ && mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/k8s-platform-kube-apiserver.yaml'
  run init
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/kubernetes/k8s-platform-kube-apiserver.yaml"* ]]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init')" -eq 1 ]
}

@test "a control plane with etcd data whose manifest was moved elsewhere is refused, with or without its record: no reset" {
  joined_cp2
  in_node cp2 mv /etc/kubernetes/manifests/etcd.yaml /root/etcd.yaml
  run join_cp cp2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/var/lib/etcd/member"*"Nothing was reset"* ]]
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
  never_reset cp2
  # Joined by the previous version (no record): the same.
  rm "$(node_file cp2 /var/lib/k8s-platform/join.done)"
  run join_cp cp2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"not a half-joined node"* ]]
  never_reset cp2
}

@test "join credentials: concurrent issuing for several members all succeed, idempotently, with no secret in argv" {
  prepared cp1 control-plane
  init
  # The token exists already (init created it): re-issuing extends it; three members at once.
  run in_node cp1 bash -c "
    for n in w1 w2 cp2; do
      printf 'BOOTSTRAP_TOKEN=%s\nCERTIFICATE_KEY=%s\n' '$(printf %s "$TOKEN" | base64 -w0)' '$(printf %s "$CERT_KEY" | base64 -w0)' |
        env ACTION=issue-join-credentials JOINING_NODES=\$n bash /opt/k8sp-scripts/cluster-admin.sh &
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

@test "join credentials: one call for every joining node, without NODE_NAME; the token is described as their joins" {
  prepared cp1 control-plane
  init
  rm "$(cluster)/tokens/abcdef"
  run credentials "cp2 w1 w2"
  echo "$output"
  [ "$status" -eq 0 ]
  # kubeadm's default TTL (24 h): the step waits for no node's preparation, so slow nodes need the day.
  [ "$(cut -d' ' -f2 "$(cluster)/tokens/abcdef")" -gt "$(($(date +%s) + 23 * 3600))" ]
  [ "$(cut -d' ' -f1 "$(cluster)/tokens/abcdef")" = 0123456789abcdef ]
  [ "$(cat "$(cluster)/token-descriptions/abcdef")" = "k8s-platform joins of cp2 w1 w2" ]
  [ "$(cut -d' ' -f1 "$(cluster)/secrets/kubeadm-certs")" = "$CERT_KEY" ]
  # drain and delete-node still name their node.
  run node_script cp1 cluster-admin ACTION=drain
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing parameter(s): NODE_NAME"* ]]
  run node_script cp1 cluster-admin ACTION=label NODE_NAME=w1 NODE_LABEL=worker
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown ACTION 'label'"* ]]
}

# A node of the stub API server: its Ready condition and the pods bound to it (namespace_name).
stub_node() { # name Ready|NotReady pod...
  local n="$1" state="$2"
  shift 2
  printf '%s\n' "$state" >"$(cluster)/nodes/$n"
  mkdir -p "$(cluster)/pods/$n"
  for p in "$@"; do touch "$(cluster)/pods/$n/$p"; done
}
drain() { node_script cp1 cluster-admin ACTION=drain NODE_NAME="$1" DRAIN_TIMEOUT=5s; }

@test "drain: a Ready node is drained normally (with its timeout); a node that is gone needs no drain" {
  prepared cp1 control-plane
  init
  stub_node w1 Ready default_web-1 kube-flannel_kube-flannel-ds-abcde
  run drain w1
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -qx 'kubectl drain w1 --ignore-daemonsets --delete-emptydir-data --timeout=5s'
  [ -f "$(cluster)/nodes/w1.cordoned" ]
  [ -z "$(ls -A "$(cluster)/pods/w1" 2>/dev/null)" ]
  run grep -q 'kubectl delete pods' <<<"$(stub_calls cp1)"
  [ "$status" -eq 1 ]
  run node_script cp1 cluster-admin ACTION=delete-node NODE_NAME=w1
  [ "$status" -eq 0 ]
  [ ! -e "$(cluster)/nodes/w1" ]
  run drain w1
  [ "$status" -eq 0 ]
  [[ "$output" == *"node w1 is not registered; nothing to drain"* ]]
}

@test "drain: a NotReady node (host gone) is cordoned and its pods force-deleted, each one logged, instead of a drain that times out" {
  prepared cp1 control-plane
  init
  stub_node w2 NotReady default_web-2 kube-flannel_kube-flannel-ds-fghij
  run drain w2
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(cluster)/nodes/w2.cordoned" ]
  [ -z "$(ls -A "$(cluster)/pods/w2")" ]
  stub_calls cp1 | grep -qx 'kubectl delete pods -A --field-selector spec.nodeName=w2 --force --grace-period=0'
  [[ "$output" == *"w2 is not Ready"* ]]
  [[ "$output" == *'forced on w2: pod "web-2" force deleted'* ]]
  [[ "$output" == *'forced on w2: pod "kube-flannel-ds-fghij" force deleted'* ]]
  run grep -q '^kubectl drain' <<<"$(stub_calls cp1)"
  [ "$status" -eq 1 ]
}

joined_worker() { # name: prepared, joined to cp1's cluster
  prepared "$1" worker
  kubeadm_join "$1" worker >/dev/null 2>&1
}

@test "reset: kubeadm reset, then Flannel's interfaces (real ip), its CNI files and kube-proxy's rules (real iptables) go; other files stay; twice is safe" {
  prepared cp1 control-plane
  init
  joined_worker w1
  [ -f "$(node_file w1 /etc/kubernetes/kubelet.conf)" ]
  mkdir -p "$(node_put w1 /var/lib/cni/networks/cbr0)" && echo 10.244.1.5 >"$(node_put w1 /var/lib/cni/networks/cbr0/last_reserved_ip.0)"
  echo '{"name":"cbr0"}' >"$(node_put w1 /etc/cni/net.d/10-flannel.conflist)"
  echo '{"name":"other"}' >"$(node_put w1 /etc/cni/net.d/99-operator.conf)"
  # One network namespace for the whole sequence: what Flannel and kube-proxy leave on a node
  # (a bridge, a VXLAN device, chains in filter/nat/mangle for IPv4 and IPv6), then reset twice.
  IN_NODE_NETNS=1 run in_node w1 bash -c '
    set -e
    ip link add cni0 type bridge
    ip link add flannel.1 type vxlan id 1 dstport 8472 dev lo
    for t in iptables ip6tables; do
      $t -N KUBE-FIREWALL && $t -A INPUT -j KUBE-FIREWALL
      $t -t nat -N KUBE-SERVICES && $t -t nat -A PREROUTING -j KUBE-SERVICES
      $t -t mangle -N KUBE-IPTABLES-HINT
    done
    env NODE_NAME=w1 bash /opt/k8sp-scripts/kubeadm-reset.sh
    echo "--- links:"; ip -o link show | cut -d: -f2
    echo "--- rules: KUBE lines $(iptables-save | grep -c KUBE || true) $(ip6tables-save | grep -c KUBE || true)"
    env NODE_NAME=w1 bash /opt/k8sp-scripts/kubeadm-reset.sh
    echo "--- second run ok"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"deleting interface cni0"* ]]
  [[ "$output" == *"deleting interface flannel.1"* ]]
  links=$(sed -n '/^--- links:/,/^--- rules:/p' <<<"$output")
  [[ "$links" != *cni0* ]] && [[ "$links" != *flannel.1* ]] && [[ "$links" == *lo* ]]
  [[ "$output" == *"--- rules: KUBE lines 0 0"* ]]
  [[ "$output" == *"--- second run ok"* ]]
  stub_calls w1 | grep -qx 'kubeadm reset -f'
  [ ! -e "$(node_file w1 /etc/kubernetes/kubelet.conf)" ]
  [ ! -e "$(node_file w1 /var/lib/cni)" ]
  [ ! -e "$(node_file w1 /etc/cni/net.d/10-flannel.conflist)" ]
  [ -f "$(node_file w1 /etc/cni/net.d/99-operator.conf)" ]
}

@test "reset removes the API server certificate step's records and the previous pair it kept (records are removed by what undoes them)" {
  prepared cp1 control-plane
  init
  # What apiserver-certs.sh itself leaves on a control plane (certs: below) after a new name: the
  # names it applied, the sum of the ClusterConfiguration it stored, and the pair it replaced (a
  # private key of this cluster).
  run certs cp1 10.0.0.10 api.lab.example
  [ "$status" -eq 0 ]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/apiserver-sans)" ]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/cluster-configuration.sha256)" ]
  [ -f "$(node_file cp1 /etc/kubernetes/k8s-platform-previous-apiserver/apiserver.key)" ]
  run reset_node cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file cp1 /var/lib/k8s-platform/apiserver-sans)" ]
  [ ! -e "$(node_file cp1 /var/lib/k8s-platform/cluster-configuration.sha256)" ]
  [ ! -e "$(node_file cp1 /etc/kubernetes/k8s-platform-previous-apiserver)" ]
  run reset_node cp1
  [ "$status" -eq 0 ]
}

@test "reset touches no etcd data of its own: a host without Kubernetes config keeps /var/lib/etcd" {
  new_node h1 ubuntu
  mkdir -p "$(node_put h1 /var/lib/etcd/member/snap)" && echo data >"$(node_put h1 /var/lib/etcd/member/snap/db)"
  IN_NODE_NETNS=1 run in_node h1 env NODE_NAME=h1 bash /opt/k8sp-scripts/kubeadm-reset.sh
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cat "$(node_file h1 /var/lib/etcd/member/snap/db)")" = data ]
}

reset_node() { # node: kubeadm-reset.sh in a network namespace of its own
  IN_NODE_NETNS=1 in_node "$1" env NODE_NAME="$1" bash /opt/k8sp-scripts/kubeadm-reset.sh
}

@test "the kubelet package's manifests/.kubelet-keep is not an unfinished init: the first init runs every phase, preflight included" {
  prepared cp1 control-plane
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/.kubelet-keep)" ]
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -q '^kubeadm init --config'
  ! stub_calls cp1 | grep -q -- '--skip-phases' || false
  [[ "$output" != *"unfinished kubeadm init"* ]]
}

@test "a control plane reset (kubeadm-reset.sh) and initialised again on the same host runs kubeadm init again" {
  prepared cp1 control-plane
  init
  run reset_node cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init --config')" -eq 2 ]
  [ -f "$(node_file cp1 /etc/kubernetes/admin.conf)" ]
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
}

@test "a worker removed (kubeadm-reset.sh) and added back on the same host joins again" {
  prepared cp1 control-plane
  init
  joined_worker w1
  [ -f "$(node_file w1 /var/lib/k8s-platform/join.done)" ]
  run reset_node w1
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file w1 /var/lib/k8s-platform/join.done)" ]
  run kubeadm_join w1 worker
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls w1 | grep -c '^kubeadm join --config')" -eq 2 ]
  [ -f "$(node_file w1 /etc/kubernetes/kubelet.conf)" ]
  [ -f "$(node_file w1 /var/lib/k8s-platform/join.done)" ]
}

@test "a node renamed while keeping its host (its join runs before the old name's reset): refused, nothing changed; a record from before the name is taken as the node's and named" {
  prepared cp1 control-plane
  init
  joined_worker w1
  grep -qx 'node=w1' "$(node_file w1 /var/lib/k8s-platform/join.done)"
  grep -qx 'node=cp1' "$(node_file cp1 /var/lib/k8s-platform/init.done)"
  before=$(etc_state w1)
  record=$(cat "$(node_file w1 /var/lib/k8s-platform/join.done)")
  calls=$(stub_calls w1)
  # `pulumi up` with w1 renamed w9, same IP: w9's join runs on the host that is still w1.
  run kubeadm_join w1 worker NODE_NAME=w9
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"this host is already node w1 (/var/lib/k8s-platform/join.done names it); it cannot also be w9. Nothing was changed."* ]]
  [[ "$output" == *'remove w1 from nodes and `pulumi up`'*'then add w9 and `pulumi up`'*'or keep the name w1.'* ]]
  [[ "$output" != *"has already joined"* ]]
  [ "$(stub_calls w1)" = "$calls" ]
  [ "$(etc_state w1)" = "$before" ]
  [ "$(cat "$(node_file w1 /var/lib/k8s-platform/join.done)")" = "$record" ]
  # The same for init's record (the bootstrap node's host under another name).
  run kubeadm_init cp1 true NODE_NAME=cp9
  [ "$status" -ne 0 ]
  [[ "$output" == *"this host is already node cp1 (/var/lib/k8s-platform/init.done names it); it cannot also be cp9."* ]]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init --config')" -eq 1 ]
  # A record written before records named their node (a date alone) still counts as the node's:
  # left alone, and named at this run.
  printf '2026-01-02T03:04:05Z\n' >"$(node_file w1 /var/lib/k8s-platform/join.done)"
  run kubeadm_join w1 worker
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"w1 has already joined; leaving it alone"* ]]
  [ "$(stub_calls w1 | grep -c '^kubeadm join')" -eq 1 ]
  grep -qx 'node=w1' "$(node_file w1 /var/lib/k8s-platform/join.done)"
  printf '2026-01-02T03:04:05Z\n' >"$(node_file cp1 /var/lib/k8s-platform/init.done)"
  run init
  [ "$status" -eq 0 ]
  [[ "$output" == *"cp1 is already initialised; leaving it alone"* ]]
  grep -qx 'node=cp1' "$(node_file cp1 /var/lib/k8s-platform/init.done)"
  # Removing w1 (reset) and then adding w9 on that host: it joins afresh, recorded as w9.
  run reset_node w1
  [ "$status" -eq 0 ]
  run kubeadm_join w1 worker NODE_NAME=w9
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls w1 | grep -c '^kubeadm join --config')" -eq 2 ]
  grep -qx 'node=w9' "$(node_file w1 /var/lib/k8s-platform/join.done)"
}

@test "a record whose kubeadm files are gone (kubeadm reset run by hand) is not trusted: init and join run again; a manifest missing next to etcd data is refused instead" {
  prepared cp1 control-plane
  init
  joined_worker w1
  in_node cp1 kubeadm reset -f >/dev/null
  in_node w1 kubeadm reset -f >/dev/null
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
  run init
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm's files are gone"* ]]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init --config')" -eq 2 ]
  ! stub_calls cp1 | grep -q -- '--skip-phases' || false
  run kubeadm_join w1 worker
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls w1 | grep -c '^kubeadm join --config')" -eq 2 ]
  # A control plane missing one of kubeadm's manifests but with its etcd data is a member whose
  # manifest was moved or deleted, not one that was reset: refused, nothing reset (a reset would
  # wipe its etcd data). The way to rebuild it: removed from the stack (kubeadm-reset.sh), added again.
  prepared cp2 control-plane
  credentials cp2
  join_cp cp2
  in_node cp2 rm /etc/kubernetes/manifests/kube-apiserver.yaml
  run join_cp cp2
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"remove the node from the stack"* ]]
  ! stub_calls cp2 | grep -q '^kubeadm reset' || false
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
  node_script cp2 kubeadm-reset NODE_NAME=cp2 >/dev/null 2>&1
  credentials cp2
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp2 | grep -c '^kubeadm join --config')" -eq 2 ]
  [ -f "$(node_file cp2 /etc/kubernetes/manifests/kube-apiserver.yaml)" ]
}

@test "reset behind ufw (INPUT/FORWARD policy DROP, its chains and rules): only KUBE-*, FLANNEL-*, CNI-* chains and the jumps to them go, in v4 and v6" {
  new_node h1 ubuntu
  IN_NODE_NETNS=1 run in_node h1 bash -c '
    set -e
    state() { "$1-save" | grep -v "^#" | sed "s/\[[0-9]*:[0-9]*\]//"; }
    for t in iptables ip6tables; do
      # ufw as ufw-init leaves it (before/user/after chains, DROP policies, SSH allowed).
      $t -P INPUT DROP && $t -P FORWARD DROP
      for c in ufw-before-input ufw-user-input ufw-after-input ufw-before-forward ufw-user-forward; do $t -N $c; done
      $t -A INPUT -j ufw-before-input && $t -A INPUT -j ufw-user-input && $t -A INPUT -j ufw-after-input
      $t -A FORWARD -j ufw-before-forward && $t -A FORWARD -j ufw-user-forward
      $t -A ufw-before-input -i lo -j ACCEPT
      $t -A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
      $t -A ufw-user-input -p tcp --dport 22 -j ACCEPT
      $t -t nat -N DOCKER && $t -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
      $t -t mangle -N OTHER-MARK && $t -t mangle -A PREROUTING -j OTHER-MARK
    done
    state iptables >/tmp/before4 && state ip6tables >/tmp/before6
    for t in iptables ip6tables; do
      # What kube-proxy, the kubelet, Flannel and the portmap plugin add.
      $t -N KUBE-FIREWALL && $t -I INPUT -j KUBE-FIREWALL
      $t -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP
      $t -N KUBE-FORWARD && $t -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
      $t -N KUBE-SERVICES && $t -A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
      $t -N FLANNEL-FWD && $t -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD && $t -A FLANNEL-FWD -j ACCEPT
      $t -t nat -N KUBE-SERVICES && $t -t nat -N KUBE-SVC-ABCDEF && $t -t nat -A KUBE-SERVICES -j KUBE-SVC-ABCDEF
      $t -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
      $t -t nat -A OUTPUT -j KUBE-SERVICES
      $t -t nat -N KUBE-POSTROUTING && $t -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
      $t -t nat -N FLANNEL-POSTRTG && $t -t nat -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
      $t -t nat -N CNI-HOSTPORT-DNAT && $t -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
      $t -t mangle -N KUBE-IPTABLES-HINT && $t -t mangle -N KUBE-KUBELET-CANARY
    done
    env NODE_NAME=h1 bash /opt/k8sp-scripts/kubeadm-reset.sh
    state iptables >/tmp/after4 && state ip6tables >/tmp/after6
    diff /tmp/before4 /tmp/after4 && echo "--- v4 as before"
    diff /tmp/before6 /tmp/after6 && echo "--- v6 as before"
    iptables -S INPUT | head -n 1
    env NODE_NAME=h1 bash /opt/k8sp-scripts/kubeadm-reset.sh && echo "--- second run ok"'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"--- v4 as before"* ]]
  [[ "$output" == *"--- v6 as before"* ]]
  [[ "$output" == *"-P INPUT DROP"* ]]
  [[ "$output" == *"--- second run ok"* ]]
}

@test "drain: an API server that cannot be asked (refused, timing out) or a node without a Ready condition stops the run: nothing drained or forced" {
  prepared cp1 control-plane
  init
  stub_node w1 Ready default_web-1
  touch "$(cluster)/apiserver-timeout"
  run drain w1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not ask the API server about node w1"*"Client.Timeout exceeded"* ]]
  rm "$(cluster)/apiserver-timeout"
  mv "$(cluster)/apiserver" "$(cluster)/apiserver.off"
  run drain w1
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not ask the API server about node w1"*"was refused"* ]]
  mv "$(cluster)/apiserver.off" "$(cluster)/apiserver"
  : >"$(cluster)/nodes/w1"
  run drain w1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"node w1 has no Ready condition"* ]]
  [ -f "$(cluster)/pods/w1/default_web-1" ]
  [ ! -e "$(cluster)/nodes/w1.cordoned" ]
  ! stub_calls cp1 | grep -q '^kubectl \(drain\|cordon\|delete pods\)' || false
}

@test "join credentials: kubeadm is given a ClusterConfiguration with its version (no stable-1 lookup on dl.k8s.io); re-running the step renews expired control-plane certificates" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  rm "$(cluster)/tokens/abcdef"
  run credentials cp2
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -q '^kubeadm token create --config'
  stub_calls cp1 | grep -q '^kubeadm init phase upload-certs'
  [[ "$output" != *"dl.k8s.io"* ]]
  # The uploaded certificates expired (kubeadm-certs is garbage-collected with its 2 h token).
  rm "$(cluster)/secrets/kubeadm-certs"
  run join_cp cp2
  [ "$status" -ne 0 ]
  [[ "$output" == *"This Secret might have expired"* ]]
  run credentials cp2
  [ "$status" -eq 0 ]
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(node_file cp2 /var/lib/k8s-platform/join.done)" ]
}

# join-credentials.sh (issue 18 item 16): arms, waits for the listed joins, revokes on failure.
arm() { # workers control-planes wait-minutes
  secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" |
    node_script cp1 join-credentials NODE_NAME=cp1 JOINING_WORKERS="$1" JOINING_CONTROL_PLANES="$2" WAIT_MINUTES="$3" POLL_SECONDS=1
}

@test "join credentials: a Node with no kubelet behind it (a server-side apply of labels created it) is not a joined node: the step waits for the kubelet and fails" {
  prepared cp1 control-plane
  init
  # What a role NodePatch makes of a missing Node (w9's join passed without joining): labels, no status.
  : >"$(cluster)/nodes/w9"
  touch "$(cluster)/nodes/w9.applied" "$(cluster)/nodes/cp9.applied" "$(cluster)/nodes/cp9.control-plane"
  : >"$(cluster)/nodes/cp9"
  run arm w9 cp9 0
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"w9 cp9 did not join"* ]]
  # Once their kubelets registered them, the same step passes.
  rm "$(cluster)/nodes/w9.applied" "$(cluster)/nodes/cp9.applied"
  run arm w9 cp9 0
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"every listed node has joined; no credentials to arm"* ]]
}

@test "join credentials: a control-plane join retried after the certificates expired gets them re-armed, certificates before the token" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init
  # The first up stopped before cp2 joined; two hours later kubeadm-certs is gone, the token (24 h) is not.
  rm "$(cluster)/secrets/kubeadm-certs"
  run join_cp cp2
  [ "$status" -ne 0 ]
  [[ "$output" == *'Secret "kubeadm-certs" was not found'* ]]
  # The retried up: the step arms (upload-certs first) and stays until cp2 has joined.
  arm "" cp2 1 >"$BATS_TEST_TMPDIR/arm.log" 2>&1 &
  armer=$!
  for _ in $(seq 1 50); do [ -f "$(cluster)/secrets/kubeadm-certs" ] && break; sleep 0.2; done
  run join_cp cp2
  echo "$output"
  [ "$status" -eq 0 ]
  wait "$armer"
  cat "$BATS_TEST_TMPDIR/arm.log"
  grep -q 'every listed node has joined' "$BATS_TEST_TMPDIR/arm.log"
  # The token lives 1 h while control planes join: never longer than the certificates behind it.
  [ "$(cut -d' ' -f2 "$(cluster)/tokens/abcdef")" -le "$(($(date +%s) + 3600))" ]
  stub_calls cp1 | grep -n 'upload-certs\|token create\|patch secret\|kubectl.*secret bootstrap' | head -n 2 | grep -q 'upload-certs'
  ! stub_calls cp1 | grep -q "0123456789abcdef\|$CERT_KEY" || false
  # Everything joined: an unchanged up would not run it, and a run now arms nothing.
  run arm "" cp2 1
  [ "$status" -eq 0 ]
  [[ "$output" == *"every listed node has joined; no credentials to arm"* ]]
}

@test "join credentials: a join that does not complete fails the step and revokes the credentials, so no join passes with them until the next up arms new ones" {
  prepared cp1 control-plane
  prepared w1 worker
  init
  run arm w1 "" 0
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"w1 did not join"*"the next \`pulumi up\` arms new credentials"* ]]
  [ ! -f "$(cluster)/tokens/abcdef" ]
  run kubeadm_join w1 worker
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not find a JWS signature"* ]]
  # The next up: armed again (24 h, workers only), and the join goes through.
  arm w1 "" 1 >"$BATS_TEST_TMPDIR/arm.log" 2>&1 &
  armer=$!
  for _ in $(seq 1 50); do [ -f "$(cluster)/tokens/abcdef" ] && break; sleep 0.2; done
  run kubeadm_join w1 worker
  [ "$status" -eq 0 ]
  wait "$armer"
  [ "$(cut -d' ' -f2 "$(cluster)/tokens/abcdef")" -gt "$(($(date +%s) + 23 * 3600))" ]
}

# apiserver-certs.sh (issue 18 item 3): kubeadm's procedure for changed apiServer.certSANs.
CERT_CONFIG_HEAD='apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  name: cp1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "@KUBERNETES_VERSION@"
controlPlaneEndpoint: 10.0.0.10:6443
apiServer:
  certSANs:'
certs() { # names...
  local cfg="$CERT_CONFIG_HEAD" n
  for n in "$@"; do cfg+=$'\n'"    - $n"; done
  node_script cp1 apiserver-certs NODE_NAME=cp1 NODE_IP=10.0.0.10 CERT_SANS="$*" KUBEADM_CONFIG="$cfg" UPLOAD_CONFIG=true MANIFEST_CHECK_SECONDS=0
}
certs_with() { # ClusterConfiguration line (e.g. imageRepository), then names...
  local cfg="$CERT_CONFIG_HEAD" n extra="$1"
  shift
  for n in "$@"; do cfg+=$'\n'"    - $n"; done
  cfg+=$'\n'"$extra"
  node_script cp1 apiserver-certs NODE_NAME=cp1 NODE_IP=10.0.0.10 CERT_SANS="$*" KUBEADM_CONFIG="$cfg" UPLOAD_CONFIG=true MANIFEST_CHECK_SECONDS=0
}
cert_names() { openssl x509 -in "$(node_file cp1 /etc/kubernetes/pki/apiserver.crt)" -noout -ext subjectAltName | tail -n +2; }

@test "API server certificate: a new name is added the documented way (aside, certs apiserver, static pod restart, upload-config); unchanged does nothing; a removed name goes" {
  prepared cp1 control-plane
  init
  cert_names | grep -q 'DNS:kubernetes.default.svc.cluster.local'
  ! cert_names | grep -q 'api.lab.example' || false
  # The first run after init: every name is there; the ClusterConfiguration is stored once.
  run certs cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"has every configured name; nothing to do"* ]]
  ! stub_calls cp1 | grep -q 'init phase certs apiserver' || false
  # New names.
  run certs cp1 10.0.0.10 api.lab.example
  echo "$output"
  [ "$status" -eq 0 ]
  cert_names | grep -q 'DNS:api.lab.example'
  stub_calls cp1 | grep -q '^kubeadm init phase certs apiserver --config '
  stub_calls cp1 | grep -q '^kubeadm init phase upload-config kubeadm --config '
  grep -q 'api.lab.example' "$(cluster)/kubeadm-config.yaml"
  [ -f "$(node_file cp1 /etc/kubernetes/k8s-platform-previous-apiserver/apiserver.crt)" ]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-apiserver.yaml)" ]
  [ ! -e "$(node_file cp1 /etc/kubernetes/k8s-platform-kube-apiserver.yaml)" ]
  # Again, unchanged: nothing.
  calls=$(stub_calls cp1 | grep -c 'certs apiserver')
  run certs cp1 10.0.0.10 api.lab.example
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp1 | grep -c 'certs apiserver')" -eq "$calls" ]
  # Removed: regenerated without it.
  run certs cp1 10.0.0.10
  [ "$status" -eq 0 ]
  [[ "$output" == *"to drop: api.lab.example"* ]]
  ! cert_names | grep -q 'api.lab.example' || false
}

@test "API server certificate: a name kubeadm refuses leaves the old pair in place; the fixed name is applied by the next run" {
  prepared cp1 control-plane
  init
  before=$(sha256sum "$(node_file cp1 /etc/kubernetes/pki/apiserver.crt)" "$(node_file cp1 /etc/kubernetes/pki/apiserver.key)" | cut -d' ' -f1)
  # kubeadm's ValidateCertSANs refuses it (the config check refuses it earlier; a config from
  # before that check, or another kubeadm rule, ends here).
  run certs cp1 10.0.0.10 API_Lab.example
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *'Invalid value: "API_Lab.example"'* ]]
  [[ "$output" == *"putting the previous API server certificate and key back"* ]]
  [ "$(sha256sum "$(node_file cp1 /etc/kubernetes/pki/apiserver.crt)" "$(node_file cp1 /etc/kubernetes/pki/apiserver.key)" | cut -d' ' -f1)" = "$before" ]
  [ "$(stat -c %a "$(node_file cp1 /etc/kubernetes/pki/apiserver.key)")" = "$(stat -c %a "$(node_file cp1 /etc/kubernetes/k8s-platform-previous-apiserver/apiserver.key)")" ]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-apiserver.yaml)" ]
  # The name fixed: the next run applies it.
  run certs cp1 10.0.0.10 api-lab.example
  echo "$output"
  [ "$status" -eq 0 ]
  cert_names | grep -q 'DNS:api-lab.example'
}

@test "API server certificate: a run killed with the pair out of pki/ and the manifest parked is finished by the next one" {
  prepared cp1 control-plane
  init
  # What a run killed during the restart leaves (the old script moved the pair aside).
  in_node cp1 bash -c 'mkdir -p -m 700 /etc/kubernetes/k8s-platform-previous-apiserver &&
    mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /etc/kubernetes/k8s-platform-previous-apiserver/ &&
    mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/k8s-platform-kube-apiserver.yaml'
  run certs cp1 10.0.0.10 api.lab.example
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"parked by an earlier run"* ]]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-apiserver.yaml)" ]
  [ ! -e "$(node_file cp1 /etc/kubernetes/k8s-platform-kube-apiserver.yaml)" ]
  cert_names | grep -q 'DNS:api.lab.example'
}

@test "API server certificate: the step waits for a maintenance step that holds the lock (a renewal) before it moves anything" {
  prepared cp1 control-plane
  init
  cfg="$CERT_CONFIG_HEAD"$'\n'"    - 10.0.0.10"$'\n'"    - api.lab.example"
  run with_maintenance_lock cp1 3 "/etc/kubernetes/pki/apiserver.crt /etc/kubernetes/manifests/kube-apiserver.yaml" \
    /usr/bin/env NODE_NAME=cp1 NODE_IP=10.0.0.10 CERT_SANS="10.0.0.10 api.lab.example" KUBEADM_CONFIG="$cfg" UPLOAD_CONFIG=true MANIFEST_CHECK_SECONDS=0 \
    bash /opt/k8sp-scripts/apiserver-certs.sh
  echo "$output"
  [ "$status" -eq 0 ]
  cert_names | grep -q 'DNS:api.lab.example'
}

# kube-vip (kubernetes.controlPlaneEndpoint mode "kube-vip"): the static pod as the program renders
# it (test/fixtures/kube-vip.yaml; test/kubeVip.test.ts keeps it equal to the renderer's output).
KUBE_VIP="$(cat "$BATS_TEST_DIRNAME/../fixtures/kube-vip.yaml")"
init_vip() { kubeadm_init cp1 true KUBE_VIP_MANIFEST="${1:-$KUBE_VIP}"; } # [manifest]
join_cp_vip() { kubeadm_join "$1" control-plane KUBE_VIP_MANIFEST="${2:-$KUBE_VIP}"; } # node [manifest]
vip_manifest() { node_file "$1" /etc/kubernetes/manifests/kube-vip.yaml; }
# The host file the pod mounts: its hostPath volume's `path:` (the container's side is `mountPath:`).
vip_kubeconfig() { sed -nE 's/^ +path: "?([^"]*)"?$/\1/p' "$(vip_manifest "$1")"; }

@test "kube-vip: the bootstrap node's pod mounts super-admin.conf through init (preflight accepts it), admin.conf once init ended; a re-run changes nothing" {
  prepared cp1 control-plane
  echo addon/kube-proxy >"$(node_put cp1 /var/lib/k8sp-stub/fail-at)"
  run init_vip
  echo "$output"
  [ "$status" -ne 0 ]
  # Placed before init: its preflight ran (kubeadm checks only its own four manifests) and passed.
  stub_calls cp1 | grep -q '^kubeadm init --config'
  ! stub_calls cp1 | grep -q -- '--skip-phases' || false
  [ "$(vip_kubeconfig cp1)" = /etc/kubernetes/super-admin.conf ]
  [ -f "$(node_file cp1 /etc/kubernetes/super-admin.conf)" ]
  grep -q 'value: 10.0.0.10' "$(vip_manifest cp1)"
  run init_vip
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(vip_kubeconfig cp1)" = /etc/kubernetes/admin.conf ]
  [[ "$output" == *"kube-vip's static pod mounts /etc/kubernetes/admin.conf"* ]]
  # The next steps use admin.conf, i.e. the VIP: once the kubelet runs the new pod (a new
  # container), the API was asked through it.
  stub_calls cp1 | tail -n 2 | head -n 1 | grep -qxF 'crictl ps -q --state running --name ^kube-vip$'
  stub_calls cp1 | tail -n 1 | grep -q '^kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=5s get --raw /readyz'
  [ -f "$(node_file cp1 /var/lib/k8s-platform/init.done)" ]
  # Everything else as the manifest was rendered.
  diff <(sed 's#@KUBE_VIP_KUBECONFIG@#/etc/kubernetes/admin.conf#' <<<"$KUBE_VIP") "$(vip_manifest cp1)"
  before=$(stat -c '%Y %s' "$(vip_manifest cp1)")
  calls=$(stub_calls cp1 | wc -l)
  run init_vip
  [ "$status" -eq 0 ]
  [[ "$output" == *"already initialised"* ]]
  [ "$(stat -c '%Y %s' "$(vip_manifest cp1)")" = "$before" ]
  # Nothing ran but a look at the running containers: no kubeadm, no API call.
  [ "$(stub_calls cp1 | tail -n +$((calls + 1)) | grep -vc '^crictl ps ')" -eq 0 ]
}

@test "kube-vip: a new manifest (another image, e.g. a mirror's) reaches an initialised bootstrap node, still mounting admin.conf" {
  prepared cp1 control-plane
  init_vip
  run init_vip "${KUBE_VIP//ghcr.io/registry.example.internal/ghcr.io}"
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q 'image: registry.example.internal/ghcr.io/kube-vip/kube-vip:' "$(vip_manifest cp1)"
  [ "$(vip_kubeconfig cp1)" = /etc/kubernetes/admin.conf ]
  [ "$(stub_calls cp1 | grep -c '^kubeadm init --config')" -eq 1 ]
}

@test "kube-vip: a joining control plane has the pod before kubeadm join, mounting admin.conf (a join writes no super-admin.conf); a new manifest reaches it later; reset removes it" {
  prepared cp1 control-plane
  prepared cp2 control-plane
  init_vip
  credentials cp2
  echo control-plane-prepare >"$(node_put cp2 /var/lib/k8sp-stub/fail-at)"
  run join_cp_vip cp2
  [ "$status" -ne 0 ]
  [ "$(vip_kubeconfig cp2)" = /etc/kubernetes/admin.conf ]
  run join_cp_vip cp2
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(node_file cp2 /etc/kubernetes/admin.conf)" ]
  [ ! -e "$(node_file cp2 /etc/kubernetes/super-admin.conf)" ]
  [ "$(vip_kubeconfig cp2)" = /etc/kubernetes/admin.conf ]
  run join_cp_vip cp2
  [[ "$output" == *"already joined"* ]]
  # A new manifest (another image) reaches the joined control plane; it does not join again.
  run join_cp_vip cp2 "${KUBE_VIP//ghcr.io/registry.example.internal/ghcr.io}"
  [ "$status" -eq 0 ]
  grep -q 'image: registry.example.internal/ghcr.io/kube-vip/kube-vip:' "$(vip_manifest cp2)"
  [ "$(vip_kubeconfig cp2)" = /etc/kubernetes/admin.conf ]
  [ "$(stub_calls cp2 | grep -c '^kubeadm join --config')" -eq 2 ]
  run reset_node cp2
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$(vip_manifest cp2)" ]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-vip.yaml)" ]
}

@test "API server step: a ClusterConfiguration changed otherwise (imageRepository) is stored for upgrades and joins, once, without touching the certificate" {
  prepared cp1 control-plane
  init
  run certs cp1
  [ "$status" -eq 0 ]
  uploads=$(stub_calls cp1 | grep -c 'init phase upload-config kubeadm')
  run certs_with "imageRepository: harbor.example.com/k8s" cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"has every configured name; nothing to do"* ]]
  [ "$(stub_calls cp1 | grep -c 'init phase upload-config kubeadm')" -eq "$((uploads + 1))" ]
  grep -q '^imageRepository: harbor.example.com/k8s' "$(cluster)/kubeadm-config.yaml"
  ! stub_calls cp1 | grep -q 'init phase certs apiserver' || false
  # Unchanged: not stored again.
  run certs_with "imageRepository: harbor.example.com/k8s" cp1
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp1 | grep -c 'init phase upload-config kubeadm')" -eq "$((uploads + 1))" ]
  # The mirror removed: stored again, without it.
  run certs cp1
  [ "$status" -eq 0 ]
  [ "$(stub_calls cp1 | grep -c 'init phase upload-config kubeadm')" -eq "$((uploads + 2))" ]
  ! grep -q 'imageRepository' "$(cluster)/kubeadm-config.yaml" || false
}
