#!/usr/bin/env bats
# prepare-node.sh run for real in a temporary root, with system commands replaced by recorders.

load helpers

prepare() {
  NODE_NAME=test-node1 NODE_ROLE="${ROLE:-worker}" K8S_MINOR=1.35 K8S_VERSION="${VERSION:-1.35}" \
    K8S_REPO_BASE=https://pkgs.k8s.io/core:/stable: CONTAINERD_REPO_URL=https://download.docker.com/linux/centos/docker-ce.repo \
    FIREWALL_MODE="${FIREWALL:-disabled}" NFS_CLIENT="${NFS:-false}" bash "$SCRIPTS/prepare-node.sh"
}

@test "ubuntu: apt family, pkgs.k8s.io repository of the minor, packages pinned and held" {
  setup_root ubuntu
  run prepare
  [ "$status" -eq 0 ]
  grep -qx 'deb \[signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg\] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /' \
    "$K8SP_ROOT/etc/apt/sources.list.d/kubernetes.list"
  grep -q '^curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.35/deb/Release.key' "$CALLS"
  grep -q '^apt-get install -y -q -o DPkg::Lock::Timeout=600 kubelet=1.35.\* kubeadm=1.35.\* kubectl=1.35.\*' "$CALLS"
  grep -q '^apt-mark hold kubelet kubeadm kubectl' "$CALLS"
  ! grep -q '^dnf ' "$CALLS"
}

@test "a patch version pins the exact package version" {
  setup_root ubuntu
  VERSION=1.35.2 run prepare
  [ "$status" -eq 0 ]
  grep -q '^apt-get install -y -q -o DPkg::Lock::Timeout=600 kubelet=1.35.2-\* kubeadm=1.35.2-\* kubectl=1.35.2-\*' "$CALLS"
}

@test "rocky: dnf family, repo with excludes, containerd.io, SELinux permissive now and after reboot" {
  setup_root rocky
  run prepare
  [ "$status" -eq 0 ]
  grep -qx 'baseurl=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/' "$K8SP_ROOT/etc/yum.repos.d/kubernetes.repo"
  grep -qx 'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni' "$K8SP_ROOT/etc/yum.repos.d/kubernetes.repo"
  grep -q '^dnf install -y -q containerd.io' "$CALLS"
  grep -q '^dnf install -y -q kubelet kubeadm kubectl --disableexcludes=kubernetes' "$CALLS"
  grep -q '^setenforce 0' "$CALLS"
  grep -qx 'SELINUX=permissive' "$K8SP_ROOT/etc/selinux/config"
  ! grep -q '^apt-get ' "$CALLS"
}

@test "swap goes off now and the fstab entry is commented exactly once" {
  setup_root ubuntu
  run prepare
  [ "$status" -eq 0 ]
  grep -q '^swapoff -a' "$CALLS"
  [ "$(grep -c '^#/swap.img none swap sw 0 0 # disabled by k8s-platform$' "$K8SP_ROOT/etc/fstab")" -eq 1 ]
  grep -qx 'UUID=abc / ext4 defaults 0 1' "$K8SP_ROOT/etc/fstab"
  grep -qx '# /old none swap sw 0 0' "$K8SP_ROOT/etc/fstab"
  run prepare
  [ "$status" -eq 0 ]
  [ "$(grep -c 'swap.img' "$K8SP_ROOT/etc/fstab")" -eq 1 ]
  ! grep -q '##' "$K8SP_ROOT/etc/fstab"
}

@test "kernel modules, sysctls and containerd (2.x) with the systemd cgroup driver" {
  setup_root ubuntu
  run prepare
  [ "$status" -eq 0 ]
  [ "$(cat "$K8SP_ROOT/etc/modules-load.d/k8s-platform.conf")" = "$(printf 'overlay\nbr_netfilter')" ]
  grep -qx 'net.bridge.bridge-nf-call-iptables = 1' "$K8SP_ROOT/etc/sysctl.d/99-k8s-platform.conf"
  grep -qx 'net.ipv4.ip_forward = 1' "$K8SP_ROOT/etc/sysctl.d/99-k8s-platform.conf"
  grep -q '^modprobe br_netfilter' "$CALLS"
  grep -qx 'version = 3' "$K8SP_ROOT/etc/containerd/config.toml"
  grep -q "^\[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options\]" "$K8SP_ROOT/etc/containerd/config.toml"
  grep -qx '  SystemdCgroup = true' "$K8SP_ROOT/etc/containerd/config.toml"
  grep -q "config_path = '/etc/containerd/certs.d'" "$K8SP_ROOT/etc/containerd/config.toml"
  grep -q '^systemctl restart containerd' "$CALLS"
  grep -q '^systemctl enable kubelet' "$CALLS"
}

