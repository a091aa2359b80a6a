#!/usr/bin/env bash
# Builds (once) what the simulated hosts of the engine tests need, cached under
# ${K8S_PLATFORM_E2E_CACHE:-~/.cache/k8s-platform-e2e}/hosts-<hash>/ (hash of this file, the
# wrapper modules and the Go version), guarded by flock so two runs never build it at once:
#   bin/kube-controller-manager, bin/kube-scheduler, bin/kubectl   k8s.io/kubernetes, from
#        tools/k8s-cp (the same version as test/e2e/tools/k8s, whose kube-apiserver and etcd the
#        control plane also runs)
#   bin/kwok                      sigs.k8s.io/kwok, from tools/kwok (keeps Nodes Ready, Pods Running)
#   kwok-stages.yaml              kwok's fast node and pod stages, from the same module
#   sshd-layer/                   an overlay layer over the real-root tier's Debian root holding
#                                 Debian's openssh-server (installed with the root's own dpkg)
# Usage: build.sh REALROOT_CACHE_DIR (the directory test/realroot/build-root.sh prints).
# Prints the cache directory. Needs root (chroot, overlay mount) and apt (Debian's mirror).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_cache="$1"
cache_root="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}"
MIRROR=${K8SP_E2E_MIRROR:-http://deb.debian.org/debian}
SUITE=${K8SP_E2E_SUITE:-bookworm}
key=$({ cat "$0" "$here"/tools/*/go.mod "$here"/tools/*/go.sum; go env GOVERSION; echo "$root_cache"; } | sha256sum | cut -c1-12)
out="$cache_root/hosts-$key"
log() { printf '[hosts-build] %s\n' "$*" >&2; }
mkdir -p "$cache_root"
exec 8>"$cache_root/hosts.lock"
flock 8
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
work="$out.tmp"
mkdir -p "$work/bin"

# Debian's openssh-server, resolved against the cached root and installed by its own dpkg in an
# overlay whose upper directory becomes the layer (the cached root is never written).
if [ ! -f "$work/sshd-layer/usr/sbin/sshd" ]; then
  log "openssh-server layer ($SUITE)"
  rm -rf "$work/sshd-layer" "$work/sshd-work" "$work/sshd-merged" "$work/debs"
  mkdir -p "$work/sshd-layer" "$work/sshd-work" "$work/sshd-merged" "$work/debs/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" >"$work/sources.list"
  apt_opts=(-o "Dir=$root_cache/root" -o "Dir::State::status=$root_cache/root/var/lib/dpkg/status"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::Cache=$work/apt-cache" -o "Dir::Cache::archives=$work/debs" -o "Debug::NoLocking=true"
    -o "Dir::Etc::Trusted=/etc/apt/trusted.gpg" -o "Dir::Etc::TrustedParts=/etc/apt/trusted.gpg.d"
    -o "Acquire::Languages=none" -o "APT::Install-Recommends=false" -o "APT::Sandbox::User=root")
  mkdir -p "$work/lists/partial" "$work/apt-cache"
  apt-get "${apt_opts[@]}" -qq update
  apt-get "${apt_opts[@]}" -qq -y --download-only install openssh-server >/dev/null
  unshare --mount --propagation private /bin/bash -euc '
    w="$1" root="$2"
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$w/sshd-layer,workdir=$w/sshd-work" "$w/sshd-merged"
    m="$w/sshd-merged"
    mount --bind /dev "$m/dev"; mount -t proc proc "$m/proc"
    mkdir -p "$m/tmp/debs" && mount --bind "$w/debs" "$m/tmp/debs"
    printf "#!/bin/sh\nexit 101\n" >"$m/usr/sbin/policy-rc.d"; chmod 0755 "$m/usr/sbin/policy-rc.d"
    chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      sh -c "dpkg -i /tmp/debs/*.deb" >"$w/dpkg.log" 2>&1 || { tail -n 30 "$w/dpkg.log" >&2; exit 1; }
    rm -f "$m/usr/sbin/policy-rc.d" "$m"/etc/ssh/ssh_host_*
    umount "$m/tmp/debs"; rmdir "$m/tmp/debs" 2>/dev/null || true
  ' hosts-build "$work" "$root_cache/root"
  rm -rf "$work/sshd-work" "$work/sshd-merged" "$work/debs" "$work/lists" "$work/apt-cache" "$work/sources.list"
  # The host keys are generated per node by the tests (and pinned through nodes[].hostKey).
  [ -x "$work/sshd-layer/usr/sbin/sshd" ] || { log "openssh-server did not install sshd"; exit 1; }
fi
build_go() { # module-dir package binary ldflags
  [ -x "$work/bin/$3" ] && return 0
  local start=$SECONDS
  log "building $3 from $2"
  (cd "$here/tools/$1" && CGO_ENABLED=0 nice go build -trimpath -ldflags "-s -w $4" -o "$work/bin/$3.part" "$2")
  mv "$work/bin/$3.part" "$work/bin/$3"
  log "built $3 in $((SECONDS - start))s"
}
k8s_version=$(cd "$here/tools/k8s-cp" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
# The version stamp as hack/lib/version.sh sets it upstream (kubectl version, the components' /version).
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitTreeState=clean"
for c in kube-controller-manager kube-scheduler kubectl; do
  build_go k8s-cp "k8s.io/kubernetes/cmd/$c" "$c" "$k8s_ldflags"
done
kwok_version=$(cd "$here/tools/kwok" && go list -m -f '{{.Version}}' sigs.k8s.io/kwok)
build_go kwok sigs.k8s.io/kwok/cmd/kwok kwok ""
# kwok's own "fast" stages (node initialise + lease heartbeat, pod ready/complete/delete), read from
# the module it was built from: without stages kwok manages nothing ("no stages found").
kwok_src=$(cd "$here/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  echo "---"
  cat "$kwok_src/kustomize/stage/$f"
done >"$work/kwok-stages.yaml"

printf 'kubernetes %s\nkwok %s\n%s\n' "$k8s_version" "$kwok_version" "$(go version)" >"$work/BUILD-INFO"
touch "$work/.complete"
rm -rf "$out"
mv "$work" "$out"
log "built $out"
echo "$out"
