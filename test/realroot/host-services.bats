#!/usr/bin/env bats
# haproxy.sh, nfs-server.sh, registry-trust.sh and hosts-block.sh for real in a Debian root: real
# apt installs Debian's haproxy and nfs-kernel-server, the real `haproxy -c` checks the config the
# program renders, the real `exportfs` reads the export file. Each runs twice; the second run
# changes nothing under /etc.
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

# The HAProxy config exactly as the program renders it (components/render/haproxy.ts).
render_haproxy() { # [api]
  (cd "$REALROOT_DIR/../.." && node --import tsx -e '
    const { renderHaproxyConfig } = require("./components/render/haproxy.ts");
    const api = process.argv[1] === "api" ? [{ name: "cp1", ip: "10.0.0.10" }, { name: "cp2", ip: "10.0.0.20" }] : [];
    process.stdout.write(renderHaproxyConfig({ httpNodePort: 30080, httpsNodePort: 30443,
      workers: [{ name: "w1", ip: "10.0.0.11" }, { name: "w2", ip: "10.0.0.12" }], apiServers: api }));' "${1:-}")
}
# A Rocky imitation gets its rpms as name-only stubs (no Rocky repository here): the real
# haproxy/exportfs binaries and units it runs are Debian's, installed beforehand.
rocky_binaries() { # node debian-package...
  local node="$1"
  shift
  in_node "$node" bash -c 'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"' _ "$@" >/dev/null 2>&1
}
haproxy_run() { # node config firewall ports
  node_script "$1" haproxy HAPROXY_CONFIG="$2" FIREWALL_MODE="$3" HAPROXY_PORTS="$4" APT_RETRY_INTERVAL=1
}
nfs_run() { # node firewall
  node_script "$1" nfs-server EXPORT_PATH=/share_storage EXPORT_NETWORK=192.168.111.0/24 \
    VOLUME_DIRS="docker_registry test_service" FIREWALL_MODE="$2" APT_RETRY_INTERVAL=1
}

@test "haproxy: the rendered config (user/group haproxy) passes the real haproxy -c in the root; enabled, reloaded only on change" {
  new_node lb ubuntu
  config=$(render_haproxy)
  run haproxy_run lb "$config" disabled "80 443"
  echo "$output"
  [ "$status" -eq 0 ]
  in_node lb haproxy -c -f /etc/haproxy/haproxy.cfg
  [ "$(cat "$(node_file lb /etc/haproxy/haproxy.cfg)")" = "$config" ]
  grep -qx '    user haproxy' "$(node_file lb /etc/haproxy/haproxy.cfg)"
  [ "$(in_node lb systemctl is-enabled haproxy)" = enabled ]
  [ "$(stub_calls lb | grep -c '^systemctl reload haproxy')" -eq 1 ]
  before=$(etc_state lb)
  run haproxy_run lb "$config" disabled "80 443"
  [ "$status" -eq 0 ]
  [ "$(etc_state lb)" = "$before" ]
  [ "$(stub_calls lb | grep -c '^systemctl reload haproxy')" -eq 1 ]
  # A changed backend list: written and reloaded (gracefully: never a restart).
  run haproxy_run lb "$(render_haproxy api)" disabled "80 443 6443"
  [ "$status" -eq 0 ]
  [ "$(stub_calls lb | grep -c '^systemctl reload haproxy')" -eq 2 ]
  run grep -q '^systemctl restart haproxy' <<<"$(stub_calls lb)"
  [ "$status" -eq 1 ]
}

@test "haproxy: a config the real haproxy -c refuses leaves the running one in place" {
  new_node lb ubuntu
  config=$(render_haproxy)
  haproxy_run lb "$config" disabled "80 443" >/dev/null 2>&1
  run haproxy_run lb "${config/mode tcp/mode sideways}" disabled "80 443"
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not validate; the running one is unchanged"* ]]
  [ "$(cat "$(node_file lb /etc/haproxy/haproxy.cfg)")" = "$config" ]
}

@test "haproxy on a dedicated host, FIREWALL_MODE=disabled: firewalld (rocky) is stopped and disabled, an active ufw (ubuntu) disabled" {
  new_node lbr rocky
  rocky_binaries lbr haproxy
  run haproxy_run lbr "$(render_haproxy)" disabled "80 443"
  echo "$output"
  [ "$status" -eq 0 ]
  run in_node lbr systemctl is-enabled firewalld
  [ "$output" = disabled ]
  run in_node lbr systemctl is-active firewalld
  [ "$status" -eq 3 ]
  new_node lbu ubuntu
  in_node lbu ufw enable >/dev/null
  run haproxy_run lbu "$(render_haproxy)" disabled "80 443"
  [ "$status" -eq 0 ]
  [ "$(in_node lbu ufw status)" = "Status: inactive" ]
  grep -qx 'ENABLED=no' "$(node_file lbu /etc/ufw/ufw.conf)"
}

@test "haproxy on a dedicated host, FIREWALL_MODE=open: 80/443/6443 opened in firewalld (rocky) or ufw (ubuntu), once" {
  new_node lbr rocky
  rocky_binaries lbr haproxy
  run haproxy_run lbr "$(render_haproxy api)" open "80 443 6443"
  echo "$output"
  [ "$status" -eq 0 ]
  for p in 80 443 6443; do in_node lbr firewall-cmd --query-port="$p/tcp" >/dev/null; done
  [ "$(in_node lbr systemctl is-active firewalld)" = active ]
  before=$(etc_state lbr)
  run haproxy_run lbr "$(render_haproxy api)" open "80 443 6443"
  [ "$status" -eq 0 ]
  [ "$(etc_state lbr)" = "$before" ]
  [ "$(stub_calls lbr | grep -c -- '--reload')" -eq 1 ]
  new_node lbu ubuntu
  in_node lbu ufw enable >/dev/null
  run haproxy_run lbu "$(render_haproxy)" open "80 443"
  [ "$status" -eq 0 ]
  in_node lbu ufw status | grep -q '^80/tcp .*ALLOW'
  in_node lbu ufw status | grep -q '^443/tcp .*ALLOW'
  before=$(etc_state lbu)
  run haproxy_run lbu "$(render_haproxy)" open "80 443"
  [ "$status" -eq 0 ]
  [ "$(etc_state lbu)" = "$before" ]
}

@test "SELinux: a file written into /etc is relabelled (restorecon) when SELinux is enabled, and not when it is off" {
  new_node lb rocky
  rocky_binaries lb haproxy
  touch "$(node_put lb /var/lib/k8sp-stub/selinux-enabled)"
  run haproxy_run lb "$(render_haproxy)" disabled "80 443"
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls lb | grep -qx 'restorecon /etc/haproxy/haproxy.cfg'
  new_node lb2 ubuntu
  run haproxy_run lb2 "$(render_haproxy)" disabled "80 443"
  [ "$status" -eq 0 ]
  run grep -q '^restorecon' <<<"$(stub_calls lb2)"
  [ "$status" -eq 1 ]
}

@test "nfs (ubuntu): nfs-kernel-server installed, the nfs-server unit (not its alias) enabled, exports read by the real exportfs; the second run changes nothing" {
  new_node st ubuntu
  run nfs_run st disabled
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cat "$(node_file st /etc/exports.d/k8s-platform.exports)")" = "/share_storage 192.168.111.0/24(rw,sync,no_subtree_check,no_root_squash)" ]
  [ "$(in_node st systemctl is-enabled nfs-server)" = enabled ]
  [ -L "$(node_file st /etc/systemd/system/multi-user.target.wants/nfs-server.service)" ]
  [ "$(stat -c %a "$(node_file st /share_storage/docker_registry)")" = 777 ]
  [ -d "$(node_file st /share_storage/test_service)" ]
  # exportfs -r wrote the kernel-facing table (etab) from the file, with every option parsed.
  grep -q '^/share_storage	192.168.111.0/24(rw,sync,.*no_root_squash.*no_subtree_check' "$(node_file st /var/lib/nfs/etab)"
  echo "an image layer" >"$(node_put st /share_storage/docker_registry/blob)"
  before=$(etc_state st)
  run nfs_run st disabled
  [ "$status" -eq 0 ]
  [ "$(etc_state st)" = "$before" ]
  [ "$(cat "$(node_file st /share_storage/docker_registry/blob)")" = "an image layer" ]
  # Disabled since (by hand, or a package preset): the next run enables nfs-server again. Asking
  # about the alias nfs-kernel-server would answer "alias" (exit 0) and never enable it.
  in_node st systemctl disable nfs-server 2>/dev/null
  run nfs_run st disabled
  [ "$status" -eq 0 ]
  [ "$(in_node st systemctl is-enabled nfs-server)" = enabled ]
}

