#!/usr/bin/env bash
# Cross-builds cmio for 64-bit Windows with mingw-w64 and runs its test
# suite under wine (Debian 12, as root for the packages):
#
#   scripts/test-windows.sh [MESON-SETUP-ARGS...]
#
# Installs what is missing (mingw-w64, wine, wine64, and what building
# Check from source takes), builds the Check library for mingw from
# Debian's own source package into a prefix of the build's own,
# BUILDDIR-deps (git-ignored as every build*/; not inside BUILDDIR, which
# meson wipes when the installed packages change), once: a later run finds
# it there. The wine prefix lives there too. It configures BUILDDIR (default:
# build-windows) with cross/x86_64-w64-mingw32.txt and -Dwerror=true,
# builds, and runs `meson test` through wine with one persistent wineserver
# for the whole run (WINEPREFIX in BUILDDIR-deps, WINEDEBUG=-all).
# MESON_TEST_ARGS adds arguments to `meson test`. Exits non-zero when
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

WINDOWS_PACKAGES=(mingw-w64 wine wine64 meson ninja-build pkg-config dpkg-dev autoconf automake libtool
    texinfo make)
install_missing "${WINDOWS_PACKAGES[@]}"

builddir=${BUILDDIR:-build-windows}
mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)
deps=$builddir-deps
mkdir -p "$deps"
host=x86_64-w64-mingw32
prefix=$deps/check-prefix

# Check for mingw, from Debian's source package of the check the host has.
build_check() {
    if [ -f "$prefix/lib/pkgconfig/check.pc" ]; then
        echo "Check for mingw: found in $prefix"
        return 0
    fi
    if ! apt-get source --print-uris check >/dev/null 2>&1 ||
        [ -z "$(apt-get source --print-uris check 2>/dev/null | grep -m1 "^'")" ]; then
        # apt-get source needs a deb-src entry: bookworm's, in a file of its own.
        local list=/etc/apt/sources.list.d/cmio-deb-src.sources
        echo "adding a deb-src entry for bookworm ($list)"
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
            'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
            "${sudo[@]}" tee "$list" >/dev/null
        "${sudo[@]}" apt-get update -qq
    fi
    local src=$deps/check-src start=$SECONDS
    rm -rf "$src"
    mkdir -p "$src"
    echo "Check for mingw: fetching Debian's source package"
    (cd "$src" && apt-get source -qq --download-only check >/dev/null 2>&1 &&
        dpkg-source -x --no-check ./*.dsc tree >/dev/null)
    echo "Check for mingw: building into $prefix (a minute or two)"
    local log=$deps/check-build.log
    (cd "$src/tree" &&
        { [ -x configure ] || autoreconf -fi; } &&
        ./configure --host=$host --prefix="$prefix" --enable-static --disable-shared \
            --disable-subunit --disable-timeout-tests --without-tcl &&
        make -j2 -C lib && make -j2 -C src && make -C src install && make -C lib install &&
        make install-pkgconfigDATA 2>/dev/null || make install-data-am) >"$log" 2>&1 || {
        tail -40 "$log" >&2
        echo "Check for mingw: the build failed (the whole log: $log)" >&2
        return 1
    }
    # The static library is libcheck.a (Debian's .pc names its PIC copy).
    # Check itself uses winpthreads (the test programs link it; the
    # library does not).
    sed -i 's/-lcheck_pic/-lcheck/' "$prefix/lib/pkgconfig/check.pc"
    # check.h comes from the build tree where make install did not put it.
    [ -f "$prefix/include/check.h" ] || install -m 644 -D "$src/tree/src/check.h" "$prefix/include/check.h"
    echo "Check for mingw: built in $((SECONDS - start)) s"
}
build_check

export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH=
export WINEPREFIX=$deps/wineprefix
export WINEDEBUG=-all
export WINEARCH=win64
# No desktop: a run of console programs needs none.
export DISPLAY=

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: making the prefix $WINEPREFIX (once, half a minute)"
    wineboot --init >/dev/null 2>&1 || true
fi
# One wineserver for the whole run (-p: it stays while nothing uses it), so
# that each test starts in milliseconds; stopped when the script ends.
# wineboot (and any wine command) leaves a server of its own that exits
# with its last client, and a second server does not start while one runs
# (wineserver -p exits 2): that one would serve the suite, exit between two
# tests and reset the next one's connection ("wine client error: recvmsg:
# Connection reset by peer"). So stop whatever server this prefix has, wait
# for it to go, and start the persistent one, failing if it does not start.
wineserver -k 2>/dev/null || true
wineserver -w 2>/dev/null || true
wineserver -p || {
    echo "wine: no persistent wineserver for $WINEPREFIX (wineserver -p: $?)" >&2
    exit 1
}
trap 'wineserver -k 2>/dev/null || true' EXIT
# Start wine's own services (services.exe, winedevice, rpcss...) now, with
# their output nowhere: started by the first test, they would hold its
# output pipe open and meson would wait for them until the test timed out.
wine cmd /c exit </dev/null >/dev/null 2>&1 || true

setup_build "$builddir" --cross-file cross/x86_64-w64-mingw32.txt -Dwerror=true -Dtests=enabled \
    -Ddefault_library=static "$@"
ninja -C "$builddir"

rc=0
start=$SECONDS
# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs ${MESON_TEST_ARGS:-} || rc=$?
echo "wine: the suite ran in $((SECONDS - start)) s"
log="$builddir/meson-logs/testlog.txt"
awk '/^[0-9]+%: Checks: / { gsub(",", ""); n += $3; f += $5 + $7 }
     END { printf "check: %d passed, %d failed\n", n - f, f }' "$log"
exit "$rc"
