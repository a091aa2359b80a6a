# Real-root tier: every node script runs for real (real bash, apt/dpkg, rpm, containerd,
# haproxy, exportfs) in a debootstrapped Debian root, one overlay per node per test so the cached
# root is never written. Only what needs a kernel or a running init is stubbed (stubs/).
#
# K8SP_SCRIPTS_DIR runs another copy of the scripts (e.g. the previous commit's, to see a test fail).

REALROOT_DIR="$BATS_TEST_DIRNAME"
SCRIPTS_DIR="${K8SP_SCRIPTS_DIR:-$BATS_TEST_DIRNAME/../../scripts}"

# Once per file: build or reuse the cached root and repositories, serve them on 127.0.0.1.
realroot_setup_file() {
  [ "$(id -u)" -eq 0 ] || skip "the real-root tier needs root (unshare, chroot, overlay mounts)"
  E2E_CACHE=$("$REALROOT_DIR/build-root.sh")
  E2E_REPOS=$("$REALROOT_DIR/make-repos.sh" "$E2E_CACHE")
  local log="$BATS_FILE_TMPDIR/http.log"
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$E2E_REPOS" >"$log" 2>&1 &
  E2E_HTTP_PID=$!
  for _ in $(seq 1 50); do grep -q 'port [0-9]' "$log" && break; sleep 0.1; done
  E2E_PORT=$(grep -oE 'port [0-9]+' "$log" | head -n 1 | cut -d' ' -f2)
  [ -n "$E2E_PORT" ] || { cat "$log" >&2; return 1; }
  export E2E_CACHE E2E_REPOS E2E_HTTP_PID E2E_PORT
  export E2E_REPO_BASE="http://127.0.0.1:$E2E_PORT/k8s"
  # The stub repositories serve Kubernetes 1.35: its containerd minimums, as the program passes
  # them to prepare-node.sh (config/versions.ts CONTAINERD_MINIMUMS, read from there).
  K8S135_CONTAINERD_MINIMUMS=$(containerd_minimums 1.35)
  export K8S135_CONTAINERD_MINIMUMS
}
# containerd_minimums MINOR: config/versions.ts CONTAINERD_MINIMUMS[MINOR], space-separated.
containerd_minimums() {
  (cd "$REALROOT_DIR/../.." && node --import tsx -p "require('./config/versions').CONTAINERD_MINIMUMS['$1'].join(' ')")
}
realroot_teardown_file() { [ -z "${E2E_HTTP_PID:-}" ] || kill "$E2E_HTTP_PID" 2>/dev/null || true; }

# new_node NAME [ubuntu|rocky|debian]: a fresh host. Ubuntu 24.04 and Rocky 9 are imitated by
# their /etc/os-release on the Debian userland (no such roots can be built here: see README).
new_node() {
  local name="$1" os="${2:-ubuntu}" d="$BATS_TEST_TMPDIR/nodes/$1" up
  up="$d/upper"
  mkdir -p "$up/usr/local/sbin" "$up/var/lib/k8sp-stub/cluster" "$up/etc/apt/sources.list.d" "$up/etc/apt/keyrings" \
    "$d/work" "$d/merged" "$BATS_TEST_TMPDIR/cluster"
  install -d -m 1777 "$up/tmp"
  cp "$REALROOT_DIR/stubs/systemctl" "$up/usr/local/sbin/systemctl"
  for c in modprobe sysctl swapoff setenforce restorecon; do cp "$REALROOT_DIR/stubs/node-stub" "$up/usr/local/sbin/$c"; done
  # SELinux off unless a test writes /var/lib/k8sp-stub/selinux-enabled.
  cp "$REALROOT_DIR/stubs/selinuxenabled" "$up/usr/local/sbin/selinuxenabled"
  # No init: package maintainer scripts must not start daemons (invoke-rc.d's policy hook).
  mkdir -p "$up/usr/sbin"
  printf '#!/bin/sh\nexit 101\n' >"$up/usr/sbin/policy-rc.d"
  echo "$name" >"$up/etc/hostname"
  # The distribution's own package source, as on any provisioned host (here: our mirror copy).
  cp "$E2E_REPOS/debian/Release.key" "$up/etc/apt/keyrings/e2e-debian.asc"
  echo "deb [signed-by=/etc/apt/keyrings/e2e-debian.asc] http://127.0.0.1:$E2E_PORT/debian/ ./" >"$up/etc/apt/sources.list.d/debian.list"
  case "$os" in
  ubuntu)
    printf 'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n' >"$up/etc/os-release"
    # Ubuntu server images ship ufw, installed but inactive.
    cp "$REALROOT_DIR/stubs/ufw" "$up/usr/local/sbin/ufw"
    mkdir -p "$up/etc/ufw" && printf '# /etc/ufw/ufw.conf\nENABLED=no\nLOGLEVEL=low\n' >"$up/etc/ufw/ufw.conf"
    ;;
  rocky)
    printf 'NAME="Rocky Linux"\nVERSION="9.6 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.6"\nPLATFORM_ID="platform:el9"\n' >"$up/etc/os-release"
    mkdir -p "$up/etc/selinux" "$up/etc/yum.repos.d"
    printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$up/etc/selinux/config"
    cp "$REALROOT_DIR/stubs/dnf" "$up/usr/local/sbin/dnf"
    # Rocky images run firewalld, enabled and active (its unit as firewalld's package installs it).
    cp "$REALROOT_DIR/stubs/firewall-cmd" "$up/usr/local/sbin/firewall-cmd"
    mkdir -p "$up/usr/lib/systemd/system" "$up/etc/systemd/system/multi-user.target.wants" "$up/run/k8sp-stub-units"
    printf '[Unit]\nDescription=firewalld - dynamic firewall daemon\n\n[Service]\nExecStart=/usr/sbin/firewalld --nofork --nopid\n\n[Install]\nWantedBy=multi-user.target\nAlias=dbus-org.fedoraproject.FirewallD1.service\n' >"$up/usr/lib/systemd/system/firewalld.service"
    ln -s /usr/lib/systemd/system/firewalld.service "$up/etc/systemd/system/multi-user.target.wants/firewalld.service"
    ln -s /usr/lib/systemd/system/firewalld.service "$up/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service"
    date +%s >"$up/run/k8sp-stub-units/firewalld.service"
    in_node "$name" rpm --initdb
    # The distribution's repository (Rocky's rocky.repo [baseos]; here the stand-in on 127.0.0.1).
    printf '[baseos]\nname=Rocky Linux 9 - BaseOS\nbaseurl=http://127.0.0.1:%s/rocky-baseos/\nenabled=1\n' "$E2E_PORT" >"$up/etc/yum.repos.d/rocky.repo"
    # Docker's repo file is how the script finds containerd.io; here it is already in place.
    printf '[docker-ce-stable]\nname=Docker CE Stable\nbaseurl=http://127.0.0.1:%s/docker-rpm\n' "$E2E_PORT" >"$up/etc/yum.repos.d/docker-ce.repo"
    ;;
  debian) ;; # the root's own /etc/os-release (Debian 12)
  esac
  chmod 0755 "$up/usr/local/sbin/"* "$up/usr/sbin/policy-rc.d"
}

