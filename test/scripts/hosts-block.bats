#!/usr/bin/env bats
# hosts-block.sh runs for real against a temporary root's /etc/hosts (plain files: nothing to stub).

load helpers

hosts_block() { BLOCK_NAME=lab HOSTS_LINES="$1" bash "$SCRIPTS/hosts-block.sh"; }

setup() {
  setup_root ubuntu
  printf '127.0.0.1\tlocalhost\n\n# operator comment\n10.9.9.9\tbuild-server\n\n' >"$K8SP_ROOT/etc/hosts"
}

@test "hosts-block: appends one marked block and keeps every other line, blank lines included" {
  run hosts_block $'192.168.1.10\tm-k8s\n192.168.1.101\tw1-k8s\n'
  [ "$status" -eq 0 ]
  [ "$(cat "$K8SP_ROOT/etc/hosts")" = $'127.0.0.1\tlocalhost\n\n# operator comment\n10.9.9.9\tbuild-server\n\n# BEGIN k8s-platform lab\n192.168.1.10\tm-k8s\n192.168.1.101\tw1-k8s\n# END k8s-platform lab' ]
}

@test "hosts-block: replaces its block in place; a second run writes nothing" {
  hosts_block $'192.168.1.10\tm-k8s'
  printf '10.1.1.1\tafter\n' >>"$K8SP_ROOT/etc/hosts"
  hosts_block $'192.168.1.10\tm-k8s\n192.168.1.102\tw2-k8s'
  [ "$(grep -c 'BEGIN k8s-platform lab' "$K8SP_ROOT/etc/hosts")" -eq 1 ]
  [ "$(tail -n 1 "$K8SP_ROOT/etc/hosts")" = $'10.1.1.1\tafter' ]
  grep -qx $'192.168.1.102\tw2-k8s' "$K8SP_ROOT/etc/hosts"
  before=$(tree_state)
  run hosts_block $'192.168.1.10\tm-k8s\n192.168.1.102\tw2-k8s'
  [ "$status" -eq 0 ]
  [ "$(tree_state)" = "$before" ]
  [[ "$output" != *wrote* ]]
}

@test "hosts-block: another stack's block is left alone" {
  BLOCK_NAME=dev HOSTS_LINES=$'10.0.0.1\tdev-node' bash "$SCRIPTS/hosts-block.sh"
  hosts_block $'192.168.1.10\tm-k8s'
  grep -qx $'10.0.0.1\tdev-node' "$K8SP_ROOT/etc/hosts"
  grep -qx '# END k8s-platform dev' "$K8SP_ROOT/etc/hosts"
}
