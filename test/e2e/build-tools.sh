#!/usr/bin/env bash
# Builds the real tools the e2e tests run, from Go modules, into a cache keyed by version and by
# a hash of the wrapper module (go.mod + go.sum, plus its own .go files where it has some) and the
# Go toolchain, so a warm run builds nothing:
#   ${K8S_PLATFORM_E2E_CACHE:-~/.cache/k8s-platform-e2e}/<tool>-<version>-<hash>/bin/<tool>
# Versions live only in the wrapper modules under test/e2e/tools/*/go.mod.
#
# Parameters (environment):
#   K8S_PLATFORM_E2E_CACHE  cache root (default ~/.cache/k8s-platform-e2e)
#   E2E_TOOLS               space-separated tools to build (default: kubeadm kubeadm-1.36
#                           kubeadm-1.37 kubectl-validate kube-apiserver etcd etcdctl etcdutl
#                           etcd-1.37 etcdctl-1.37 etcdutl-1.37 kube-vip kubelet containerd ctr
#                           containerd-shim-runc-v2 oci-image pause engine). "kubeadm" is the oldest supported minor's (1.35); "kubeadm-<minor>"
#                           is each newer minor's, named so, from its own wrapper module. "engine" stands for the Pulumi CLI and the
#                           provider plugins a `pulumi up` of the program needs: pulumi,
#                           pulumi-resource-kubernetes, -command, -tls, -random.
# Writes "$cache/env" (export PATH=… for the non-engine tools) and, once the engine set is built
# and its plugins installed, "$cache/engine.env" (PATH, PULUMI_HOME with the plugins installed,
# offline settings) and "$cache/engine-ready" (the absolute path of engine.env). Prints every
# export line on stdout (run.sh evals them); progress on stderr. Each cache entry is built under
# an flock of its own, so concurrent runs never build the same entry twice.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${K8S_PLATFORM_E2E_CACHE:-$HOME/.cache/k8s-platform-e2e}"

# tool | wrapper module dir | main package | version: a module whose version names the tool, or
# =literal | ldflags template ({v} is that version) | build tags (optional; part of the cache key). kubeadm compares its own version with the
# config's kubernetesVersion, so it must know it (k8s.io/component-base/version, set the same way
# by hack/lib/version.sh upstream); `pulumi version` likewise (sdk/go/common/version). The
# kubernetes provider's pseudo-version is the commit of tag v4.25.0: it reports that version
# (pkg/version, set by the provider's own Makefile the same way). kube-vip's Makefile stamps
# main.Version the same way (`kube-vip version`).
tools_table=$(cat <<'EOF'
kubeadm|k8s|k8s.io/kubernetes/cmd/kubeadm|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
kubeadm-1.36|k8s-1.36|k8s.io/kubernetes/cmd/kubeadm|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
kubeadm-1.37|k8s-1.37|k8s.io/kubernetes/cmd/kubeadm|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
kube-apiserver|k8s|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
kubelet|kubelet|k8s.io/kubernetes/cmd/kubelet|k8s.io/kubernetes|-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitTreeState=clean
etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3|
etcdctl|etcd-client|go.etcd.io/etcd/etcdctl/v3|go.etcd.io/etcd/etcdctl/v3|
etcdutl|etcd-client|go.etcd.io/etcd/etcdutl/v3|go.etcd.io/etcd/etcdutl/v3|
etcd-1.37|etcd-1.37|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3|
etcdctl-1.37|etcd-client-1.37|go.etcd.io/etcd/etcdctl/v3|go.etcd.io/etcd/etcdctl/v3|
etcdutl-1.37|etcd-client-1.37|go.etcd.io/etcd/etcdutl/v3|go.etcd.io/etcd/etcdutl/v3|
kubectl-validate|kubectl-validate|sigs.k8s.io/kubectl-validate|sigs.k8s.io/kubectl-validate|
kube-vip|kube-vip|github.com/kube-vip/kube-vip|github.com/kube-vip/kube-vip|-X main.Version={v}
containerd|containerd|github.com/containerd/containerd/v2/cmd/containerd|github.com/containerd/containerd/v2|-X github.com/containerd/containerd/v2/version.Version={v}|urfave_cli_no_docs no_btrfs no_devmapper no_zfs
ctr|containerd|github.com/containerd/containerd/v2/cmd/ctr|github.com/containerd/containerd/v2|-X github.com/containerd/containerd/v2/version.Version={v}|urfave_cli_no_docs no_btrfs no_devmapper no_zfs
containerd-shim-runc-v2|containerd|github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2|github.com/containerd/containerd/v2|-X github.com/containerd/containerd/v2/version.Version={v}|urfave_cli_no_docs no_btrfs no_devmapper no_zfs no_grpc
oci-image|oci-image|.|=own|
pause|pause|.|=own|
pulumi|pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|github.com/pulumi/pulumi/pkg/v3|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={v}
pulumi-resource-kubernetes|pulumi-kubernetes|.|=4.25.0|-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version={v}
pulumi-resource-command|pulumi-command|.|=1.2.1|
pulumi-resource-tls|pulumi-tls|.|github.com/hashicorp/terraform-provider-tls|
pulumi-resource-random|pulumi-random|.|github.com/terraform-providers/terraform-provider-random|
EOF
)
engine_tools="pulumi pulumi-resource-kubernetes pulumi-resource-command pulumi-resource-tls pulumi-resource-random"