@test "containerd 1.x gets the version 2 config layout" {
  setup_root ubuntu
  FAKE_CONTAINERD_VERSION=1.7.24 run prepare
  [ "$status" -eq 0 ]
  grep -qx 'version = 2' "$K8SP_ROOT/etc/containerd/config.toml"
  grep -q '^\[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options\]' "$K8SP_ROOT/etc/containerd/config.toml"
}

@test "a second run changes nothing: no file rewritten, nothing installed, restarted or reloaded" {
  setup_root rocky
  touch "$FAKE_STATE/units/firewalld.active" "$FAKE_STATE/units/firewalld.enabled"
  run prepare
  [ "$status" -eq 0 ]
  before=$(tree_state)
  : >"$CALLS"
  run prepare
  [ "$status" -eq 0 ]
  [ "$before" = "$(tree_state)" ]
  [ -z "$(calls_matching '^(dnf install|apt-get install|systemctl (restart|enable|start|disable|daemon-reload)|sysctl --system|modprobe|swapoff|setenforce|curl|dnf makecache)')" ]
}

@test "firewall disabled (seed default): firewalld is stopped and disabled" {
  setup_root rocky
  touch "$FAKE_STATE/units/firewalld.active" "$FAKE_STATE/units/firewalld.enabled"
  run prepare
  [ "$status" -eq 0 ]
  grep -q '^systemctl disable --now firewalld' "$CALLS"
}

@test "firewall open: the role's ports are opened once, then left alone" {
  setup_root rocky
  touch "$FAKE_STATE/units/firewalld.active"
  ROLE=control-plane FIREWALL=open run prepare
  [ "$status" -eq 0 ]
  grep -q '^firewall-cmd --permanent --add-port=6443/tcp' "$CALLS"
  grep -q '^firewall-cmd --permanent --add-port=2379-2380/tcp' "$CALLS"
  grep -q '^firewall-cmd --permanent --add-port=8472/udp' "$CALLS"
  grep -q '^firewall-cmd --reload' "$CALLS"
  ! grep -q 'disable --now firewalld' "$CALLS"
  : >"$CALLS"
  ROLE=control-plane FIREWALL=open run prepare
  [ -z "$(calls_matching 'add-port|--reload')" ]
}

@test "the NFS client is installed when asked" {
  setup_root ubuntu
  NFS=true run prepare
  grep -q '^apt-get install -y -q -o DPkg::Lock::Timeout=600 nfs-common' "$CALLS"
  setup_root rocky
  NFS=true run prepare
  grep -q '^dnf install -y -q nfs-utils' "$CALLS"
}

@test "a proxy reaches containerd through a systemd drop-in" {
  setup_root ubuntu
  HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=10.0.0.0/8 run prepare
  [ "$status" -eq 0 ]
  grep -qx 'Environment="HTTPS_PROXY=http://proxy:3128"' "$K8SP_ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf"
  grep -qx 'Environment="NO_PROXY=10.0.0.0/8"' "$K8SP_ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf"
}

@test "an installed kubeadm of another minor is refused, not silently upgraded" {
  setup_root ubuntu
  mkdir -p "$FAKE_STATE/pkg" && echo 1.34.5 >"$FAKE_STATE/pkg/kubeadm"
  run prepare
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubeadm 1.34.5-1.1 is installed but the stack asks for 1.35"* ]]
  ! grep -q 'install -y -q kubelet' "$CALLS"
}

@test "an unsupported OS and a missing parameter fail with a clear message" {
  setup_root ubuntu
  printf 'ID=arch\n' >"$K8SP_ROOT/etc/os-release"
  run prepare
  [ "$status" -ne 0 ]
  [[ "$output" == *"unsupported OS 'arch'"* ]]
  setup_root ubuntu
  run env -u NODE_ROLE NODE_NAME=x K8S_MINOR=1.35 K8S_VERSION=1.35 K8S_REPO_BASE=x FIREWALL_MODE=disabled bash "$SCRIPTS/prepare-node.sh"
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing parameter(s): NODE_ROLE"* ]]
}
