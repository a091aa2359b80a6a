# Shared set-up for the script tests: a temporary root (K8SP_ROOT) holding the files a node has,
# and a PATH whose system commands are recorders (fakebin/fake-command).

SCRIPTS="$BATS_TEST_DIRNAME/../../scripts"
FAKE_COMMANDS=(apt-get apt-mark dpkg-query dnf rpm systemctl containerd curl gpg getenforce setenforce getsebool setsebool exportfs
  swapoff modprobe sysctl firewall-cmd ufw kubeadm kubectl sleep)

setup_root() { # os: ubuntu|rocky
  export K8SP_ROOT="$BATS_TEST_TMPDIR/root" FAKE_STATE="$BATS_TEST_TMPDIR/state" CALLS="$BATS_TEST_TMPDIR/calls"
  rm -rf "$K8SP_ROOT" "$FAKE_STATE"
  mkdir -p "$K8SP_ROOT/etc" "$K8SP_ROOT/proc" "$FAKE_STATE/units" "$FAKE_STATE/pkg" "$FAKE_STATE/nodes" "$BATS_TEST_TMPDIR/bin"
  : >"$CALLS"
  for c in "${FAKE_COMMANDS[@]}"; do
    ln -sf "$BATS_TEST_DIRNAME/fakebin/fake-command" "$BATS_TEST_TMPDIR/bin/$c"
  done
  export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
  case "${1:-ubuntu}" in
  ubuntu) printf 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n' >"$K8SP_ROOT/etc/os-release" ;;
  rocky)
    printf 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n' >"$K8SP_ROOT/etc/os-release"
    mkdir -p "$K8SP_ROOT/etc/selinux"
    printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$K8SP_ROOT/etc/selinux/config"
    ;;
  esac
  printf 'UUID=abc / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n# /old none swap sw 0 0\n' >"$K8SP_ROOT/etc/fstab"
  printf 'Filename Type Size Used Priority\n/swap.img file 1000 0 -2\n' >"$K8SP_ROOT/proc/swaps"
}

# Secrets as the program sends them: NAME=<base64> lines on standard input.
secret_stdin() {
  local pair
  for pair in "$@"; do
    printf '%s=%s\n' "${pair%%=*}" "$(printf '%s' "${pair#*=}" | base64 -w0)"
  done
}

# Fingerprint of every file under the root (content and mode), to prove a run changed nothing.
tree_state() {
  (cd "$K8SP_ROOT" && find . -type f -print0 | sort -z | xargs -0 stat -c '%n %a %y' && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

calls_matching() { grep -E "$1" "$CALLS" || true; }