log() { printf '%s\n' "$*" >&2; }

wanted=" ${E2E_TOOLS:-kubeadm kubeadm-1.36 kubeadm-1.37 kubectl-validate kube-apiserver etcd etcdctl etcdutl etcd-1.37 etcdctl-1.37 etcdutl-1.37 kube-vip kubelet containerd ctr containerd-shim-runc-v2 oci-image pause engine} "
case "$wanted" in *" engine "*) wanted="$wanted $engine_tools " ;; esac
path_dirs=()
declare -A built_bin=()
mkdir -p "$cache"
tmp=""
# A failed build leaves no half-built directory behind.
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

# Extra build step of a wrapper module, run in a scratch copy of it ($1) before `go build`.
prepare() {
  local tool="$1" src="$2" version="$3"
  case "$tool" in
    pulumi-resource-kubernetes)
      # The provider embeds its schema and terraform mapping, made from the module zip's files.
      # `go list -m` reports a module's Dir only once it is in the module cache, and nothing has
      # downloaded it yet on a cold cache: download it first (an empty Dir stopped a cold run).
      local moddir module=github.com/pulumi/pulumi-kubernetes/provider/v4
      (cd "$src" && go mod download "$module")
      moddir="$(cd "$src" && go list -m -f '{{.Dir}}' "$module")"
      [ -n "$moddir" ] || { log "no module directory for $module"; return 1; }
      (cd "$src" && go run ./embedgen -module-dir "$moddir" -version "$version" -out .)
      ;;
  esac
}