@test "nfs: exportfs refuses a bad export (the script fails, naming the file)" {
  new_node st ubuntu
  run nfs_run st disabled
  [ "$status" -eq 0 ]
  run node_script st nfs-server EXPORT_PATH=/share_storage EXPORT_NETWORK='192.168.111.0/24 evil(rw' VOLUME_DIRS= FIREWALL_MODE=disabled
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"exportfs"* ]]
}

@test "nfs on a dedicated host, FIREWALL_MODE=open: 2049/tcp (NFSv4) opened in firewalld (rocky) and ufw (ubuntu); disabled stops them" {
  new_node sr rocky
  rocky_binaries sr nfs-kernel-server
  run nfs_run sr open
  echo "$output"
  [ "$status" -eq 0 ]
  in_node sr firewall-cmd --permanent --query-port=2049/tcp >/dev/null
  in_node sr firewall-cmd --query-port=2049/tcp >/dev/null
  [ "$(in_node sr systemctl is-enabled nfs-server)" = enabled ]
  new_node su ubuntu
  in_node su ufw enable >/dev/null
  run nfs_run su open
  echo "$output"
  [ "$status" -eq 0 ]
  in_node su ufw status | grep -q '^2049/tcp .*ALLOW'
  before=$(etc_state su)
  run nfs_run su open
  [ "$status" -eq 0 ]
  [ "$(etc_state su)" = "$before" ]
  run nfs_run su disabled
  [ "$status" -eq 0 ]
  [ "$(in_node su ufw status)" = "Status: inactive" ]
  run nfs_run sr disabled
  [ "$status" -eq 0 ]
  run in_node sr systemctl is-active firewalld
  [ "$status" -eq 3 ]
}

