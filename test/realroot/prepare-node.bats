#!/usr/bin/env bats
# prepare-node.sh for real in a Debian root (apt, dpkg, containerd, rpm are the real ones).
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

prepare() { # node [VAR=value...]
  local node="$1"
  shift
  node_script "$node" prepare-node NODE_NAME="$node" NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 \
    K8S_REPO_BASE="$E2E_REPO_BASE" FIREWALL_MODE=disabled CONTAINERD_REPO_URL=http://127.0.0.1:1/unused APT_RETRY_INTERVAL=1 "$@"
}

@test "ubuntu: a fresh host with empty package lists is prepared; the second run changes nothing under /etc" {
  new_node n1 ubuntu
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  in_node n1 dpkg-query -W kubeadm kubelet kubectl cri-tools containerd conntrack socat
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.35.2-1.1 ]
  [ "$(in_node n1 apt-mark showhold | sort | tr '\n' ' ')" = "containerd kubeadm kubectl kubelet " ]
  before=$(etc_state n1)
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}

@test "a patch version pins exactly that patch, and 1.35.2 is not taken for 1.35.20 (or 1.35.1)" {
  new_node n1 ubuntu
  run prepare n1 K8S_VERSION=1.35.1
  [ "$status" -eq 0 ]
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.35.1-1.1 ]
  run prepare n1 K8S_VERSION=1.35.11
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubeadm 1.35.1 is installed but the stack asks for 1.35.11"* ]]
}

@test "containerd (Debian's 2.1 package) gets the systemd cgroup driver, certs.d, kubeadm's pause image, /opt/cni/bin — as containerd itself reads it" {
  new_node n1 ubuntu
  run prepare n1
  [ "$status" -eq 0 ]
  dump=$("$E2E_CACHE/containerd-2.1/containerd" --config "$(node_file n1 /etc/containerd/config.toml)" config dump)
  grep -q "SystemdCgroup = true" <<<"$dump"
  grep -q "config_path = '/etc/containerd/certs.d'" <<<"$dump"
  grep -q "sandbox = 'registry.k8s.io/pause:3.10.1'" <<<"$dump"
  grep -q "bin_dirs = \['/opt/cni/bin'\]" <<<"$dump"
}

@test "an existing Docker host keeps containerd.io (1.x layout, read by Debian's containerd 1.7) and holds it" {
  new_node n1 ubuntu
  cp "$E2E_REPOS/docker/containerd.io_1.7.28-1_amd64.deb" "$(node_put n1 /tmp/containerd.io.deb)"
  in_node n1 dpkg -i /tmp/containerd.io.deb >/dev/null
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  ! in_node n1 dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q installed || false
  in_node n1 apt-mark showhold | grep -qx containerd.io
  dump=$("$E2E_CACHE/containerd-1.7/containerd" --config "$(node_file n1 /etc/containerd/config.toml)" config dump)
  grep -q 'SystemdCgroup = true' <<<"$dump"
  grep -q 'config_path = "/etc/containerd/certs.d"' <<<"$dump"
  grep -q 'sandbox_image = "registry.k8s.io/pause:3.10.1"' <<<"$dump"
  grep -q 'bin_dir = "/opt/cni/bin"' <<<"$dump"
}

@test "a containerd too old for Kubernetes 1.35 (Debian trixie's 1.7.24) is refused by name" {
  new_node n1 ubuntu
  cp "$E2E_CACHE"/old-debs/containerd_1.7.24*.deb "$(node_put n1 /tmp/containerd.deb)"
  in_node n1 bash -c 'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/containerd.deb' >/dev/null 2>&1
  run prepare n1
  [ "$status" -ne 0 ]
  [[ "$output" == *"containerd 1.7.24 is too old for Kubernetes 1.35"* ]]
}

@test "a containerd restart that failed is made on the next run" {
  new_node n1 ubuntu
  touch "$(node_put n1 /var/lib/k8sp-stub/fail-restart-containerd)"
  run prepare n1
  [ "$status" -ne 0 ]
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
  run prepare n1
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
}

@test "apt busy at first boot (lists lock held by another apt): waits and retries" {
  new_node n1 ubuntu
  # perl's fcntl lock is the kind apt takes (pkgsystem/ GetLock uses fcntl F_SETLK).
  run in_node n1 bash -c '
    perl -e "use Fcntl; open(my \$f, \">\", \"/var/lib/apt/lists/lock\") or die; my \$l = pack(\"s s l l i\", F_WRLCK, 0, 0, 0, 0); fcntl(\$f, F_SETLKW, \$l) or die \"lock: \$!\"; sleep 4;" &
    sleep 1
    env NODE_NAME=n1 NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 K8S_REPO_BASE='"$E2E_REPO_BASE"' FIREWALL_MODE=disabled APT_RETRY_INTERVAL=1 bash /opt/k8sp-scripts/prepare-node.sh'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"apt is busy"* ]]
}

