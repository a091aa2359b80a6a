#!/usr/bin/env bats
# prepare-node.sh for real in a Debian root (apt, dpkg, containerd, rpm are the real ones).
load helpers
setup_file() { realroot_setup_file; }
teardown_file() { realroot_teardown_file; }

prepare() { # node [VAR=value...]
  local node="$1"
  shift
  node_script "$node" prepare-node NODE_NAME="$node" NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 CONTAINERD_MINIMUMS="$K8S135_CONTAINERD_MINIMUMS" \
    K8S_REPO_BASE="$E2E_REPO_BASE" FIREWALL_MODE=disabled CONTAINERD_REPO_URL=http://127.0.0.1:1/unused \
    CONTAINERD_APT_REPO_URL="http://127.0.0.1:$E2E_PORT/docker-apt" POD_SUBNET=10.244.0.0/16 APT_RETRY_INTERVAL=1 "$@"
}

@test "ubuntu: a fresh host with empty package lists is prepared; the second run changes nothing under /etc" {
  new_node n1 ubuntu
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  in_node n1 dpkg-query -W kubeadm kubelet kubectl cri-tools containerd conntrack socat
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.35.2-1.1 ]
  [ "$(in_node n1 apt-mark showhold | sort | tr '\n' ' ')" = "containerd kubeadm kubectl kubelet " ]
  # The archive's containerd (2.1) is new enough: Docker's repository is not added.
  [ ! -e "$(node_file n1 /etc/apt/sources.list.d/docker.list)" ]
  # Each long step says when it starts.
  [[ "$output" == *"[k8s-platform] updating the package lists"* ]]
  [[ "$output" == *"[k8s-platform] installing kubelet, kubeadm, kubectl"* ]]
  [[ "$output" == *"[k8s-platform] configuring containerd"* ]]
  [[ "$output" == *"[k8s-platform] restarting containerd"* ]]
  before=$(etc_state n1)
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}

@test "a patch version pins exactly that patch, and 1.35.2 is not taken for 1.35.20 (or 1.35.1)" {
  new_node n1 ubuntu
  run prepare n1 K8S_VERSION=1.35.1
  [ "$status" -eq 0 ]
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.35.1-1.1 ]
  # 1.35.1 is not taken for 1.35.11: the host is no member, so its packages are to move to
  # 1.35.11, which the repository does not have (apt says so; nothing changes).
  run prepare n1 K8S_VERSION=1.35.11
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubeadm 1.35.1 is installed on n1, which is not a member of a cluster"*"moving kubelet, kubeadm, kubectl to 1.35.11"* ]]
  [[ "$output" == *"Version '1.35.11-*' for 'kubelet' was not found"* ]]
  [ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" = 1.35.1-1.1 ]
}

@test "containerd (Debian's 2.1 package) gets the systemd cgroup driver, certs.d, kubeadm's pause image, /opt/cni/bin — as containerd itself reads it" {
  new_node n1 ubuntu
  run prepare n1
  [ "$status" -eq 0 ]
  dump=$("$E2E_CACHE/containerd-2.1/containerd" --config "$(node_file n1 /etc/containerd/config.toml)" config dump)
  grep -q "SystemdCgroup = true" <<<"$dump"
  grep -q "config_path = '/etc/containerd/certs.d'" <<<"$dump"
  grep -q "sandbox = 'registry.k8s.io/pause:3.10.1'" <<<"$dump"
  grep -q "bin_dirs = \['/opt/cni/bin'\]" <<<"$dump"
}

@test "an existing Docker host keeps containerd.io (1.x layout, read by Debian's containerd 1.7) and holds it" {
  new_node n1 ubuntu
  cp "$E2E_REPOS/docker/containerd.io_1.7.28-1_amd64.deb" "$(node_put n1 /tmp/containerd.io.deb)"
  in_node n1 dpkg -i /tmp/containerd.io.deb >/dev/null
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  # containerd.io Provides containerd, so dpkg knows the name: "unknown ok not-installed".
  ! in_node n1 dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -qx 'install ok installed' || false
  in_node n1 apt-mark showhold | grep -qx containerd.io
  dump=$("$E2E_CACHE/containerd-1.7/containerd" --config "$(node_file n1 /etc/containerd/config.toml)" config dump)
  grep -q 'SystemdCgroup = true' <<<"$dump"
  grep -q 'config_path = "/etc/containerd/certs.d"' <<<"$dump"
  grep -q 'sandbox_image = "registry.k8s.io/pause:3.10.1"' <<<"$dump"
  grep -q 'bin_dir = "/opt/cni/bin"' <<<"$dump"
}

@test "a containerd too old for Kubernetes 1.35 (Debian trixie's 1.7.24) is refused by name" {
  new_node n1 ubuntu
  cp "$E2E_CACHE"/old-debs/containerd_1.7.24*.deb "$(node_put n1 /tmp/containerd.deb)"
  in_node n1 bash -c 'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/containerd.deb' >/dev/null 2>&1
  run prepare n1
  [ "$status" -ne 0 ]
  [[ "$output" == *"containerd 1.7.24 is too old for Kubernetes 1.35"* ]]
}

