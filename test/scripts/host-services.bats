#!/usr/bin/env bats
# haproxy.sh, nfs-server.sh and registry-trust.sh run for real in a temporary root. haproxy.sh
# validates with the real `haproxy -c` (Debian's haproxy package).

load helpers

CONFIG='global
    maxconn 100
defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend http-in
    bind *:80
    mode http
    default_backend ingress-http
backend ingress-http
    mode http
    server w1 10.0.0.11:30080 check'

haproxy_run() { HAPROXY_CONFIG="$1" HAPROXY_PORTS="80 443" FIREWALL_MODE="${FIREWALL:-disabled}" bash "$SCRIPTS/haproxy.sh"; }

@test "haproxy: installs, writes a validated config, enables it; a second run does not reload" {
  setup_root ubuntu
  run haproxy_run "$CONFIG"
  [ "$status" -eq 0 ]
  grep -q '^apt-get -q -o DPkg::Lock::Timeout=600 update' "$CALLS"
  grep -q '^apt-get -q -o DPkg::Lock::Timeout=600 install -y haproxy' "$CALLS"
  [ "$(cat "$K8SP_ROOT/etc/haproxy/haproxy.cfg")" = "$CONFIG" ]
  grep -q '^systemctl enable haproxy' "$CALLS"
  grep -q '^systemctl reload haproxy' "$CALLS"
  : >"$CALLS"
  run haproxy_run "$CONFIG"
  [ "$status" -eq 0 ]
  ! grep -q 'reload\|install' "$CALLS"
}

@test "haproxy: a changed config reloads gracefully (reload, never restart)" {
  setup_root ubuntu
  haproxy_run "$CONFIG"
  : >"$CALLS"
  run haproxy_run "${CONFIG/w1 10.0.0.11/w2 10.0.0.12}"
  [ "$status" -eq 0 ]
  grep -q '^systemctl reload haproxy' "$CALLS"
  ! grep -q '^systemctl restart' "$CALLS"
  grep -q 'server w2 10.0.0.12:30080' "$K8SP_ROOT/etc/haproxy/haproxy.cfg"
}

@test "haproxy: an invalid config is refused and the running one stays" {
  setup_root ubuntu
  haproxy_run "$CONFIG"
  : >"$CALLS"
  run haproxy_run "${CONFIG/mode http/mode sideways}"
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not validate; the running one is unchanged"* ]]
  [ "$(cat "$K8SP_ROOT/etc/haproxy/haproxy.cfg")" = "$CONFIG" ]
  ! grep -q 'reload' "$CALLS"
}

@test "haproxy on rocky: SELinux allows its backend ports, firewall opened when asked" {
  setup_root rocky
  touch "$FAKE_STATE/units/firewalld.active"
  FIREWALL=open run haproxy_run "$CONFIG"
  [ "$status" -eq 0 ]
  grep -q '^setsebool -P haproxy_connect_any 1' "$CALLS"
  grep -q '^firewall-cmd --permanent --add-port=80/tcp' "$CALLS"
  grep -q '^dnf install -y -q haproxy' "$CALLS"
}

nfs_run() { EXPORT_PATH=/share_storage EXPORT_NETWORK=192.168.111.0/24 VOLUME_DIRS="docker_registry test_service" FIREWALL_MODE=disabled bash "$SCRIPTS/nfs-server.sh"; }

@test "nfs: exports the directory to the node network only, one subdirectory per volume" {
  setup_root rocky
  run nfs_run
  [ "$status" -eq 0 ]
  [ "$(cat "$K8SP_ROOT/etc/exports.d/k8s-platform.exports")" = "/share_storage 192.168.111.0/24(rw,sync,no_subtree_check,no_root_squash)" ]
  [ -d "$K8SP_ROOT/share_storage/docker_registry" ]
  [ -d "$K8SP_ROOT/share_storage/test_service" ]
  grep -q '^dnf install -y -q nfs-utils' "$CALLS"
  grep -q '^systemctl enable nfs-server' "$CALLS"
  grep -q '^exportfs -ra' "$CALLS"
}

@test "nfs: a second run changes nothing and existing data is left alone" {
  setup_root ubuntu
  nfs_run
  echo "an image layer" >"$K8SP_ROOT/share_storage/docker_registry/blob"
  before=$(tree_state)
  : >"$CALLS"
  run nfs_run
  [ "$status" -eq 0 ]
  [ "$before" = "$(tree_state)" ]
  ! grep -q 'exportfs\|install' "$CALLS"
  [ -f "$FAKE_STATE/pkg/nfs-kernel-server" ]
}

@test "registry trust: tls mode writes hosts.toml with the CA; insecure mode plain HTTP" {
  setup_root ubuntu
  REGISTRY_HOST=registry.localtest.com REGISTRY_MODE=tls REGISTRY_CA="TEST-CA" run bash "$SCRIPTS/registry-trust.sh"
  [ "$status" -eq 0 ]
  dir="$K8SP_ROOT/etc/containerd/certs.d/registry.localtest.com"
  [ "$(cat "$dir/ca.crt")" = TEST-CA ]
  grep -qx 'server = "https://registry.localtest.com"' "$dir/hosts.toml"
  grep -qx '  ca = "/etc/containerd/certs.d/registry.localtest.com/ca.crt"' "$dir/hosts.toml"
  ! grep -q 'systemctl' "$CALLS"
  REGISTRY_HOST=registry.localtest.com REGISTRY_MODE=insecure run bash "$SCRIPTS/registry-trust.sh"
  grep -qx 'server = "http://registry.localtest.com"' "$dir/hosts.toml"
  grep -qx '  skip_verify = true' "$dir/hosts.toml"
  [ ! -e "$dir/ca.crt" ]
}
