#!/usr/bin/env bash
# Helpers shared by every node script. The program sends each script to its node with this file
# prepended; run by hand (or by the tests), a script sources it from its own directory.
#
# K8SP_ROOT prefixes every path the scripts read or write (empty on a real node); the tests point
# it at a temporary root so the scripts run for real without touching this machine.

# shellcheck disable=SC2034 # read by the scripts that source this file
K8SP_LIB_LOADED=1
ROOT="${K8SP_ROOT:-}"
# The scripts parse other programs' output (ufw's "Status: active", apt's lock messages, kubectl's
# "(NotFound)"): untranslated, whatever locale the SSH session brings. C's gettext ignores
# LANGUAGE when the locale is C, Python's (ufw) reads LANGUAGE first (cpython Lib/gettext.py,
# find()): it goes too.
export LC_ALL=C
unset LANGUAGE

log() { printf '[k8s-platform] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# require_env NAME...: fail early, naming every missing parameter.
require_env() {
  local name missing=()
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || die "missing parameter(s): ${missing[*]}"
}

# os_family: "apt" (Ubuntu) or "dnf" (Rocky, RHEL, Alma, CentOS Stream, Fedora). Debian is
# refused: its containerd is too old for current Kubernetes (bookworm 1.6, trixie 1.7.24) and
# the node layout (CNI plugins in /usr/lib/cni) differs; the supported families are tested.
os_family() {
  local file="$ROOT/etc/os-release" id id_like
  [ -r "$file" ] || die "cannot read $file to detect the OS"
  # shellcheck source=/dev/null
  id=$(. "$file" && printf '%s' "${ID:-}")
  # shellcheck source=/dev/null
  id_like=$(. "$file" && printf '%s' "${ID_LIKE:-}")
  case " $id $id_like " in
  *" ubuntu "*) echo apt ;;
  *" rhel "* | *" rocky "* | *" centos "* | *" fedora "* | *" almalinux "*) echo dnf ;;
  *) die "unsupported OS '$id' (supported: Ubuntu 22.04/24.04, Rocky/RHEL 9 and their rebuilds)" ;;
  esac
}

# write_if_changed PATH MODE [COMMAND ARG...]: PATH gets the output of COMMAND (an external
# command or a builtin, not a function) or, without one, standard input — only when that differs
# from what PATH holds. Sets WRITTEN=1 when it wrote, 0 when PATH already had that content.
# Any failure (COMMAND's, a full disk) ends the run and leaves PATH as it was: the content is
# produced completely into a temporary file first, compared, copied next to PATH (same
# filesystem, so the final mv is a rename: atomic) and flushed to disk before it replaces PATH.
# Never called on the right of a pipe (that is a subshell: its exit would not end the run) nor
# under `|| true` / `if` (set -e is off there): every step checks its own result.
WRITTEN=0
write_if_changed() {
  local path="$1" mode="$2" dir content staged
  shift 2
  WRITTEN=0
  dir=$(dirname "$path")
  content=$(mktemp) || die "cannot create a temporary file for $path"
  if [ "$#" -gt 0 ]; then
    "$@" >"$content" || {
      rm -f "$content"
      die "could not produce the new $path ($1 failed, or the disk is full); $path is unchanged"
    }
  else
    cat >"$content" || {
      rm -f "$content"
      die "could not read the new content of $path (is the disk full?); $path is unchanged"
    }
  fi
  if [ -f "$path" ] && cmp -s "$content" "$path"; then
    rm -f "$content"
    return 0
  fi
  mkdir -p "$dir" || {
    rm -f "$content"
    die "cannot create $dir"
  }
  # Hidden, and with no extension the readers of these directories (*.conf, *.repo, *.list) take.
  staged=$(mktemp "$dir/.k8s-platform.XXXXXX") || {
    rm -f "$content"
    die "cannot create a file in $dir (is the disk full?); $path is unchanged"
  }
  if ! cp "$content" "$staged" || ! sync "$staged" || ! chmod "$mode" "$staged" || ! mv -f "$staged" "$path"; then
    rm -f "$content" "$staged"
    die "could not write $path (is the disk full?); $path is unchanged"
  fi
  rm -f "$content"
  # A file moved from /tmp keeps its user_tmp_t label, which confined daemons cannot read.
  if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon "$path" || die "restorecon $path failed"; fi
  log "wrote $path"
  WRITTEN=1
}

