#!/usr/bin/env bash
# scripts/lib.sh under the scripts' own `set -euo pipefail`, on a system
# where some of the packages it knows of are not installed (a fresh one):
# package_stamp must answer, not end the script that called it.
# Usage: check-lib-sh.sh SOURCE-ROOT
set -euo pipefail
. "$1/scripts/lib.sh"
ALL_PACKAGES=(cmio-test-no-such-package "${ALL_PACKAGES[@]}")
stamp=$(package_stamp)
printf '%s\n' "$stamp" | grep -q 'cmio-test-no-such-package' &&
    { echo "package_stamp lists a package that does not exist: $stamp" >&2; exit 1; }
echo "package_stamp: ok ($(printf '%s\n' "$stamp" | grep -c .) packages installed)"
