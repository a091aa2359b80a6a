#!/usr/bin/env bash
# `npm run test:e2e`: builds the real tools from Go modules (cached: a warm run builds nothing),
# puts them on PATH and runs the e2e tests. A test whose tool is missing skips, naming it.
# Parameters (environment): those of build-tools.sh (K8S_PLATFORM_E2E_CACHE, E2E_TOOLS).
set -euo pipefail
cd "$(dirname "$0")/../.."

if command -v go >/dev/null 2>&1; then
  # build-tools.sh prints export lines (PATH, and the engine's PULUMI_HOME and offline settings);
  # a failed build stops here.
  exports="$(bash test/e2e/build-tools.sh)"
  eval "$exports"
else
  echo "go is not installed: the e2e tests that need tools built from Go modules will skip" >&2
fi
node --import tsx --test --test-concurrency=1 test/e2e/*.test.ts
