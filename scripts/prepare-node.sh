#!/usr/bin/env bash
# Prepares a machine to become a Kubernetes node (seed 000 §6-7, done the modern way):
# swap off, SELinux permissive, firewall, kernel modules and sysctls, containerd with the systemd
# cgroup driver, kubelet/kubeadm/kubectl from pkgs.k8s.io at the configured version, held.
# Idempotent: every step checks before it changes, so a second run changes nothing.
#
# Parameters (environment):
#   NODE_NAME, NODE_ROLE (control-plane|worker)
#   K8S_MINOR (1.35), K8S_VERSION (1.35 or 1.35.2: a patch pins the packages)
#   K8S_REPO_BASE (https://pkgs.k8s.io/core:/stable:), CONTAINERD_REPO_URL (dnf family only)
#   FIREWALL_MODE (disabled|open)
#   HTTP_PROXY_URL, HTTPS_PROXY_URL, NO_PROXY_LIST (optional; for internal networks)
#   NFS_CLIENT (true|false): install the NFS client so pods can mount NFS volumes
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME NODE_ROLE K8S_MINOR K8S_VERSION K8S_REPO_BASE FIREWALL_MODE
FAMILY=$(os_family)
log "preparing $NODE_NAME ($NODE_ROLE, $FAMILY family, Kubernetes $K8S_VERSION)"

configure_proxy() {
  [ -n "${HTTP_PROXY_URL:-}${HTTPS_PROXY_URL:-}" ] || return 0
  export http_proxy="${HTTP_PROXY_URL:-}" https_proxy="${HTTPS_PROXY_URL:-}" no_proxy="${NO_PROXY_LIST:-}"
  # containerd pulls images itself, so it needs the proxy too.
  if write_if_changed "$ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf" 0644 <<EOF; then
[Service]
Environment="HTTP_PROXY=${HTTP_PROXY_URL:-}"
Environment="HTTPS_PROXY=${HTTPS_PROXY_URL:-}"
Environment="NO_PROXY=${NO_PROXY_LIST:-}"
EOF
    systemctl daemon-reload
    CONTAINERD_RESTART=1
  fi
}

disable_swap() {
  # The kubelet refuses to run with swap on (by default).
  if [ -r "$ROOT/proc/swaps" ] && [ "$(wc -l <"$ROOT/proc/swaps")" -gt 1 ]; then
    swapoff -a
  fi
  local fstab="$ROOT/etc/fstab"
  [ -f "$fstab" ] || return 0
  # Comment out active swap entries so swap stays off after a reboot.
  awk '!/^[[:space:]]*#/ && $3 == "swap" { print "#" $0 " # disabled by k8s-platform"; next } { print }' "$fstab" |
    write_if_changed "$fstab" 0644 || true
}

configure_selinux() {
  [ "$FAMILY" = dnf ] || return 0
  if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then
    setenforce 0
  fi
  local conf="$ROOT/etc/selinux/config"
  [ -f "$conf" ] || return 0
  sed 's/^SELINUX=enforcing$/SELINUX=permissive/' "$conf" | write_if_changed "$conf" 0644 || true
}

firewall_ports() {
  # Flannel's VXLAN on every node; then the ports of each role (kubernetes.io "Ports and Protocols").
  echo 8472/udp 10250/tcp
  if [ "$NODE_ROLE" = control-plane ]; then
    echo 6443/tcp 2379-2380/tcp 10257/tcp 10259/tcp
  else
    echo 10256/tcp 30000-32767/tcp 80/tcp 443/tcp
  fi
}

configure_firewall() {
  local port reload=0
  case "$FIREWALL_MODE" in
  disabled)
    if systemctl is-enabled --quiet firewalld 2>/dev/null || systemctl is-active --quiet firewalld 2>/dev/null; then
      systemctl disable --now firewalld
    fi
    if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q 'Status: active'; then
      ufw disable
    fi
    ;;
  open)
    if systemctl is-active --quiet firewalld 2>/dev/null; then
      for port in $(firewall_ports); do
        firewall-cmd --permanent --query-port="$port" >/dev/null 2>&1 || {
          firewall-cmd --permanent --add-port="$port"
          reload=1
        }
      done
      [ "$reload" -eq 0 ] || firewall-cmd --reload
    elif command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q 'Status: active'; then
      for port in $(firewall_ports); do
        ufw status | grep -q "^${port/-/:} " || ufw allow "${port/-/:}"
      done
    else
      log "no active firewall found; nothing to open"
    fi
    ;;
  *) die "FIREWALL_MODE must be 'disabled' or 'open', got '$FIREWALL_MODE'" ;;
  esac
}

configure_kernel() {
  local module
  printf '%s\n' overlay br_netfilter | write_if_changed "$ROOT/etc/modules-load.d/k8s-platform.conf" 0644 || true
  for module in overlay br_netfilter; do
    [ -d "$ROOT/sys/module/$module" ] || modprobe "$module"
  done
  if write_if_changed "$ROOT/etc/sysctl.d/99-k8s-platform.conf" 0644 <<'EOF'; then
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
EOF
    sysctl --system >/dev/null
  fi
}

