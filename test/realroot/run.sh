#!/usr/bin/env bash
# Runs the real-root tier (needs root: unshare, chroot, overlay mounts; debootstrap, rpm,
# dpkg-dev, rpmbuild, python3 on the machine). The first run builds the cached root (a few
# minutes); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")"
exec bats "$@" ./*.bats
