#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds cmio and runs the demo:
# a second thread registers a socket through a registry clone while the main
# thread is blocked in cmio_poll_poll(), then wakes it with a waker.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

install_missing "${BUILD_PACKAGES[@]}"
builddir=${BUILDDIR:-build}
setup_build "$builddir" -Dexamples=true
ninja -C "$builddir" examples/wake_demo >/dev/null
"$builddir/examples/wake_demo"
