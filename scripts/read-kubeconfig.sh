#!/usr/bin/env bash
# Prints the cluster's admin kubeconfig. Its output is stored as a Pulumi secret and never logged.
# Parameters (environment): none.
set -euo pipefail
# shellcheck source=scripts/lib.sh
[ -n "${K8SP_LIB_LOADED:-}" ] || . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$ADMIN_KUBECONFIG" ] || die "$ADMIN_KUBECONFIG is missing: kubeadm init has not completed"
cat "$ADMIN_KUBECONFIG"
