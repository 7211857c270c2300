# Shared by scripts/*.sh: install what is missing on Debian, configure a build.
# shellcheck shell=bash

# install_missing PKG...: apt-get install the Debian packages not installed.
install_missing() {
    command -v dpkg-query >/dev/null 2>&1 || {
        echo "not a Debian system: install by hand if missing: $*" >&2
        return 0
    }
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing with apt-get: ${missing[*]} (a minute or more on a fresh system)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "missing packages (run as root to install): ${missing[*]}" >&2
            return 1
        }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# package_stamp: the installed versions of every package these scripts
# know of (empty outside Debian).
package_stamp() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    # dpkg-query exits 1 when one of them is not installed, as on a fresh
    # system: that is an answer here, not a failure (set -o pipefail).
    { dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' "${ALL_PACKAGES[@]}" 2>/dev/null || true; } | sort -u
}

# setup_build DIR [MESON-ARGS...]: configure DIR, reconfiguring if it exists.
# meson caches what it did not find (a library looked up with find_library
# stays "not found" through --reconfigure): when the packages installed
# changed since DIR was configured (scripts/demo.sh configures before the
# test packages are installed), DIR is wiped and configured afresh, with
# the options it had plus the ones given.
setup_build() {
    local dir=$1
    shift
    local stamp log
    stamp=$(package_stamp)
    log=$(mktemp)
    if [ -f "$dir/build.ninja" ]; then
        if [ "$stamp" != "$(cat "$dir/.cmio-packages" 2>/dev/null)" ]; then
            echo "configuring $dir afresh (the installed packages changed)"
            meson setup --wipe "$dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
        else
            echo "configuring $dir"
            meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
        fi
    else
        echo "configuring $dir"
        meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
    fi
    # The dependencies found, and the backends built (meson's summary puts
    # each backend after the first on a line of its own).
    awk 'b && /^ +[a-z0-9_]+$/ { printf " %s", $1; next }
         b { print ""; b = 0 }
         /^ *backends *:/ { printf "  backends: %s", $3; b = 1; next }
         /^ *(Run-time dependency|Library ev)/ { sub(/^ */, "  "); print }
         END { if (b) print "" }' "$log"
    mv "$log" "$dir/meson-setup.log"
    printf '%s\n' "$stamp" >"$dir/.cmio-packages"
}

# Packages the build and the test suite need.
BUILD_PACKAGES=(meson ninja-build pkg-config gcc)
# The peers of the benchmarks (benches/): the test suite builds them too, so
# that their smoke tests run.
PEER_PACKAGES=(libev-dev libevent-dev libuv1-dev librust-mio-dev)
# cargo builds the mio peer from librust-mio-dev's crates, offline
# (benches/build-mio.sh): Debian's, unless one is on PATH already.
command -v cargo >/dev/null 2>&1 || PEER_PACKAGES+=(cargo)
# valgrind: the valgrind test setup (meson test --setup valgrind) exists
# only when meson found it at configure time; cmake: the CMake consumer test.
TEST_PACKAGES=(check g++ binutils valgrind cmake "${PEER_PACKAGES[@]}")
# The manual's render test (tests/meson.build: manual-render) runs groff.
TEST_PACKAGES+=(groff-base)
# What scripts/bench.sh measures with.
BENCH_PACKAGES=("${PEER_PACKAGES[@]}" valgrind strace)
# The libFuzzer targets (-Dfuzz=true, .ci/run): clang and its compiler-rt
# runtimes (libFuzzer, ASan, UBSan); on Debian 12 libclang-rt-dev pulls in
# clang 14's libclang-rt-14-dev.
FUZZ_PACKAGES=(clang libclang-rt-dev)
# Everything above (package_stamp watches these; cargo whether or not it is
# on PATH, so that the stamp stays the same once it is installed).
ALL_PACKAGES=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}" cargo)