# read_secrets NAME...: reads "NAME=<base64>" lines from standard input and exports the decoded
# value of each NAME asked for. Secrets travel this way so they never appear in a command line,
# an environment listing or Pulumi's diff of the command.
read_secrets() {
  local line name value wanted
  while IFS= read -r line || [ -n "$line" ]; do
    name="${line%%=*}"
    value="${line#*=}"
    for wanted in "$@"; do
      if [ "$name" = "$wanted" ]; then
        printf -v "$name" '%s' "$(printf '%s' "$value" | base64 -d)"
        export "${name?}"
      fi
    done
  done
}

# unit_enable_now UNIT: enable and start a systemd unit unless it already is.
unit_enable_now() {
  systemctl is-enabled --quiet "$1" 2>/dev/null || systemctl enable "$1"
  systemctl is-active --quiet "$1" 2>/dev/null || systemctl start "$1"
}

# firewall_apply MODE PORT/PROTO...: the host firewall as FIREWALL_MODE asks. "disabled" stops
# and disables firewalld and ufw (the seed's way); "open" opens each port ("80/tcp",
# "2379-2380/tcp") in whichever of them is active, once. Nodes, and the dedicated HAProxy and NFS
# hosts, on which prepare-node.sh never runs, all go through here.
firewall_apply() {
  local mode="$1" port reload=0
  shift
  case "$mode" in
  disabled)
    if systemctl is-enabled --quiet firewalld 2>/dev/null || systemctl is-active --quiet firewalld 2>/dev/null; then
      systemctl disable --now firewalld
    fi
    if ufw_active; then ufw disable; fi
    ;;
  open)
    if systemctl is-active --quiet firewalld 2>/dev/null; then
      for port in "$@"; do
        firewall-cmd --permanent --query-port="$port" >/dev/null 2>&1 || {
          firewall-cmd --permanent --add-port="$port" >/dev/null
          reload=1
        }
      done
      # FIREWALLD_TRUSTED: "source=CIDR interface=NAME ..." put in firewalld's trusted zone.
      local item
      for item in ${FIREWALLD_TRUSTED:-}; do
        firewall-cmd --permanent --zone=trusted --query-"$item" >/dev/null 2>&1 || {
          firewall-cmd --permanent --zone=trusted --add-"$item" >/dev/null
          reload=1
        }
      done
      # --permanent changes only the saved configuration; --reload makes it the running one.
      [ "$reload" -eq 0 ] || firewall-cmd --reload >/dev/null
    elif ufw_active; then
      local rules
      rules=$(ufw status)
      for port in "$@"; do
        # ufw writes a range as FROM:TO and shows each rule as "PORT/PROTO  ALLOW  Anywhere".
        grep -q "^${port/-/:} " <<<"$rules" || ufw allow "${port/-/:}" >/dev/null
      done
    else
      log "no active firewall found; nothing to open"
    fi
    ;;
  *) die "FIREWALL_MODE must be 'disabled' or 'open', got '$mode'" ;;
  esac
}
ufw_active() {
  command -v ufw >/dev/null 2>&1 || return 1
  local status
  status=$(ufw status 2>/dev/null) || return 1
  [[ "$status" == *"Status: active"* ]]
}

apt_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ "$status" == *"ok installed" ]]
}
# `rpm -q` of a missing package prints "package X is not installed" on stdout and exits 1.
rpm_installed() { rpm -q "$1" >/dev/null 2>&1; }

# The installed version of a package ("" when it is not installed).
installed_version() { # family pkg
  if [ "$1" = apt ]; then
    apt_installed "$2" || return 0
    dpkg-query -W -f='${Version}' "$2"
  else
    rpm_installed "$2" || return 0
    rpm -q --qf '%{VERSION}' "$2"
  fi
}

# Before the first apt run on a fresh host: cloud-init and the apt-daily timers install and
# upgrade packages at first boot, and apt fails at once on the lists and archives locks
# (DPkg::Lock::Timeout covers only the dpkg frontend lock).
APT_WAITED=0
wait_for_boot_apt() {
  [ "$APT_WAITED" -eq 0 ] || return 0
  APT_WAITED=1
  if command -v cloud-init >/dev/null 2>&1; then
    log "waiting for cloud-init to finish"
    cloud-init status --wait >/dev/null 2>&1 || true
  fi
  local unit i
  for unit in apt-daily.service apt-daily-upgrade.service; do
    for i in $(seq 1 "${APT_WAIT_TRIES:-120}"); do
      systemctl is-active --quiet "$unit" 2>/dev/null || break
      [ "$i" -gt 1 ] || log "waiting for $unit to finish"
      sleep "${APT_RETRY_INTERVAL:-5}"
    done
  done
}

