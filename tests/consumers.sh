#!/bin/sh
# Builds and runs tests/consumers/consumer.c the ways a consumer project
# uses cmio (issue 13), in a temporary directory that is removed afterwards:
#
#   subproject-shared  cmio as a meson subproject, -Ddefault_library=shared:
#                      none of cmio's tests, examples or benchmarks in the
#                      consumer's build; libcmio.so installed with it
#   subproject-static  the same with default_library=static and
#                      -Dcmio:install=false: linked in, nothing of cmio
#                      installed
#   pkg-config         cmio installed (meson install --destdir): linked
#                      through cmio.pc (shared) and cmio-static.pc (static,
#                      no libcmio.so needed at run time)
#   cmake              cmio installed: find_package(cmio) with
#                      -DCMAKE_PREFIX_PATH, cmio::cmio and cmio::cmio_static
#
# Usage: consumers.sh MODE SOURCE-ROOT BUILD-ROOT PREFIX LIBDIR CC SANITIZE [EXTRA-PKG-CONFIG-PATH]
set -eu
mode=$1 src=$2 build=$3 prefix=$4 libdir=$5 cc=$6 sanitize=$7 extra_pc=${8:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmio-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The consumer links what this build made: the same sanitizer runtime.
flags=
[ "$sanitize" = none ] || flags="-fsanitize=$sanitize"
fail() { echo "consumers.sh $mode: $*" >&2; exit 1; }
needs_libcmio() { readelf -d "$1" | grep -q 'NEEDED.*libcmio'; }
# A kqueue-emulation build: libkqueue's library where the consumers run.
if [ -n "$extra_pc" ]; then
    LD_LIBRARY_PATH=$(dirname "$extra_pc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi
# The consumer's build must not run inside this test's meson environment.
unset MESON_SOURCE_ROOT MESON_BUILD_ROOT MESON_SUBDIR MESONINTROSPECT 2>/dev/null || true

install_cmio() { # into $tmp/dest$prefix
    meson install -C "$build" --no-rebuild --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "meson install failed"; }
    root=$tmp/dest$prefix
    case $libdir in /*) lib=$tmp/dest$libdir ;; *) lib=$root/$libdir ;; esac
}

case $mode in
subproject-shared | subproject-static)
    kind=${mode#subproject-}
    mkdir -p "$tmp/consumer/subprojects"
    cp "$src/tests/consumers/subproject/meson.build" "$src/tests/consumers/consumer.c" "$tmp/consumer/"
    ln -s "$src" "$tmp/consumer/subprojects/cmio"
    opts="-Ddefault_library=$kind"
    [ "$kind" = static ] && opts="$opts -Dcmio:install=false"
    [ "$sanitize" = none ] || opts="$opts -Db_sanitize=$sanitize -Db_lundef=false"
    # shellcheck disable=SC2086
    CC=$cc meson setup "$tmp/b" "$tmp/consumer" --force-fallback-for=cmio $opts >"$tmp/setup.log" 2>&1 ||
        { cat "$tmp/setup.log" >&2; fail "meson setup failed"; }
    ninja -C "$tmp/b" -j2 >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log" >&2; fail "build failed"; }
    # Only the consumer's own test and targets: none of cmio's.
    tests=$(meson test -C "$tmp/b" --no-rebuild --list 2>/dev/null | grep -v "^ninja" | tr -d " ")
    [ "$tests" = consumer ] || fail "the consumer's meson test lists: $tests"
    if meson introspect --targets "$tmp/b" | tr ',' '\n' | grep -E '"name": "(test_|bench|tcp_echo_server|fuzz_)' >&2; then
        fail "cmio's tests, examples or benchmarks are built in the consumer"
    fi
    meson test -C "$tmp/b" --print-errorlogs >"$tmp/test.log" 2>&1 || { cat "$tmp/test.log" >&2; fail "meson test failed"; }
    "$tmp/b/consumer"
    meson install -C "$tmp/b" --no-rebuild --destdir "$tmp/dest" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "meson install failed"; }
    find "$tmp/dest" -name consumer | grep -q . || fail "the consumer was not installed"
    installed=$(find "$tmp/dest" \( -name 'libcmio*' -o -name cmio.h -o -name 'cmio*.pc' -o -name 'cmioConfig*' \) | sort)
    if [ "$kind" = static ]; then
        needs_libcmio "$tmp/b/consumer" && fail "the static consumer needs libcmio.so"
        [ -z "$installed" ] || fail "-Dcmio:install=false installed: $installed"
        [ ! -e "$tmp/dest$prefix/share/doc/cmio" ] || fail "-Dcmio:install=false installed the documents"
    else
        needs_libcmio "$tmp/b/consumer" || fail "the shared consumer does not link libcmio.so"
        echo "$installed" | grep -q 'libcmio\.so\.0$' || fail "libcmio.so.0 not installed: $installed"
        echo "$installed" | grep -q 'libcmio\.a$' && fail "default_library=shared installed libcmio.a"
    fi
    echo "consumers.sh $mode: ok"
    ;;
pkg-config)
    install_cmio
    PKG_CONFIG_PATH=$lib/pkgconfig${extra_pc:+:$extra_pc}
    export PKG_CONFIG_PATH
    pc="pkg-config --define-variable=prefix=$root"
    # shellcheck disable=SC2046
    $cc -std=c11 $flags -o "$tmp/consumer_shared" "$src/tests/consumers/consumer.c" $($pc --cflags --libs cmio)
    needs_libcmio "$tmp/consumer_shared" || fail "cmio.pc did not link libcmio.so"
    LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/consumer_shared"
    static_libs=$($pc --static --libs cmio-static)
    echo "pkg-config --static --libs cmio-static: $static_libs"
    # shellcheck disable=SC2086
    $cc -std=c11 $flags -o "$tmp/consumer_static" "$src/tests/consumers/consumer.c" $($pc --cflags cmio-static) $static_libs
    needs_libcmio "$tmp/consumer_static" && fail "cmio-static.pc linked libcmio.so"
    # It runs without the shared library anywhere it could be found.
    rm -f "$lib"/libcmio.so*
    "$tmp/consumer_static"
    echo "consumers.sh $mode: ok"
    ;;
cmake)
    install_cmio
    mkdir "$tmp/consumer"
    cp "$src/tests/consumers/cmake/CMakeLists.txt" "$src/tests/consumers/consumer.c" "$tmp/consumer/"
    cmake -S "$tmp/consumer" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$tmp/cmake.log" 2>&1 ||
        { cat "$tmp/cmake.log" >&2; fail "cmake configure failed"; }
    cmake --build "$tmp/b" -j 2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "cmake build failed"; }
    needs_libcmio "$tmp/b/consumer" || fail "cmio::cmio is not the shared library"
    LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/b/consumer"
    [ -x "$tmp/b/consumer_static" ] || fail "no cmio::cmio_static target"
    needs_libcmio "$tmp/b/consumer_static" && fail "cmio::cmio_static linked libcmio.so"
    "$tmp/b/consumer_static"
    # The version file refuses another major or (0.x) minor version.
    printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(cmio 0.1 REQUIRED)\n' >"$tmp/consumer/CMakeLists.txt"
    if cmake -S "$tmp/consumer" -B "$tmp/b2" -DCMAKE_PREFIX_PATH="$root" >"$tmp/cmake2.log" 2>&1; then
        fail "find_package(cmio 0.1) accepted version 0.2"
    fi
    echo "consumers.sh $mode: ok"
    ;;
*) fail "unknown mode" ;;
esac