build_one() {
  local tool="$1" dir="$2" pkg="$3" versioned="$4" ldflags_tpl="$5" tags="$6"
  local moddir="$here/tools/$dir" version hash dest start
  if [[ "$versioned" == =* ]]; then
    version="${versioned#=}"
  else
    version="$(cd "$moddir" && go list -m -f '{{.Version}}' "$versioned")"
  fi
  hash="$({ cat "$moddir/go.mod" "$moddir/go.sum"
            (cd "$moddir" && find . -name '*.go' -o -name 'go.mod' -path './*/*' -o -name 'go.sum' -path './*/*' | LC_ALL=C sort | xargs -r cat)
            go env GOVERSION; [ -z "$tags" ] || echo "tags $tags"; } | sha256sum | cut -c1-12)"
  dest="$cache/$tool-$version-$hash"
  exec {lock}>"$cache/.lock-$tool-$version-$hash"
  flock "$lock"
  if [ -x "$dest/bin/$tool" ]; then
    log "cached: $tool $version ($dest)"
  else
    log "building: $tool $version from $pkg (module $moddir)"
    tmp="$(mktemp -d "$cache/.build-$tool-XXXXXX")"
    start=$SECONDS
    local src="$moddir"
    if [ "$pkg" = "." ]; then
      # Own main packages build in a scratch copy, so generated files never land in the checkout.
      src="$tmp/src"
      cp -r "$moddir" "$src"
      prepare "$tool" "$src" "$version"
    fi
    # CGO off and -trimpath: the same binary whatever the machine's C toolchain or checkout path.
    (cd "$src" && CGO_ENABLED=0 go build -trimpath -tags "$tags" \
      -ldflags "-s -w ${ldflags_tpl//\{v\}/$version}" -o "$tmp/bin/$tool" "$pkg")
    rm -rf "$tmp/src"
    printf '%s %s built in %ss with %s\n' "$tool" "$version" "$((SECONDS - start))" "$(go version)" \
      >"$tmp/BUILD-INFO"
    # Only a finished build is moved into place, so an interrupted run never looks cached.
    rm -rf "$dest"
    mv "$tmp" "$dest"
    tmp=""
    log "built: $tool $version in $((SECONDS - start))s"
  fi
  exec {lock}>&-
  built_bin[$tool]="$dest/bin/$tool"
}

while IFS='|' read -r tool dir pkg versioned ldflags_tpl tags; do
  case "$wanted" in *" $tool "*) ;; *) continue ;; esac
  build_one "$tool" "$dir" "$pkg" "$versioned" "$ldflags_tpl" "$tags"
  case " $engine_tools " in *" $tool "*) ;; *) path_dirs+=("$(dirname "${built_bin[$tool]}")") ;; esac
done <<<"$tools_table"

if [ "${#path_dirs[@]}" -gt 0 ]; then
  joined="$(IFS=:; echo "${path_dirs[*]}")"
  line="export PATH=\"$joined:\$PATH\""
  printf '%s\n' "$line" >"$cache/env"
  printf '%s\n' "$line"
fi

# The SDK packages' plugin versions (package.json "pulumi.version", pinned by package-lock.json):
# the engine asks for exactly these.
sdk_plugin_version() {
  node -p "require('$repo/node_modules/@pulumi/$1/package.json').pulumi.version"
}

# A PULUMI_HOME holding the engine's plugins, installed under the versions the SDKs ask for, keyed
# by the binaries it holds; then engine.env and engine-ready.
install_engine() {
  local tool key home env_file ready
  for tool in $engine_tools; do
    [ -n "${built_bin[$tool]:-}" ] || return 0
  done
  key="$(for tool in $engine_tools; do echo "${built_bin[$tool]}"; done | sha256sum | cut -c1-12)"
  home="$cache/pulumi-home-$key"
  exec {lock}>"$cache/.lock-pulumi-home-$key"
  flock "$lock"
  if [ ! -f "$home/.installed" ]; then
    rm -rf "$home"
    mkdir -p "$home"
    for pkg in kubernetes command tls random; do
      local version
      version="$(sdk_plugin_version "$pkg")"
      log "installing plugin resource $pkg $version from ${built_bin[pulumi-resource-$pkg]}"
      PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "${built_bin[pulumi]}" plugin install \
        resource "$pkg" "$version" --file "${built_bin[pulumi-resource-$pkg]}" >&2
    done
    touch "$home/.installed"
  fi
  exec {lock}>&-
  env_file="$cache/engine.env"
  {
    echo "# Written by test/e2e/build-tools.sh: the Pulumi CLI and its plugins, offline."
    echo "export PATH=\"$(dirname "${built_bin[pulumi]}"):\$PATH\""
    echo "export PULUMI_HOME=\"$home\""
    echo "export PULUMI_SKIP_UPDATE_CHECK=true"
    echo "export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true"
    echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  ready="$cache/engine-ready"
  printf '%s\n' "$env_file" >"$ready.tmp"
  mv "$ready.tmp" "$ready"
  grep '^export ' "$env_file"
}
install_engine
