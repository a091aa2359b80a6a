#!/usr/bin/env bash
# Builds the package repositories the real-root tier serves on 127.0.0.1, cached next to the root
# (keyed by this file and the stubs): usage make-repos.sh ROOT_CACHE_DIR; prints the repo dir.
#   k8s/v1.35/deb/    laid out like pkgs.k8s.io/core:/stable:/v1.35/deb/: a flat repository, Release
#                     and InRelease signed by a generated key, the key at Release.key; stub
#                     kubeadm/kubelet/kubectl at 1.35.1 and 1.35.2, kubernetes-cni, cri-tools.
#                     The kubelet package ships /etc/kubernetes/manifests/.kubelet-keep, as the
#                     real one does (REFERENCE.md, "Day-2 facts").
#   k8s/v1.36/deb/    the same for the next minor (stub kubeadm/kubelet/kubectl 1.36.0 and 1.36.1): a
#                     cluster upgraded one minor (pkgs.k8s.io has one repository per minor).
#   k8s/v1.35/rpm/, k8s/v1.36/rpm/   the same as .rpm files, laid out like pkgs.k8s.io/core:/stable:/
#                     v1.3X/rpm/ (an index in place of repodata/, see below), for the Rocky runs
#   debian/           the real Debian packages of ROOT_CACHE_DIR/mirror (flat, signed the same way)
#   debian-old-containerd/  the same, but with Debian trixie's containerd 1.7.24 instead of 2.1:
#                     a distribution whose containerd is too old for Kubernetes 1.35
#   docker/           a stub of Docker's containerd.io 1.7.28 (an existing Docker host)
#   containerd-2.2/   the same stub at 2.2.0 (new enough for Kubernetes 1.36)
#   docker-apt/       Docker's apt repository as download.docker.com/linux/ubuntu lays it out
#                     (dists/noble/stable/binary-amd64, pool/, the armored key at gpg) serving
#                     that containerd.io, with its control fields (Provides/Conflicts/Replaces:
#                     containerd, runc; github.com/docker/containerd-packaging debian/control)
#   other-minor/      a stub kubeadm 1.34.5 .deb (a node installed for another minor)
#   docker-rpm/       Docker's rpm repository with containerd.io 1.7.28; docker-rpm-2.2/ the same with
#                     2.2.0 published too
#   rocky-baseos/     the distribution's packages the scripts install on Rocky (names only)
#   (the rpm repositories are read by the dnf stub, installed with the real rpm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base="$1"
K8S_PATCHES=(1.35.1 1.35.2)
K8S_NEXT_MINOR_PATCHES=(1.36.0 1.36.1)
key=$( (cat "$0" "$here"/stubs/*) | sha256sum | cut -c1-16)
out="$base/repos-$key"
# Two test files (or two engineers' runs) may want the same entry at once: one builds it.
exec 8>"$base/repos-$key.lock"
flock 8
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
rm -rf "$out" && mkdir -p "$out"
# A short-lived keyring (a path under the cache is too long for gpg-agent's socket).
GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill gpg-agent 2>/dev/null || true; rm -rf "$GNUPGHOME"' EXIT
gpg -q --batch --pinentry-mode loopback --passphrase '' --quick-gen-key 'k8s-platform e2e <e2e@127.0.0.1>' rsa3072 sign never 2>/dev/null

build_deb() { # dir name version depends [file-in-package source]... (EXTRA_CONTROL: more control lines)
  local dir="$1" name="$2" version="$3" depends="$4" pkg
  shift 4
  pkg=$(mktemp -d)
  mkdir -p "$pkg/DEBIAN"
  {
    echo "Package: $name"; echo "Version: $version"; echo "Architecture: amd64"
    echo "Maintainer: k8s-platform e2e <e2e@127.0.0.1>"
    [ -z "$depends" ] || echo "Depends: $depends"
    [ -z "${EXTRA_CONTROL:-}" ] || echo "$EXTRA_CONTROL"
    echo "Description: stub $name for the k8s-platform real-root tests"
  } >"$pkg/DEBIAN/control"
  while [ $# -gt 0 ]; do
    mkdir -p "$pkg/$(dirname "$1")"
    sed "s/@VERSION@/${version%%-*}/g" "$2" >"$pkg/$1"
    case "$1" in etc/*) chmod 0644 "$pkg/$1" ;; *) chmod 0755 "$pkg/$1" ;; esac
    shift 2
  done
  dpkg-deb --root-owner-group -Zgzip -b "$pkg" "$dir/${name}_${version}_amd64.deb" >/dev/null
  rm -rf "$pkg"
}
sign_flat_repo() { # dir
  (
    cd "$1"
    dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages
    gzip -9kf Packages
    {
      echo "Origin: k8s-platform-e2e"; echo "Label: k8s-platform-e2e"; echo "Architectures: amd64"
      echo "Date: $(LC_ALL=C date -u -R)"; echo "SHA256:"
      for f in Packages Packages.gz; do echo " $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"; done
    } >Release
    gpg -q --batch --yes --clearsign -o InRelease Release
    gpg -q --batch --yes -abs -o Release.gpg Release
    gpg -q --batch --armor --export >Release.key
  )
}

unit="$out/kubelet.service"
printf '[Unit]\nDescription=kubelet: The Kubernetes Node Agent\n\n[Service]\nExecStart=/usr/bin/kubelet\n\n[Install]\nWantedBy=multi-user.target\n' >"$unit"
printf '#!/bin/sh\necho "Kubernetes v@VERSION@"\n' >"$out/kubelet"
# containerd.io's unit (github.com/containerd/containerd containerd.service: WantedBy=multi-user.target).
printf '[Unit]\nDescription=containerd container runtime\n\n[Service]\nExecStart=/usr/bin/containerd\n\n[Install]\nWantedBy=multi-user.target\n' >"$out/containerd.service"
printf '#!/bin/sh\necho "stub CNI plugin"\nexit 1\n' >"$out/cni"
cp "$here/stubs/crictl" "$out/crictl"
deb="$out/k8s/v1.35/deb"
mkdir -p "$deb" "$out/docker" "$out/containerd-2.2" "$out/debian"
for v in "${K8S_PATCHES[@]}"; do
  # Dependencies as pkgs.k8s.io declares them for 1.35 (apt-cache show kubeadm kubelet).
  build_deb "$deb" kubeadm "$v-1.1" "cri-tools (>= 1.30.0)" usr/bin/kubeadm "$here/stubs/kubeadm"
  build_deb "$deb" kubelet "$v-1.1" "iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), iproute2, mount" \
    usr/bin/kubelet "$out/kubelet" usr/lib/systemd/system/kubelet.service "$unit" etc/kubernetes/manifests/.kubelet-keep /dev/null
  build_deb "$deb" kubectl "$v-1.1" "" usr/bin/kubectl "$here/stubs/kubectl"
done
# Not in any repository: a node that already has another minor's kubeadm (installed by hand).
mkdir -p "$out/other-minor"
build_deb "$out/other-minor" kubeadm 1.34.5-1.1 "cri-tools (>= 1.30.0)" usr/bin/kubeadm "$here/stubs/kubeadm"
build_deb "$deb" kubernetes-cni 1.7.1-1.1 "" opt/cni/bin/bridge "$out/cni" opt/cni/bin/loopback "$out/cni" opt/cni/bin/portmap "$out/cni"
build_deb "$deb" cri-tools 1.35.0-1.1 "" usr/bin/crictl "$out/crictl"
sign_flat_repo "$deb"
# The next minor's repository: its own packages, the same cni and cri-tools (as pkgs.k8s.io serves
# each minor's repository with its own copies).
next="$out/k8s/v1.36/deb"
mkdir -p "$next"
for v in "${K8S_NEXT_MINOR_PATCHES[@]}"; do
  build_deb "$next" kubeadm "$v-1.1" "cri-tools (>= 1.30.0)" usr/bin/kubeadm "$here/stubs/kubeadm"
  build_deb "$next" kubelet "$v-1.1" "iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), iproute2, mount" \
    usr/bin/kubelet "$out/kubelet" usr/lib/systemd/system/kubelet.service "$unit" etc/kubernetes/manifests/.kubelet-keep /dev/null
  build_deb "$next" kubectl "$v-1.1" "" usr/bin/kubectl "$here/stubs/kubectl"
done
ln "$deb"/kubernetes-cni_*.deb "$deb"/cri-tools_*.deb "$next/"
sign_flat_repo "$next"
EXTRA_CONTROL=$'Provides: containerd, runc\nConflicts: containerd, runc\nReplaces: containerd, runc' \
  build_deb "$out/docker" containerd.io 1.7.28-1 "" usr/bin/containerd "$here/stubs/containerd-io" \
  lib/systemd/system/containerd.service "$out/containerd.service"
sign_flat_repo "$out/docker"
# The same stub at a version Kubernetes 1.36 accepts (CONTAINERD_MINIMUMS: 2.2.0+), in a flat
# repository of its own: what an operator installs before upgrading a cluster whose containerd is
# too old for the next minor (the engine tier's upgrade, test/e2e/engine-upgrade.test.ts).
EXTRA_CONTROL=$'Provides: containerd, runc\nConflicts: containerd, runc\nReplaces: containerd, runc' \
  build_deb "$out/containerd-2.2" containerd.io 2.2.0-1 "" usr/bin/containerd "$here/stubs/containerd-io" \
  lib/systemd/system/containerd.service "$out/containerd.service"
sign_flat_repo "$out/containerd-2.2"
ln "$base"/mirror/*.deb "$out/debian/"
sign_flat_repo "$out/debian"
mkdir -p "$out/debian-old-containerd"
for f in "$base"/mirror/*.deb; do case "$(basename "$f")" in containerd_*) ;; *) ln "$f" "$out/debian-old-containerd/" ;; esac; done
ln "$base"/old-debs/containerd_1.7.24*.deb "$out/debian-old-containerd/"
sign_flat_repo "$out/debian-old-containerd"
# Docker's apt layout: a suite per Ubuntu release, component "stable".
dock="$out/docker-apt"
mkdir -p "$dock/pool/stable" "$dock/dists/noble/stable/binary-amd64"
ln "$out"/docker/containerd.io_*.deb "$dock/pool/stable/"
(
  cd "$dock"
  dpkg-scanpackages --multiversion pool /dev/null 2>/dev/null >dists/noble/stable/binary-amd64/Packages
  gzip -9kf dists/noble/stable/binary-amd64/Packages
  cd dists/noble
  {
    echo "Origin: Docker"; echo "Label: Docker CE"; echo "Suite: noble"; echo "Codename: noble"
    echo "Architectures: amd64"; echo "Components: stable"; echo "Date: $(LC_ALL=C date -u -R)"; echo "SHA256:"
    for f in stable/binary-amd64/Packages stable/binary-amd64/Packages.gz; do echo " $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"; done
  } >Release
  gpg -q --batch --yes --clearsign -o InRelease Release
  gpg -q --batch --yes -abs -o Release.gpg Release
  gpg -q --batch --armor --export >"$dock/gpg"
)

# Stub rpm repositories, laid out as dnf reaches them on Rocky 9 (each one a baseurl of a .repo
# file; the dnf stub reads them over HTTP like dnf): pkgs.k8s.io serves one per minor
# (core:/stable:/v1.35/rpm/, v1.36/rpm/), Docker's repository containerd.io, Rocky's BaseOS the
# rest. In place of repodata/ (createrepo_c's repomd.xml and primary.xml, which dnf reads) each
# has repodata/stub-primary.list: "NAME EPOCH VERSION RELEASE ARCH FILE REQUIRES" per package,
# read from the .rpm headers by the real rpm (REQUIRES: the package names it requires, comma-
# separated, "-" for none; rpmlib() requirements left out; no automatic ones: AutoReqProv off, the
# base system a real Rocky host has is not in these repositories).
top="$out/rpmbuild"
build_rpm() { # dir name version [path source]... (RPM_RELEASE, RPM_REQUIRES: "name >= v, ...", RPM_DIRS)
  local dir="$1" name="$2" version="$3" files="" install="" requires="" mode d
  shift 3
  mkdir -p "$top/SOURCES" "$dir"
  while [ $# -gt 0 ]; do
    sed "s/@VERSION@/$version/g" "$2" >"$top/SOURCES/$name-$(basename "$1")"
    case "$1" in etc/*) mode=0644 ;; *) mode=0755 ;; esac
    install+="install -D -m $mode %{_sourcedir}/$name-$(basename "$1") %{buildroot}/$1"$'\n'
    case "$1" in etc/*) files+="%config(noreplace) " ;; esac
    files+="/$1"$'\n'
    shift 2
  done
  for d in ${RPM_DIRS:-}; do
    install+="install -d -m 0755 %{buildroot}/$d"$'\n'
    files+="%dir /$d"$'\n'
  done
  [ -z "${RPM_REQUIRES:-}" ] || requires="Requires: $RPM_REQUIRES"
  cat >"$top/$name-$version.spec" <<SPEC
Name: $name
Version: $version
Release: ${RPM_RELEASE:-150500.1.1}
Summary: stub $name for the k8s-platform real-root tests
License: Apache-2.0
BuildArch: x86_64
AutoReqProv: no
$requires
%description
stub
%install
$install
%files
$files
SPEC
  rm -rf "$top/RPMS"
  rpmbuild --quiet --define "_topdir $top" --define "_rpmdir $top/RPMS" --define '_build_id_links none' \
    --define '__os_install_post %{nil}' --define 'debug_package %{nil}' -bb "$top/$name-$version.spec" >/dev/null 2>&1 ||
    rpmbuild --define "_topdir $top" --define "_rpmdir $top/RPMS" -bb "$top/$name-$version.spec" >&2
  find "$top/RPMS" -name '*.rpm' -exec mv {} "$dir/" \;
}
index_rpm_repo() { # dir
  local f reqs
  mkdir -p "$1/repodata"
  for f in "$1"/*.rpm; do
    reqs=$(rpm -qp --qf '[%{REQUIRENAME}\n]' "$f" 2>/dev/null | grep -v -e '^/' -e '^rpmlib(' | sort -u | paste -sd, || true)
    printf '%s %s %s\n' "$(rpm -qp --qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}' "$f" 2>/dev/null)" "$(basename "$f")" "${reqs:--}"
  done >"$1/repodata/stub-primary.list"
}
# The Kubernetes packages with the dependencies pkgs.k8s.io declares (the same as the .debs above).
build_k8s_rpms() { # dir patch...
  local dir="$1" v
  shift
  for v in "$@"; do
    RPM_REQUIRES="cri-tools >= 1.30.0" build_rpm "$dir" kubeadm "$v" usr/bin/kubeadm "$here/stubs/kubeadm"
    # kubelet owns /etc/kubernetes/manifests (kubernetes/release cmd/krel/templates/latest/kubelet/kubelet.spec).
    RPM_REQUIRES="kubernetes-cni >= 1.2.0" RPM_DIRS="etc/kubernetes etc/kubernetes/manifests" \
      build_rpm "$dir" kubelet "$v" usr/bin/kubelet "$out/kubelet" usr/lib/systemd/system/kubelet.service "$unit"
    build_rpm "$dir" kubectl "$v" usr/bin/kubectl "$here/stubs/kubectl"
  done
}
rpm135="$out/k8s/v1.35/rpm" rpm136="$out/k8s/v1.36/rpm"
build_k8s_rpms "$rpm135" "${K8S_PATCHES[@]}"
build_rpm "$rpm135" kubernetes-cni 1.7.1 opt/cni/bin/bridge "$out/cni"
build_rpm "$rpm135" cri-tools 1.35.0 usr/bin/crictl "$out/crictl"
build_k8s_rpms "$rpm136" "${K8S_NEXT_MINOR_PATCHES[@]}"
ln "$rpm135"/kubernetes-cni-*.rpm "$rpm135"/cri-tools-*.rpm "$rpm136/"
# Docker's repository (download.docker.com/linux/rhel/9/x86_64/stable: containerd.io-1.7.28-3.1.el9),
# and the same after a newer containerd.io was published (what an operator upgrades to, versionlock
# lifted, before a minor that needs it).
RPM_RELEASE=3.1.el9 build_rpm "$out/docker-rpm" containerd.io 1.7.28 usr/bin/containerd "$here/stubs/containerd-io" usr/lib/systemd/system/containerd.service "$out/containerd.service"
RPM_RELEASE=1.el9 build_rpm "$out/docker-rpm-2.2" containerd.io 2.2.0 usr/bin/containerd "$here/stubs/containerd-io" usr/lib/systemd/system/containerd.service "$out/containerd.service"
ln "$out"/docker-rpm/containerd.io-*.rpm "$out/docker-rpm-2.2/"
# Rocky's BaseOS/AppStream packages the scripts install (names only). The versionlock plugin ships
# its configuration and an empty list (dnf-plugins-core: plugins/versionlock.conf, locklist =
# /etc/dnf/plugins/versionlock.list).
printf '[main]\nenabled = 1\nlocklist = /etc/dnf/plugins/versionlock.list\n' >"$out/versionlock.conf"
for p in conntrack-tools socat iproute-tc nfs-utils haproxy; do RPM_RELEASE=1.el9 build_rpm "$out/rocky-baseos" "$p" 1.0; done
RPM_RELEASE=1.el9 build_rpm "$out/rocky-baseos" python3-dnf-plugin-versionlock 4.3.0 \
  etc/dnf/plugins/versionlock.conf "$out/versionlock.conf" etc/dnf/plugins/versionlock.list /dev/null
for d in "$rpm135" "$rpm136" "$out/docker-rpm" "$out/docker-rpm-2.2" "$out/rocky-baseos"; do index_rpm_repo "$d"; done
rm -rf "$top"
touch "$out/.complete"
echo "$out"
