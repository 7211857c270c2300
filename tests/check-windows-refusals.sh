#!/bin/sh
# The APIs that answer -ENOTSUP on Windows (Unix datagrams, pipes,
# descriptor passing, signals, socket pairs, abstract names) are checked
# there function by function by tests/test_windows.c's table of refusals:
# this compares that table's names with the header's CMIO_API functions of
# those APIs, so that a function added to the header without its check
# fails. Usage: check-windows-refusals.sh HEADER TEST_SOURCE
set -eu
header=$1 source=$2
tmp=${TMPDIR:-/tmp}/cmio-refusals.$$
trap 'rm -f "$tmp".*' EXIT
# A CMIO_API declaration may wrap: take the identifier before the first '('.
awk '/^CMIO_API/ {decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl line;
                  sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n]}' "$header" |
    grep -E '^cmio_(unix_datagram|pipe|signals)_|_(send|recv)_fds$|^cmio_unix_stream_pair$|^cmio_sockaddr_from_abstract$' |
    sort -u > "$tmp".hdr
# The table's rows: REFUSAL(cmio_name).
sed -n 's/^ *REFUSAL(\(cmio_[a-z0-9_]*\),.*/\1/p' "$source" | sort -u > "$tmp".tab
if ! diff -u "$tmp".hdr "$tmp".tab; then
    echo "the refusals of $source differ from the header's functions (- header only, + table only)" >&2
    exit 1
fi
echo "refusals checked on Windows: $(wc -l < "$tmp".tab) functions, every one the header has"
