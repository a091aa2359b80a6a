#!/usr/bin/env bash
# Prepares a machine to become a Kubernetes node (seed 000 §6-7, done the modern way):
# swap off, SELinux permissive, firewall, kernel modules and sysctls, containerd with the systemd
# cgroup driver, kubelet/kubeadm/kubectl from pkgs.k8s.io at the configured version, held.
# Idempotent: every step checks before it changes, so a second run changes nothing.
#
# Parameters (environment):
#   NODE_NAME, NODE_ROLE (control-plane|worker)
#   K8S_MINOR (1.35), K8S_VERSION (1.35 or 1.35.2: a patch pins the packages)
#   CONTAINERD_MINIMUMS ("2.2.0 2.1.5 1.7.28"): the oldest containerd of each release line
#     containerd recommends for K8S_MINOR (config/versions.ts CONTAINERD_MINIMUMS, from containerd's
#     RELEASES.md); a line not listed is refused unless it is newer than every listed one
#   K8S_REPO_BASE (https://pkgs.k8s.io/core:/stable:)
#   CONTAINERD_REPO_URL (dnf family: Docker's .repo file for containerd.io)
#   CONTAINERD_APT_REPO_URL (apt family, only when the archive's containerd is too old: Docker's
#     apt repository, https://download.docker.com/linux/ubuntu, key at <url>/gpg)
#   FIREWALL_MODE (disabled|open); with open: POD_SUBNET (trusted in firewalld) and METALLB
#     (true: MetalLB's memberlist port 7946 tcp/udp opened)
#   HTTP_PROXY_URL, HTTPS_PROXY_URL, NO_PROXY_LIST (optional; for internal networks)
#   NFS_CLIENT (true|false): install the NFS client so pods can mount NFS volumes
#   IMAGE_MIRRORS (optional): "<source>=<host[:port][/path]> ..." for registry.k8s.io, docker.io,
#     quay.io, ghcr.io: containerd's hosts.toml mirror per source; registry.k8s.io's also gives
#     the sandbox (pause) image. A source left out loses the mirror file this script wrote.
#     "<source>=http://<host[:port][/path]>": a plain-HTTP mirror.
#   IMAGE_MIRROR_CA (optional): PEM certificate(s) each HTTPS mirror host not in IMAGE_MIRROR_HOSTS
#     is trusted with (besides the system store), written beside each mirror's hosts.toml
#   IMAGE_MIRROR_USERNAME (optional): the account pulls from the mirror hosts not in
#     IMAGE_MIRROR_HOSTS use; then its password IMAGE_MIRROR_PASSWORD comes on standard input
#     (lib.sh read_secrets), never as a parameter
#   IMAGE_MIRROR_HOSTS (optional): "<host[:port]> ..." mirror hosts with settings of their own,
#     which take only these: IMAGE_MIRROR_HOST_CA (each host's PEM after a "# host <host>" line),
#     IMAGE_MIRROR_HOST_USERNAMES ("<host>=<user>" lines; then IMAGE_MIRROR_HOST_PASSWORDS,
#     "<host>=<password>" lines, comes on standard input), IMAGE_MIRROR_SKIP_VERIFY ("<host> ...")
# Standard output: its last line is "containerd-version=X.Y.Z", the containerd it left in place.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME NODE_ROLE K8S_MINOR K8S_VERSION CONTAINERD_MINIMUMS K8S_REPO_BASE FIREWALL_MODE
# Read before anything else runs: standard input is the secrets' alone (no package tool sees it).
secrets=()
[ -z "${IMAGE_MIRROR_USERNAME:-}" ] || secrets+=(IMAGE_MIRROR_PASSWORD)
[ -z "${IMAGE_MIRROR_HOST_USERNAMES:-}" ] || secrets+=(IMAGE_MIRROR_HOST_PASSWORDS)
if [ "${#secrets[@]}" -gt 0 ]; then
  read_secrets "${secrets[@]}"
  require_env "${secrets[@]}"
  # Shell variables only: not in the environment of the package tools this script runs.
  export -n "${secrets[@]}"
fi
FAMILY=$(os_family)
log "preparing $NODE_NAME ($NODE_ROLE, $FAMILY family, Kubernetes $K8S_VERSION)"

configure_proxy() {
  local dropin="$ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf"
  if [ -z "${HTTP_PROXY_URL:-}${HTTPS_PROXY_URL:-}" ]; then
    # The proxy setting was removed: so is containerd's drop-in (configure_containerd restarts
    # containerd because what it loaded changed).
    if [ -f "$dropin" ]; then
      log "no proxy configured any more: removing $dropin"
      rm -f "$dropin"
    fi
    return 0
  fi
  export http_proxy="${HTTP_PROXY_URL:-}" https_proxy="${HTTPS_PROXY_URL:-}" no_proxy="${NO_PROXY_LIST:-}"
  # containerd pulls images itself, so it needs the proxy too.
  write_if_changed "$dropin" 0644 <<EOF
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
  # shellcheck disable=SC2016 # an awk program
  write_if_changed "$fstab" 0644 \
    awk '!/^[[:space:]]*#/ && $3 == "swap" { print "#" $0 " # disabled by k8s-platform"; next } { print }' "$fstab"
}