# node_put NAME PATH: the path to write a node's file at, from outside (its overlay's upper dir).
node_put() {
  local p="$BATS_TEST_TMPDIR/nodes/$1/upper$2"
  mkdir -p "$(dirname "$p")"
  echo "$p"
}

# in_node NAME COMMAND...: runs COMMAND as root inside the node (a private mount and pid
# namespace, chroot), with a clean environment; standard input is passed through. With
# IN_NODE_NETNS=1 also in a network namespace of its own (real `ip` and `iptables` on a private
# kernel network stack; it lasts as long as COMMAND).
in_node() {
  local name="$1" d="$BATS_TEST_TMPDIR/nodes/$1" net=()
  shift
  [ -z "${IN_NODE_NETNS:-}" ] || net=(--net)
  unshare --mount --pid --fork "${net[@]}" --propagation private /bin/bash -c '
    set -e
    d="$1" lower="$2" cluster="$3" scripts="$4"
    shift 4
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$d/merged"
    m="$d/merged"
    mount --bind /dev "$m/dev"
    mount -t proc proc "$m/proc"
    mount --bind "$cluster" "$m/var/lib/k8sp-stub/cluster"
    mkdir -p "$m/opt/k8sp-scripts" && mount --bind "$scripts" "$m/opt/k8sp-scripts"
    exec chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
  ' in_node "$d" "$E2E_CACHE/root" "$BATS_TEST_TMPDIR/cluster" "$SCRIPTS_DIR" "$@"
}

# node_script NAME SCRIPT [VAR=value...]: runs scripts/SCRIPT.sh in the node with those parameters.
node_script() {
  local name="$1" script="$2"
  shift 2
  in_node "$name" /usr/bin/env "$@" bash "/opt/k8sp-scripts/$script.sh"
}

# A node's file, read from outside (its overlay, falling back to the cached root).
node_file() {
  local d="$BATS_TEST_TMPDIR/nodes/$1"
  if [ -e "$d/upper$2" ] || [ -L "$d/upper$2" ]; then echo "$d/upper$2"; else echo "$E2E_CACHE/root$2"; fi
}

