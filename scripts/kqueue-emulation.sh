#!/usr/bin/env bash
# Runs the test suite on the kqueue backend on Linux, over libkqueue (which
# Debian 12 does not package): builds a libkqueue source tree you point it
# at into a private prefix, builds cmio against it (-Dkqueue_emulation=true)
# and runs the suite, whose tests then loop over "kqueue" too. It fetches
# nothing: get the source yourself, for example
#   git clone https://github.com/mheily/libkqueue
#
#   scripts/kqueue-emulation.sh LIBKQUEUE-SOURCE-DIR [MESON-SETUP-ARGS...]
#   scripts/kqueue-emulation.sh --prefix PREFIX [MESON-SETUP-ARGS...]
#
# The second form takes a libkqueue already installed in PREFIX (with its
# lib*/pkgconfig/libkqueue.pc). BUILDDIR (default: build-kq) picks cmio's
# build directory, and the libkqueue build goes to build-libkqueue/ (its
# prefix: build-libkqueue/prefix); MESON_TEST_ARGS as for scripts/test.sh.
# libkqueue differs from a BSD kernel in ways the suite sees (README.md,
# "Backends"): failures on the kqueue iteration only are its, to be read.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
if [ "$1" = --prefix ]; then
    [ $# -ge 2 ] || usage
    prefix=$(cd "$2" && pwd)
    shift 2
else
    src=$(cd "$1" && pwd)
    shift
    [ -f "$src/CMakeLists.txt" ] || { echo "$src: not a libkqueue source tree (no CMakeLists.txt)" >&2; exit 2; }
    install_missing "${BUILD_PACKAGES[@]}" cmake
    lkq=$PWD/build-libkqueue
    prefix=$lkq/prefix
    echo "building libkqueue from $src into $prefix"
    cmake -S "$src" -B "$lkq/build" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >"$lkq.cmake.log" 2>&1 || { cat "$lkq.cmake.log" >&2; exit 1; }
    cmake --build "$lkq/build" -j 2 >"$lkq/build.log" 2>&1 || { cat "$lkq/build.log" >&2; exit 1; }
    cmake --install "$lkq/build" >"$lkq/install.log" 2>&1 || { cat "$lkq/install.log" >&2; exit 1; }
    mv "$lkq.cmake.log" "$lkq/cmake.log"
fi
pcdir=
for d in "$prefix"/lib*/pkgconfig "$prefix"/lib/*/pkgconfig; do
    [ -f "$d/libkqueue.pc" ] && { pcdir=$d; break; }
done
[ -n "$pcdir" ] || { echo "no libkqueue.pc under $prefix/lib*/pkgconfig" >&2; exit 1; }
echo "libkqueue $(PKG_CONFIG_PATH=$pcdir pkg-config --modversion libkqueue) from $pcdir"

install_missing "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
builddir=${BUILDDIR:-build-kq}
PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
    setup_build "$builddir" -Dkqueue_emulation=true -Dwerror=true -Dtests=enabled -Ddefault_library=both "$@"
echo "building $builddir"
ninja -C "$builddir"
# libkqueue's library is found at run time through the test binaries'
# run path (meson adds its directory) or here.
export LD_LIBRARY_PATH=$(dirname "$pcdir")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
rc=0
# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs ${MESON_TEST_ARGS:-} || rc=$?
log="$builddir/meson-logs/testlog.txt"
awk '/^[0-9]+%: Checks: / { gsub(",", ""); n += $3; f += $5 + $7 }
     END { printf "check: %d passed, %d failed\n", n - f, f }' "$log"
exit "$rc"