@test "the containerd minimum follows the minor's row: Debian's 2.1 is fine for 1.35, refused (2.1 not listed) under 1.36's row, also once installed" {
  # The stub repositories serve 1.35 only, so the 1.36 row is passed with K8S_MINOR=1.35: this
  # tests that the script applies whatever row the program passes (test/config.test.ts checks the
  # rows per minor). Under it the archive's 2.1 is passed over for Docker's containerd.io (1.7.28),
  # which is refused as well: neither line is recommended for 1.36.
  minimums_136=$(containerd_minimums 1.36)
  [ "$minimums_136" = "2.3.0 2.2.0" ]
  new_node n1 ubuntu
  run prepare n1 CONTAINERD_MINIMUMS="$minimums_136"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the distribution's containerd (candidate '"*"is too old for Kubernetes 1.35 (needs 2.3.0+ or 2.2.0+): using containerd.io"* ]]
  [[ "$output" == *"containerd 1.7.28 is too old for Kubernetes 1.35 (needs 2.3.0+ or 2.2.0+, containerd RELEASES.md)"* ]]
  # A node prepared under 1.35's row (Debian's 2.1 installed) is refused under 1.36's.
  new_node n2 ubuntu
  run prepare n2
  [ "$status" -eq 0 ]
  version=$(in_node n2 containerd --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  run prepare n2 CONTAINERD_MINIMUMS="$minimums_136"
  [ "$status" -ne 0 ]
  [[ "$output" == *"containerd $version is too old for Kubernetes 1.35 (needs 2.3.0+ or 2.2.0+"* ]]
}

@test "a containerd restart that failed is made on the next run" {
  new_node n1 ubuntu
  touch "$(node_put n1 /var/lib/k8sp-stub/fail-restart-containerd)"
  run prepare n1
  [ "$status" -ne 0 ]
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
  run prepare n1
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
}

@test "apt busy at first boot (lists lock held by another apt): waits and retries" {
  new_node n1 ubuntu
  # perl's fcntl lock is the kind apt takes (pkgsystem/ GetLock uses fcntl F_SETLK).
  run in_node n1 bash -c '
    perl -e "use Fcntl; open(my \$f, \">\", \"/var/lib/apt/lists/lock\") or die; my \$l = pack(\"s s l l i\", F_WRLCK, 0, 0, 0, 0); fcntl(\$f, F_SETLKW, \$l) or die \"lock: \$!\"; sleep 4;" &
    sleep 1
    env NODE_NAME=n1 NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 CONTAINERD_MINIMUMS="'"$K8S135_CONTAINERD_MINIMUMS"'" K8S_REPO_BASE='"$E2E_REPO_BASE"' FIREWALL_MODE=disabled APT_RETRY_INTERVAL=1 bash /opt/k8sp-scripts/prepare-node.sh'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"apt is busy"* ]]
}

@test "rocky: real rpm answers the queries; a fresh node installs, version-locks containerd.io, SELinux permissive" {
  new_node r1 rocky
  run prepare r1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(in_node r1 rpm -q --qf '%{VERSION}' kubeadm)" = 1.35.2 ]
  in_node r1 rpm -q cri-tools containerd.io >/dev/null
  grep -q '^containerd.io-0:1.7.28-' "$(node_file r1 /etc/dnf/plugins/versionlock.list)"
  grep -qx 'SELINUX=permissive' "$(node_file r1 /etc/selinux/config)"
  before=$(etc_state r1)
  run prepare r1
  [ "$status" -eq 0 ]
  [ "$(etc_state r1)" = "$before" ]
}

@test "debian is refused by name" {
  new_node d1 debian
  run prepare d1
  [ "$status" -ne 0 ]
  [[ "$output" == *"unsupported OS 'debian'"* ]]
}

@test "swap: fstab entries commented exactly once; a proxy reaches containerd through a drop-in (and a restart)" {
  new_node n1 ubuntu
  printf 'UUID=abc / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n# /old none swap sw 0 0\n' >"$(node_put n1 /etc/fstab)"
  run prepare n1 HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=localhost,127.0.0.1,.svc,.example.com
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^#/swap.img none swap sw 0 0 # disabled by k8s-platform$' "$(node_file n1 /etc/fstab)")" -eq 1 ]
  grep -qx 'Environment="NO_PROXY=localhost,127.0.0.1,.svc,.example.com"' "$(node_file n1 /etc/systemd/system/containerd.service.d/http-proxy.conf)"
  stub_calls n1 | grep -q '^systemctl restart containerd'
  before=$(etc_state n1)
  run prepare n1 HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=localhost,127.0.0.1,.svc,.example.com
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
  ! grep -q '##' "$(node_file n1 /etc/fstab)" || false
}

@test "a host (no cluster member) whose kubeadm has another minor (1.34) gets the stack's packages (nothing runs there), said in the log, and held" {
  new_node n1 ubuntu
  cp "$E2E_REPOS"/other-minor/kubeadm_1.34.5-1.1_amd64.deb "$(node_put n1 /tmp/kubeadm.deb)"
  cp "$E2E_REPOS"/k8s/v1.35/deb/cri-tools_*.deb "$(node_put n1 /tmp/cri-tools.deb)"
  in_node n1 dpkg -i /tmp/cri-tools.deb /tmp/kubeadm.deb >/dev/null
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kubeadm 1.34.5 is installed on n1, which is not a member of a cluster (no completion record, kubelet.conf or etcd member data): moving kubelet, kubeadm, kubectl to 1.35"* ]]
  [[ "$(in_node n1 dpkg-query -W -f='${Version}' kubeadm)" == 1.35.* ]]
  [[ "$(in_node n1 apt-mark showhold | paste -sd' ')" == *"kubeadm kubectl kubelet"* ]]
}

@test "firewall disabled (the seed's default): firewalld (rocky) stopped and disabled, an active ufw (ubuntu) disabled" {
  new_node r1 rocky
  run prepare r1
  [ "$status" -eq 0 ]
  run in_node r1 systemctl is-enabled firewalld
  [ "$output" = disabled ]
  run in_node r1 systemctl is-active firewalld
  [ "$status" -eq 3 ]
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1
  [ "$status" -eq 0 ]
  grep -qx 'ENABLED=no' "$(node_file n1 /etc/ufw/ufw.conf)"
}

@test "firewall open: the role's ports are opened once in firewalld (rocky control plane) and ufw (ubuntu worker), then left alone" {
  new_node r1 rocky
  run prepare r1 NODE_ROLE=control-plane FIREWALL_MODE=open
  echo "$output"
  [ "$status" -eq 0 ]
  for p in 6443/tcp 2379-2380/tcp 10250/tcp 10257/tcp 10259/tcp 8472/udp; do in_node r1 firewall-cmd --query-port="$p" >/dev/null; done
  [ "$(in_node r1 systemctl is-active firewalld)" = active ]
  before=$(etc_state r1)
  run prepare r1 NODE_ROLE=control-plane FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  [ "$(etc_state r1)" = "$before" ]
  [ "$(stub_calls r1 | grep -c -- '--reload')" -eq 1 ]
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1 FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  rules=$(in_node n1 ufw status)
  for p in 8472/udp 10250/tcp 10256/tcp 30000:32767/tcp 80/tcp 443/tcp; do grep -q "^$p .*ALLOW" <<<"$rules"; done
  before=$(etc_state n1)
  run prepare n1 FIREWALL_MODE=open
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}

@test "ubuntu whose archive's containerd is too old (1.7.24): Docker's containerd.io from its apt repository instead, held; the second run changes nothing" {
  new_node n1 ubuntu
  echo "deb [signed-by=/etc/apt/keyrings/e2e-debian.asc] http://127.0.0.1:$E2E_PORT/debian-old-containerd/ ./" >"$(node_put n1 /etc/apt/sources.list.d/debian.list)"
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"the distribution's containerd (candidate '1.7.24"*"using containerd.io from Docker's repository"* ]]
  [ "$(in_node n1 dpkg-query -W -f='${Version}' containerd.io)" = 1.7.28-1 ]
  ! in_node n1 dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q 'ok installed' || false
  grep -qx "deb \[arch=amd64 signed-by=/etc/apt/keyrings/docker.asc\] http://127.0.0.1:$E2E_PORT/docker-apt noble stable" "$(node_file n1 /etc/apt/sources.list.d/docker.list)"
  in_node n1 apt-mark showhold | grep -qx containerd.io
  grep -q 'sandbox_image = "registry.k8s.io/pause:3.10.1"' "$(node_file n1 /etc/containerd/config.toml)"
  before=$(etc_state n1)
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
}

