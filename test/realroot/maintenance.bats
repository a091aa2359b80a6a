#!/usr/bin/env bats
# control-plane-maintenance.sh and cert-renewal.sh for real on a control plane initialised by
# kubeadm-init.sh (stub kubeadm/crictl from the real apt-installed packages): the etcd tools
# downloaded from a release served on 127.0.0.1 and checked against their sha256, the systemd
# units (checked by the host's real `systemd-analyze verify`), the timers enabled and started
# (systemctl stub records it), a second run that changes nothing, changed and disabled settings,
# the kubelet rotation check, and the renewal itself (renew all, static pods restarted through
# their manifests, root's copy of admin.conf refreshed).
# The snapshot and restore run against a real etcd in test/e2e/etcd-backup.test.ts.
load helpers

setup_file() {
  realroot_setup_file
  # An etcd release laid out like etcd-io's (etcd-v3.6.6-linux-amd64/…), with stand-ins that
  # print the release's version lines (`etcdutl version`).
  local rel="$BATS_FILE_TMPDIR/release" www="$BATS_FILE_TMPDIR/www" log="$BATS_FILE_TMPDIR/release-http.log"
  mkdir -p "$rel/etcd-v3.6.6-linux-amd64" "$www"
  # The second line comes a moment later, as it can on a loaded machine: a reader that stops at
  # the first line (`| grep -q` under pipefail) fails then by SIGPIPE, as the real one did at random.
  printf '#!/bin/sh\necho "etcdutl version: 3.6.6"\nsleep 0.3\necho "API version: 3.6"\n' >"$rel/etcd-v3.6.6-linux-amd64/etcdutl"
  printf '#!/bin/sh\necho "etcdctl version: 3.6.6"\necho "API version: 3.6"\n' >"$rel/etcd-v3.6.6-linux-amd64/etcdctl"
  printf '#!/bin/sh\nexit 0\n' >"$rel/etcd-v3.6.6-linux-amd64/etcd"
  chmod 0755 "$rel"/etcd-v3.6.6-linux-amd64/*
  tar -czf "$www/etcd-v3.6.6-linux-amd64.tar.gz" -C "$rel" etcd-v3.6.6-linux-amd64
  RELEASE_SHA=$(sha256sum "$www/etcd-v3.6.6-linux-amd64.tar.gz" | cut -d' ' -f1)
  python3 -m http.server 0 --bind 127.0.0.1 --directory "$www" >"$log" 2>&1 &
  RELEASE_HTTP_PID=$!
  for _ in $(seq 1 50); do grep -q 'port [0-9]' "$log" && break; sleep 0.1; done
  RELEASE_PORT=$(grep -oE 'port [0-9]+' "$log" | head -n 1 | cut -d' ' -f2)
  export RELEASE_SHA RELEASE_HTTP_PID RELEASE_PORT
}
teardown_file() {
  [ -z "${RELEASE_HTTP_PID:-}" ] || kill "$RELEASE_HTTP_PID" 2>/dev/null || true
  realroot_teardown_file
}

quietly() { # command...: its output only when it fails
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out"; return 1; }
}
control_plane() { # node: prepared and initialised as the program does it
  new_node "$1" ubuntu
  quietly prepare_node "$1" control-plane 1.35 1.35
  quietly kubeadm_init "$1" false
}
# The parameters the program passes (config/maintenanceEnv.ts), overridable as NAME=value arguments.
maintenance() { # node [NAME=value...]
  local node="$1"
  shift
  node_script "$node" control-plane-maintenance NODE_NAME="$node" \
    BACKUP_ENABLED=true BACKUP_SCHEDULE=daily BACKUP_DIRECTORY=/var/backups/etcd BACKUP_RETENTION=7 \
    RENEWAL_ENABLED=true RENEWAL_THRESHOLD_DAYS=60 \
    ETCD_RELEASE=v3.6.6 ETCD_RELEASE_URL="http://127.0.0.1:$RELEASE_PORT/etcd-v3.6.6-linux-@ARCH@.tar.gz" \
    ETCD_RELEASE_SHA256="amd64=$RELEASE_SHA arm64=0000" \
    LIB_SH="$(cat "$SCRIPTS_DIR/lib.sh")" LIB_MAINTENANCE_SH="$(cat "$SCRIPTS_DIR/lib-maintenance.sh")" \
    ETCD_BACKUP_SH="$(cat "$SCRIPTS_DIR/etcd-backup.sh")" \
    CERT_RENEWAL_SH="$(cat "$SCRIPTS_DIR/cert-renewal.sh")" ETCD_RESTORE_SH="$(cat "$SCRIPTS_DIR/etcd-restore.sh")" "$@"
}
renewal() { # node [NAME=value...]: the timer's run of the installed program
  local node="$1"
  shift
  in_node "$node" /usr/bin/env INVOCATION_ID=stub NODE_NAME="$node" THRESHOLD_DAYS=60 RESTART_TIMEOUT=10 "$@" \
    bash /usr/local/libexec/k8s-platform/cert-renewal.sh
}
units_verify() { # node: the host's real systemd-analyze on the unit files the node got
  command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed (Debian's systemd package)"
  local dir
  dir=$(node_file "$1" /etc/systemd/system)
  (cd "$dir" && systemd-analyze verify ./k8s-platform-etcd-backup.service ./k8s-platform-etcd-backup.timer \
    ./k8s-platform-cert-renewal.service ./k8s-platform-cert-renewal.timer 2>&1)
}

@test "install: etcd tools checked and installed, units verified by systemd-analyze, both timers enabled --now; a second run changes nothing" {
  control_plane cp1
  run maintenance cp1
  echo "$output"
  [ "$status" -eq 0 ]
  # Standard output is the expiry report, one JSON line (the certificateExpiry output).
  report=$(maintenance cp1 2>/dev/null | tail -n 1)
  [[ "$report" == '{"node":"cp1","checkedAt":"'*'","earliestExpiry":"20'*'","certificates":{"admin.conf":"'*'"certificateAuthorities":{"ca":"'* ]]
  [ -x "$(node_file cp1 /usr/local/libexec/k8s-platform/etcd/etcdutl)" ]
  [ -x "$(node_file cp1 /usr/local/libexec/k8s-platform/etcd/etcdctl)" ]
  cmp "$(node_file cp1 /usr/local/libexec/k8s-platform/etcd-restore.sh)" "$SCRIPTS_DIR/etcd-restore.sh"
  cmp "$(node_file cp1 /usr/local/libexec/k8s-platform/lib.sh)" "$SCRIPTS_DIR/lib.sh"
  cmp "$(node_file cp1 /usr/local/libexec/k8s-platform/lib-maintenance.sh)" "$SCRIPTS_DIR/lib-maintenance.sh"
  grep -qx 'OnCalendar=daily' "$(node_file cp1 /etc/systemd/system/k8s-platform-etcd-backup.timer)"
  grep -qx 'RETENTION=7' "$(node_file cp1 /etc/k8s-platform/k8s-platform-etcd-backup.env)"
  grep -qx 'THRESHOLD_DAYS=60' "$(node_file cp1 /etc/k8s-platform/k8s-platform-cert-renewal.env)"
  [ -L "$(node_file cp1 /etc/systemd/system/timers.target.wants/k8s-platform-etcd-backup.timer)" ]
  [ -L "$(node_file cp1 /etc/systemd/system/timers.target.wants/k8s-platform-cert-renewal.timer)" ]
  stub_calls cp1 | grep -qx 'systemctl enable --now k8s-platform-etcd-backup.timer'
  stub_calls cp1 | grep -qx 'systemctl enable --now k8s-platform-cert-renewal.timer'
  run units_verify cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]

  before=$(etc_state cp1)
  calls=$(stub_calls cp1 | wc -l)
  downloads=$(grep -c 'GET /etcd-v3.6.6' "$BATS_FILE_TMPDIR/release-http.log")
  run maintenance cp1
  [ "$status" -eq 0 ]
  [ "$(etc_state cp1)" = "$before" ]
  ! stub_calls cp1 | tail -n +"$((calls + 1))" | grep -E '^systemctl (enable|restart|daemon-reload)' || false
  [ "$(grep -c 'GET /etcd-v3.6.6' "$BATS_FILE_TMPDIR/release-http.log")" -eq "$downloads" ]
}

@test "install: a release that does not match the pinned sha256 is refused and nothing is installed from it" {
  control_plane cp1
  run maintenance cp1 ETCD_RELEASE_SHA256="amd64=$(printf 'other' | sha256sum | cut -d' ' -f1)"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not have the pinned sha256"* ]]
  [ ! -e "$(node_file cp1 /usr/local/libexec/k8s-platform/etcd/etcdutl)" ]
}

@test "install: a changed schedule rewrites the timer and restarts it; disabled removes both units and keeps the snapshots" {
  control_plane cp1
  quietly maintenance cp1
  mkdir -p "$(dirname "$(node_put cp1 /var/backups/etcd/x)")"
  echo snapshot >"$(node_put cp1 /var/backups/etcd/etcd-cp1-20260101T000000Z-scheduled.db)"
  calls=$(stub_calls cp1 | wc -l)
  run maintenance cp1 BACKUP_SCHEDULE='*-*-* 02:30:00' BACKUP_RETENTION=3
  [ "$status" -eq 0 ]
  grep -qx 'OnCalendar=\*-\*-\* 02:30:00' "$(node_file cp1 /etc/systemd/system/k8s-platform-etcd-backup.timer)"
  grep -qx 'RETENTION=3' "$(node_file cp1 /etc/k8s-platform/k8s-platform-etcd-backup.env)"
  new_calls=$(stub_calls cp1 | tail -n +"$((calls + 1))")
  grep -qx 'systemctl daemon-reload' <<<"$new_calls"
  grep -qx 'systemctl restart k8s-platform-etcd-backup.timer' <<<"$new_calls"
  # The renewal timer, unchanged, is only asked about.
  ! grep -E '^systemctl (enable|restart|disable|start)( --now)? k8s-platform-cert-renewal' <<<"$new_calls" || false

  run maintenance cp1 BACKUP_ENABLED=false RENEWAL_ENABLED=false
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -qx 'systemctl disable --now k8s-platform-etcd-backup.timer'
  stub_calls cp1 | grep -qx 'systemctl disable --now k8s-platform-cert-renewal.timer'
  [ ! -e "$(node_file cp1 /etc/systemd/system/k8s-platform-etcd-backup.timer)" ]
  [ ! -e "$(node_file cp1 /etc/systemd/system/k8s-platform-cert-renewal.service)" ]
  [ ! -L "$(node_file cp1 /etc/systemd/system/timers.target.wants/k8s-platform-etcd-backup.timer)" ]
  [ -f "$(node_file cp1 /var/backups/etcd/etcd-cp1-20260101T000000Z-scheduled.db)" ]
  # The expiry is still reported.
  [[ "$(echo "$output" | tail -n 1)" == '{"node":"cp1"'* ]]
}

@test "install: a kubelet that does not rotate its client certificate fails the run loudly" {
  control_plane cp1
  sed -i 's/^rotateCertificates: true$/rotateCertificates: false/' "$(node_put cp1 /var/lib/kubelet/config.yaml)"
  run maintenance cp1
  [ "$status" -ne 0 ]
  [[ "$output" == *"kubelet client certificate rotation is off on cp1"* ]]
}

@test "renewal: nothing due, nothing renewed; a certificate within 60 days renews all, restarts the three static pods through their manifests, refreshes root's admin.conf copy" {
  control_plane cp1
  quietly maintenance cp1
  run renewal cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"nothing to renew"* ]]
  ! stub_calls cp1 | grep -q '^kubeadm certs renew' || false

  # The apiserver certificate was issued 320 days ago: 45 days left.
  touch -d '320 days ago' "$(node_put cp1 /etc/kubernetes/pki/apiserver.crt)"
  cp "$(node_file cp1 /etc/kubernetes/admin.conf)" "$(node_put cp1 /root/.kube/config)"
  ids_before=$(in_node cp1 crictl ps -q --name '^kube-(apiserver|controller-manager|scheduler)$' | sort)
  etcd_before=$(in_node cp1 crictl ps -q --name '^etcd$')
  run renewal cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"expiring within 60 days on cp1: apiserver ("* ]]
  stub_calls cp1 | grep -qx 'kubeadm certs renew all'
  for pod in kube-apiserver kube-controller-manager kube-scheduler; do
    [[ "$output" == *"restarting $pod"* ]]
    [ -f "$(node_file cp1 /etc/kubernetes/manifests/$pod.yaml)" ]
  done
  ids_after=$(in_node cp1 crictl ps -q --name '^kube-(apiserver|controller-manager|scheduler)$' | sort)
  [ "$(comm -12 <(echo "$ids_before") <(echo "$ids_after"))" = "" ]
  [ "$(in_node cp1 crictl ps -q --name '^etcd$')" = "$etcd_before" ]
  [[ "$output" != *"restarting kube-vip"* ]]
  cmp "$(node_file cp1 /root/.kube/config)" "$(node_file cp1 /etc/kubernetes/admin.conf)"
  [[ "$(cat "$(node_file cp1 /var/lib/k8s-platform/cert-renewal.last)")" == '{"node":"cp1"'* ]]
  # Renewed: the next run finds nothing due.
  run renewal cp1
  [[ "$output" == *"nothing to renew"* ]]
}

@test "renewal: kube-vip's static pod (it keeps admin.conf's certificate in memory) is restarted through its manifest too, after the control plane's" {
  new_node cp1 ubuntu
  quietly prepare_node cp1 control-plane 1.35 1.35
  quietly kubeadm_init cp1 false KUBE_VIP_MANIFEST="$(cat "$BATS_TEST_DIRNAME/../fixtures/kube-vip.yaml")"
  quietly maintenance cp1
  vip_before=$(in_node cp1 crictl ps -q --name '^kube-vip$')
  [ -n "$vip_before" ]
  touch -d '320 days ago' "$(node_put cp1 /etc/kubernetes/admin.conf)"
  run renewal cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"expiring within 60 days on cp1: admin.conf ("* ]]
  [[ "$output" == *"restarting kube-scheduler"*"restarting kube-vip"* ]]
  vip_after=$(in_node cp1 crictl ps -q --name '^kube-vip$')
  [ -n "$vip_after" ] && [ "$vip_after" != "$vip_before" ]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-vip.yaml)" ]
  [ -z "$(ls -A "$(node_file cp1 /etc/kubernetes/k8s-platform-restart)" 2>/dev/null)" ]
}

@test "renewal: a manifest left parked by an interrupted run is moved back first" {
  control_plane cp1
  quietly maintenance cp1
  mkdir -p "$(dirname "$(node_put cp1 /etc/kubernetes/k8s-platform-restart/x)")"
  mv "$(node_file cp1 /etc/kubernetes/manifests/kube-scheduler.yaml)" "$(node_put cp1 /etc/kubernetes/k8s-platform-restart/kube-scheduler.yaml)"
  run renewal cp1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"moving back the manifest kube-scheduler.yaml"* ]]
  [ -f "$(node_file cp1 /etc/kubernetes/manifests/kube-scheduler.yaml)" ]
}

@test "timers on a host that kubeadm reset (removed from the stack) disable themselves" {
  control_plane cp1
  quietly maintenance cp1
  # kubeadm's own reset (kubeadm-reset.sh would also flush iptables: it runs in kubeadm.bats, in a network namespace).
  in_node cp1 kubeadm reset -f >/dev/null
  run renewal cp1
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -qx 'systemctl disable --now k8s-platform-cert-renewal.timer'
  run in_node cp1 /usr/bin/env INVOCATION_ID=stub NODE_NAME=cp1 DIRECTORY=/var/backups/etcd RETENTION=7 bash /usr/local/libexec/k8s-platform/etcd-backup.sh
  echo "$output"
  [ "$status" -eq 0 ]
  stub_calls cp1 | grep -qx 'systemctl disable --now k8s-platform-etcd-backup.timer'
  [ ! -L "$(node_file cp1 /etc/systemd/system/timers.target.wants/k8s-platform-etcd-backup.timer)" ]
}
