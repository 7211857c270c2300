#!/usr/bin/env bash
# Builds the Debian packages libcmio0 and libcmio-dev from debian/ with
# `dpkg-buildpackage -us -uc` (on a copy of the tracked files, so that no
# build directory ends up in the source package), checks them with lintian
# (failing on warnings and errors) and checks their contents: a consumer
# compiled against the unpacked -dev package, through pkg-config and the
# static library, runs.
#
#   scripts/deb.sh
#
# Installs what is missing (Debian 12, as root). The packages, the source
# package and lintian's output are left in build-deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# git: the tracked files are listed with git ls-files.
install_missing "${BUILD_PACKAGES[@]}" dpkg-dev debhelper fakeroot lintian git
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
out=$PWD/build-deb
rm -rf "$out"
mkdir -p "$out/src/cmio-$version"
echo "copying the tracked files into $out/src/cmio-$version"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$out/src/cmio-$version"
echo "dpkg-buildpackage -us -uc (log: $out/build.log)"
(cd "$out/src/cmio-$version" && dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1 ||
    { tail -n 60 "$out/build.log" >&2; echo "deb.sh: dpkg-buildpackage failed" >&2; exit 1; }
changes=$(ls "$out"/src/cmio_"$version"_*.changes)
echo "lintian --fail-on warning $(basename "$changes")"
lintian --fail-on error,warning --info "$changes" | tee "$out/lintian.log"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$out/src/libcmio0_"$version"_"$arch".deb
dev=$out/src/libcmio-dev_"$version"_"$arch".deb
fail() { echo "deb.sh: $*" >&2; exit 1; }
lib_files=$(dpkg-deb -c "$lib")
dev_files=$(dpkg-deb -c "$dev")
grep -q " ./usr/lib/$multiarch/libcmio.so.0 " <<<"$lib_files" || fail "libcmio0 has no libcmio.so.0"
for f in usr/include/cmio.h "usr/lib/$multiarch/libcmio.a" "usr/lib/$multiarch/pkgconfig/cmio.pc" \
    "usr/lib/$multiarch/pkgconfig/cmio-static.pc" "usr/lib/$multiarch/cmake/cmio/cmioConfig.cmake"; do
    grep -q " ./$f" <<<"$dev_files" || fail "libcmio-dev has no $f"
done
root=$out/root
dpkg-deb -x "$lib" "$root"
dpkg-deb -x "$dev" "$root"
export PKG_CONFIG_PATH=$root/usr/lib/$multiarch/pkgconfig
pc="pkg-config --define-variable=prefix=$root/usr"
# shellcheck disable=SC2046
cc -std=c11 -o "$out/consumer" tests/consumers/consumer.c $($pc --cflags --libs cmio) -Wl,-rpath,"$root/usr/lib/$multiarch"
"$out/consumer"
# shellcheck disable=SC2046
cc -std=c11 -o "$out/consumer_static" tests/consumers/consumer.c $($pc --cflags --libs --static cmio-static)
"$out/consumer_static"
echo "deb.sh: $(basename "$lib") and $(basename "$dev") built, lintian-clean at the warning level, a consumer runs"