@test "a failed write (a really full /etc) fails the run and leaves the old file: fstab is not emptied" {
  new_node n1 ubuntu
  # Just under a page (4096 bytes): commenting the swap entry out makes it longer than the page
  # the old file frees, so a write that is not checked leaves it cut off.
  { printf 'UUID=abc / ext4 defaults 0 1\n'; for _ in $(seq 1 50); do printf '# %077d\n' 0; done
    printf '# %028d\n' 0; printf '/swap.img none swap sw 0 0\n'; } >"$(node_put n1 /etc/fstab)"
  # /etc on a tmpfs of its own (in the node's mount namespace) holding a copy of it, then filled.
  run in_node n1 bash -c '
    cp -a /etc /root/etc-copy
    mount -t tmpfs -o size=$(( $(du -sk /etc | cut -f1) + 2048 ))k tmpfs /etc
    cp -a /root/etc-copy/. /etc/
    dd if=/dev/zero of=/etc/.fill bs=4k >/dev/null 2>&1 || true
    rc=0
    env NODE_NAME=n1 NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 CONTAINERD_MINIMUMS="'"$K8S135_CONTAINERD_MINIMUMS"'" K8S_REPO_BASE='"$E2E_REPO_BASE"' FIREWALL_MODE=disabled bash /opt/k8sp-scripts/prepare-node.sh || rc=$?
    echo "--- rc $rc"
    cmp /root/etc-copy/fstab /etc/fstab && echo "--- fstab unchanged"
    ls -A /etc | grep "^\.k8s-platform" && echo "--- leftover" || true'
  echo "$output"
  [[ "$output" != *"--- rc 0"* ]]
  [[ "$output" == *"could not write /etc/fstab (is the disk full?); /etc/fstab is unchanged"* ]]
  [[ "$output" == *"--- fstab unchanged"* ]]
  [[ "$output" != *"--- leftover"* ]]
}

@test "the proxy drop-in goes when the proxy setting is removed (containerd restarted then, and only then)" {
  new_node n1 ubuntu
  run prepare n1 HTTP_PROXY_URL=http://proxy:3128 HTTPS_PROXY_URL=http://proxy:3128 NO_PROXY_LIST=localhost,127.0.0.1
  echo "$output"
  [ "$status" -eq 0 ]
  [ -f "$(node_file n1 /etc/systemd/system/containerd.service.d/http-proxy.conf)" ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 1 ]
  run prepare n1
  echo "$output"
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file n1 /etc/systemd/system/containerd.service.d/http-proxy.conf)" ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
  run prepare n1
  [ "$status" -eq 0 ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq 2 ]
}

@test "a containerd whose version cannot be read is refused by name" {
  new_node n1 ubuntu
  run prepare n1
  [ "$status" -eq 0 ]
  printf '#!/bin/sh\necho "containerd github.com/containerd/containerd/v2 devel"\n' >"$(node_put n1 /usr/local/bin/containerd)"
  chmod 0755 "$(node_put n1 /usr/local/bin/containerd)"
  run prepare n1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"could not read containerd's version from 'containerd --version' (it printed 'containerd github.com/containerd/containerd/v2 devel')"* ]]
}

