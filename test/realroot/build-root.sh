#!/usr/bin/env bash
# Builds (once) what the real-root tier needs, cached under ~/.cache/k8s-platform-e2e/ and keyed
# by suite + package lists + this file, so a warm run only checks a stamp:
#   root/       a debootstrapped Debian root (minbase + the tools the scripts expect on a node)
#   mirror/     the real Debian .debs the scripts install on a node (conntrack, socat, containerd,
#               haproxy, nfs-kernel-server, ... with their dependencies), served on 127.0.0.1 as a
#               flat repository so the tests never reach a public address
#   containerd-1.7/, containerd-2.1/   Debian's containerd binaries, for `containerd config dump`
# Prints the cache directory. Needs root (debootstrap), debootstrap and apt (the host's mirror).
# K8S_PLATFORM_E2E_CACHE: the cache root, as for every other cached build (build-tools.sh).
set -euo pipefail

SUITE=${K8SP_E2E_SUITE:-bookworm}
MIRROR=${K8SP_E2E_MIRROR:-http://deb.debian.org/debian}
# On the node before our scripts run (Ubuntu server/cloud images have all of these).
ROOT_PACKAGES=(ca-certificates curl gpg rpm iproute2 iptables kmod procps)
# Installed by the scripts, so they are NOT in the root: served from mirror/.
NODE_PACKAGES=(conntrack socat nfs-common nfs-kernel-server haproxy runc)
# containerd: Debian bookworm has 1.6.20 (too old for Kubernetes 1.35), trixie 1.7.24, sid 2.1.9.
# 2.1.9 (needs libc6 >= 2.34, so it installs on bookworm) is the one the node installs; 1.7 is
# used for `config dump` of the version-2 layout.
CONTAINERD_SUITES=(trixie sid)

key=$( (echo "$SUITE ${ROOT_PACKAGES[*]} / ${NODE_PACKAGES[*]} / ${CONTAINERD_SUITES[*]}"; cat "$0") | sha256sum | cut -c1-16)
CACHE="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}/realroot-$SUITE-$key"
if [ -f "$CACHE/.complete" ]; then
  echo "$CACHE"
  exit 0
fi
log() { printf '[build-root] %s\n' "$*" >&2; }
work="$CACHE.tmp"
# An interrupted build keeps a finished debootstrap (the slow part) and redoes the rest.
if [ ! -f "$work/.debootstrapped" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  log "debootstrap $SUITE (minbase) into $work/root"
  include=$(IFS=,; echo "${ROOT_PACKAGES[*]}")
  debootstrap --variant=minbase --include="$include" "$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  touch "$work/.debootstrapped"
fi
rm -rf "$work/mirror" "$work/old-debs" "$work"/containerd-*

# Download (only) the node packages with their dependencies, resolved against this very root.
log "downloading ${NODE_PACKAGES[*]} and containerd"
apt_opts=(-o "Dir=$work/root" -o "Dir::State::status=$work/root/var/lib/dpkg/status"
  -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::Cache::archives=$work/mirror" -o "APT::Get::AllowUnauthenticated=false"
  -o "Debug::NoLocking=true" -o "Dir::Etc::Trusted=/etc/apt/trusted.gpg" -o "Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d"
  -o "Acquire::Languages=none" -o "APT::Install-Recommends=false" -o "APT::Sandbox::User=root")
{
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main"
  for s in "${CONTAINERD_SUITES[@]}"; do echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $s main"; done
} >"$work/sources.list"
# Only containerd may come from the newer suites.
mkdir -p "$work/root/etc/apt/preferences.d" "$work/mirror/partial"
printf 'Package: *\nPin: release n=%s\nPin-Priority: 1\n\n' "${CONTAINERD_SUITES[@]}" >"$work/pin"
apt-get "${apt_opts[@]}" -o "Dir::Etc::Preferences=$work/pin" -qq update
apt-get "${apt_opts[@]}" -o "Dir::Etc::Preferences=$work/pin" -qq -y --download-only install "${NODE_PACKAGES[@]}" "containerd/${CONTAINERD_SUITES[1]}" >/dev/null
(cd "$work/mirror" && apt-get "${apt_opts[@]}" -o "Dir::Etc::Preferences=$work/pin" -qq download "containerd/${CONTAINERD_SUITES[0]}")
rm -rf "$work/mirror/partial" "$work/mirror/lock"

for deb in "$work"/mirror/containerd_*.deb; do
  minor=$(dpkg-deb -f "$deb" Version | grep -oE '^[0-9]+\.[0-9]+')
  mkdir -p "$work/x" "$work/containerd-$minor" && dpkg-deb -x "$deb" "$work/x"
  cp "$work/x/usr/bin/containerd" "$work/containerd-$minor/"
  rm -rf "$work/x"
done
# The node installs 2.1 from the mirror; 1.7 stays only as a binary (and a .deb for the refusal test).
mkdir -p "$work/old-debs"
mv "$work"/mirror/containerd_1.7*.deb "$work/old-debs/"

# The root as a freshly provisioned host has it: no package lists, no cached archives.
rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/archives/"*.deb
rm -f "$work/root/etc/apt/sources.list"
mkdir -p "$work/root/etc/apt/sources.list.d"
rm -f "$work/.debootstrapped" "$work/pin" "$work/sources.list"
touch "$work/.complete"
rm -rf "$CACHE"
mv "$CACHE.tmp" "$CACHE"
log "built $CACHE"
echo "$CACHE"
