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
  write_if_changed "$ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf" 0644 <<EOF || true
[Service]
Environment="HTTP_PROXY=${HTTP_PROXY_URL:-}"
Environment="HTTPS_PROXY=${HTTPS_PROXY_URL:-}"
Environment="NO_PROXY=${NO_PROXY_LIST:-}"
EOF
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
  # shellcheck disable=SC2046 # one word per port
  firewall_apply "$FIREWALL_MODE" $(firewall_ports)
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

# Refuses to change an installed kubeadm: that is `kubeadm upgrade`, not a re-install. Returns 1
# when kubeadm is not installed. "1.35.2" pins a patch exactly; "1.35" takes the minor's newest.
check_installed_version() {
  local installed="${1%%-*}" # without the package revision (1.35.2-1.1)
  [ -n "$installed" ] || return 1
  if [[ "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    [ "$installed" = "$K8S_VERSION" ] && return 0
  else
    [[ "$installed" == "$K8S_MINOR".* ]] && return 0
  fi
  die "kubeadm $installed is installed but the stack asks for $K8S_VERSION; upgrade with 'kubeadm upgrade' first (see README)"
}

# Oldest containerd each line may have for this Kubernetes minor (containerd RELEASES.md,
# "Kubernetes support": 1.35 needs 2.2.0+, 2.1.5+ or 1.7.28+; 2.0 is not supported).
check_containerd_version() {
  local version="$1" major minor patch
  IFS=. read -r major minor patch <<<"$version"
  case "$major.$minor" in
  1.7) [ "$patch" -ge 28 ] && return 0 ;;
  2.1) [ "$patch" -ge 5 ] && return 0 ;;
  2.0 | 1.*) ;;
  *) return 0 ;; # 2.2 and later
  esac
  die "containerd $version is too old for Kubernetes $K8S_MINOR (needs 2.2.0+, 2.1.5+ or 1.7.28+, containerd RELEASES.md); install a supported containerd (e.g. Docker's containerd.io) and run again"
}

install_packages_apt() {
  local keyring="$ROOT/etc/apt/keyrings/kubernetes-apt-keyring.gpg" repo="$K8S_REPO_BASE/v$K8S_MINOR/deb/" installed runtime=containerd
  ensure_packages apt ca-certificates curl gpg conntrack socat
  if echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $repo /" |
    write_if_changed "$ROOT/etc/apt/sources.list.d/kubernetes.list" 0644 || [ ! -s "$keyring" ]; then
    mkdir -p "$(dirname "$keyring")"
    curl -fsSL "${repo}Release.key" | gpg --dearmor --yes -o "$keyring"
    apt_update
  fi
  # A host that already runs Docker has Docker's containerd.io: installing Debian/Ubuntu's
  # containerd would remove it (they conflict), so it stays.
  if apt_installed containerd.io; then runtime=containerd.io; fi
  ensure_packages apt "$runtime"
  [ "${NFS_CLIENT:-false}" != true ] || ensure_packages apt nfs-common
  installed=$(installed_version apt kubeadm)
  if ! check_installed_version "$installed"; then
    local v="$K8S_MINOR.*"
    [[ ! "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || v="$K8S_VERSION-*"
    apt_get install -y "kubelet=$v" "kubeadm=$v" "kubectl=$v" cri-tools
  fi
  ensure_packages apt cri-tools
  # Held: an unattended upgrade must never move Kubernetes or the runtime under a running node.
  local held pkg missing=()
  held=$(apt-mark showhold)
  for pkg in kubelet kubeadm kubectl "$runtime"; do
    grep -qx "$pkg" <<<"$held" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] || apt-mark hold "${missing[@]}"
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
  ensure_packages dnf containerd.io conntrack-tools socat iproute-tc python3-dnf-plugin-versionlock
  [ "${NFS_CLIENT:-false}" != true ] || ensure_packages dnf nfs-utils
  installed=$(installed_version dnf kubeadm)
  if ! check_installed_version "$installed"; then
    if [[ "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      dnf install -y -q "kubelet-$K8S_VERSION" "kubeadm-$K8S_VERSION" "kubectl-$K8S_VERSION" cri-tools --disableexcludes=kubernetes
    else
      dnf install -y -q kubelet kubeadm kubectl cri-tools --disableexcludes=kubernetes
    fi
  fi
  rpm_installed cri-tools || dnf install -y -q cri-tools --disableexcludes=kubernetes
  # The kube packages are held by the repo's exclude=; containerd.io by a version lock.
  grep -qs '^containerd\.io-' "$ROOT/etc/dnf/plugins/versionlock.list" || dnf versionlock add containerd.io
}

# The pause image this kubeadm expects (containerd's own default is older: 3.8 in 1.7, 3.10 in 2.1).
sandbox_image() {
  local images
  images=$(kubeadm config images list --kubernetes-version "$(kubeadm version -o short)" 2>/dev/null) ||
    die "'kubeadm config images list' failed"
  grep -m 1 '/pause:' <<<"$images" || die "kubeadm lists no pause image"
}

configure_containerd() {
  local version major pause config="$ROOT/etc/containerd/config.toml" applied="$ROOT/run/k8s-platform/containerd.applied" want
  version=$(containerd --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  check_containerd_version "$version"
  major="${version%%.*}"
  pause=$(sandbox_image)
  # A minimal config: containerd merges it over its defaults. The package's own file (Docker's
  # disables CRI) is replaced. Registry trust lives in certs.d/<host>/hosts.toml files. CNI
  # plugins are where kubernetes-cni puts them (Debian-built containerd also looks in /usr/lib/cni).
  if [ "$major" -ge 2 ]; then
    write_if_changed "$config" 0644 <<EOF || true
# Managed by k8s-platform (containerd 2.x)
version = 3

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['/opt/cni/bin']

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = '$pause'

[plugins.'io.containerd.cri.v1.images'.registry]
  config_path = '/etc/containerd/certs.d'
EOF
  else
    write_if_changed "$config" 0644 <<EOF || true
# Managed by k8s-platform (containerd 1.x)
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/opt/cni/bin"

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
EOF
  fi
  printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n' |
    write_if_changed "$ROOT/etc/crictl.yaml" 0644 || true
  mkdir -p "$ROOT/etc/containerd/certs.d"
  unit_enable_now containerd
  # Restart whenever the running containerd has not loaded the current files (recorded after
  # each successful restart, in /run, so after a reboot, which loads them anyway, once more): a
  # restart lost to an earlier failure is made on the next run.
  want=$({
    cat "$config"
    cat "$ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf" 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$applied" 2>/dev/null || true)" != "$want" ]; then
    systemctl daemon-reload
    systemctl restart containerd
    mkdir -p "$(dirname "$applied")"
    echo "$want" >"$applied"
  fi
}

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