configure_selinux() {
  [ "$FAMILY" = dnf ] || return 0
  if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then
    setenforce 0
  fi
  local conf="$ROOT/etc/selinux/config"
  [ -f "$conf" ] || return 0
  write_if_changed "$conf" 0644 sed 's/^SELINUX=enforcing$/SELINUX=permissive/' "$conf"
}

firewall_ports() {
  # Flannel's VXLAN on every node; then the ports of each role (kubernetes.io "Ports and Protocols").
  echo 8472/udp 10250/tcp
  # MetalLB's speakers (a DaemonSet on every node) find each other over memberlist (metallb.io
  # "Installation": 7946 TCP and UDP between the nodes).
  [ "${METALLB:-false}" != true ] || echo 7946/tcp 7946/udp
  if [ "$NODE_ROLE" = control-plane ]; then
    echo 6443/tcp 2379-2380/tcp 10257/tcp 10259/tcp
  else
    echo 10256/tcp 30000-32767/tcp 80/tcp 443/tcp
  fi
}

configure_firewall() {
  log "host firewall: $FIREWALL_MODE"
  if [ "$FIREWALL_MODE" = open ]; then
    # firewalld's FORWARD ends in a reject for traffic of no zone, and cni0/flannel.1 are in none:
    # pod traffic between nodes (cni0 <-> flannel.1) and from pods to this host needs the pod
    # network trusted (firewalld's "trusted" zone, target ACCEPT). ufw leaves the FORWARD rules
    # Flannel adds (FLANNEL-FWD accepts the pod network) in charge.
    require_env POD_SUBNET
    FIREWALLD_TRUSTED="source=$POD_SUBNET interface=cni0 interface=flannel.1"
  fi
  # shellcheck disable=SC2046 # one word per port
  firewall_apply "$FIREWALL_MODE" $(firewall_ports)
}

configure_kernel() {
  local module
  log "kernel modules and sysctls"
  write_if_changed "$ROOT/etc/modules-load.d/k8s-platform.conf" 0644 printf '%s\n' overlay br_netfilter
  for module in overlay br_netfilter; do
    [ -d "$ROOT/sys/module/$module" ] || modprobe "$module"
  done
  write_if_changed "$ROOT/etc/sysctl.d/99-k8s-platform.conf" 0644 <<'EOF'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
EOF
  [ "$WRITTEN" -eq 0 ] || sysctl --system >/dev/null
}