@test "apt-mark hold waits while another apt/dpkg holds the dpkg lock" {
  new_node n1 ubuntu
  run prepare n1
  [ "$status" -eq 0 ]
  in_node n1 apt-mark unhold kubelet >/dev/null
  # Everything is installed: the only apt step needing the lock is the hold.
  run in_node n1 bash -c '
    perl -e "use Fcntl; my \$l = pack(\"s s l l i\", F_WRLCK, 0, 0, 0, 0); for my \$p (\"/var/lib/dpkg/lock-frontend\", \"/var/lib/dpkg/lock\") { open(my \$f, \">\", \$p) or die; fcntl(\$f, F_SETLKW, \$l) or die \"lock: \$!\"; push @h, \$f } sleep 4;" &
    sleep 1
    env NODE_NAME=n1 NODE_ROLE=worker K8S_MINOR=1.35 K8S_VERSION=1.35 CONTAINERD_MINIMUMS="'"$K8S135_CONTAINERD_MINIMUMS"'" K8S_REPO_BASE='"$E2E_REPO_BASE"' FIREWALL_MODE=disabled APT_RETRY_INTERVAL=1 bash /opt/k8sp-scripts/prepare-node.sh'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"apt is busy"* ]]
  in_node n1 apt-mark showhold | grep -qx kubelet
}

@test "rocky: a cut-off download of Docker's repo file leaves no file behind; the next run fetches it whole" {
  new_node r1 rocky
  rm "$(node_put r1 /etc/yum.repos.d/docker-ce.repo)"
  log="$BATS_TEST_TMPDIR/repo-server.log"
  # Serves the repo file, the first time cut off after a few bytes (Content-Length promises more).
  python3 -c '
import http.server, sys
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        n += 1
        body = ("[docker-ce-stable]\nname=Docker CE Stable\nbaseurl=http://127.0.0.1:%s/docker-rpm\n" % sys.argv[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (1000 if n == 1 else 0)))
        self.end_headers()
        self.wfile.write(body if n > 1 else body[:20])
        self.wfile.flush()
        if n == 1: self.close_connection = True
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("port", s.server_port, flush=True)
s.timeout = 60
for _ in range(2): s.handle_request()
' "$E2E_PORT" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do grep -q '^port' "$log" && break; sleep 0.1; done
  url="http://127.0.0.1:$(cut -d' ' -f2 "$log")/docker-ce.repo"
  run prepare r1 CONTAINERD_REPO_URL="$url"
  echo "$output"
  [ "$status" -ne 0 ]
  [ ! -e "$(node_file r1 /etc/yum.repos.d/docker-ce.repo)" ]
  run prepare r1 CONTAINERD_REPO_URL="$url"
  echo "$output"
  kill "$server" 2>/dev/null || true
  [ "$status" -eq 0 ]
  grep -qx "baseurl=http://127.0.0.1:$E2E_PORT/docker-rpm" "$(node_file r1 /etc/yum.repos.d/docker-ce.repo)"
}

@test "firewall open with firewalld: the pod network and Flannel's interfaces are trusted, MetalLB's 7946 opened; ufw opens 7946 too; once" {
  new_node r1 rocky
  run prepare r1 FIREWALL_MODE=open METALLB=true
  echo "$output"
  [ "$status" -eq 0 ]
  in_node r1 firewall-cmd --zone=trusted --query-source=10.244.0.0/16 >/dev/null
  in_node r1 firewall-cmd --zone=trusted --query-interface=cni0 >/dev/null
  in_node r1 firewall-cmd --zone=trusted --query-interface=flannel.1 >/dev/null
  in_node r1 firewall-cmd --query-port=7946/tcp >/dev/null
  in_node r1 firewall-cmd --query-port=7946/udp >/dev/null
  grep -q '<zone target="ACCEPT">' "$(node_file r1 /etc/firewalld/zones/trusted.xml)"
  before=$(etc_state r1)
  run prepare r1 FIREWALL_MODE=open METALLB=true
  [ "$status" -eq 0 ]
  [ "$(etc_state r1)" = "$before" ]
  [ "$(stub_calls r1 | grep -c -- '--reload')" -eq 1 ]
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1 FIREWALL_MODE=open METALLB=true
  [ "$status" -eq 0 ]
  rules=$(in_node n1 ufw status)
  grep -q '^7946/tcp .*ALLOW' <<<"$rules"
  grep -q '^7946/udp .*ALLOW' <<<"$rules"
}

@test "a German session (LANG, LANGUAGE) does not hide an active ufw: the scripts parse untranslated output" {
  new_node n1 ubuntu
  in_node n1 ufw enable >/dev/null
  run prepare n1 FIREWALL_MODE=open LANG=de_DE.UTF-8 LANGUAGE=de:en
  echo "$output"
  [ "$status" -eq 0 ]
  rules=$(in_node n1 ufw status)
  grep -q '^10250/tcp .*ALLOW' <<<"$rules"
}

# containerd's own reading of certs.d (test/realroot/containerd-hosts: remotes/docker/config at
# v1.7.29, or core/remotes/docker/config at v2.2.0 with CONTAINERD_LINE=2.2), run inside the node
# so that the absolute `ca` paths of its hosts.toml are the node's: the hosts a pull from SOURCE
# tries, in order, each with the CA and Authorization header containerd resolved for it, and with
# SERVER_CERT (a path in the node) whether a server presenting that certificate is trusted.
containerd_hosts() { # node source
  local bin
  bin=$("$REALROOT_DIR/containerd-hosts/build.sh")
  [ -x "$(node_file "$1" /usr/local/bin/containerd-hosts)" ] && cmp -s "$bin" "$(node_file "$1" /usr/local/bin/containerd-hosts)" ||
    install -m 0755 "$bin" "$(node_put "$1" /usr/local/bin/containerd-hosts)"
  in_node "$1" containerd-hosts -containerd "${CONTAINERD_LINE:-1.7}" ${SERVER_CERT:+-server-cert "$SERVER_CERT"} /etc/containerd/certs.d "$2"
}

