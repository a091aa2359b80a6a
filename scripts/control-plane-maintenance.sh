#!/usr/bin/env bash
# Installs the day-2 maintenance of one control plane, after its kubeadm init or join:
#   - the maintenance programs in /usr/local/libexec/k8s-platform/ (lib.sh, lib-maintenance.sh,
#     etcd-backup.sh, cert-renewal.sh, and etcd-restore.sh to run by hand), their text passed in by
#     the program;
#   - etcdctl and etcdutl from the pinned etcd release (checksum checked) in
#     /usr/local/libexec/k8s-platform/etcd/, unless both are on PATH already (an air-gapped site
#     installs them itself). Not from the etcd image: registry.k8s.io/etcd ships etcd and etcdctl
#     but no etcdutl (kubernetes cluster/images/etcd/Makefile at v1.35.4 copies only those two from
#     the release), and etcdutl is what checks a snapshot and restores one, with etcd stopped.
#     Ubuntu's etcd-client is 3.4 (no etcdutl); Rocky has none;
#   - the k8s-platform-etcd-backup service and timer (kubernetes.etcdBackup), or their removal
#     when disabled (snapshots are kept);
#   - the k8s-platform-cert-renewal service and timer (kubernetes.certRenewal), likewise;
#   - a check that the kubelet rotates its client certificate (fails loudly otherwise).
# Unit files are written only when they change; a changed unit reloads systemd and restarts its
# timer; a second run changes nothing. Prints this control plane's certificate expiry (JSON, from
# `kubeadm certs check-expiration`, see cert-renewal.sh) on standard output.
#
# Parameters (environment):
#   NODE_NAME
#   BACKUP_ENABLED, BACKUP_SCHEDULE, BACKUP_DIRECTORY, BACKUP_RETENTION, BACKUP_NFS_TARGET (optional)
#   RENEWAL_ENABLED, RENEWAL_THRESHOLD_DAYS
#   ETCD_RELEASE        e.g. v3.6.6; ETCD_RELEASE_URL: its tarball URL with @ARCH@ for amd64/arm64;
#   ETCD_RELEASE_SHA256 "amd64=<sha256> arm64=<sha256>"
#   HTTPS_PROXY_URL, NO_PROXY_LIST (optional) for the download
#   LIB_SH, LIB_MAINTENANCE_SH, ETCD_BACKUP_SH, CERT_RENEWAL_SH, ETCD_RESTORE_SH  the programs' text
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env NODE_NAME BACKUP_ENABLED RENEWAL_ENABLED ETCD_RELEASE ETCD_RELEASE_URL ETCD_RELEASE_SHA256 \
  LIB_SH LIB_MAINTENANCE_SH ETCD_BACKUP_SH CERT_RENEWAL_SH ETCD_RESTORE_SH
libexec="$ROOT/usr/local/libexec/k8s-platform"
units="$ROOT/etc/systemd/system"
settings="$ROOT/etc/k8s-platform"

[ -f "$ROOT/etc/kubernetes/manifests/etcd.yaml" ] || [ -f "$ROOT/etc/kubernetes/k8s-platform-restore/etcd.yaml" ] ||
  die "$NODE_NAME has no etcd static pod manifest: not an initialised control plane"

log "checking that the kubelet rotates its client certificate"
grep -Eq '^rotateCertificates:[[:space:]]*true[[:space:]]*$' "$ROOT/var/lib/kubelet/config.yaml" 2>/dev/null ||
  die "kubelet client certificate rotation is off on $NODE_NAME: /var/lib/kubelet/config.yaml has no 'rotateCertificates: true' (kubeadm always sets it); the kubelet's client certificate would expire after a year. Set it and restart the kubelet."

log "installing the maintenance programs in /usr/local/libexec/k8s-platform"
# The libraries first: a timer firing meanwhile runs a program that finds what it sources.
write_if_changed "$libexec/lib.sh" 0644 printf '%s\n' "$LIB_SH"
write_if_changed "$libexec/lib-maintenance.sh" 0644 printf '%s\n' "$LIB_MAINTENANCE_SH"
write_if_changed "$libexec/etcd-backup.sh" 0755 printf '%s\n' "$ETCD_BACKUP_SH"
write_if_changed "$libexec/cert-renewal.sh" 0755 printf '%s\n' "$CERT_RENEWAL_SH"
write_if_changed "$libexec/etcd-restore.sh" 0755 printf '%s\n' "$ETCD_RESTORE_SH"