# Fingerprint of everything the runs changed under /etc (path, type, mode, link target, mtime, content).
etc_state() {
  local up="$BATS_TEST_TMPDIR/nodes/$1/upper"
  (cd "$up" && find etc -printf '%p %y %m %l %T@\n' | sort && find etc -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# Secrets as the program sends them: NAME=<base64> lines on standard input.
secret_stdin() {
  local pair
  for pair in "$@"; do printf '%s=%s\n' "${pair%%=*}" "$(printf '%s' "${pair#*=}" | base64 -w0)"; done
}
stub_calls() { cat "$(node_file "$1" /var/lib/k8sp-stub/calls)" 2>/dev/null || true; }

# A kubeadm cluster as the program makes one (kubeadm.bats, maintenance.bats, upgrade.bats): its
# secrets, the kubeadm configs with the program's placeholders (the fields the stub kubeadm reads),
# and kubeadm-init.sh / kubeadm-join.sh called with them, secrets on standard input.
TOKEN=abcdef.0123456789abcdef
CERT_KEY=0011223344556677889900112233445566778899001122334455667788990011
INIT_CONFIG='apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "@BOOTSTRAP_TOKEN@"
certificateKey: "@CERTIFICATE_KEY@"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "@KUBERNETES_VERSION@"'
JOIN_CP='apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.10:6443
    token: "@BOOTSTRAP_TOKEN@"
    caCertHashes: ["sha256:abc"]
controlPlane:
  certificateKey: "@CERTIFICATE_KEY@"'
JOIN_WORKER='apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.10:6443
    token: "@BOOTSTRAP_TOKEN@"
    caCertHashes: ["sha256:abc"]'
# prepare_node NODE ROLE MINOR VERSION [NAME=value...]: prepare-node.sh as the program calls it
# (containerd minimums of that minor, config/versions.ts), packages from the stub repositories.
prepare_node() {
  local node="$1" role="$2" minor="$3" version="$4" minimums="$K8S135_CONTAINERD_MINIMUMS"
  shift 4
  [ "$minor" = 1.35 ] || minimums=$(containerd_minimums "$minor")
  node_script "$node" prepare-node NODE_NAME="$node" NODE_ROLE="$role" K8S_MINOR="$minor" K8S_VERSION="$version" \
    CONTAINERD_MINIMUMS="$minimums" K8S_REPO_BASE="$E2E_REPO_BASE" FIREWALL_MODE=disabled "$@"
}
# The stub API server's objects, shared by the nodes of a test.
cluster() { echo "$BATS_TEST_TMPDIR/cluster"; }
# kubeadm_init NODE UPLOAD_CERTS [NAME=value...]: kubeadm-init.sh with the cluster CA and the secrets.
kubeadm_init() {
  local node="$1" upload="$2"
  shift 2
  secret_stdin "CA_CRT=TEST-CA-CERT" "CA_KEY=TEST-CA-KEY" "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" |
    node_script "$node" kubeadm-init NODE_NAME="$node" KUBEADM_CONFIG="$INIT_CONFIG" UPLOAD_CERTS="$upload" "$@"
}
# kubeadm_join NODE worker|control-plane [NAME=value...]: kubeadm-join.sh with that role's config;
# a control plane also gets the certificate key.
kubeadm_join() {
  local node="$1" role="$2"
  shift 2
  if [ "$role" = control-plane ]; then
    secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" "CERTIFICATE_KEY=$CERT_KEY" | node_script "$node" kubeadm-join NODE_NAME="$node" KUBEADM_CONFIG="$JOIN_CP" "$@"
  else
    secret_stdin "BOOTSTRAP_TOKEN=$TOKEN" | node_script "$node" kubeadm-join NODE_NAME="$node" KUBEADM_CONFIG="$JOIN_WORKER" "$@"
  fi
}

# with_maintenance_lock NODE SECONDS "FILE..." COMMAND...: inside NODE, another maintenance step
# (a stand-in for a renewal or a snapshot: flock on lib-maintenance.sh's lock file, as they take
# it) holds the lock for SECONDS; COMMAND starts once it is held. The holder checks every 0.2 s
# that the FILEs are unchanged while it holds the lock, and exits 1 (this returns 99) when one
# changed: COMMAND did not wait for the lock. Otherwise COMMAND's status. With PARKED=POD the
# holder is a renewal restarting POD: its manifest is in /etc/kubernetes/k8s-platform-restart/
# while the lock is held (cert-renewal.sh restart_static_pod), back in manifests/ at the end.
with_maintenance_lock() {
  local node="$1" seconds="$2" files="$3"
  shift 3
  in_node "$node" /bin/bash -c '
    seconds="$1" files="$2" parked="$3"
    shift 3
    mkdir -p /run
    (
      exec 7>/run/k8s-platform-maintenance.lock
      flock 7
      if [ -n "$parked" ]; then mkdir -p /etc/kubernetes/k8s-platform-restart && mv "/etc/kubernetes/manifests/$parked.yaml" /etc/kubernetes/k8s-platform-restart/; fi
      # shellcheck disable=SC2086 # the file names are separate arguments
      before=$(sha256sum $files 2>&1)
      : >/run/k8sp-test-lock-held
      for _ in $(seq 1 $((seconds * 5))); do
        sleep 0.2
        # shellcheck disable=SC2086
        [ "$(sha256sum $files 2>&1)" = "$before" ] || { echo "changed while the lock was held: $files" >&2; exit 1; }
      done
      if [ -n "$parked" ]; then mv "/etc/kubernetes/k8s-platform-restart/$parked.yaml" /etc/kubernetes/manifests/; fi
    ) &
    holder=$!
    for _ in $(seq 1 100); do [ -f /run/k8sp-test-lock-held ] && break; sleep 0.1; done
    rc=0
    "$@" || rc=$?
    wait "$holder" || rc=99
    exit "$rc"
  ' with_maintenance_lock "$seconds" "$files" "${PARKED:-}" "$@"
}
