#!/usr/bin/env bash
# Simulated hosts for the engine tests. Each node is
#   - a network namespace of its own, its address on a veth pair into a bridge that lives in a
#     "hub" namespace this script creates (never the root namespace); the root namespace gets only
#     a veth into the hub (an address in the same /24), so the test process and the Pulumi CLI
#     reach the nodes and nothing else does: the nodes have no default route, the root namespace
#     does not forward (checked), and every server below listens in these namespaces only;
#   - the real-root tier's cached Debian root, overlaid per node (plus this tier's openssh-server
#     layer), prepared by test/realroot/helpers.bash's new_node (the same stubs: systemctl, ufw,
#     modprobe, ...), its package sources pointed at the hub's HTTP server;
#   - Debian's real sshd (openssh-server), chrooted in the overlay inside the node's namespaces
#     (mount, pid, network), with a generated ed25519 host key and root's authorized key.
# The control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler, kwok) is
# started inside the bootstrap node by the kubeadm stub's init (see test/realroot/stubs/kubeadm,
# "real cluster" mode): its binaries are bind-mounted read-only at /opt/k8sp-e2e/<dir>.
#
# Usage:
#   hosts.sh up STATE_DIR SUBNET NAME=IP...   SUBNET like 10.213.7 (a /24; .1 hub, .254 root side)
#       needs: E2E_CACHE (realroot root cache), E2E_REPOS (its repositories), HOSTS_CACHE
#       (test/e2e/hosts/build.sh output), E2E_BIN_DIRS (colon-separated dirs with kube-apiserver
#       and etcd). Writes STATE_DIR/env (HUB_URL, SSH key path) and STATE_DIR/<node>/host_key.pub.
#   hosts.sh down STATE_DIR                   stops everything `up` started, removes namespaces
#                                             and the root-side veth; safe to run twice. What it
#                                             could not remove it names (stderr) and exits 1,
#                                             keeping the state files for another `down`.
#   hosts.sh left STATE_DIR                   what `up` started that is still there, one a line.
# Every run is registered in $registry/<tag> (its subnet, state directory, its owner — the process
# that called `up`, or HOSTS_OWNER_PID — and the `up` itself). `up` on a subnet whose registered
# run is no longer live (a test run killed mid-way, whose after() never ran; hosts kept with
# K8SP_E2E_KEEP_HOSTS once their test has ended) takes that run down first; a live run's subnet,
# or one routed by anything unregistered, is refused.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
realroot="$(cd "$here/../../realroot" && pwd)"
log() { printf '[hosts] %s\n' "$*" >&2; }
registry=/run/k8sp-e2e-hosts
tag_of() { printf '%s' "$1" | sha256sum | cut -c1-5; }
# A process's start time (field 22 of /proc/PID/stat, proc(5)): with the pid it names the process,
# never a later one that got the same number.
start_time() { local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; stat=${stat##*) }; echo "$stat" | cut -d' ' -f20; }
# `owner_pid owner_start` still running?
owner_alive() { local now; now=$(start_time "$1") || return 1; [ "$now" = "$2" ]; }

# A pid from a pid file that is still ours: alive (a zombie is dead) and running what we started
# (never another process that got the number since).
alive() { # pid command-name
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}
node_pids() { # state: "name pid" per node started
  local f
  for f in "$1"/*/pid; do
    [ ! -f "$f" ] || echo "$(basename "$(dirname "$f")") $(cat "$f")"
  done
}
http_alive() { [ -f "$1/http.pid" ] && alive "$(cat "$1/http.pid")" python3; }
# What `up` started that is still there, one a line: "node <name> (pid N)", "http server (pid N)",
# "netns <name>", "veth <name>". Quick, no waiting: `down` ends with it, and SimHosts runs it
# itself when `down` was cut short.
left() {
  local state="$1" name pid ns
  while read -r name pid; do
    ! alive "$pid" unshare || echo "node $name (pid $pid)"
  done < <(node_pids "$state")
  ! http_alive "$state" || echo "http server (pid $(cat "$state/http.pid"))"
  while read -r ns; do
    [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ] || echo "netns $ns"
  done < <(cat "$state/namespaces" 2>/dev/null)
  if [ -f "$state/root-veth" ] && ip link show "$(cat "$state/root-veth")" >/dev/null 2>&1; then echo "veth $(cat "$state/root-veth")"; fi
}
nodes_alive() {
  local name pid
  while read -r name pid; do
    ! alive "$pid" unshare || return 0
  done < <(node_pids "$1")
  http_alive "$1"
}

down() {
  local state="$1" name pid ns deadline kept=()
  [ -d "$state" ] || return 0
  # Each node's pid file holds its `unshare --kill-child` (`ip netns exec` execs it), which blocks
  # SIGINT and SIGTERM while it waits for its child (util-linux sys-utils/unshare.c: "Block signals
  # to prevent \"impatient parent\" problem"): a SIGTERM never arrives, and waiting for it cost each
  # node its whole grace before a SIGKILL, one node after another (5 s a node: over 8 minutes for
  # 101 nodes, past SimHosts' bound, which then left the rest running). So SIGKILL, every node at
  # once: --kill-child has the kernel SIGKILL the node's pid 1 (its sshd), which ends every process
  # of the node's pid namespace (its control plane too) and with them its mounts.
  while read -r name pid; do
    ! alive "$pid" unshare || kill -9 "$pid" 2>/dev/null || true
  done < <(node_pids "$state")
  ! http_alive "$state" || kill "$(cat "$state/http.pid")" 2>/dev/null || true
  # Bounded: a killed pid namespace ends at once; whatever is still running after this is named
  # below, not waited for.
  deadline=$((SECONDS + 30 + $(node_pids "$state" | wc -l) / 2))
  while [ "$SECONDS" -lt "$deadline" ] && nodes_alive "$state"; do sleep 0.2; done
  ! http_alive "$state" || kill -9 "$(cat "$state/http.pid")" 2>/dev/null || true
  # The namespaces and the veth go whatever happened above: what can be removed is removed.
  while read -r ns; do
    [ -z "$ns" ] || [ ! -e "/run/netns/$ns" ] || ip netns delete "$ns" 2>/dev/null || true
  done < <(cat "$state/namespaces" 2>/dev/null)
  if [ -f "$state/root-veth" ] && ip link show "$(cat "$state/root-veth")" >/dev/null 2>&1; then
    ip link delete "$(cat "$state/root-veth")" 2>/dev/null || true
  fi
  mapfile -t kept < <(left "$state")
  if [ "${#kept[@]}" -gt 0 ]; then
    # The state files stay, so another `hosts.sh down STATE_DIR` can try the rest.
    local joined
    joined=$(printf '%s, ' "${kept[@]}")
    log "down: left behind (state in $state): ${joined%, }"
    return 1
  fi
  rm -f "$state"/*/pid "$state/http.pid" "$state/namespaces" "$state/root-veth" "$registry/$(tag_of "$state")"
}

# A registry entry: "<subnet> <state dir> <owner pid> <owner start> <up pid> <up start>". A run is
# live while its owner (the test process) or its own `up` (which an owner killed mid-way leaves
# running) is.
run_alive() { # entry
  local r_subnet r_state r_pid r_start u_pid u_start
  read -r r_subnet r_state r_pid r_start u_pid u_start <"$1" || true
  owner_alive "$r_pid" "$r_start" || owner_alive "${u_pid:-0}" "${u_start:-}"
}

# Takes down every registered run on `subnet` that is no longer live, by its tag only: the
# processes in its own k8sp-<tag>-* namespaces (each node's unshare and all it started, the hub's
# HTTP server), those namespaces and its root-side veth. Never through its pid files: a pid left
# there (a teardown cut short keeps them) may belong to another run's node by now. Its state
# directory, a mkdtemp of its own, goes too.
reclaim_abandoned() {
  local subnet="$1" entry r_subnet r_state r_pid tag ns
  for entry in "$registry"/*; do
    [ -f "$entry" ] || continue
    read -r r_subnet r_state r_pid _ <"$entry" || true
    [ "$r_subnet" = "$subnet" ] || continue
    ! run_alive "$entry" || continue
    tag=$(basename "$entry")
    log "reclaiming $subnet.0/24 from a run whose owner (pid $r_pid) has died: state $r_state, namespaces k8sp-$tag-*"
    while read -r ns _; do
      case "$ns" in k8sp-"$tag"-*) ;; *) continue ;; esac
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
      ip netns delete "$ns" 2>/dev/null || true
    done < <(ip netns list)
    ip link delete "k8sp${tag}r" 2>/dev/null || true
    case "$r_state" in "${TMPDIR:-/tmp}"/k8sp-hosts-*) rm -rf "$r_state" ;; esac
    rm -f "$entry"
  done
}

# Refuses the subnet while a live registered run has it (routed yet or not), or while anything
# else routes it: a second route to the /24 (a killed run's root-side veth from before the
# registry) is taken first, and the nodes' sshds would never answer. `root` lists this prefix and
# longer ones.
refuse_taken_subnet() { # subnet
  local subnet="$1" routed live="" entry r_subnet r_state r_pid
  for entry in "$registry"/*; do
    [ -f "$entry" ] || continue
    read -r r_subnet r_state r_pid _ <"$entry" || true
    [ "$r_subnet" != "$subnet" ] || live="in use by a live run (pid $r_pid, state $r_state)"
  done
  routed=$(ip -4 route show root "$subnet.0/24")
  [ -n "$routed" ] || [ -n "$live" ] || return 0
  if [ -z "$routed" ]; then
    log "$subnet.0/24 is $live: refusing to start nodes on it"
    exit 1
  fi
  log "$subnet.0/24 is already routed in the root namespace ($(echo "$routed" | head -1)), ${live:-by nothing registered}: refusing to start nodes on it." \
    "A killed run leaves its veth k8sp<tag>r: \`bash $0 down <its state dir>\`, or \`ip link del $(echo "$routed" | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')\`" \
    "and \`ip netns del\` its k8sp-<tag>-* namespaces"
  exit 1
}

up() {
  local state="$1" subnet="$2"
  shift 2
  : "${E2E_CACHE:?}" "${E2E_REPOS:?}" "${HOSTS_CACHE:?}" "${E2E_BIN_DIRS:?}"
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || { log "the root namespace forwards IPv4: refusing to attach simulated nodes to it"; exit 1; }
  # One `up` at a time from the reclaim to the root side's address: two runs on one subnet would
  # both pass the check otherwise.
  mkdir -p "$registry"
  local lock
  exec {lock}>"$registry/.lock"
  flock "$lock"
  reclaim_abandoned "$subnet"
  refuse_taken_subnet "$subnet"
  mkdir -p "$state"
  local tag hub i=0 spec name ip ns vh vn port owner
  tag=$(tag_of "$state")
  # Registered before anything is created: a run killed part way through `up` is reclaimed too.
  owner="${HOSTS_OWNER_PID:-$PPID}"
  echo "$subnet $state $owner $(start_time "$owner" || echo gone) $$ $(start_time $$)" >"$registry/$tag"
  hub="k8sp-$tag-hub"
  echo "$hub" >>"$state/namespaces"
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" addr add "$subnet.1/24" dev br0
  ip -n "$hub" link set br0 up
  # The root namespace's only way in: one veth, an address in the nodes' /24.
  ip link add "k8sp${tag}r" type veth peer name rootside netns "$hub"
  echo "k8sp${tag}r" >"$state/root-veth"
  ip -n "$hub" link set rootside master br0 up
  ip addr add "$subnet.254/24" dev "k8sp${tag}r"
  ip link set "k8sp${tag}r" up
  flock -u "$lock"
  exec {lock}>&-

  # The package repositories (Debian mirror copy, pkgs.k8s.io stand-in), served in the hub only.
  ip netns exec "$hub" python3 -m http.server 8080 --bind "$subnet.1" --directory "$E2E_REPOS" >"$state/http.log" 2>&1 &
  echo $! >"$state/http.pid"
  port=8080
  ssh-keygen -q -t ed25519 -N '' -C k8sp-e2e -f "$state/id_ed25519"
  {
    echo "HUB_URL=http://$subnet.1:$port"
    echo "SSH_KEY=$state/id_ed25519"
    echo "HUB_NETNS=$hub"
  } >"$state/env"

  # new_node (test/realroot/helpers.bash) lays out each node's overlay under $BATS_TEST_TMPDIR/nodes.
  BATS_TEST_DIRNAME="$realroot" BATS_TEST_TMPDIR="$state" E2E_PORT="$port"
  export BATS_TEST_DIRNAME BATS_TEST_TMPDIR E2E_PORT
  # shellcheck source=test/realroot/helpers.bash
  . "$realroot/helpers.bash"
  mkdir -p "$state/cluster"
  # kwok's stages: its own "fast" ones (build.sh, from the kwok module) and this project's
  # (kwok-pod-ready-again.yaml: the kubelet's pod-status reconcile, which kwok's lack).
  cat "$HOSTS_CACHE/kwok-stages.yaml" "$here/kwok-pod-ready-again.yaml" >"$state/kwok-stages.yaml"
  # The tool directories as each node mounts them (/opt/k8sp-e2e/bin<i>, in this order).
  local node_bin_dirs="" j=0 dir
  declare -A tool_dir=()
  IFS=: read -ra host_dirs <<<"$HOSTS_CACHE/bin:$E2E_BIN_DIRS"
  for dir in "${host_dirs[@]}"; do
    node_bin_dirs="${node_bin_dirs:+$node_bin_dirs:}/opt/k8sp-e2e/bin$j"
    for tool in etcdctl etcdutl; do [ ! -x "$dir/$tool" ] || tool_dir[$tool]="/opt/k8sp-e2e/bin$j"; done
    j=$((j + 1))
  done
  for spec in "$@"; do
    name="${spec%%=*}" ip="${spec#*=}"
    i=$((i + 1))
    ns="k8sp-$tag-$name"
    vh="k8sp${tag}h$i" vn="k8sp${tag}n$i"
    log "node $name at $ip (netns $ns)"
    new_node "$name" ubuntu
    local d="$state/nodes/$name" up
    up="$d/upper"
    echo "deb [signed-by=/etc/apt/keyrings/e2e-debian.asc] http://$subnet.1:$port/debian/ ./" >"$up/etc/apt/sources.list.d/debian.list"
    # The engine tier's cluster is real: the kubeadm and kubectl stubs switch to it (see there).
    {
      echo "BIN_DIRS=$node_bin_dirs"
      echo "KWOK_STAGES=/opt/k8sp-e2e/kwok-stages.yaml"
      echo "NODE_IP=$ip"
    } >"$up/var/lib/k8sp-stub/real-cluster"
    mkdir -p "$up/etc/ssh/sshd_config.d" "$up/root/.ssh" "$up/run/sshd" "$up/opt/k8sp-e2e"
    # etcdctl and etcdutl on the node's PATH, as an air-gapped site installs them: the program's
    # maintenance step then downloads nothing (it could not: no network here).
    mkdir -p "$up/usr/local/bin"
    for tool in etcdctl etcdutl; do
      [ -z "${tool_dir[$tool]:-}" ] || ln -sfn "${tool_dir[$tool]}/$tool" "$up/usr/local/bin/$tool"
    done
    install -m 0755 "$here/node/kubeadm" "$up/opt/k8sp-e2e/kubeadm"
    ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$up/etc/ssh/ssh_host_ed25519_key"
    mkdir -p "$state/$name" && cp "$up/etc/ssh/ssh_host_ed25519_key.pub" "$state/$name/host_key.pub"
    install -m 0600 "$state/id_ed25519.pub" "$up/root/.ssh/authorized_keys"
    chmod 0700 "$up/root/.ssh"
    printf 'ListenAddress %s\nHostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nMaxStartups 100:30:200\nMaxSessions 100\n' "$ip" >"$up/etc/ssh/sshd_config.d/e2e.conf"

    echo "$ns" >>"$state/namespaces"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$hub" link add "$vh" type veth peer name "$vn" netns "$ns"
    ip -n "$hub" link set "$vh" master br0 up
    ip -n "$ns" link set "$vn" name eth0
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
    # A hostname of its own (uts), the overlay (mount), its processes (pid), its address (net).
    ip netns exec "$ns" unshare --mount --pid --uts --kill-child --propagation private /bin/bash -c '
      set -e
      d="$1" lower="$2" cluster="$3" name="$4" bins="$5" stages="$6"
      mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/upper,workdir=$d/work" "$d/merged"
      m="$d/merged"
      mount --bind /dev "$m/dev"
      mount -t proc proc "$m/proc"
      mount -t sysfs sysfs "$m/sys"
      mount --bind "$cluster" "$m/var/lib/k8sp-stub/cluster"
      i=0
      IFS=: read -ra dirs <<<"$bins"
      for b in "${dirs[@]}"; do mkdir -p "$m/opt/k8sp-e2e/bin$i"; mount --bind -o ro "$b" "$m/opt/k8sp-e2e/bin$i"; i=$((i + 1)); done
      cp "$stages" "$m/opt/k8sp-e2e/kwok-stages.yaml"
      hostname "$name"
      exec chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        /usr/sbin/sshd -D -e
    ' node "$d" "$HOSTS_CACHE/sshd-layer:$E2E_CACHE/root" "$state/cluster" "$name" \
      "$HOSTS_CACHE/bin:$E2E_BIN_DIRS" "$state/kwok-stages.yaml" >"$state/$name/sshd.log" 2>&1 &
    echo $! >"$state/$name/pid"
  done
  # Bounded: every sshd answers within 120 s or the run stops (and the caller runs `down`). Each try
  # allows 10 s for the connection and the key exchange: on two loaded cores a fresh sshd's first
  # handshake took longer than 2 s, every time, and the run stopped with sshd listening.
  for spec in "$@"; do
    name="${spec%%=*}" ip="${spec#*=}"
    printf '%s %s\n' "$ip" "$(cut -d' ' -f1,2 "$state/$name/host_key.pub")" >>"$state/known_hosts"
  done
  for spec in "$@"; do
    name="${spec%%=*}" ip="${spec#*=}"
    deadline=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$deadline" ]; do
      ssh -q -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$state/known_hosts" \
        -o ConnectTimeout=10 -i "$state/id_ed25519" "root@$ip" true 2>/dev/null && continue 2
      sleep 0.5
    done
    log "sshd on $name ($ip) did not answer:"; cat "$state/$name/sshd.log" >&2
    exit 1
  done
  log "hosts up: $*"
}

case "${1:-}" in
up) shift; up "$@" ;;
down) shift; down "$@" ;;
left) shift; left "$@" ;;
*) echo "usage: hosts.sh up STATE_DIR SUBNET NAME=IP... | down STATE_DIR | left STATE_DIR" >&2; exit 2 ;;
esac