# apt_retry COMMAND...: an apt command (apt-get, apt-mark), retried while another apt/dpkg holds
# a lock: DPkg::Lock::Timeout covers only the dpkg frontend lock, and apt-mark has no wait at all
# (its `dpkg --set-selections` fails with dpkg's "dpkg frontend lock was locked by another
# process with pid N").
apt_retry() {
  local i out rc
  wait_for_boot_apt
  for i in $(seq 1 "${APT_RETRIES:-60}"); do
    rc=0
    out=$(DEBIAN_FRONTEND=noninteractive "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" >&2
    [ "$rc" -ne 0 ] || return 0
    case "$out" in
    *"Could not get lock"* | *"Unable to lock"* | *"Unable to acquire the dpkg frontend lock"* | *"is another process using it"* | *"locked by another process"*)
      log "apt is busy (attempt $i); retrying"
      sleep "${APT_RETRY_INTERVAL:-5}"
      ;;
    *) return "$rc" ;;
    esac
  done
  return "$rc"
}
apt_get() { apt_retry apt-get -q -o DPkg::Lock::Timeout=600 "$@"; }

# Package lists are updated once per run before the first install: a fresh image may have
# empty or stale lists ("has no installation candidate").
APT_UPDATED=0
apt_update() {
  log "updating the package lists"
  apt_get update
  APT_UPDATED=1
}

# ensure_packages FAMILY PKG...: installs only the packages that are missing.
ensure_packages() {
  local family="$1" pkg missing=()
  shift
  for pkg in "$@"; do
    if [ "$family" = apt ]; then
      apt_installed "$pkg" || missing+=("$pkg")
    else
      rpm_installed "$pkg" || missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  if [ "$family" = apt ]; then
    # (`cond || function` would run the function with set -e off: a failed update would pass.)
    if [ "$APT_UPDATED" -eq 0 ]; then apt_update; fi
    apt_get install -y "${missing[@]}"
  else
    dnf install -y -q "${missing[@]}"
  fi
}

# Completion records: "this host is a member now". kubeadm-reset.sh removes them; a record
# whose host no longer has the files kubeadm wrote for it (a reset by hand, a rebuilt disk) is
# not trusted (kubeadm_files_present).
# shellcheck disable=SC2034 # read by the scripts that source this file
INIT_DONE="$ROOT/var/lib/k8s-platform/init.done"
# shellcheck disable=SC2034 # read by the scripts that source this file
JOIN_DONE="$ROOT/var/lib/k8s-platform/join.done"
# kubeadm's own static pod manifests (its preflight checks exactly these four:
# cmd/kubeadm/app/preflight/checks.go, FileAvailableCheck per manifest). The directory itself
# is not evidence: the pkgs.k8s.io kubelet package ships /etc/kubernetes/manifests/.kubelet-keep.
KUBEADM_MANIFESTS=(kube-apiserver kube-controller-manager kube-scheduler etcd)
# any_manifest / all_manifests: whether some / every one of the four exists.
any_manifest() {
  local m
  for m in "${KUBEADM_MANIFESTS[@]}"; do [ ! -f "$ROOT/etc/kubernetes/manifests/$m.yaml" ] || return 0; done
  return 1
}
all_manifests() {
  local m
  for m in "${KUBEADM_MANIFESTS[@]}"; do [ -f "$ROOT/etc/kubernetes/manifests/$m.yaml" ] || return 1; done
}
# kubeadm_files_present control-plane|worker: what a completed init or join leaves and
# `kubeadm reset` removes (cleanupnode.go: the kubeconfig files, manifests/, pki/): kubelet.conf
# (kubelet-start) on every member; admin.conf and the four manifests on a control plane.
kubeadm_files_present() {
  [ -f "$ROOT/etc/kubernetes/kubelet.conf" ] || return 1
  [ "$1" = control-plane ] || return 0
  [ -f "$ROOT/etc/kubernetes/admin.conf" ] && all_manifests
}
# trust_record FILE control-plane|worker: 0 when FILE exists and the host still has kubeadm's
# files; a record without them is removed (logged) and 1 returned.
trust_record() {
  [ -f "$1" ] || return 1
  kubeadm_files_present "$2" && return 0
  log "$1 says this host is a member, but kubeadm's files are gone (reset by hand, or a new disk): not trusted, removed"
  rm -f "$1" || die "cannot remove $1"
  return 1
}

# shellcheck disable=SC2034 # read by the scripts that source this file
ADMIN_KUBECONFIG="$ROOT/etc/kubernetes/admin.conf"
# shellcheck disable=SC2034 # read by the scripts that source this file
KUBELET_KUBECONFIG="$ROOT/etc/kubernetes/kubelet.conf"