@test "image mirrors: a hosts.toml per mirrored source as containerd reads it, the sandbox image from registry.k8s.io's mirror; a removed mirror takes its file; a foreign file is refused" {
  command -v go >/dev/null || skip "Go builds containerd's hosts.toml reader"
  new_node n1 ubuntu
  mirrors="registry.k8s.io=harbor.example.com/k8s docker.io=10.0.0.5:5000 quay.io=harbor.example.com/quay"
  run prepare n1 IMAGE_MIRRORS="$mirrors"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"[k8s-platform] image mirror for registry.k8s.io: harbor.example.com/k8s"* ]]
  # The mirror first (its path under /v2, override_path), the source itself last.
  [ "$(containerd_hosts n1 registry.k8s.io)" = "https://harbor.example.com/v2/k8s pull,resolve
https://registry.k8s.io/v2 pull,resolve,push" ]
  [ "$(containerd_hosts n1 docker.io)" = "https://10.0.0.5:5000/v2 pull,resolve
https://registry-1.docker.io/v2 pull,resolve,push" ]
  [ "$(containerd_hosts n1 ghcr.io)" = "https://ghcr.io/v2 pull,resolve,push" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/ghcr.io)" ]
  dump=$("$E2E_CACHE/containerd-2.1/containerd" --config "$(node_file n1 /etc/containerd/config.toml)" config dump)
  grep -q "sandbox = 'harbor.example.com/k8s/pause:3.10.1'" <<<"$dump"
  grep -q "config_path = '/etc/containerd/certs.d'" <<<"$dump"
  restarts=$(stub_calls n1 | grep -c '^systemctl restart containerd')
  # Again: nothing changes.
  before=$(etc_state n1)
  run prepare n1 IMAGE_MIRRORS="$mirrors"
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]
  # docker.io's mirror and registry.k8s.io's removed: their files go, quay.io's stays; the sandbox
  # image is registry.k8s.io's again (containerd restarted for it, once).
  run prepare n1 IMAGE_MIRRORS="quay.io=harbor.example.com/quay"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no mirror for docker.io any more: removing"* ]]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/docker.io)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io)" ]
  [ "$(containerd_hosts n1 docker.io)" = "https://registry-1.docker.io/v2 pull,resolve,push" ]
  [ "$(containerd_hosts n1 quay.io)" = "https://harbor.example.com/v2/quay pull,resolve
https://quay.io/v2 pull,resolve,push" ]
  grep -q 'registry.k8s.io/pause:3.10.1' "$(node_file n1 /etc/containerd/config.toml)"
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$((restarts + 1))" ]
  # No mirror at all: quay.io's goes too.
  run prepare n1
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/quay.io)" ]
  # A hosts.toml the program did not write is never overwritten (nor removed).
  printf 'server = "https://ghcr.io"\n' >"$(node_put n1 /etc/containerd/certs.d/ghcr.io/hosts.toml)"
  run prepare n1
  [ "$status" -eq 0 ]
  [ -f "$(node_file n1 /etc/containerd/certs.d/ghcr.io/hosts.toml)" ]
  run prepare n1 IMAGE_MIRRORS="ghcr.io=harbor.example.com/ghcr"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/containerd/certs.d/ghcr.io/hosts.toml exists and was not written by k8s-platform; move it away (or remove images.mirrors.ghcr.io / images.registry)"* ]]
  grep -qx 'server = "https://ghcr.io"' "$(node_file n1 /etc/containerd/certs.d/ghcr.io/hosts.toml)"
  # Nor a mirror host's (the directory pulls of references rewritten onto it read), or one that
  # containerd would read instead ("<host>_<port>_"): refused before any file is written.
  printf 'server = "https://mirror.example.com"\n' >"$(node_put n1 /etc/containerd/certs.d/mirror.example.com/hosts.toml)"
  run prepare n1 IMAGE_MIRRORS="quay.io=mirror.example.com/quay"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/containerd/certs.d/mirror.example.com/hosts.toml exists and was not written by k8s-platform; move it away so the mirror host mirror.example.com's settings can be written"* ]]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/quay.io)" ]
  mkdir -p "$(node_put n1 /etc/containerd/certs.d/10.0.0.5_5000_/x)"
  run prepare n1 IMAGE_MIRRORS="quay.io=10.0.0.5:5000/quay"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/etc/containerd/certs.d/10.0.0.5_5000_ exists: containerd reads it instead of /etc/containerd/certs.d/10.0.0.5:5000 for the mirror host 10.0.0.5:5000; move it away"* ]]
}

# prepare-node with the mirrors' password as the program sends it: on standard input.
prepare_with_password() { # password node [VAR=value...]
  local password="$1"
  shift
  secret_stdin "IMAGE_MIRROR_PASSWORD=$password" | prepare "$@"
}

