#!/usr/bin/env bash
# Builds the Helm CLI from this wrapper module into a cache keyed by Helm's version and a hash of
# go.mod + go.sum and the Go toolchain, so a warm run builds nothing, and prints the binary's path:
#   ${K8S_PLATFORM_E2E_CACHE:-~/.cache/k8s-platform-e2e}/helm-<version>-<hash>/bin/helm
# A flock on <cache>/helm.lock keeps two runs from building the same entry at once; only a
# finished build is moved into place. Progress goes to stderr.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$0")" && pwd)"
cache="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}"
mkdir -p "$cache"
version="$(cd "$here" && go list -m -f '{{.Version}}' helm.sh/helm/v3)"
hash="$({ cat "$here/go.mod" "$here/go.sum"; go env GOVERSION; } | sha256sum | cut -c1-12)"
dest="$cache/helm-$version-$hash"

exec 9>"$cache/helm.lock"
flock 9
if [ ! -x "$dest/bin/helm" ]; then
  tmp="$(mktemp -d "$cache/.build-helm-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  printf 'building: helm %s (module %s)\n' "$version" "$here" >&2
  start=$SECONDS
  # `helm version` reports the version set here (helm.sh/helm/v3/internal/version), as the
  # upstream Makefile sets it.
  (cd "$here" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
    -o "$tmp/bin/helm" helm.sh/helm/v3/cmd/helm)
  rm -rf "$dest"
  mv "$tmp" "$dest"
  trap - EXIT
  printf 'built: helm %s in %ss\n' "$version" "$((SECONDS - start))" >&2
fi
printf '%s\n' "$dest/bin/helm"