# The package version kubeadm & co. must have: "1.35.2" pins a patch, "1.35" takes the minor's newest.
wanted_version_prefix() {
  if [[ "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "$K8S_VERSION"; else echo "$K8S_MINOR."; fi
}

# Refuses to change the minor of an installed kubeadm: that is `kubeadm upgrade`, not a re-install.
check_installed_version() {
  local installed="$1"
  [ -n "$installed" ] || return 1
  case "$installed" in
  "$(wanted_version_prefix)"*) return 0 ;;
  *) die "kubeadm $installed is installed but the stack asks for $K8S_VERSION; upgrade with 'kubeadm upgrade' first (see README)" ;;
  esac
}

install_packages_apt() {
  local keyring="$ROOT/etc/apt/keyrings/kubernetes-apt-keyring.gpg" repo="$K8S_REPO_BASE/v$K8S_MINOR/deb/" installed
  ensure_packages apt ca-certificates curl gpg conntrack socat
  if echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $repo /" |
    write_if_changed "$ROOT/etc/apt/sources.list.d/kubernetes.list" 0644 || [ ! -s "$keyring" ]; then
    mkdir -p "$(dirname "$keyring")"
    curl -fsSL "${repo}Release.key" | gpg --dearmor --yes -o "$keyring"
    apt-get update -q -o DPkg::Lock::Timeout=600
  fi
  ensure_packages apt containerd
  [ "${NFS_CLIENT:-false}" != true ] || ensure_packages apt nfs-common
  installed=$(dpkg-query -W -f='${Version}' kubeadm 2>/dev/null || true)
  if ! check_installed_version "$installed"; then
    local v
    v="$(wanted_version_prefix)"
    if [[ "$v" == *. ]]; then v="${v}*"; else v="${v}-*"; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 "kubelet=$v" "kubeadm=$v" "kubectl=$v"
  fi
  apt-mark showhold | grep -qx kubeadm || apt-mark hold kubelet kubeadm kubectl
}

install_packages_dnf() {
  local installed
  if write_if_changed "$ROOT/etc/yum.repos.d/kubernetes.repo" 0644 <<EOF; then
[kubernetes]
name=Kubernetes v$K8S_MINOR (pkgs.k8s.io)
baseurl=$K8S_REPO_BASE/v$K8S_MINOR/rpm/
enabled=1
gpgcheck=1
gpgkey=$K8S_REPO_BASE/v$K8S_MINOR/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
EOF
    dnf makecache -q
  fi
  # RHEL-family distributions ship no containerd; Docker's repository has containerd.io.
  if [ ! -f "$ROOT/etc/yum.repos.d/docker-ce.repo" ]; then
    require_env CONTAINERD_REPO_URL
    curl -fsSL "$CONTAINERD_REPO_URL" -o "$ROOT/etc/yum.repos.d/docker-ce.repo"
  fi
  ensure_packages dnf containerd.io conntrack-tools socat iproute-tc
  [ "${NFS_CLIENT:-false}" != true ] || ensure_packages dnf nfs-utils
  installed=$(rpm -q --qf '%{VERSION}' kubeadm 2>/dev/null || true)
  if ! check_installed_version "$installed"; then
    local v
    v="$(wanted_version_prefix)"
    if [[ "$v" == *. ]]; then
      dnf install -y -q kubelet kubeadm kubectl --disableexcludes=kubernetes
    else
      dnf install -y -q "kubelet-$v" "kubeadm-$v" "kubectl-$v" --disableexcludes=kubernetes
    fi
  fi
}

configure_containerd() {
  local version major
  version=$(containerd --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  major="${version%%.*}"
  # A minimal config: containerd merges it over its defaults. The package's own file (Docker's
  # disables CRI) is replaced. Registry trust lives in certs.d/<host>/hosts.toml files.
  if [ "$major" -ge 2 ]; then
    if write_if_changed "$ROOT/etc/containerd/config.toml" 0644 <<'EOF'; then CONTAINERD_RESTART=1; fi
# Managed by k8s-platform (containerd 2.x)
version = 3

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = '/etc/containerd/certs.d'
EOF
  else
    if write_if_changed "$ROOT/etc/containerd/config.toml" 0644 <<'EOF'; then CONTAINERD_RESTART=1; fi
# Managed by k8s-platform (containerd 1.x)
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
EOF
  fi
  printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n' |
    write_if_changed "$ROOT/etc/crictl.yaml" 0644 || true
  mkdir -p "$ROOT/etc/containerd/certs.d"
  unit_enable_now containerd
  if [ "${CONTAINERD_RESTART:-0}" = 1 ]; then
    systemctl restart containerd
  fi
}

CONTAINERD_RESTART=0
configure_proxy
disable_swap
configure_selinux
configure_firewall
configure_kernel
"install_packages_$FAMILY"
configure_containerd
# kubeadm starts the kubelet once it has written its configuration.
systemctl is-enabled --quiet kubelet 2>/dev/null || systemctl enable kubelet
log "$NODE_NAME is prepared"