# A CA (key and certificate in DIR/NAME.key, NAME.crt) and, with a host list, a server certificate
# it signs for them (DIR/NAME-server.crt).
make_ca() { # dir name "CN" [subjectAltName]
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=$3" \
    -keyout "$1/$2.key" -out "$1/$2.crt" 2>/dev/null
  [ -z "${4:-}" ] || openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=mirror" -keyout "$1/$2-server.key" 2>/dev/null |
    openssl x509 -req -CA "$1/$2.crt" -CAkey "$1/$2.key" -CAcreateserial -days 3650 -out "$1/$2-server.crt" \
      -extfile <(printf 'subjectAltName=%s\n' "$4") 2>/dev/null
}

@test "image mirrors: the mirrors' CA and account as containerd 1.7 and 2.2 resolve them (ca, Authorization header); set, changed, removed; no containerd restart; the password in no log, argument or readable file" {
  command -v go >/dev/null || skip "Go builds containerd's hosts.toml reader"
  new_node n1 ubuntu
  local pki="$BATS_TEST_TMPDIR/pki" pw='s3cret pw:with$dollar' line
  mkdir -p "$pki"
  make_ca "$pki" ca "Mirror Test CA" "DNS:harbor.example.com,IP:10.0.0.5"
  make_ca "$pki" ca2 "Mirror Test CA 2"
  cp "$pki/ca-server.crt" "$(node_put n1 /tmp/server.crt)"
  export SERVER_CERT=/tmp/server.crt
  mirrors="registry.k8s.io=harbor.example.com/k8s docker.io=10.0.0.5:5000"
  run prepare n1 IMAGE_MIRRORS="$mirrors"
  [ "$status" -eq 0 ]
  restarts=$(stub_calls n1 | grep -c '^systemctl restart containerd')
  # Anonymous, the system store only: the mirror's certificate (signed by the site's CA) is not trusted.
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io)" = "https://harbor.example.com/v2/k8s pull,resolve tls=untrusted
https://registry.k8s.io/v2 pull,resolve,push tls=untrusted" ]
  done

  # The CA and the account set: each mirror host trusts the CA and sends the credentials; the
  # source itself (the last host) gets neither.
  run prepare_with_password "$pw" n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_CA="$(cat "$pki/ca.crt")" IMAGE_MIRROR_USERNAME='robot$k8s'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"image mirror for registry.k8s.io: harbor.example.com/k8s (trusting images.caCert) (as robot\$k8s)"* ]]
  [[ "$output" != *"s3cret"* ]]
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io)" = "https://harbor.example.com/v2/k8s pull,resolve ca=[CN=Mirror Test CA] auth=basic(robot\$k8s:$pw) tls=trusted
https://registry.k8s.io/v2 pull,resolve,push tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 docker.io)" = "https://10.0.0.5:5000/v2 pull,resolve ca=[CN=Mirror Test CA] auth=basic(robot\$k8s:$pw) tls=trusted
https://registry-1.docker.io/v2 pull,resolve,push tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 ghcr.io)" = "https://ghcr.io/v2 pull,resolve,push tls=untrusted" ]
    # A reference the program already rewrote onto the mirror (kubeadm's, the charts', the
    # workloads'): containerd looks in the mirror host's own directory, which has the same settings.
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 harbor.example.com)" = "https://harbor.example.com/v2 pull,resolve ca=[CN=Mirror Test CA] auth=basic(robot\$k8s:$pw) tls=trusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 10.0.0.5:5000)" = "https://10.0.0.5:5000/v2 pull,resolve ca=[CN=Mirror Test CA] auth=basic(robot\$k8s:$pw) tls=trusted" ]
  done
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/harbor.example.com/hosts.toml)")" = 600 ]
  # Only root reads the credentials; the CA is public.
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/hosts.toml)")" = 600 ]
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/mirror-ca.crt)")" = 644 ]
  # The password was no process's argument (every stubbed command records its arguments) and is
  # not in the file in plain text (only as HTTP Basic's base64).
  ! stub_calls n1 | grep -qF 's3cret' || false
  ! grep -rqF 's3cret' "$(node_file n1 /etc/containerd/certs.d)" || false
  # hosts.toml is read per pull: containerd is not restarted (its config.toml did not change).
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$restarts" ]
  # Again: nothing changes.
  before=$(etc_state n1)
  run prepare_with_password "$pw" n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_CA="$(cat "$pki/ca.crt")" IMAGE_MIRROR_USERNAME='robot$k8s'
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]

  # Another CA and another password: the old CA is no longer trusted, the new password is sent.
  run prepare_with_password "new-pw" n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_CA="$(cat "$pki/ca2.crt")" IMAGE_MIRROR_USERNAME='robot$k8s'
  [ "$status" -eq 0 ]
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io | head -n 1)" = "https://harbor.example.com/v2/k8s pull,resolve ca=[CN=Mirror Test CA 2] auth=basic(robot\$k8s:new-pw) tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 harbor.example.com)" = "https://harbor.example.com/v2 pull,resolve ca=[CN=Mirror Test CA 2] auth=basic(robot\$k8s:new-pw) tls=untrusted" ]
  done

  # Both removed (the mirrors kept): anonymous pulls and the system store again; the CA files go,
  # the hosts.toml is readable again; still no restart.
  run prepare n1 IMAGE_MIRRORS="$mirrors"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no mirror CA any more: removing /etc/containerd/certs.d/registry.k8s.io/mirror-ca.crt"* ]]
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io)" = "https://harbor.example.com/v2/k8s pull,resolve tls=untrusted
https://registry.k8s.io/v2 pull,resolve,push tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 harbor.example.com)" = "https://harbor.example.com/v2 pull,resolve tls=untrusted" ]
  done
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/harbor.example.com/mirror-ca.crt)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/mirror-ca.crt)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/docker.io/mirror-ca.crt)" ]
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/hosts.toml)")" = 644 ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$restarts" ]

  # A mirror removed with its CA: the whole directory goes.
  run prepare n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_CA="$(cat "$pki/ca.crt")"
  [ "$status" -eq 0 ]
  [ -f "$(node_file n1 /etc/containerd/certs.d/docker.io/mirror-ca.crt)" ]
  run prepare n1 IMAGE_MIRRORS="registry.k8s.io=harbor.example.com/k8s" IMAGE_MIRROR_CA="$(cat "$pki/ca.crt")"
  [ "$status" -eq 0 ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/docker.io)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/10.0.0.5:5000)" ]
  [ -f "$(node_file n1 /etc/containerd/certs.d/harbor.example.com/mirror-ca.crt)" ]

  # A user name without the password on standard input is refused before anything is written.
  run prepare n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_USERNAME=robot </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing parameter(s): IMAGE_MIRROR_PASSWORD"* ]]
}

