#!/usr/bin/env bash
# Builds the real tools the e2e tests run, from Go modules, into a cache keyed by version and by
# a hash of the wrapper module (go.mod + go.sum) and the Go toolchain, so a warm run builds nothing:
#   ${K8S_PLATFORM_E2E_CACHE:-~/.cache/k8s-platform-e2e}/<tool>-<version>-<hash>/bin/<tool>
# Versions live only in the wrapper modules under test/e2e/tools/*/go.mod.
#
# Parameters (environment):
#   K8S_PLATFORM_E2E_CACHE  cache root (default ~/.cache/k8s-platform-e2e)
#   E2E_TOOLS               space-separated tools to build (default: those the tests use now,
#                           kubeadm kubectl-validate kube-apiserver etcd etcdctl etcdutl; also buildable: pulumi, whose
#                           test needs plugins the proxy refuses, see test/e2e/README.md)
# Writes "$cache/env" (export PATH=…) and prints the same line on stdout; progress on stderr.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}"

# tool | wrapper module dir | main package | module whose version names the tool | ldflags template
# ({v} is replaced with that version). kubeadm compares its own version with the config's
# kubernetesVersion, so it must know it (k8s.io/component-base/version, set the same way by
# hack/lib/version.sh upstream); `pulumi version` likewise (sdk/go/common/version).
tools_table=$(cat <<'EOF'
kubeadm|k8s|k8s.io/kubernetes/cmd/kubeadm|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
kube-apiserver|k8s|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3|
etcdctl|etcd-client|go.etcd.io/etcd/etcdctl/v3|go.etcd.io/etcd/etcdctl/v3|
etcdutl|etcd-client|go.etcd.io/etcd/etcdutl/v3|go.etcd.io/etcd/etcdutl/v3|
kubectl-validate|kubectl-validate|sigs.k8s.io/kubectl-validate|sigs.k8s.io/kubectl-validate|
pulumi|pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|github.com/pulumi/pulumi/pkg/v3|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={v}
EOF
)

log() { printf '%s\n' "$*" >&2; }

wanted="${E2E_TOOLS:-kubeadm kubectl-validate kube-apiserver etcd etcdctl etcdutl}"
path_dirs=()
mkdir -p "$cache"
tmp=""
# A failed build leaves no half-built directory behind.
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

while IFS='|' read -r tool dir pkg versioned ldflags_tpl; do
  case " $wanted " in *" $tool "*) ;; *) continue ;; esac
  moddir="$here/tools/$dir"
  version="$(cd "$moddir" && go list -m -f '{{.Version}}' "$versioned")"
  hash="$({ cat "$moddir/go.mod" "$moddir/go.sum"; go env GOVERSION; } | sha256sum | cut -c1-12)"
  dest="$cache/$tool-$version-$hash"
  # One build per cache entry at a time: a second run (another checkout, CI) waits for the first
  # and then finds the entry built. The lock is released when the next entry's lock replaces fd 8.
  exec 8>"$cache/.lock-$tool-$version-$hash"
  flock 8
  if [ -x "$dest/bin/$tool" ]; then
    log "cached: $tool $version ($dest)"
  else
    log "building: $tool $version from $pkg (module $moddir)"
    tmp="$(mktemp -d "$cache/.build-$tool-XXXXXX")"
    start=$SECONDS
    # CGO off and -trimpath: the same binary whatever the machine's C toolchain or checkout path.
    (cd "$moddir" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w ${ldflags_tpl//\{v\}/$version}" -o "$tmp/bin/$tool" "$pkg")
    printf '%s %s built in %ss with %s\n' "$tool" "$version" "$((SECONDS - start))" "$(go version)" \
      >"$tmp/BUILD-INFO"
    # Only a finished build is moved into place, so an interrupted run never looks cached.
    rm -rf "$dest"
    mv "$tmp" "$dest"
    tmp=""
    log "built: $tool $version in $((SECONDS - start))s"
  fi
  path_dirs+=("$dest/bin")
done <<<"$tools_table"

joined="$(IFS=:; echo "${path_dirs[*]}")"
line="export PATH=\"$joined:\$PATH\""
printf '%s\n' "$line" >"$cache/env"
printf '%s\n' "$line"
