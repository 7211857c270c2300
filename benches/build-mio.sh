#!/usr/bin/env bash
# Builds the mio implementation of the benchmarks and the hand-written Rust
# epoll loop (benches/mio, a small Rust crate with two programs) into
# OUTDIR/bench-mio and OUTDIR/bench-epoll-rs, offline, from the crates
# Debian's librust-mio-dev package installs in /usr/share/cargo/registry.
#
#   benches/build-mio.sh OUTDIR
#
# The crate is copied into OUTDIR first and cargo's home, lock file and
# target directory all live there, so the source tree stays clean. Without
# cargo or Debian's mio 0.8 crate it prints "bench-mio: skipped: <reason>"
# and exits 0 without a binary. CARGO names another cargo to use.
#
# SPDX-License-Identifier: MIT
set -euo pipefail

registry=/usr/share/cargo/registry

skip() {
    echo "bench-mio: skipped: $*" >&2
    exit 0
}

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

src=$(cd "$(dirname "$0")/mio" && pwd)
cargo=${CARGO:-cargo}
command -v "$cargo" >/dev/null 2>&1 || skip "no cargo ($cargo)"
compgen -G "$registry/mio-0.8.*" >/dev/null || skip "no $registry/mio-0.8.* (Debian package librust-mio-dev)"
compgen -G "$registry/libc-0.2.*" >/dev/null || skip "no $registry/libc-0.2.* (Debian package librust-libc-dev)"

mkdir -p "$1"
out=$(cd "$1" && pwd)
work=$out/bench-mio.build

# A fresh copy of the crate; no lock file, so that it resolves against the
# registry's current crates with whatever cargo runs.
rm -rf "$work/crate"
mkdir -p "$work/crate" "$work/cargo-home"
cp "$src/Cargo.toml" "$work/crate/"
cp -R "$src/src" "$work/crate/"

# crates.io replaced by Debian's directory registry; a config file in
# CARGO_HOME rather than --config, which older cargos (Debian's among them)
# lack. Frame pointers as in the C binaries.
cat >"$work/cargo-home/config.toml" <<CONFIG
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "$registry"

[net]
offline = true

[build]
rustflags = ["-C", "force-frame-pointers=yes"]
CONFIG

CARGO_HOME=$work/cargo-home "$cargo" build --release --offline \
    --manifest-path "$work/crate/Cargo.toml" --target-dir "$work/target"
for bin in bench-mio bench-epoll-rs; do
    cp -f "$work/target/release/$bin" "$out/$bin"
    echo "bench-mio: built $out/$bin" >&2
done