# prepare-node with Harbor's password and the stack-wide one as the program sends them: on standard input.
prepare_with_secrets() { # harbor-password site-password node [VAR=value...]
  local harbor="$1" site="$2"
  shift 2
  secret_stdin "IMAGE_MIRROR_HOST_PASSWORDS=harbor.example.com=$harbor" "IMAGE_MIRROR_PASSWORD=$site" | prepare "$@"
}

@test "image mirrors per host: a Harbor with its own CA and account, a plain-HTTP lab registry, a mirror not verified, beside the stack-wide CA and account, as containerd 1.7 and 2.2 resolve them; each set, changed, removed; no restart; no password in a log, argument or readable file" {
  command -v go >/dev/null || skip "Go builds containerd's hosts.toml reader"
  new_node n1 ubuntu
  local pki="$BATS_TEST_TMPDIR/pki" line
  mkdir -p "$pki"
  make_ca "$pki" harbor "Harbor CA" "DNS:harbor.example.com"
  make_ca "$pki" site "Site CA" "DNS:ghcr-mirror.example.com"
  make_ca "$pki" other "Other CA"
  cp "$pki/harbor-server.crt" "$(node_put n1 /tmp/server.crt)"
  export SERVER_CERT=/tmp/server.crt
  # registry.k8s.io on Harbor (its own CA and robot account), docker.io on a plain-HTTP lab
  # registry, quay.io on a mirror whose certificate is not verified, ghcr.io on a mirror that
  # takes the stack-wide CA and account.
  local mirrors="registry.k8s.io=harbor.example.com/k8s docker.io=http://lab.example.com:5000/hub quay.io=old.example.com/quay ghcr.io=ghcr-mirror.example.com/ghcr"
  local -a hosts=(IMAGE_MIRROR_HOSTS="harbor.example.com old.example.com lab.example.com:5000"
    IMAGE_MIRROR_HOST_CA="# host harbor.example.com
$(cat "$pki/harbor.crt")"
    IMAGE_MIRROR_HOST_USERNAMES="harbor.example.com=robot\$k8s"
    IMAGE_MIRROR_SKIP_VERIFY="old.example.com"
    IMAGE_MIRROR_CA="$(cat "$pki/site.crt")" IMAGE_MIRROR_USERNAME=everyone)
  run prepare n1 IMAGE_MIRRORS="$mirrors"
  [ "$status" -eq 0 ]
  restarts=$(stub_calls n1 | grep -c '^systemctl restart containerd')

  run prepare_with_secrets 'h4rbor pw' 's1te-pw' n1 IMAGE_MIRRORS="$mirrors" "${hosts[@]}"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"image mirror for registry.k8s.io: harbor.example.com/k8s (trusting images.hosts.harbor.example.com.caCert) (as robot\$k8s)"* ]]
  [[ "$output" == *"image mirror for docker.io: lab.example.com:5000/hub (plain HTTP)"* ]]
  [[ "$output" == *"image mirror for quay.io: old.example.com/quay (certificate not verified: images.hosts.old.example.com.skipVerify)"* ]]
  [[ "$output" == *"image mirror for ghcr.io: ghcr-mirror.example.com/ghcr (trusting images.caCert) (as everyone)"* ]]
  [[ "$output" != *"h4rbor"* && "$output" != *"s1te-pw"* ]]
  for line in 1.7 2.2; do
    # Harbor: its own CA only (the site CA is not added), its own account; its server trusted.
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io)" = "https://harbor.example.com/v2/k8s pull,resolve ca=[CN=Harbor CA] auth=basic(robot\$k8s:h4rbor pw) tls=trusted
https://registry.k8s.io/v2 pull,resolve,push tls=untrusted" ]
    # The lab registry: plain HTTP, no TLS settings, so no HTTPS attempt first; no account (listed with none).
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 docker.io | head -n 1)" = "http://lab.example.com:5000/v2/hub pull,resolve tls=untrusted" ]
    # The unverified mirror: any certificate is accepted.
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 quay.io | head -n 1)" = "https://old.example.com/v2/quay pull,resolve skip_verify tls=not-verified" ]
    # An unlisted host: the stack-wide CA and account.
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 ghcr.io | head -n 1)" = "https://ghcr-mirror.example.com/v2/ghcr pull,resolve ca=[CN=Site CA] auth=basic(everyone:s1te-pw) tls=untrusted" ]
    # The references rewritten onto each mirror: the host's own file, the same settings.
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 harbor.example.com)" = "https://harbor.example.com/v2 pull,resolve ca=[CN=Harbor CA] auth=basic(robot\$k8s:h4rbor pw) tls=trusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 lab.example.com:5000)" = "http://lab.example.com:5000/v2 pull,resolve tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 old.example.com)" = "https://old.example.com/v2 pull,resolve skip_verify tls=not-verified" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 ghcr-mirror.example.com)" = "https://ghcr-mirror.example.com/v2 pull,resolve ca=[CN=Site CA] auth=basic(everyone:s1te-pw) tls=untrusted" ]
  done
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/hosts.toml)")" = 600 ]
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/docker.io/hosts.toml)")" = 644 ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/docker.io/mirror-ca.crt)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/quay.io/mirror-ca.crt)" ]
  ! stub_calls n1 | grep -qE 'h4rbor|s1te-pw' || false
  ! grep -rqE 'h4rbor|s1te-pw' "$(node_file n1 /etc/containerd/certs.d)" || false
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$restarts" ]
  # Again: nothing changes.
  before=$(etc_state n1)
  run prepare_with_secrets 'h4rbor pw' 's1te-pw' n1 IMAGE_MIRRORS="$mirrors" "${hosts[@]}"
  [ "$status" -eq 0 ]
  [ "$(etc_state n1)" = "$before" ]

  # Changed: Harbor's CA and password; the lab registry on HTTPS with skipVerify; the old mirror
  # verified again (skipVerify removed, it takes the stack-wide CA: no longer listed).
  mirrors="registry.k8s.io=harbor.example.com/k8s docker.io=lab.example.com:5000/hub quay.io=old.example.com/quay ghcr.io=ghcr-mirror.example.com/ghcr"
  hosts=(IMAGE_MIRROR_HOSTS="harbor.example.com lab.example.com:5000"
    IMAGE_MIRROR_HOST_CA="# host harbor.example.com
$(cat "$pki/other.crt")"
    IMAGE_MIRROR_HOST_USERNAMES="harbor.example.com=robot\$k8s"
    IMAGE_MIRROR_SKIP_VERIFY="lab.example.com:5000"
    IMAGE_MIRROR_CA="$(cat "$pki/site.crt")" IMAGE_MIRROR_USERNAME=everyone)
  run prepare_with_secrets 'new-pw' 's1te-pw' n1 IMAGE_MIRRORS="$mirrors" "${hosts[@]}"
  echo "$output"
  [ "$status" -eq 0 ]
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io | head -n 1)" = "https://harbor.example.com/v2/k8s pull,resolve ca=[CN=Other CA] auth=basic(robot\$k8s:new-pw) tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 docker.io | head -n 1)" = "https://lab.example.com:5000/v2/hub pull,resolve skip_verify tls=not-verified" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 quay.io | head -n 1)" = "https://old.example.com/v2/quay pull,resolve ca=[CN=Site CA] auth=basic(everyone:s1te-pw) tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 lab.example.com:5000)" = "https://lab.example.com:5000/v2 pull,resolve skip_verify tls=not-verified" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 old.example.com)" = "https://old.example.com/v2 pull,resolve ca=[CN=Site CA] auth=basic(everyone:s1te-pw) tls=untrusted" ]
  done
  [ -f "$(node_file n1 /etc/containerd/certs.d/quay.io/mirror-ca.crt)" ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$restarts" ]

  # Removed: no per-host settings, no stack-wide ones: anonymous, system store, HTTPS; the CA files
  # go, the files are readable again; the plain-HTTP lab registry back to http:// alone.
  run prepare n1 IMAGE_MIRRORS="registry.k8s.io=harbor.example.com/k8s docker.io=http://lab.example.com:5000/hub"
  echo "$output"
  [ "$status" -eq 0 ]
  for line in 1.7 2.2; do
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 registry.k8s.io | head -n 1)" = "https://harbor.example.com/v2/k8s pull,resolve tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 docker.io | head -n 1)" = "http://lab.example.com:5000/v2/hub pull,resolve tls=untrusted" ]
    [ "$(CONTAINERD_LINE=$line containerd_hosts n1 lab.example.com:5000)" = "http://lab.example.com:5000/v2 pull,resolve tls=untrusted" ]
  done
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/mirror-ca.crt)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/harbor.example.com/mirror-ca.crt)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/quay.io)" ]
  # Mirror hosts no longer used lose their files.
  [[ "$output" == *"old.example.com is no mirror host any more: removing"* ]]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/old.example.com)" ]
  [ ! -e "$(node_file n1 /etc/containerd/certs.d/ghcr-mirror.example.com)" ]
  [ "$(stat -c %a "$(node_file n1 /etc/containerd/certs.d/registry.k8s.io/hosts.toml)")" = 644 ]
  [ "$(stub_calls n1 | grep -c '^systemctl restart containerd')" -eq "$restarts" ]
  # The sandbox image names registry.k8s.io's mirror without a scheme.
  grep -q "harbor.example.com/k8s/pause:" "$(node_file n1 /etc/containerd/config.toml)"

  # A plain-HTTP registry.k8s.io mirror: the sandbox image is an image reference, never "http://".
  run prepare n1 IMAGE_MIRRORS="registry.k8s.io=http://lab.example.com:5000/k8s"
  [ "$status" -eq 0 ]
  grep -q "sandbox = .lab.example.com:5000/k8s/pause:" "$(node_file n1 /etc/containerd/config.toml)"
  ! grep -q 'http://' "$(node_file n1 /etc/containerd/config.toml)" || false

  # A host account without its password on standard input is refused before anything is written.
  run prepare n1 IMAGE_MIRRORS="$mirrors" IMAGE_MIRROR_HOSTS=harbor.example.com IMAGE_MIRROR_HOST_USERNAMES="harbor.example.com=robot" </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"missing parameter(s): IMAGE_MIRROR_HOST_PASSWORDS"* ]]
}