@test "rocky: real rpm answers the queries; a fresh node installs, version-locks containerd.io, SELinux permissive" {
  new_node r1 rocky
  run prepare r1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(in_node r1 rpm -q --qf '%{VERSION}' kubeadm)" = 1.35.2 ]
  in_node r1 rpm -q cri-tools containerd.io >/dev/null
  grep -q '^containerd.io-0:1.7.28-' "$(node_file r1 /etc/dnf/plugins/versionlock.list)"
  grep -qx 'SELINUX=permissive' "$(node_file r1 /etc/selinux/config)"
  before=$(etc_state r1)
  run prepare r1
  [ "$status" -eq 0 ]
  [ "$(etc_state r1)" = "$before" ]
}

@test "debian is refused by name" {
  new_node d1 debian
  run prepare d1
  [ "$status" -ne 0 ]
  [[ "$output" == *"unsupported OS 'debian'"* ]]
}

@test "swap: fstab entries commented exactly once; a proxy reaches containerd through a drop-in (and a restart)" {
  new_node n1 ubuntu
  printf 'UUID=abc / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n# /old none swap sw 0 0\n' >"$(node_put n1 /etc/fstab)"
  run prepare n1 HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=localhost,127.0.0.1,.svc,.example.com
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^#/swap.img none swap sw 0 0 # disabled by k8s-platform$' "$(node_file n1 /etc/fstab)")" -eq 1 ]
  grep -qx 'Environment="NO_PROXY=localhost,127.0.0.1,.svc,.example.com"' "$(node_file n1 /etc/systemd/system/containerd.service.d/http-proxy.conf)"
  stub_calls n1 | grep -q '^systemctl restart containerd'
  before=$(etc_state n1)
  run prepare n1 HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=localhost,127.0.0.1,.svc,.example.com
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
  ! grep -q '##' "$(node_file n1 /etc/fstab)" || false
}

@test "a node whose kubeadm has another minor (1.34) is refused, not silently upgraded" {
  new_node n1 ubuntu
  cp "$E2E_REPOS"/other-minor/kubeadm_1.34.5-1.1_amd64.deb "$(node_put n1 /tmp/kubeadm.deb)"
  cp "$E2E_REPOS"/k8s/v1.35/deb/cri-tools_*.deb "$(node_put n1 /tmp/cri-tools.deb)"
  in_node n1 dpkg -i /tmp/cri-tools.deb /tmp/kubeadm.deb >/dev/null
  run prepare n1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubeadm 1.34.5 is installed but the stack asks for 1.35; upgrade with 'kubeadm upgrade' first"* ]]
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.34.5-1.1 ]
  run grep -q 'kubelet=' <<<"$(stub_calls n1)"
  [ "$status" -eq 1 ]
}

@test "firewall disabled (the seed's default): firewalld (rocky) stopped and disabled, an active ufw (ubuntu) disabled" {
  new_node r1 rocky
  run prepare r1
  [ "$status" -eq 0 ]
  run in_node r1 systemctl is-enabled firewalld
  [ "$output" = disabled ]
  run in_node r1 systemctl is-active firewalld
  [ "$status" -eq 3 ]
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1
  [ "$status" -eq 0 ]
  grep -qx 'ENABLED=no' "$(node_file n1 /etc/ufw/ufw.conf)"
}

@test "firewall open: the role's ports are opened once in firewalld (rocky control plane) and ufw (ubuntu worker), then left alone" {
  new_node r1 rocky
  run prepare r1 NODE_ROLE=control-plane FIREWALL_MODE=open
  echo "$output"
  [ "$status" -eq 0 ]
  for p in 6443/tcp 2379-2380/tcp 10250/tcp 10257/tcp 10259/tcp 8472/udp; do in_node r1 firewall-cmd --query-port="$p" >/dev/null; done
  [ "$(in_node r1 systemctl is-active firewalld)" = active ]
  before=$(etc_state r1)
  run prepare r1 NODE_ROLE=control-plane FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  [ "$(etc_state r1)" = "$before" ]
  [ "$(stub_calls r1 | grep -c -- '--reload')" -eq 1 ]
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1 FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  rules=$(in_node n1 ufw status)
  for p in 8472/udp 10250/tcp 10256/tcp 30000:32767/tcp 80/tcp 443/tcp; do grep -q "^$p .*ALLOW" <<<"$rules"; done
  before=$(etc_state n1)
  run prepare n1 FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}