install_etcd_tools() {
  local arch sha dir="$ROOT/usr/local/libexec/k8s-platform/etcd" marker tmp url
  marker="$dir/.release"
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) die "no pinned etcd release for $(uname -m)" ;; esac
  sha=$(tr ' ' '\n' <<<"$ETCD_RELEASE_SHA256" | sed -n "s/^$arch=//p")
  [ -n "$sha" ] || die "ETCD_RELEASE_SHA256 has no checksum for $arch"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$ETCD_RELEASE $sha" ] && [ -x "$dir/etcdutl" ] && [ -x "$dir/etcdctl" ]; then
    return 0
  fi
  if [ ! -e "$marker" ] && command -v etcdctl >/dev/null 2>&1 && command -v etcdutl >/dev/null 2>&1; then
    log "etcdctl and etcdutl are on PATH ($(command -v etcdutl)); not downloading etcd $ETCD_RELEASE"
    return 0
  fi
  url="${ETCD_RELEASE_URL//@ARCH@/$arch}"
  tmp=$(mktemp -d)
  log "downloading etcdctl and etcdutl $ETCD_RELEASE ($url)"
  (
    [ -z "${HTTPS_PROXY_URL:-}" ] || export https_proxy="$HTTPS_PROXY_URL" no_proxy="${NO_PROXY_LIST:-}"
    curl -fsSL --retry 3 -o "$tmp/etcd.tar.gz" "$url"
  ) || { rm -rf "$tmp"; die "cannot download $url (air-gapped: install etcdctl and etcdutl $ETCD_RELEASE on PATH)"; }
  printf '%s  %s\n' "$sha" "$tmp/etcd.tar.gz" | sha256sum -c --quiet >&2 || { rm -rf "$tmp"; die "$url does not have the pinned sha256 $sha"; }
  tar -xzf "$tmp/etcd.tar.gz" -C "$tmp" --strip-components=1 --wildcards '*/etcdctl' '*/etcdutl'
  # Read whole before matching: `etcdutl version | grep -q` under pipefail fails at random when grep
  # exits at the first line and etcdutl is killed by SIGPIPE writing the next.
  local reported
  reported=$("$tmp/etcdutl" version) || { rm -rf "$tmp"; die "the etcdutl in $url does not run"; }
  grep -q "^etcdutl version: ${ETCD_RELEASE#v}\$" <<<"$reported" || { rm -rf "$tmp"; die "the etcdutl in $url is not $ETCD_RELEASE"; }
  mkdir -p "$dir"
  install -m 0755 "$tmp/etcdctl" "$tmp/etcdutl" "$dir/"
  printf '%s %s\n' "$ETCD_RELEASE" "$sha" >"$marker"
  rm -rf "$tmp"
  log "installed etcdctl and etcdutl $ETCD_RELEASE in $dir"
}
install_etcd_tools

# timer_units NAME ENABLED SERVICE TIMER ENV: installs (or removes) one service + timer pair.
timer_units() {
  local name="$1" enabled="$2" service="$3" timer="$4" env="$5" changed=0
  if [ "$enabled" != true ]; then
    if [ -f "$units/$name.timer" ]; then
      log "$name disabled: stopping and removing its timer (files it wrote are kept)"
      systemctl disable --now "$name.timer"
      rm -f "$units/$name.timer" "$units/$name.service" "$settings/$name.env"
      systemctl daemon-reload
    fi
    return 0
  fi
  write_if_changed "$settings/$name.env" 0644 printf '%s\n' "$env"
  changed=$((changed | WRITTEN))
  write_if_changed "$units/$name.service" 0644 printf '%s\n' "$service"
  changed=$((changed | WRITTEN))
  write_if_changed "$units/$name.timer" 0644 printf '%s\n' "$timer"
  changed=$((changed | WRITTEN))
  if [ "$changed" -eq 1 ]; then
    systemctl daemon-reload
    # A running timer keeps its old schedule until restarted.
    if systemctl is-active --quiet "$name.timer"; then systemctl restart "$name.timer"; fi
  fi
  if ! systemctl is-enabled --quiet "$name.timer" || ! systemctl is-active --quiet "$name.timer"; then
    systemctl enable --now "$name.timer"
  fi
}

service_unit() { # description program env-file
  printf '[Unit]\nDescription=%s\nDocumentation=file:%s\nAfter=network-online.target kubelet.service\nWants=network-online.target\n\n[Service]\nType=oneshot\nEnvironmentFile=%s\nExecStart=/bin/bash %s\nNice=10\nIOSchedulingClass=idle\n' \
    "$1" "$2" "$3" "$2"
}
timer_unit() { # description on-calendar randomized-delay
  printf '[Unit]\nDescription=%s\n\n[Timer]\nOnCalendar=%s\nPersistent=true\nRandomizedDelaySec=%s\n\n[Install]\nWantedBy=timers.target\n' "$1" "$2" "$3"
}

if [ "$BACKUP_ENABLED" = true ]; then
  require_env BACKUP_SCHEDULE BACKUP_DIRECTORY BACKUP_RETENTION
  # The real parser of OnCalendar (systemd.time(7)); config only checked the characters.
  if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze calendar "$BACKUP_SCHEDULE" >/dev/null 2>&1 ||
      die "kubernetes.etcdBackup.schedule '$BACKUP_SCHEDULE' is not a systemd calendar expression (systemd-analyze calendar refuses it)"
  fi
fi
timer_units k8s-platform-etcd-backup "$BACKUP_ENABLED" \
  "$(service_unit "k8s-platform: etcd snapshot of this control plane (kubernetes.etcdBackup)" /usr/local/libexec/k8s-platform/etcd-backup.sh /etc/k8s-platform/k8s-platform-etcd-backup.env)" \
  "$(timer_unit "k8s-platform: scheduled etcd snapshots" "${BACKUP_SCHEDULE:-}" 5min)" \
  "$(printf 'NODE_NAME=%s\nDIRECTORY=%s\nRETENTION=%s\nNFS_TARGET=%s\n' "$NODE_NAME" "${BACKUP_DIRECTORY:-}" "${BACKUP_RETENTION:-}" "${BACKUP_NFS_TARGET:-}")"
# Daily, at a random time of the day per control plane, so that control planes renewing in the same
# week seldom restart their API servers together.
timer_units k8s-platform-cert-renewal "$RENEWAL_ENABLED" \
  "$(service_unit "k8s-platform: renew kubeadm's certificates before they expire (kubernetes.certRenewal)" /usr/local/libexec/k8s-platform/cert-renewal.sh /etc/k8s-platform/k8s-platform-cert-renewal.env)" \
  "$(timer_unit "k8s-platform: daily check of kubeadm's certificate expiry" daily 6h)" \
  "$(printf 'NODE_NAME=%s\nTHRESHOLD_DAYS=%s\n' "$NODE_NAME" "${RENEWAL_THRESHOLD_DAYS:-}")"

log "maintenance of $NODE_NAME installed"
ACTION=report NODE_NAME="$NODE_NAME" bash "$libexec/cert-renewal.sh"
