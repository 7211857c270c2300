#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds cmio and runs the demo:
# the echo server (examples/tcp_echo_server.c) on a free loopback port, driven
# by the load client (examples/tcp_client.c) for a bounded time; prints the
# round trips per second, then stops both.
#
#   scripts/demo.sh [CONNECTIONS=50] [SECONDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

connections=${1:-50}
seconds=${2:-3}
# check too: the build configures the tests by default (-Dtests=auto), and a
# missing Check library stops the configuration. The demo builds none of
# them, but leaves them configured for scripts/test.sh and meson test.
install_missing "${BUILD_PACKAGES[@]}" check
builddir=${BUILDDIR:-build}
setup_build "$builddir" -Dexamples=true
echo "building the echo server and the load client"
ninja -C "$builddir" examples/tcp_echo_server examples/tcp_client >/dev/null

out=$(mktemp)
"$builddir/examples/tcp_echo_server" 127.0.0.1:0 >"$out" &
server=$!
stop() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -f "$out"
}
trap stop EXIT
addr=
for _ in $(seq 100); do # up to 10 s for the server to say where it listens
    addr=$(sed -n 's/^Listening on //p' "$out")
    [ -n "$addr" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
[ -n "$addr" ] || { echo "demo: the echo server did not start" >&2; exit 1; }
echo "echo server listening on $addr (backend: ${CMIO_BACKEND:-default})"
echo "load client: $connections connections, 64-byte messages, ${seconds} s"
rc=0
"$builddir/examples/tcp_client" "$addr" "$connections" 100000000 "$seconds" 64 || rc=$?
stop
trap - EXIT
exit "$rc"
