#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds cmio with warnings as
# errors and runs the whole test suite.
#
#   scripts/test.sh [MESON-SETUP-ARGS...]
#
# BUILDDIR (default: build) picks the build directory; MESON_TEST_ARGS adds
# arguments to `meson test` (for example "--suite threads"). Exits non-zero
# when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
builddir=${BUILDDIR:-build}
setup_build "$builddir" -Dwerror=true -Dtests=enabled -Ddefault_library=both "$@"
ninja -C "$builddir"

rc=0
# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs ${MESON_TEST_ARGS:-} || rc=$?

# Check reports "NN%: Checks: N, Failures: F, Errors: E" per suite.
log="$builddir/meson-logs/testlog.txt"
awk '/^[0-9]+%: Checks: / { gsub(",", ""); n += $3; f += $5 + $7 }
     END { printf "check: %d passed, %d failed\n", n - f, f }' "$log"
exit "$rc"
