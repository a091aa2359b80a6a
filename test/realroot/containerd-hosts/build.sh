#!/usr/bin/env bash
# Builds containerd-hosts (main.go, containerd's own hosts.toml reader) into the shared e2e cache,
# keyed by a hash of this module and the Go toolchain, and prints the binary's path:
#   ${K8S_PLATFORM_E2E_CACHE:-~/.cache/k8s-platform-e2e}/containerd-hosts-<hash>/bin/containerd-hosts
# A flock keeps two runs from building the same entry at once; only a finished build is moved in.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
cache="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}"
mkdir -p "$cache"
hash="$({ cat "$here/go.mod" "$here/go.sum" "$here/main.go"; go env GOVERSION; } | sha256sum | cut -c1-12)"
dest="$cache/containerd-hosts-$hash"

exec 9>"$cache/containerd-hosts.lock"
flock 9
if [ ! -x "$dest/bin/containerd-hosts" ]; then
  tmp="$(mktemp -d "$cache/.build-containerd-hosts-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf 'building: containerd-hosts (module %s)\n' "$here" >&2
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$tmp/bin/containerd-hosts" .)
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
fi
printf '%s\n' "$dest/bin/containerd-hosts"