@test "registry trust: tls hosts.toml + CA, then insecure mode; each twice without a change under /etc; containerd is not restarted" {
  new_node n1 ubuntu
  trust() { node_script n1 registry-trust REGISTRY_HOST=registry.localtest.com "$@"; }
  run trust REGISTRY_MODE=tls REGISTRY_CA=TEST-CA REGISTRY_PORT=30443
  [ "$status" -eq 0 ]
  dir=/etc/containerd/certs.d/registry.localtest.com
  [ "$(cat "$(node_file n1 $dir/ca.crt)")" = TEST-CA ]
  grep -qx 'server = "https://registry.localtest.com"' "$(node_file n1 $dir/hosts.toml)"
  grep -qx '\[host."https://registry.localtest.com:30443"\]' "$(node_file n1 $dir/hosts.toml)"
  grep -qx "  ca = \"$dir/ca.crt\"" "$(node_file n1 $dir/hosts.toml)"
  before=$(etc_state n1)
  run trust REGISTRY_MODE=tls REGISTRY_CA=TEST-CA REGISTRY_PORT=30443
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
  run trust REGISTRY_MODE=insecure
  [ "$status" -eq 0 ]
  grep -qx 'server = "http://registry.localtest.com"' "$(node_file n1 $dir/hosts.toml)"
  grep -qx '  skip_verify = true' "$(node_file n1 $dir/hosts.toml)"
  [ ! -e "$(node_file n1 $dir/ca.crt)" ]
  before=$(etc_state n1)
  run trust REGISTRY_MODE=insecure
  [ "$(etc_state n1)" = "$before" ]
  run grep -q '^systemctl' <<<"$(stub_calls n1)"
  [ "$status" -eq 1 ]
}

@test "hosts block: written once into the root's real /etc/hosts, other lines kept; the second run changes nothing" {
  new_node n1 ubuntu
  printf '127.0.0.1\tlocalhost\n\n# operator line\n10.9.9.9\tbuild\n' >"$(node_put n1 /etc/hosts)"
  block() { node_script n1 hosts-block BLOCK_NAME=lab HOSTS_LINES="$1"; }
  run block $'192.168.1.10\tm-k8s\n192.168.1.101\tw1-k8s'
  [ "$status" -eq 0 ]
  [ "$(cat "$(node_file n1 /etc/hosts)")" = $'127.0.0.1\tlocalhost\n\n# operator line\n10.9.9.9\tbuild\n# BEGIN k8s-platform lab\n192.168.1.10\tm-k8s\n192.168.1.101\tw1-k8s\n# END k8s-platform lab' ]
  [ "$(in_node n1 getent hosts w1-k8s)" = "192.168.1.101   w1-k8s" ]
  before=$(etc_state n1)
  run block $'192.168.1.10\tm-k8s\n192.168.1.101\tw1-k8s'
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}
