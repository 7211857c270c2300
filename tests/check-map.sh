#!/bin/sh
# The symbol version map and the shared library agree (docs/abi.md): every
# symbol the library exports is listed in the map, every symbol the map
# lists is exported, and, where the library was linked with the map
# (VERSIONED=true), every export carries one of the map's versions.
# Usage: check-map.sh NM LIBRARY MAP VERSIONED
set -eu
nm=$1 lib=$2 map=$3 versioned=$4
tmp=${TMPDIR:-/tmp}/cmio-map.$$
trap 'rm -f "$tmp".*' EXIT
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u > "$tmp".raw
sed 's/@.*//' "$tmp".raw | sort -u > "$tmp".lib
# The map's symbols: "name;" lines inside a node, the "local: *;" left out;
# its nodes: "NAME {" lines.
sed 's,/\*.*\*/,,; s,^ *\*.*,,' "$map" | awk '/^[[:space:]]+[A-Za-z_][A-Za-z0-9_]*;/ {sub(/;.*/, ""); print $1}' |
    sort -u > "$tmp".map
sed -n 's/^\([A-Z][A-Z0-9_.]*\) *{.*/\1/p' "$map" | sort -u > "$tmp".nodes
[ -s "$tmp".map ] || { echo "no symbols found in $map" >&2; exit 1; }
if ! diff -u "$tmp".map "$tmp".lib; then
    echo "exported symbols differ from those listed in $map (- map, + library)" >&2
    exit 1
fi
if [ "$versioned" = true ]; then
    bad=0
    while read -r sym; do
        ver=${sym#*@}
        ver=${ver#@}
        if [ "$ver" = "$sym" ] || ! grep -qx "$ver" "$tmp".nodes; then
            echo "exported without one of the map's versions: $sym" >&2
            bad=1
        fi
    done < "$tmp".raw
    [ "$bad" -eq 0 ] || exit 1
    echo "symbol map: $(wc -l < "$tmp".map) symbols, all exported, all versioned ($(tr '\n' ' ' < "$tmp".nodes))"
else
    echo "symbol map: $(wc -l < "$tmp".map) symbols, all exported (the linker takes no version script: unversioned)"
fi
