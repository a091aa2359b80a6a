#!/usr/bin/env bash
# Writes this machine's block of /etc/hosts lines (seed 000 §6: every node knows every node, and
# the platform's host names): one block between "# BEGIN k8s-platform <name>" and
# "# END k8s-platform <name>", replaced in place on every run; every other line (blank lines
# included) is kept byte for byte. One command per machine whose input is the whole block, so
# adding a machine updates each block once instead of adding a command per pair of machines.
# Same format as `npm run hosts` (components/render/hostsFile.ts) writes on workstations.
#
# Parameters (environment): BLOCK_NAME (the stack), HOSTS_LINES ("IP<TAB>name…" lines)
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_env BLOCK_NAME HOSTS_LINES
hosts="$ROOT/etc/hosts"
begin="# BEGIN k8s-platform $BLOCK_NAME"
end="# END k8s-platform $BLOCK_NAME"
[ -f "$hosts" ] || : >"$hosts"
# Another writer of this file (an older per-line step being removed) may run at the same time.
mkdir -p "$ROOT/run"
exec 9>>"$ROOT/run/k8s-platform-hosts.lock"
flock 9
# Drop our old block, remembering where it stood; put the new one there (or at the end).
# (The lines come through ENVIRON: `awk -v` would interpret backslashes in them.)
# shellcheck disable=SC2016 # an awk program
write_if_changed "$hosts" 0644 awk -v begin="$begin" -v end="$end" '
  BEGIN { lines = ENVIRON["HOSTS_LINES"]; sub(/\n+$/, "", lines) }
  function block() { printf "%s\n%s\n%s\n", begin, lines, end; placed = 1 }
  $0 == begin { inside = 1; if (!placed) block(); next }
  inside && $0 == end { inside = 0; next }
  inside { next }
  { print }
  END { if (!placed) block() }
' "$hosts"
