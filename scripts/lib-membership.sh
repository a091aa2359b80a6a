#!/usr/bin/env bash
# Completion records that name their node, for kubeadm-init.sh and kubeadm-join.sh. A library of
# its own, not lib.sh: every remote command carries lib.sh, so an edit there re-runs every step on
# every host; this file is sent only with the scripts that source it (components/render/script.ts).
# Needs lib.sh (log, die, write_if_changed, trust_record) loaded first.
#
# A record holds "node=NAME" and "date=<UTC time>": a host is one node, and a step for another
# name on it (a node renamed while keeping its host: the engine creates the new name's join before
# it deletes the old name's, so it runs on the host that is still the old node) must not take the
# record as its own. A record written before the name (a date alone) names no node.

# shellcheck disable=SC2034 # read by the scripts that source this file
K8SP_LIB_MEMBERSHIP_LOADED=1

# record_node FILE: the node FILE names; empty for a record from before the name.
record_node() { sed -n 's/^node=//p' "$1" | head -n 1; }
record_content() {
  printf 'node=%s\n' "$1"
  date -u +date=%Y-%m-%dT%H:%M:%SZ
}
# write_record FILE NODE: records NODE's completed init or join.
write_record() { write_if_changed "$1" 0644 record_content "$2"; }
# trust_named_record FILE control-plane|worker NODE: trust_record (lib.sh), and the record must be
# NODE's: one naming another node stops the run, changing nothing; one from before the name is
# taken as NODE's and gets the name.
trust_named_record() {
  local named
  trust_record "$1" "$2" || return 1
  named=$(record_node "$1")
  if [ -z "$named" ]; then
    log "$1 predates the node name in records: taken as $3's, and the name written"
    write_record "$1" "$3"
  elif [ "$named" != "$3" ]; then
    die "this host is already node $named ($1 names it); it cannot also be $3. Nothing was changed. A node renamed while keeping its host: remove $named from nodes and \`pulumi up\` (drained, reset, deleted), then add $3 and \`pulumi up\` (it joins afresh); or keep the name $named."
  fi
}
