#!/bin/sh
# Compares the dynamic symbols a shared library defines with the functions its
# header marks CMIO_API. Usage: check-symbols.sh NM LIBRARY HEADER
set -eu
nm=$1 lib=$2 header=$3
tmp=${TMPDIR:-/tmp}/cmio-symbols.$$
trap 'rm -f "$tmp".*' EXIT
# A symbol version (cmio_x@@CMIO_0.2, src/cmio.map) is not part of the name.
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {sub(/@.*/, "", $3); print $3}' | sort -u > "$tmp".lib
# A CMIO_API declaration may wrap: take the identifier before the first '('.
awk '/^CMIO_API/ {decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl line;
                  sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n]}' "$header" | sort -u > "$tmp".hdr
if ! diff -u "$tmp".hdr "$tmp".lib; then
    echo "exported symbols differ from the CMIO_API functions of $header (- header, + library)" >&2
    exit 1
fi
echo "exported symbols: $(wc -l < "$tmp".lib), all cmio_* and all declared CMIO_API"
grep -v '^cmio_' "$tmp".lib && exit 1
exit 0