pinned_version() { [[ "$K8S_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }
# at_target VERSION: whether an installed 1.X.Y is what the stack asks for ("1.35.2" exactly, or
# any patch of "1.35").
at_target() {
  [ -n "$1" ] || return 1
  if pinned_version; then [ "$1" = "$K8S_VERSION" ]; else [[ "$1" == "$K8S_MINOR".* ]]; fi
}
# newer_than_target VERSION: a newer minor than the stack's, or with a pinned patch a newer patch.
newer_than_target() {
  local minor patch target_minor
  IFS=. read -r _ minor patch <<<"$1"
  target_minor="${K8S_MINOR#*.}"
  [ "$minor" -gt "$target_minor" ] && return 0
  [ "$minor" -eq "$target_minor" ] && pinned_version && [ "${patch:-0}" -gt "${K8S_VERSION##*.}" ]
}
# Whether this host is, or was made, a member of a cluster: the evidence lib.sh's membership checks
# read — a completion record (init.done, join.done), kubeadm's kubelet.conf (kubelet-start, on every
# member: kubeadm_files_present) — and a control plane's etcd member data (/var/lib/etcd/member).
# `kubeadm reset` and kubeadm-reset.sh remove all of them; then nothing here runs Kubernetes.
host_is_member() {
  [ -f "$INIT_DONE" ] || [ -f "$JOIN_DONE" ] || kubeadm_files_present worker || [ -d "$ROOT/var/lib/etcd/member" ]
}

# A member whose kubeadm or kubelet is newer than the stack's version is in the middle of a rollout
# to that newer version (kubeadm-upgrade.sh moved it; a `pulumi up` failed later, so the recorded
# version, and with it the default of kubernetes.version, stayed the old one), or set back after
# one. Going on would move its package repository back and fail at the upgrade step ("a
# downgrade"); so it is refused here, first, before anything on the host changes. (Not at preview:
# a failed `up` writes no stack outputs — pulumi's SameStep.Apply keeps the stack's old outputs
# until the program registers new ones, which the Node SDK does once every output resolved — so
# no record the program could read says what a failed `up` installed.)
refuse_unfinished_rollout() {
  host_is_member || return 0
  local pkg version newer=() to
  for pkg in kubeadm kubelet; do
    version=$(installed_version "$FAMILY" "$pkg")
    version="${version%%-*}"
    [ -z "$version" ] || ! newer_than_target "$version" || newer+=("$pkg $version")
  done
  [ "${#newer[@]}" -gt 0 ] || return 0
  # The version the rollout was going to: the unfinished upgrade's record, else the newest installed.
  to=$(cat "$ROOT/var/lib/k8s-platform/upgrade.pending" 2>/dev/null || true)
  [ -n "$to" ] || to="${newer[0]#* }"
  die "$NODE_NAME is a member of the cluster and runs $(printf '%s, ' "${newer[@]}" | sed 's/, $//'), newer than the stack's Kubernetes $K8S_VERSION: the rollout to $to is unfinished (a pulumi up that stopped part way) and this program does not downgrade; nothing was changed on $NODE_NAME. To finish the rollout: set kubernetes.version to \"$to\" and run pulumi up (it resumes where it stopped; README \"Upgrading Kubernetes\"). To go back instead: README \"Restore etcd\" (the snapshot taken before the upgrade)"
}

# KUBE_PACKAGES: what to do with kubelet/kubeadm/kubectl, from the installed kubeadm:
#   keep    installed at the stack's version; or on a cluster member (refuse_unfinished_rollout
#           refused a newer one) an older one: the upgrade is kubeadm-upgrade.sh's (the step after
#           this one when kubernetes.version changed), the packages stay, held, and only the
#           repository moves to the new minor here. Never a re-install of a member's kubeadm.
#   install none installed.
#   move    another version on a host that is not a member (host_is_member: e.g. reset and
#           removed from the stack before an upgrade, then added again): nothing runs there, so
#           the packages go to the stack's version, up or down, as a new node's would be.
kube_packages_plan() {
  local installed="${1%%-*}" # without the package revision (1.35.2-1.1)
  if [ -z "$installed" ]; then
    KUBE_PACKAGES=install
  elif at_target "$installed"; then
    KUBE_PACKAGES=keep
  elif host_is_member; then
    log "kubeadm $installed is installed and the stack asks for $K8S_VERSION: left to the upgrade step (kubeadm-upgrade.sh)"
    KUBE_PACKAGES=keep
  else
    log "kubeadm $installed is installed on $NODE_NAME, which is not a member of a cluster (no completion record, kubelet.conf or etcd member data): moving kubelet, kubeadm, kubectl to $K8S_VERSION"
    KUBE_PACKAGES=move
  fi
}
check_moved() {
  local pkg version
  for pkg in kubelet kubeadm kubectl; do
    version=$(installed_version "$FAMILY" "$pkg")
    at_target "${version%%-*}" || die "$pkg on $NODE_NAME is ${version:-not installed} after the install, not $K8S_VERSION (is it in the v$K8S_MINOR repository?)"
  done
}

# Whether a containerd version is recommended for this Kubernetes minor: at least the minimum of
# its own line in CONTAINERD_MINIMUMS ("2.2.0 2.1.5 1.7.28" for 1.35: containerd RELEASES.md,
# "Kubernetes support"), or of a line newer than every listed one. Older and unlisted lines
# (2.0 for 1.35; 2.1 and 1.7 for 1.36) are not.
containerd_supported() {
  local version="$1" major minor patch min min_major min_minor min_patch newest=0
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
  IFS=. read -r major minor patch <<<"$version"
  for min in $CONTAINERD_MINIMUMS; do
    [[ "$min" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "CONTAINERD_MINIMUMS: '$min' is not a version x.y.z"
    IFS=. read -r min_major min_minor min_patch <<<"$min"
    if [ "$major" -eq "$min_major" ] && [ "$minor" -eq "$min_minor" ]; then
      [ "$patch" -ge "$min_patch" ]
      return
    fi
    [ $((min_major * 1000 + min_minor)) -le "$newest" ] || newest=$((min_major * 1000 + min_minor))
  done
  [ $((major * 1000 + minor)) -gt "$newest" ]
}
# The minimums as people read them: "2.2.0+, 2.1.5+ or 1.7.28+".
containerd_minimums_text() {
  local text
  text=$(sed -E 's/ +/+, /g; s/$/+/' <<<"$CONTAINERD_MINIMUMS")
  sed -E 's/, ([^,]*)$/ or \1/' <<<"$text"
}
# upstream_version DEBIAN_OR_RPM_VERSION: "1:2.1.9~ds1-3" -> "2.1.9" ("" when there is none).
upstream_version() {
  local v="${1#*:}"
  [[ "$v" =~ ^([0-9]+\.[0-9]+\.[0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}"
  return 0
}
check_containerd_version() {
  local version="$1"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "could not read containerd's version (got '$version' from 'containerd --version'); a containerd that does not say its version is not used"
  containerd_supported "$version" && return 0
  die "containerd $version is too old for Kubernetes $K8S_MINOR (needs $(containerd_minimums_text), containerd RELEASES.md); install a supported containerd (e.g. Docker's containerd.io) and run again"
}

# download URL PATH MODE [dearmor]: PATH gets the file at URL (dearmored: a binary keyring) only
# once it arrived whole; a failed or cut-off download leaves PATH as it was.
download() {
  local url="$1" path="$2" mode="$3" tmp
  tmp=$(mktemp) || die "cannot create a temporary file"
  log "downloading $url"
  if ! curl -fsSL --retry 3 -o "$tmp" "$url"; then
    rm -f "$tmp"
    die "could not download $url"
  fi
  if [ "${4:-}" = dearmor ]; then
    write_if_changed "$path" "$mode" gpg --batch --dearmor -o - "$tmp"
  else
    write_if_changed "$path" "$mode" cat "$tmp"
  fi
  rm -f "$tmp"
}

# The containerd package for an apt node: the one installed (Docker's containerd.io on a Docker
# host: installing the archive's containerd would remove it, they conflict), else the archive's
# when its candidate is new enough for this Kubernetes minor, else Docker's containerd.io.
# Sets RUNTIME (not a command substitution: apt_update's record must stay in this shell).
apt_runtime_package() {
  local candidate version codename keyring=/etc/apt/keyrings/docker.asc
  RUNTIME=containerd.io
  apt_installed containerd.io && return 0
  RUNTIME=containerd
  apt_installed containerd && return 0
  # `apt-cache policy` reads the lists apt_update fetched ("Candidate: (none)" when absent).
  candidate=$(apt-cache policy containerd | sed -n 's/^ *Candidate: //p')
  version=$(upstream_version "$candidate")
  containerd_supported "$version" && return 0
  log "the distribution's containerd (candidate '${candidate:-none}') is too old for Kubernetes $K8S_MINOR (needs $(containerd_minimums_text)): using containerd.io from Docker's repository"
  require_env CONTAINERD_APT_REPO_URL
  # Docker's instructions (docs.docker.com/engine/install/ubuntu): the armored key as docker.asc,
  # "deb [arch=… signed-by=…] https://download.docker.com/linux/ubuntu <codename> stable".
  # shellcheck source=/dev/null
  codename=$(. "$ROOT/etc/os-release" && printf '%s' "${UBUNTU_CODENAME:-${VERSION_CODENAME:-}}")
  [ -n "$codename" ] || die "$ROOT/etc/os-release names no VERSION_CODENAME for Docker's repository"
  if [ ! -s "$ROOT$keyring" ]; then download "${CONTAINERD_APT_REPO_URL%/}/gpg" "$ROOT$keyring" 0644; fi
  write_if_changed "$ROOT/etc/apt/sources.list.d/docker.list" 0644 \
    echo "deb [arch=$(dpkg --print-architecture) signed-by=$keyring] ${CONTAINERD_APT_REPO_URL%/} $codename stable"
  apt_update
  RUNTIME=containerd.io
}

install_packages_apt() {
  local keyring="$ROOT/etc/apt/keyrings/kubernetes-apt-keyring.gpg" repo="$K8S_REPO_BASE/v$K8S_MINOR/deb/" installed
  ensure_packages apt ca-certificates curl gpg conntrack socat
  write_if_changed "$ROOT/etc/apt/sources.list.d/kubernetes.list" 0644 \
    echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $repo /"
  if [ "$WRITTEN" -eq 1 ] || [ ! -s "$keyring" ]; then
    log "adding the Kubernetes $K8S_MINOR package repository"
    download "${repo}Release.key" "$keyring" 0644 dearmor
    apt_update
  fi
  if [ "$APT_UPDATED" -eq 0 ] && ! apt_installed containerd.io && ! apt_installed containerd; then apt_update; fi
  apt_runtime_package
  ensure_packages apt "$RUNTIME"
  if [ "${NFS_CLIENT:-false}" = true ]; then ensure_packages apt nfs-common; fi
  installed=$(installed_version apt kubeadm)
  kube_packages_plan "$installed"
  local v="$K8S_MINOR.*"
  ! pinned_version || v="$K8S_VERSION-*"
  if [ "$KUBE_PACKAGES" = install ]; then
    log "installing kubelet, kubeadm, kubectl $v"
    apt_get install -y "kubelet=$v" "kubeadm=$v" "kubectl=$v" cri-tools
  elif [ "$KUBE_PACKAGES" = move ]; then
    # Held (below): unheld for the move, held again after it; --allow-downgrades for the way down.
    apt_retry apt-mark unhold kubelet kubeadm kubectl
    apt_get install -y --allow-downgrades "kubelet=$v" "kubeadm=$v" "kubectl=$v" cri-tools
    check_moved
  fi
  ensure_packages apt cri-tools
  # Held: an unattended upgrade must never move Kubernetes or the runtime under a running node.
  local held pkg missing=()
  held=$(apt-mark showhold)
  for pkg in kubelet kubeadm kubectl "$RUNTIME"; do
    grep -qx "$pkg" <<<"$held" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then apt_retry apt-mark hold "${missing[@]}"; fi
}

install_packages_dnf() {
  local installed
  write_if_changed "$ROOT/etc/yum.repos.d/kubernetes.repo" 0644 <<EOF
[kubernetes]
name=Kubernetes v$K8S_MINOR (pkgs.k8s.io)
baseurl=$K8S_REPO_BASE/v$K8S_MINOR/rpm/
enabled=1
gpgcheck=1
gpgkey=$K8S_REPO_BASE/v$K8S_MINOR/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
EOF
  if [ "$WRITTEN" -eq 1 ]; then
    log "refreshing the package metadata"
    dnf makecache -q
  fi
  # RHEL-family distributions ship no containerd; Docker's repository has containerd.io.
  if [ ! -f "$ROOT/etc/yum.repos.d/docker-ce.repo" ]; then
    require_env CONTAINERD_REPO_URL
    download "$CONTAINERD_REPO_URL" "$ROOT/etc/yum.repos.d/docker-ce.repo" 0644
  fi
  ensure_packages dnf containerd.io conntrack-tools socat iproute-tc python3-dnf-plugin-versionlock
  if [ "${NFS_CLIENT:-false}" = true ]; then ensure_packages dnf nfs-utils; fi
  installed=$(installed_version dnf kubeadm)
  kube_packages_plan "$installed"
  if [ "$KUBE_PACKAGES" != keep ]; then
    [ "$KUBE_PACKAGES" = move ] || log "installing kubelet, kubeadm, kubectl $K8S_VERSION"
    # dnf(8) (dnf 4): `install NAME-VERSION` installs that version whichever is installed (up or
    # down); `distro-sync NAME` takes an installed package up or down to the newest version of the
    # enabled repositories (the repository is the minor's alone); `install NAME` of an installed
    # one does nothing.
    if pinned_version; then
      dnf install -y -q "kubelet-$K8S_VERSION" "kubeadm-$K8S_VERSION" "kubectl-$K8S_VERSION" cri-tools --disableexcludes=kubernetes
    elif [ "$KUBE_PACKAGES" = move ]; then
      dnf distro-sync -y -q kubelet kubeadm kubectl --disableexcludes=kubernetes
    else
      dnf install -y -q kubelet kubeadm kubectl cri-tools --disableexcludes=kubernetes
    fi
    [ "$KUBE_PACKAGES" != move ] || check_moved
  fi
  rpm_installed cri-tools || dnf install -y -q cri-tools --disableexcludes=kubernetes
  # The kube packages are held by the repo's exclude=; containerd.io by a version lock.
  grep -qs '^containerd\.io-' "$ROOT/etc/dnf/plugins/versionlock.list" || dnf versionlock add containerd.io
}

# The sources whose images may be mirrored (config/images.ts IMAGE_SOURCES).
IMAGE_SOURCES="registry.k8s.io docker.io quay.io ghcr.io"
MIRROR_MARK="# Managed by k8s-platform: image mirror"

# mirror_of SOURCE: the configured mirror prefix of SOURCE ("" when none), without "http://":
# what image references start with.
mirror_of() {
  local word
  for word in ${IMAGE_MIRRORS:-}; do
    if [ "${word%%=*}" = "$1" ]; then
      word="${word#*=}"
      printf '%s' "${word#http://}"
      return 0
    fi
  done
}

# plain_http SOURCE: whether SOURCE's mirror is a plain-HTTP host ("<source>=http://…").
plain_http() {
  local word
  for word in ${IMAGE_MIRRORS:-}; do
    [ "${word%%=*}" != "$1" ] || case "${word#*=}" in http://*) return 0 ;; esac
  done
  return 1
}

# in_words WORD LIST: whether LIST (space-separated) holds WORD.
in_words() {
  case " $2 " in *" $1 "*) return 0 ;; esac
  return 1
}

# host_line HOST LINES: the value after "HOST=" in "<host>=<value>" LINES ("" when none).
host_line() {
  local line
  while IFS= read -r line; do
    if [ "${line%%=*}" = "$1" ]; then
      printf '%s' "${line#*=}"
      return 0
    fi
  done <<<"$2"
}

# host_ca HOST: the PEM of HOST in IMAGE_MIRROR_HOST_CA ("" when none).
host_ca() {
  awk -v host="$1" '/^# host / { on = ($3 == host); next } on' <<<"${IMAGE_MIRROR_HOST_CA:-}"
}

# The pause image this kubeadm expects (containerd's own default is older: 3.8 in 1.7, 3.10 in 2.1),
# from registry.k8s.io's mirror when there is one: kubeadm's own preflight compares the runtime's
# sandbox image with <imageRepository>/pause (cmd/kubeadm/app/images/images.go GetPauseImage).
sandbox_image() {
  local images repository
  repository=$(mirror_of registry.k8s.io)
  images=$(kubeadm config images list --kubernetes-version "$(kubeadm version -o short)" ${repository:+--image-repository "$repository"} 2>/dev/null) ||
    die "'kubeadm config images list' failed"
  grep -m 1 '/pause:' <<<"$images" || die "kubeadm lists no pause image"
}

# containerd's hosts.toml mirror for each configured source (containerd docs/hosts.md; read on
# every pull, so no restart): the mirror first, then (no `server` given) the source itself, the
# default containerd adds last (remotes/docker/config/hosts.go: an empty last host becomes the
# source, registry-1.docker.io for docker.io). A mirror with a path is an API root of its own:
# "https://<host>/v2/<path>" with override_path, so `<source>/<name>` is asked for at
# /v2/<path>/<name>/..., the same name `imageFor` gives (config/images.ts). A source without a
# mirror loses the files this script wrote; a hosts.toml someone else wrote is never overwritten.
#
# The mirror's CA, skip_verify and credentials go in its [host."…"] section, as containerd 2.2
# reads it (core/remotes/docker/config/hosts.go at v2.2.0, hostFileConfig; the same fields in
# 1.7's remotes/docker/config/hosts.go at v1.7.29): `CACert interface{} toml:"ca"` — a file
# appended to the system pool (updateTLSConfigFromHost: x509.SystemCertPool, then
# AppendCertsFromPEM); `SkipVerify *bool toml:"skip_verify"` — "skips verification of the
# server's certificate chain and host name" (tlsConfig.InsecureSkipVerify = *host.skipVerify);
# and `Header map[string]interface{} toml:"header"`, sent with every request to that host and to
# the token realm it names (docker.WithAuthHeader). The header, not CRI's
# `registry.configs."<host>".auth` in config.toml: that is deprecated ("`configs` is deprecated,
# please use `config_path` instead" is logged at every start, internal/cri/config/config.go
# ValidateImageConfig at v2.2.0; pkg/deprecation: "will be removed in containerd v2.3") and is read
# only at start (a restart per change); hosts.toml is read on every pull. A file holding
# credentials is mode 0600. Kubelet's pulls (static pods, every chart's pods) and crictl all go
# through the CRI.
#
# A plain-HTTP mirror is a `[host."http://…"]` section with neither `ca` nor `skip_verify`:
# parseHostConfig keeps the scheme of a server that starts with "http" (`result.scheme =
# u.Scheme`), and ConfigureHosts turns an "http" host into HTTPS-with-fallback only when TLS is
# configured for it — `explicitTLSFromHost := host.caCerts != nil || host.clientPairs != nil ||
# host.skipVerify != nil` (1.7: the same three in `if host.caCerts != nil || …`), then `if
# host.scheme == "http" && explicitTLS { … if port != "80" { … host.scheme = "https"; … =
# docker.NewHTTPFallback(…) } }` — and the CRI passes no DefaultTLS (internal/cri/server/images/
# image_pull.go registryHosts at v2.2.0, pkg/cri/server/image_pull.go at v1.7.29: HostOptions with
# only UpdateClient, Credentials, HostDir, AuthorizerOpts). So an http:// mirror is asked over
# plain HTTP, never HTTPS first; the stack-wide CA is not written for it.
#
# A host listed in IMAGE_MIRROR_HOSTS takes only its own settings; the others the stack-wide
# IMAGE_MIRROR_CA / IMAGE_MIRROR_USERNAME.
#
# Each mirror host also gets a file of its own, certs.d/<host[:port]>/hosts.toml, with the same
# settings: the program rewrites its image references onto the mirror (config/images.ts imageFor:
# kubeadm's, the charts', the workloads'), and a pull of "harbor.example.com/mirror/…" looks up
# the directory of the reference's own host, not the source's (ConfigureHosts(ctx, …)(host) with
# HostDirFromRoot: hostPaths(root, host) = "<host>_<port>_", "<host[:port]>", "_default"); without
# it those pulls went to https://<host>/v2 with the system store and no account.
MIRROR_CA_FILE="mirror-ca.crt"
MIRROR_HOST_MARK="# Managed by k8s-platform: image mirror host"

# mirror_settings HOST SCHEME: sets ca_pem, ca_key, user, password and skip for a mirror host.
mirror_settings() {
  skip=false
  if in_words "$1" "${IMAGE_MIRROR_HOSTS:-}"; then
    ca_pem=$(host_ca "$1")
    ca_key="images.hosts.$1.caCert"
    user=$(host_line "$1" "${IMAGE_MIRROR_HOST_USERNAMES:-}")
    password=$(host_line "$1" "${IMAGE_MIRROR_HOST_PASSWORDS:-}")
    ! in_words "$1" "${IMAGE_MIRROR_SKIP_VERIFY:-}" || skip=true
  else
    ca_pem="${IMAGE_MIRROR_CA:-}"
    ca_key="images.caCert"
    user="${IMAGE_MIRROR_USERNAME:-}"
    password="${IMAGE_MIRROR_PASSWORD:-}"
  fi
  # No TLS, no CA (see above: a `ca` would make containerd try HTTPS first).
  [ "$2" = https ] || ca_pem=""
  [ -z "$user" ] || [ -n "$password" ] || die "no password for the mirror account $user at $1 on standard input"
  auth=""
  if [ -n "$user" ]; then
    # HTTP Basic (RFC 7617): base64 of "user:password", built by builtins and base64 reading a
    # pipe, so the password is in no process's arguments.
    auth=$(printf '%s:%s' "$user" "$password" | base64 -w0) || die "could not encode the credentials for $1"
  fi
}

# write_mirror_file FILE DIR-IN-NODE ENDPOINT [override_path|server]: the hosts.toml of a mirror
# (settings from mirror_settings, header line MIRROR_FILE_HEADER): a [host."ENDPOINT"] section
# tried before the source, or with "server" ENDPOINT as the file's only host (its settings at the
# top level, containerd's root host config); its CA file first, the file 0600 with credentials;
# a CA no longer configured goes after no file names it.
write_mirror_file() {
  local file="$1" node_dir="$2" endpoint="$3" form="${4:-}" mode=0644 ca indent="  " section
  ca="$(dirname "$file")/$MIRROR_CA_FILE"
  if [ -n "$ca_pem" ]; then
    write_if_changed "$ca" 0644 printf '%s\n' "$ca_pem"
  fi
  [ -z "$auth" ] || mode=0600
  if [ "$form" = server ]; then indent="" section="header"; else section="host.\"$endpoint\".header"; fi
  {
    printf '%s\n' "$MIRROR_FILE_HEADER"
    if [ "$form" = server ]; then printf 'server = "%s"\n' "$endpoint"; else printf '[host."%s"]\n' "$endpoint"; fi
    printf '%scapabilities = ["pull", "resolve"]\n' "$indent"
    [ "$form" != override_path ] || printf '%soverride_path = true\n' "$indent"
    [ -z "$ca_pem" ] || printf '%sca = "%s/%s"\n' "$indent" "$node_dir" "$MIRROR_CA_FILE"
    [ "$skip" = false ] || printf '%sskip_verify = true\n' "$indent"
    [ -z "$auth" ] || printf '%s[%s]\n%s  Authorization = "Basic %s"\n' "$indent" "$section" "$indent" "$auth"
    # containerd 1.7 decodes a hosts.toml only with a `host` table (remotes/docker/config/hosts.go
    # getSortedHosts at v1.7.29: `root.Get("host").(*toml.Tree)`, else "invalid `host` tree" and
    # the file is ignored); an empty one adds no host.
    [ "$form" != server ] || printf '[host]\n'
  } | write_if_changed "$file" "$mode"
  # Same content, other mode (a file from before credentials were kept in it): fixed too.
  [ "$(stat -c %a "$file")" = "${mode#0}" ] || chmod "$mode" "$file" || die "could not chmod $mode $file"
  if [ -z "$ca_pem" ] && [ -f "$ca" ]; then
    log "no mirror CA any more: removing $ca"
    rm -f "$ca"
  fi
}

configure_image_mirrors() {
  local source mirror dir file host path endpoint scheme ca_pem ca_key user password skip auth hosts=""
  # Every mirror host first, and its directory checked before anything is written.
  for source in $IMAGE_SOURCES; do
    mirror=$(mirror_of "$source")
    [ -n "$mirror" ] || continue
    scheme=https
    ! plain_http "$source" || scheme=http
    in_words "${mirror%%/*}=$scheme" "$hosts" || hosts="$hosts ${mirror%%/*}=$scheme"
  done
  check_mirror_host_dirs "$hosts"
  for source in $IMAGE_SOURCES; do
    mirror=$(mirror_of "$source")
    dir="$ROOT/etc/containerd/certs.d/$source"
    file="$dir/hosts.toml"
    if [ -z "$mirror" ]; then
      if [ -f "$file" ] && grep -qxF "$MIRROR_MARK of $source" "$file"; then
        log "no mirror for $source any more: removing $file"
        rm -f "$file" "$dir/$MIRROR_CA_FILE"
        rmdir "$dir" 2>/dev/null || true
      fi
      continue
    fi
    if [ -f "$file" ] && ! grep -qxF "$MIRROR_MARK of $source" "$file"; then
      die "$file exists and was not written by k8s-platform; move it away (or remove images.mirrors.$source / images.registry) so the configured mirror $mirror can be written"
    fi
    host="${mirror%%/*}"
    path=""
    [ "$host" = "$mirror" ] || path="/${mirror#*/}"
    scheme=https
    ! plain_http "$source" || scheme=http
    if [ -n "$path" ]; then endpoint="$scheme://$host/v2$path"; else endpoint="$scheme://$host"; fi
    mirror_settings "$host" "$scheme"
    log "image mirror for $source: $mirror$([ "$scheme" = https ] || printf ' (plain HTTP)')${ca_pem:+ (trusting $ca_key)}${user:+ (as $user)}$([ "$skip" = false ] || printf ' (certificate not verified: images.hosts.%s.skipVerify)' "$host")"
    MIRROR_FILE_HEADER="$MIRROR_MARK of $source"
    write_mirror_file "$file" "/etc/containerd/certs.d/$source" "$endpoint" "$([ -z "$path" ] || echo override_path)"
  done
  configure_mirror_hosts "$hosts"
}

# check_mirror_host_dirs "HOST=SCHEME ...": stops before anything is written when a mirror host's
# directory holds a hosts.toml someone else wrote, or one containerd would read instead.
check_mirror_host_dirs() {
  local word host dir other
  for word in $1; do
    host="${word%=*}"
    dir="$ROOT/etc/containerd/certs.d/$host"
    # containerd reads "<host>_<port>_" before "<host>:<port>" (hostPaths): one there would hide ours.
    other="$ROOT/etc/containerd/certs.d/$(printf '%s' "$host" | sed -E 's/:([0-9]+)$/_\1_/')"
    if [ "$other" != "$dir" ] && [ -e "$other" ]; then
      die "$other exists: containerd reads it instead of $dir for the mirror host $host; move it away"
    fi
    if [ -f "$dir/hosts.toml" ] && ! grep -qxF "$MIRROR_HOST_MARK $host" "$dir/hosts.toml"; then
      die "$dir/hosts.toml exists and was not written by k8s-platform; move it away so the mirror host $host's settings can be written"
    fi
  done
}

# configure_mirror_hosts "HOST=SCHEME ...": each mirror host's own hosts.toml (see above): its
# server alone, with the host's settings; a mirror host no longer configured loses the file this
# script wrote; a foreign one is never overwritten.
configure_mirror_hosts() {
  local word host scheme file marked
  for word in $1; do
    host="${word%=*}"
    scheme="${word##*=}"
    file="$ROOT/etc/containerd/certs.d/$host/hosts.toml"
    mirror_settings "$host" "$scheme"
    MIRROR_FILE_HEADER="$MIRROR_HOST_MARK $host"
    write_mirror_file "$file" "/etc/containerd/certs.d/$host" "$scheme://$host" server
  done
  for marked in "$ROOT"/etc/containerd/certs.d/*/hosts.toml; do
    [ -f "$marked" ] || continue
    host=$(sed -n "s/^$MIRROR_HOST_MARK //p" "$marked" | head -n 1)
    [ -n "$host" ] || continue
    in_words "$host=http" "$1" || in_words "$host=https" "$1" && continue
    log "$host is no mirror host any more: removing $marked"
    rm -f "$marked" "$(dirname "$marked")/$MIRROR_CA_FILE"
    rmdir "$(dirname "$marked")" 2>/dev/null || true
  done
}

configure_containerd() {
  local out version major pause config="$ROOT/etc/containerd/config.toml" applied="$ROOT/run/k8s-platform/containerd.applied" want
  local dropin="$ROOT/etc/systemd/system/containerd.service.d/http-proxy.conf" loaded
  log "configuring containerd"
  out=$(containerd --version) || die "'containerd --version' failed"
  version=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -n 1 || true)
  [ -n "$version" ] || die "could not read containerd's version from 'containerd --version' (it printed '$out'); a containerd that does not say its version is not used"
  check_containerd_version "$version"
  CONTAINERD_VERSION="$version"
  major="${version%%.*}"
  pause=$(sandbox_image)
  # A minimal config: containerd merges it over its defaults. The package's own file (Docker's
  # disables CRI) is replaced. Registry trust lives in certs.d/<host>/hosts.toml files. CNI
  # plugins are where kubernetes-cni puts them (Debian-built containerd also looks in /usr/lib/cni).
  if [ "$major" -ge 2 ]; then
    write_if_changed "$config" 0644 <<EOF
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
    write_if_changed "$config" 0644 <<EOF
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
  write_if_changed "$ROOT/etc/crictl.yaml" 0644 \
    printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n'
  mkdir -p "$ROOT/etc/containerd/certs.d"
  configure_image_mirrors
  unit_enable_now containerd
  # Restart whenever the running containerd has not loaded the current files (recorded after
  # each successful restart, in /run, so after a reboot, which loads them anyway, once more): a
  # restart lost to an earlier failure is made on the next run.
  loaded=("$config")
  [ ! -f "$dropin" ] || loaded+=("$dropin")
  want=$(cat "${loaded[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$applied" 2>/dev/null || true)" != "$want" ]; then
    log "restarting containerd (its configuration changed)"
    systemctl daemon-reload
    systemctl restart containerd
    mkdir -p "$(dirname "$applied")"
    write_if_changed "$applied" 0644 echo "$want"
  fi
}

refuse_unfinished_rollout
configure_proxy
disable_swap
configure_selinux
configure_firewall
configure_kernel
"install_packages_$FAMILY"
configure_containerd
# kubeadm starts the kubelet once it has written its configuration.
systemctl is-enabled --quiet kubelet 2>/dev/null || systemctl enable kubelet
# The program records it (stack output containerdVersions) and, at the next preview, refuses a
# Kubernetes minor whose containerd minimum is above it (config/upgrade.ts checkRecordedContainerd).
echo "containerd-version=$CONTAINERD_VERSION"
log "$NODE_NAME is prepared"
