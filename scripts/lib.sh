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
    echo "installing: ${missing[*]}"
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

# setup_build DIR [MESON-ARGS...]: configure DIR, reconfiguring if it exists.
setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

# Packages the build and the test suite need.
BUILD_PACKAGES=(meson ninja-build pkg-config gcc)
# The peers of the benchmarks (benches/): the test suite builds them too, so
# that their smoke tests run.
PEER_PACKAGES=(libev-dev libevent-dev libuv1-dev librust-mio-dev)
TEST_PACKAGES=(check g++ binutils "${PEER_PACKAGES[@]}")
# The manual's render test (tests/meson.build: manual-render) runs groff.
TEST_PACKAGES+=(groff-base)
# What scripts/bench.sh measures with.
BENCH_PACKAGES=("${PEER_PACKAGES[@]}" valgrind strace)
# The libFuzzer targets (-Dfuzz=true, .ci/run): clang and its compiler-rt
# runtimes (libFuzzer, ASan, UBSan); on Debian 12 libclang-rt-dev pulls in
# clang 14's libclang-rt-14-dev.
FUZZ_PACKAGES=(clang libclang-rt-dev)
