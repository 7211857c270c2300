#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds the benchmarks of
# benches/ in release mode and compares cmio with the hand-written epoll loop
# and the peers found (libev, libevent, libuv, Rust's mio), side by side in
# one run. docs/benchmarks.md describes the workloads.
#
#   scripts/bench.sh [time]       wall time: every row run REPS times (default
#                                 9), implementations interleaved (A B C A B
#                                 C ...); median, spread, ratio to epoll
#   scripts/bench.sh instructions user-space instructions per unit of work,
#                                 counted by callgrind inside the measured part
#   scripts/bench.sh syscalls     system calls per unit of work (strace -c), the
#                                 difference between a run and one twice as long
#   scripts/bench.sh report       runs the modes whose results are missing (both
#                                 kinds of rows, whatever KINDS says), then
#                                 writes docs/benchmarks.md and its chart
#   scripts/bench.sh all          the three modes, then the report
#
# Two kinds of rows (docs/benchmarks.md): "user", each library doing its I/O
# the way its users write it, every figure over the C epoll loop's; and
# "event", the event path only (io=raw: every implementation, mio included,
# does its I/O with raw read(2)/write(2)), every figure over its own
# language's hand-written epoll loop: the C one (epoll) for cmio, libev,
# libevent and libuv, the Rust one (epoll-rs) for mio.
#
# Environment: REPS (default 9), BUILDDIR (default build-bench), IMPLS (a
# space-separated subset, e.g. "epoll cmio libev"), KINDS (the kinds of rows
# to run, default "user event"), QUICK=1 for tiny counts (a check of the
# script itself, not a measurement: its report goes to $BUILDDIR/benchmarks.md
# and its chart beside it, never to docs/). Results are kept in $BUILDDIR/results/
# as tab-separated files (MODE.tsv for the user rows, MODE-event.tsv for the
# event-path rows).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

mode=${1:-time}
case $mode in
time | instructions | syscalls | report | all) ;;
*)
    echo "usage: scripts/bench.sh [time|instructions|syscalls|report|all]" >&2
    exit 2
    ;;
esac

builddir=${BUILDDIR:-build-bench}
reps=${REPS:-9}
results=$builddir/results
bench=$builddir/benches

# ---- install and build ------------------------------------------------------

prepare() {
    install_missing "${BUILD_PACKAGES[@]}" "${BENCH_PACKAGES[@]}" # cargo among them where missing
    echo "== building the benchmarks in $builddir (release)" >&2
    setup_build "$builddir" --buildtype=release -Dtests=disabled -Dbenches=true
    ninja -C "$builddir" >/dev/null
    mkdir -p "$results"
}

# The implementations, in table order: the floor first, then cmio (also on
# its poll(2) backend where built), then the peers that were found; in the
# event-path rows the Rust loop (epoll-rs) comes before mio, its floor.
# impls is the current kind's list (use_kind).
impls=()
found=()
find_impls() {
    local want=${IMPLS:-epoll cmio cmio-poll libev libevent libuv epoll-rs mio} name
    for name in $want; do
        case $name in
        cmio-poll)
            [ -x "$bench/bench-cmio" ] &&
                CMIO_BACKEND=poll "$bench/bench-cmio" wake wakes=1 >/dev/null 2>&1 &&
                found+=("$name")
            ;;
        *) [ -x "$bench/bench-$name" ] && found+=("$name") ;;
        esac
    done
    echo "== implementations: ${found[*]}" >&2
}

# The kinds of rows to run, in order.
kinds=()
for kind in ${KINDS:-user event}; do
    case $kind in
    user | event) kinds+=("$kind") ;;
    *)
        echo "KINDS: user and/or event, not $kind" >&2
        exit 2
        ;;
    esac
done

# use_kind KIND: the current kind. Sets impls (the user rows leave the Rust
# loop out: it has no I/O of its own to compare), sfx (the results files'
# suffix), io (the argument every run gets), floors (the implementations
# whose floor is not the C loop, as impl=floor pairs) and base (the ratio
# columns' title).
kind=user sfx="" io="" floors="" base=/epoll
use_kind() {
    kind=$1
    impls=()
    local name
    for name in "${found[@]}"; do
        [ "$kind" = user ] && [ "$name" = epoll-rs ] && continue
        impls+=("$name")
    done
    if [ "$kind" = user ]; then
        sfx="" io="" floors="" base=/epoll
    else
        sfx=-event io=io=raw floors=mio=epoll-rs base=/floor
    fi
}

# floor_of IMPL: the implementation whose figures IMPL's are divided by.
floor_of() {
    local pair
    for pair in $floors; do
        [ "${pair%%=*}" = "$1" ] && {
            echo "${pair#*=}"
            return
        }
    done
    echo epoll
}

# run IMPL ARGS...: one benchmark line on stdout.
run() { run_under "$1" -- "${@:2}"; }

# The rows: a label and the workload's arguments. Counts are sized for about
# a second a run on a small machine; under callgrind and strace, smaller.
rows() {
    local m=$1 ev=50000 rt1=5000 rt=30000 rounds=20 wakes=5000 tm=10000 tmbig=100000 msgs=200000 fr=1000000
    if [ "$m" != time ]; then
        ev=20000 rt1=2000 rt=10000 rounds=5 wakes=2000 msgs=50000
    fi
    if [ -n "${QUICK:-}" ]; then
        ev=2000 rt1=200 rt=1000 rounds=2 wakes=200 tm=200 tmbig=400 msgs=2000 fr=20000
    fi
    # 10000 pairs take 20000 descriptors and a few: where the hard limit is
    # lower (some containers), the largest thousand that fits.
    local n a big=10000 hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ $((2 * big + 100)) -gt "$hard" ]; then
        big=$(((hard - 100) / 2000 * 1000))
        echo "note: descriptor limit $hard: the largest pingpong row has $big pairs" >&2
    fi
    for n in 100 1000 $big; do
        for a in 1 100; do
            printf 'pingpong-%sx%s\tpingpong pairs=%s active=%s events=%s\n' "$n" "$a" "$n" "$a" "$ev"
        done
    done
    printf 'echo-1\techo conns=1 round_trips=%s\n' "$rt1"
    printf 'echo-50\techo conns=50 round_trips=%s\n' "$rt"
    printf 'echo-500\techo conns=500 round_trips=%s\n' "$rt"
    printf 'churn-1000\tchurn fds=1000 rounds=%s\n' "$rounds"
    printf 'wake\twake wakes=%s\n' "$wakes"
    printf 'timers-10k\ttimers timers=%s max_ms=100\n' "$tm"
    printf 'timers-100k\ttimers timers=%s max_ms=200\n' "$tmbig"
    printf 'channel-1\tchannel producers=1 messages=%s\n' "$msgs"
    printf 'channel-4\tchannel producers=4 messages=%s\n' "$msgs"
    # The multi-reactor echo (issue 12): 1 and 2 reactor threads, each with
    # its own loop and SO_REUSEPORT listener. Not under strace: without -f it
    # would count one reactor, with -f the load client too.
    if [ "$m" != syscalls ]; then
        printf 'mecho-1t\tmulti_echo threads=1 conns=50 round_trips=%s\n' "$rt"
        printf 'mecho-2t\tmulti_echo threads=2 conns=50 round_trips=%s\n' "$rt"
    fi
    # Framing (issue 12): cmio and the epoll file's hand-written reader.
    printf 'frames-16\tframes frames=%s size=16\n' "$fr"
}

# skipped LINE: the implementation has no such workload (mio has no timers).
skipped() { [[ $1 == *" skipped: "* ]]; }

# The implementations that have the channel workload (the others have no
# message queue of their own: bench-libev and bench-libevent say so, the
# Rust binaries do not know the workload).
channel_impls=" epoll cmio cmio-poll libuv "

# left_out IMPL ARGS: whether a row is left out for an implementation. The
# poll(2) backend is O(registered descriptors) per poll: on the 9000-pair
# rows a run takes minutes, so cmio-poll runs the smaller rows only. The
# channel rows run for channel_impls only.
left_out() {
    case $2 in
    channel*) [[ $channel_impls != *" $1 "* ]] && return 0 ;;
    esac
    [ "$1" = cmio-poll ] && [ "$(sed -n 's/.*pairs=\([0-9]*\).*/\1/p' <<<"$2")" -gt 1000 ] 2>/dev/null
}

# field LINE KEY: the value of key=value in a benchmark line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# ---- time -------------------------------------------------------------------

# medians COLUMN: reads "impl value extra" lines; prints "impl median spread"
# for that column, spread being (max - min) / median in percent.
medians() {
    awk -v c="$1" '{ print $1, $c }' | sort -k1,1 -k2,2g | awk '
        function flush() { if (n) printf "%s %.6g %.6g\n", k, (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2), a[n] - a[1] }
        $1 != k { flush(); k = $1; n = 0 }
        { a[++n] = $2 }
        END { flush() }' | awk '{ printf "%s %.6g %.1f\n", $1, $2, $2 ? $3 / $2 * 100 : 0 }'
}

# stats: reads "impl value extra" lines; prints per impl its median, spread,
# ratio of medians to its floor's (epoll's, or the one floors names), and the
# extra figure's median and ratio.
stats() {
    local samples
    samples=$(cat)
    join <(medians 2 <<<"$samples") <(medians 3 <<<"$samples") | awk -v floors="$floors" '
        BEGIN { k = split(floors, fl, " "); for (j = 1; j <= k; j++) { split(fl[j], kv, "="); f[kv[1]] = kv[2] } }
        { m[$1] = $2; s[$1] = $3; e[$1] = $4; order[++n] = $1 }
        END {
            for (j = 1; j <= n; j++) {
                i = order[j]
                b = (i in f) ? f[i] : "epoll"
                printf "%s\t%.1f\t%.1f\t%.3f\t%.1f\t%.3f\n", i, m[i], s[i],
                    m[b] ? m[i] / m[b] : 0, e[i], e[b] ? e[i] / e[b] : 0
            }
        }'
}

# table TITLE UNIT EXTRA-NAME < stats: prints one row's table in impls order.
table() {
    local title=$1 unit=$2 extra=$3 data impl
    data=$(cat)
    printf '\n%s (%s, %s runs each)\n' "$title" "$unit" "$reps"
    printf '  %-10s %14s %8s %9s %16s %9s\n' impl median spread "$base" "$extra" "$base"
    for impl in "${impls[@]}"; do
        awk -F'\t' -v i="$impl" '$1 == i { printf "  %-10s %14s %7s%% %9s %16s %9s\n", $1, $2, $3, $4, $5, $6 }' <<<"$data"
    done
}

mode_time() {
    local out=$results/time$sfx.tsv label args line impl r unit extra
    : >"$out"
    while IFS=$'\t' read -r label args; do
        local samples=""
        for ((r = 1; r <= reps; r++)); do
            printf '\r  %-16s run %d/%d' "$label" "$r" "$reps" >&2
            for impl in "${impls[@]}"; do
                left_out "$impl" "$args" && continue
                # shellcheck disable=SC2086
                line=$(run "$impl" $args $io) || {
                    echo "bench-$impl failed: $args" >&2
                    exit 1
                }
                skipped "$line" && continue
                unit=$(field "$line" unit)
                extra=$(field "$line" setup_ns_per_fd)
                [ -n "$extra" ] || extra=$(field "$line" cpu_ns_per_round_trip)
                [ -n "$extra" ] || extra=$(field "$line" late_p99_us)
                samples+="$impl $(field "$line" value) ${extra:-0}"$'\n'
            done
        done
        printf '\r%*s\r' 40 '' >&2
        local extra_name=-
        case $label in
        pingpong*) extra_name=setup-ns/fd ;;
        echo* | mecho*) extra_name=cpu-ns/rt ;;
        timers*) extra_name=late-p99-us ;;
        esac
        local s
        s=$(printf '%s' "$samples" | stats)
        table "$label${io:+ (event path)}" "$unit" "$extra_name" <<<"$s"
        awk -v l="$label" -v u="$unit" -v x="$extra_name" '{ print l "\t" u "\t" x "\t" $0 }' <<<"$s" >>"$out"
    done < <(rows time)
}

# ---- instructions -----------------------------------------------------------

mode_instructions() {
    install_missing valgrind
    local out=$results/instructions$sfx.tsv label args impl line work total cg
    cg=$(mktemp)
    : >"$out"
    printf '\n%suser-space instructions per unit of work, inside the measured part (callgrind)\n' \
        "${io:+event path: }"
    printf '  %-16s' row
    printf ' %12s' "${impls[@]}"
    if [ "$kind" = user ]; then
        printf '   cmio/epoll\n'
    else
        printf '   cmio-epoll (ratio)  mio-epoll-rs (ratio)\n'
    fi
    while IFS=$'\t' read -r label args; do
        printf '  %-16s' "$label"
        declare -A per=()
        for impl in "${impls[@]}"; do
            if left_out "$impl" "$args"; then
                printf ' %12s' -
                continue
            fi
            # The rows whose count depends on timing (echo and mecho a little
            # even in lockstep, wake, channel): the median of three runs.
            local tries=1 try figures=() skip=
            case $label in echo-* | mecho-* | wake | channel-*) tries=3 ;; esac
            for ((try = 0; try < tries; try++)); do
                # shellcheck disable=SC2086
                line=$(run_under "$impl" valgrind --tool=callgrind --collect-atstart=no \
                    --toggle-collect='bench_measured_*' --callgrind-out-file="$cg" -- $args $io 2>/dev/null) || {
                    echo "bench-$impl failed under callgrind: $args" >&2
                    exit 1
                }
                if skipped "$line"; then
                    skip=1
                    break
                fi
                work=$(field "$line" work)
                total=$(awk '/^totals:/ { print $2 }' "$cg")
                figures+=("$(awk -v t="$total" -v w="$work" 'BEGIN { printf "%.1f", t / w }')")
            done
            if [ -n "$skip" ]; then
                printf ' %12s' -
                continue
            fi
            per[$impl]=$(printf '%s\n' "${figures[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
            printf ' %12s' "${per[$impl]}"
            printf '%s\t%s\t%s\n' "$label" "$impl" "${per[$impl]}" >>"$out"
        done
        if [ "$kind" = event ]; then
            overhead "${per[cmio]:-}" "${per[epoll]:-}"
            overhead "${per[mio]:-}" "${per[epoll-rs]:-}"
            printf '\n'
        elif [ -n "${per[epoll]:-}" ] && [ -n "${per[cmio]:-}" ]; then
            awk -v c="${per[cmio]}" -v e="${per[epoll]}" 'BEGIN { printf "   %.3f\n", c / e }'
        else
            printf '\n'
        fi
        unset per
    done < <(rows instructions)
    rm -f "$cg"
}

# overhead FIGURE FLOOR: "   +difference (ratio)", or "   -" without both.
overhead() {
    if [ -n "$1" ] && [ -n "$2" ]; then
        awk -v v="$1" -v b="$2" 'BEGIN { printf "   %+10.1f (%.3f)", v - b, b ? v / b : 0 }'
    else
        printf '   %19s' -
    fi
}

# run_under IMPL [TOOL TOOL-ARGS...] -- BENCH-ARGS...: the benchmark, under a
# tool if one is given.
run_under() {
    local impl=$1 tool=() exe env=()
    shift
    while [ "$1" != -- ]; do
        tool+=("$1")
        shift
    done
    shift
    case $impl in
    cmio-poll) env=(CMIO_BACKEND=poll) exe=$bench/bench-cmio ;;
    cmio) env=(CMIO_BACKEND=epoll) exe=$bench/bench-cmio ;;
    *) exe=$bench/bench-$impl ;;
    esac
    # Under callgrind or strace the echo load client goes in lockstep
    # (examples/tcp_client.c), so that a slowed server does the same work
    # per round trip in every run.
    [ ${#tool[@]} -eq 0 ] || env+=(CMIO_CLIENT_LOCKSTEP=1)
    env "${env[@]}" "${tool[@]}" "$exe" "$@"
}

# ---- system calls -----------------------------------------------------------

# calls FILE: "name count" per system call in an strace -c summary.
calls() { awk 'NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$1"; }

mode_syscalls() {
    install_missing strace
    local out=$results/syscalls$sfx.tsv label args impl line work s1 s2 follow
    s1=$(mktemp)
    s2=$(mktemp)
    : >"$out"
    printf '\n%ssystem calls per unit of work (strace -c: a run twice as long minus a run)\n' \
        "${io:+event path: }"
    while IFS=$'\t' read -r label args; do
        printf '\n%s\n' "$label"
        declare -A sys=()
        # Only the wake and channel workloads have other threads (the
        # channel's wake writes are the producers'); the echo client is a
        # child process and must not be counted.
        follow=()
        case ${label%%-*} in wake | channel) follow=(-f) ;; esac
        local doubled
        doubled=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(events|round_trips|rounds|wakes|timers|messages|frames)=/) { split($i, kv, "="); $i = kv[1] "=" kv[2] * 2 } print }' <<<"$args")
        for impl in "${impls[@]}"; do
            left_out "$impl" "$args" && continue
            # shellcheck disable=SC2086
            line=$(run_under "$impl" strace -c "${follow[@]}" -o "$s1" -- $args $io) &&
                run_under "$impl" strace -c "${follow[@]}" -o "$s2" -- $doubled $io >/dev/null || {
                echo "bench-$impl failed under strace: $args" >&2
                exit 1
            }
            skipped "$line" && continue
            work=$(field "$line" work)
            local per detail
            per=$(join -a2 -e 0 -o 0,1.2,2.2 <(calls "$s1" | sort) <(calls "$s2" | sort) |
                awk -v w="$work" '{ d = ($3 - $2) / w; if (d > 0.005 || d < -0.005) printf "%s=%.2f ", $1, d; t += d; if ($1 != "futex") nf += d }
                    END { printf "\t%.2f\t%.2f", t, nf }')
            detail=${per%%$'\t'*}
            local total=${per#*$'\t'}
            sys[$impl]=${total%%$'\t'*}
            local vs=""
            if [ "$kind" = event ] && [ -n "${sys[$(floor_of "$impl")]:-}" ]; then
                vs=$(awk -v v="${sys[$impl]}" -v b="${sys[$(floor_of "$impl")]}" 'BEGIN { printf " (%s %.2f)", "'"$base"'", b ? v / b : 0 }')
            fi
            printf '  %-10s %8s total%s %8s without futex   %s\n' "$impl" "${total%%$'\t'*}" "$vs" "${total#*$'\t'}" "$detail"
            printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$impl" "${total%%$'\t'*}" "${total#*$'\t'}" "$detail" >>"$out"
        done
        unset sys
    done < <(rows syscalls)
    rm -f "$s1" "$s2"
}

# ---- report -----------------------------------------------------------------

# pivot FILE ROW-COLUMN IMPL-COLUMN VALUE-COLUMN: a tab-separated matrix, one
# line per row and one column per implementation (impls order, "-" where
# none), with a header line "row impl...".
pivot() {
    awk -F'\t' -v rc="$2" -v ic="$3" -v vc="$4" -v impls="${impls[*]}" '
        { v[$rc, $ic] = $vc; if (!($rc in seen)) { seen[$rc] = 1; rows[++n] = $rc } }
        END {
            k = split(impls, im, " ")
            line = "row"
            for (i = 1; i <= k; i++) line = line "\t" im[i]
            print line
            for (r = 1; r <= n; r++) {
                line = rows[r]
                for (i = 1; i <= k; i++) line = line "\t" ((rows[r], im[i]) in v ? v[rows[r], im[i]] : "-")
                print line
            }
        }' "$1"
}

# ratios: pivot's output with every figure divided by the epoll column's.
ratios() {
    awk -F'\t' -v OFS='\t' '
        NR == 1 { for (i = 2; i <= NF; i++) if ($i == "epoll") base = i; print; next }
        { b = $base; for (i = 2; i <= NF; i++) $i = ($i == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.3f", $i / b); print }'
}

# The awk that reads floors into f[impl] = floor.
floors_awk='BEGIN { k = split(floors, fl, " "); for (j = 1; j <= k; j++) { split(fl[j], kv, "="); f[kv[1]] = kv[2] } }'

# md_table [with-ratios]: pivot's output as a markdown table; with an
# argument, each figure is followed by its ratio to its floor's (epoll's,
# or the one floors names).
md_table() {
    awk -F'\t' -v ratio="${1:-}" -v floors="$floors" "$floors_awk"'
        NR == 1 {
            for (i = 2; i <= NF; i++) col[$i] = i
            for (i = 2; i <= NF; i++) base[i] = col[($i in f) ? f[$i] : "epoll"]
            line = "|"; sep = "|"
            for (i = 1; i <= NF; i++) { line = line " " $i " |"; sep = sep (i == 1 ? "---|" : "---:|") }
            print line; print sep; next
        }
        {
            line = "| " $1 " |"
            for (i = 2; i <= NF; i++) {
                cell = $i; b = base[i]
                if (ratio && b && $i != "-" && $b != "-" && $b + 0 != 0)
                    cell = sprintf("%s (%.2f)", $i, $i / $b)
                line = line " " cell " |"
            }
            print line
        }'
}

# md_overhead DIGITS: pivot's output as a markdown table of each library's
# overhead over its floor (figure minus floor's, and in parentheses figure
# over floor's), the floors left out; a last column says whether cmio's
# overhead is no more than mio's.
md_overhead() {
    awk -F'\t' -v d="$1" -v floors="$floors" "$floors_awk"'
        NR == 1 {
            isfloor["epoll"] = 1
            for (j in f) isfloor[f[j]] = 1
            for (i = 2; i <= NF; i++) col[$i] = i
            line = "| row |"; sep = "|---|"; n = 0
            for (i = 2; i <= NF; i++) {
                if ($i in isfloor) continue
                b = col[($i in f) ? f[$i] : "epoll"]
                if (!b) continue
                use[++n] = i; base[i] = b; name[i] = $i
                line = line " " $i " |"; sep = sep "---:|"
            }
            both = ("cmio" in col) && ("mio" in col)
            if (both) { line = line " cmio <= mio |"; sep = sep ":---:|" }
            print line; print sep; next
        }
        {
            line = "| " $1 " |"
            delete over
            for (j = 1; j <= n; j++) {
                i = use[j]; b = base[i]; cell = "-"
                if ($i != "-" && $b != "-" && $b + 0 != 0) {
                    over[name[i]] = $i - $b
                    cell = sprintf("%+." d "f (%.2f)", $i - $b, $i / $b)
                }
                line = line " " cell " |"
            }
            if (both)
                line = line " " (("cmio" in over) && ("mio" in over) ? (over["cmio"] <= over["mio"] ? "yes" : "no") : "-") " |"
            print line
        }'
}

mode_report() {
    local mode_name k
    for k in user event; do
        use_kind "$k"
        for mode_name in time instructions syscalls; do
            [ -s "$results/$mode_name$sfx.tsv" ] || "mode_$mode_name"
        done
    done
    use_kind user
    install_missing gnuplot-nox
    local doc=docs/benchmarks.md chart=docs/benchmarks.png
    # QUICK=1 figures are toys: never over the committed page (issue 13).
    if [ -n "${QUICK:-}" ]; then
        doc=$builddir/benchmarks.md chart=$builddir/benchmarks.png
    fi
    echo "== writing $doc and $chart" >&2

    # The chart: each implementation's figure over epoll's, per row, for
    # instructions and for wall time. time.tsv: row unit extra-name impl
    # median spread ratio extra extra-ratio.
    local ins tim k=${#impls[@]}
    ins=$(mktemp)
    tim=$(mktemp)
    pivot "$results/instructions.tsv" 1 2 3 | ratios >"$ins"
    pivot "$results/time.tsv" 1 4 5 | ratios >"$tim"
    gnuplot <<GNUPLOT
set terminal pngcairo size 1400,1000 font ",10"
set output "$chart"
set multiplot layout 2,1 title "cmio and its peers: each figure over the hand-written epoll loop's"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set datafile separator "\t"
set datafile missing "-"
set xtics rotate by -25 noenhanced
set grid ytics
set key outside right noenhanced
# Log scale: the poll(2) backend's figures are hundreds of times the others'.
set logscale y 10
set yrange [0.25:*]
set ytics (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
set title "user-space instructions per unit of work (callgrind), log scale: lower is better"
plot for [i=2:$((k + 1))] "$ins" using i:xtic(1) title columnhead(i)
set title "wall time, median of $reps, log scale (echo: round trips per second, higher is better; others: lower is better)"
plot for [i=2:$((k + 1))] "$tim" using i:xtic(1) title columnhead(i)
unset multiplot
GNUPLOT
    rm -f "$ins" "$tim"

    local cpu os kernel cc_version peers
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
    kernel=$(uname -r | sed "s/-.*//") # the version, not the build's local name
    cc_version=$(cc --version | head -1)
    peers=$(dpkg-query -W -f='${Package} ${Version}, ' libev-dev libevent-dev libuv1-dev librust-mio-dev 2>/dev/null | sed 's/, $//')
    {
        cat <<MD
# Benchmarks

cmio against the floor a readiness library can reach (a hand-written,
edge-triggered epoll loop) and its peers: libev, libevent, libuv and Rust's
mio, each doing the same work on the same machine in one run. This page is
written by \`scripts/bench.sh report\`; do not edit it by hand.

## How to run

\`\`\`sh
scripts/bench.sh               # wall time, implementations interleaved, REPS=9 runs each
scripts/bench.sh instructions  # user-space instructions per unit (callgrind)
scripts/bench.sh syscalls      # system calls per unit (strace -c)
scripts/bench.sh report        # this page and its chart (runs what is missing)
scripts/bench.sh all           # all of the above, afresh
KINDS=event scripts/bench.sh instructions  # the event-path rows only (KINDS=user: the others)
\`\`\`

Each installs what it needs (as root), builds \`benches/\` in release mode in
\`build-bench/\` and prints a table per workload while it runs.
\`IMPLS="epoll cmio libev"\` picks implementations; \`cmio\` runs on its epoll
backend and \`cmio-poll\` on its poll(2) backend where that is built (the
script sets \`CMIO_BACKEND\`).

## The workloads

Every implementation is built from the same harness (\`benches/bench.c\`),
which makes the descriptors, times the measured part, checks that the work
was done and prints one line; only the event loop differs
(\`benches/bench_<impl>.c\`, \`benches/mio/\`).

- **pingpong** (libev's benchmark): N socketpairs, A one-byte messages in
  flight. Each readiness event reads what is there and forwards each byte
  on its own into the pair a fixed-seed PRNG picks (the same sequence
  everywhere), for a fixed number of events; ns per event. Forwarding byte
  by byte keeps the A messages apart (two that meet in a socket leave it
  for two pairs), so about A pairs are readable at every poll: with
  A = 100 a poll returns some 95 events, with A = 1 one. \`setup\` is the
  time to register the N descriptors, per descriptor.
- **echo**: a single-threaded TCP echo server on 127.0.0.1, driven by one
  shared load client (\`examples/tcp_client.c\`) with C connections, one
  64-byte message in flight on each, for a fixed number of round trips; round
  trips per second (seen by the client) and the server's CPU time per round
  trip.
- **multi_echo** (\`mecho-1t\`, \`mecho-2t\`): the same echo served by 1 or 2
  reactor threads, each with its own loop (cmio: a \`cmio_loop\`; epoll: an
  epoll descriptor; libevent: an \`event_base\`; libuv: a \`uv_loop_t\`)
  over its own listener, all bound to one port with \`SO_REUSEPORT\` so that
  the kernel spreads the 50 connections; the reactor that closes the last
  connection wakes the others (\`cmio_loop_shutdown\`, an eventfd,
  \`uv_async_send\`). The load client is one thread too, so on a machine
  with few cores two reactors compete with it for the CPU and can be
  slower than one; libev and mio are left out (not written yet), and the
  row is not run under strace (it would count one thread, or the client).
- **churn**: register, reregister and deregister 1000 pipe descriptors,
  running the loop once without waiting after each phase (lazy libraries
  apply their changes there); ns per operation.
- **wake**: another thread wakes the blocked loop, then waits on a
  semaphore until the loop has seen the wake; ns per round trip.
- **timers**: arm N timers (10,000, 100,000) with deadlines of 1 to 100 (200)
  ms from the PRNG, cancel every other one, wait until the rest have
  expired; per timer (one arm and one cancel or expiry): CPU ns, and the
  lateness of the expiries due after the arming pass (p99 in the tables;
  the line also gives the median, the maximum and how many came before
  their deadline). The floor (\`epoll\`) is a hand-written binary heap over
  one timerfd; libev's \`ev_timer\` and libuv's \`uv_timer_t\` keep
  the loop's time in a cached clock (libuv's in whole milliseconds), so
  some of their expiries come before the deadline; libevent and mio are
  left out (mio has no timers).
- **frames**: in one thread, a writer queues N frames of 16 bytes behind a
  4-byte big-endian length (a 64 KiB queue), writes them through a
  socketpair, and a reader decodes them, until every frame is decoded and
  checksummed; frames per second (instructions per frame under callgrind).
  cmio's \`cmio_frame_writer\` and \`cmio_frame_reader\` against a
  hand-written writer and reader in the epoll file; the other libraries
  have no framing and are left out.

- **channel**: P producer threads (1 and 4) send numbered 16-byte messages
  into one channel of 1024 that wakes the loop, yielding and retrying
  while it is full; the loop, on the channel's event, receives until it is
  empty and checks each producer's order; ns per message. cmio uses
  \`cmio_channel\` (no lock; a wake only when the receiver found it empty);
  the epoll loop a ring under a mutex with an eventfd written on the same
  rule; libuv a ring under a \`uv_mutex_t\` with \`uv_async_send\` after
  every message (it coalesces by itself). libev, libevent and mio have no
  queue of their own and are left out ("-"). Timing decides how many
  messages a wake carries, so wall time and system calls per message vary
  from run to run; the benchmark line also gives the loop's events.

Triggering: cmio, epoll, libevent (\`EV_ET\`) and mio are edge-triggered and
read until \`EAGAIN\` in echo; libev and libuv (\`uv_poll_t\`) are
level-triggered and read once per event. pingpong reads once everywhere: one
read of 256 bytes drains a pair, since at most A <= 256 bytes are in flight;
but cmio on its poll(2) backend (\`cmio-poll\`) then reads once more, to the
\`-EAGAIN\` that re-arms the pair there (emulated edges). The poll(2)
backend scans every registered descriptor at each poll, so \`cmio-poll\`
runs the rows of up to 1000 pairs only ("-" in the tables).
cmio does its I/O through its socket types (\`cmio_unix_stream_read\`,
\`cmio_tcp_stream_write\`, ...), mio through its own; the C peers call
read(2) and write(2) on the descriptor, having no I/O of their own in
readiness mode.

## Two kinds of rows

- **As users write it** (the first tables): each library does its I/O its
  own way, as above, and every figure is compared with the hand-written C
  epoll loop's. This is what a program built on the library pays.
- **Event path only** (the last section, \`io=raw\` on the command line,
  \`io=raw\` on the output line): every implementation registers the raw
  descriptors and does its I/O with the same raw read(2)/write(2)/accept4(2)
  calls (\`libc::read\`/\`libc::write\` in Rust: mio through \`SourceFd\`), so
  that only the event loop differs. On its poll(2) backend cmio then
  re-arms a descriptor by reregistering it after its \`-EAGAIN\`, as it
  documents for raw descriptors. churn, wake and channel do no I/O and run
  the same code in both kinds. Each library is compared with a hand-written,
  edge-triggered epoll loop **in its own language**: cmio, libev, libevent
  and libuv with the C loop (\`benches/bench_epoll.c\`), mio with the Rust
  loop (\`epoll-rs\`, \`benches/mio/src/epoll_rs.rs\`, over the libc crate
  alone, written as the C loop is: a static event buffer, the failure path
  out of line; with the buffer in a struct behind a \`&mut\`, LLVM keeps its
  pointer, length and the epoll descriptor in registers through the event
  loop and spills the workload's own state instead: 2 to 9 instructions per
  unit more on the pingpong and echo rows, a floor that mio's own loop beat
  by 0.6 on pingpong-100x100). The two loops make the same system calls, but the two compilers
  (and Rust's bounds checks, its \`Result\`s, its inlining) make the same
  user-space work cost differently, so a library's own overhead is its
  figure minus its own floor's; comparing mio with the C loop would charge
  it for Rust itself.

## The machine

- CPU: ${cpu:-unknown}, $(nproc) cores online, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) of memory
- OS: ${os:-unknown}, Linux $kernel
- Compiler: $cc_version, \`--buildtype=release\`
- Peers: ${peers:-none}
- Run on $(date -u +%Y-%m-%d). The machine is shared: wall times vary by tens
  of percent from run to run; instruction counts do not, but for the
  rows whose work depends on timing (wake, channel: below).

![chart](benchmarks.png)

## Instructions per unit of work

User-space instructions counted by callgrind inside the measured part only
(\`--toggle-collect='bench_measured_*'\`): per event (pingpong), per round
trip (echo), per operation (churn), per wake (wake, both threads), per
message (channel, every thread, a full channel's retries included). In
parentheses, the ratio to the epoll loop's. The kernel's work is not
counted, so the ratios magnify a library's own overhead: the system calls it
makes, below, cost more than all of it. pingpong, churn, timers and frames
count the same for the same binary whatever the machine does. So do echo and
mecho, because under callgrind and strace the load client goes in lockstep
(\`CMIO_CLIENT_LOCKSTEP=1\`, examples/tcp_client.c): it sends the next
messages only when every connection's reply is in and the server is asleep.
Without it, a server slowed by callgrind often finds a connection's next
message before its \`-EAGAIN\`, depending on what else the machine does,
and its figure per round trip moved by tens of percent between runs of the
same binary (echo-50 on the epoll loop: 82 and 131). In lockstep every
round is one wait and, per connection, a read, a write and the read that
meets \`-EAGAIN\`; what still varies is how many of a round's messages the
server's wait finds (a few per cent: 132 to 136 on echo-50). The wall-clock
runs leave the client free. channel depends on timing too (how many
messages a wake carries), and wake on whether the sender's semaphore wait
finds the post already made or sleeps (229 and 338 per wake on the epoll
loop in two runs). For echo, mecho, wake and channel each figure is the
median of three callgrind runs; compare those rows within one run, on a
quiet machine.

MD
        pivot "$results/instructions.tsv" 1 2 3 | md_table ratio
        cat <<MD

## System calls per unit of work

From \`strace -c\`: the calls of a run twice as long minus those of a run (the
set-up cancels out), divided by the extra work. wake counts both threads,
including the \`futex\` calls of the semaphore handshake; the second table
leaves those out. pingpong and churn are exact. echo and wake depend on
timing, which strace changes: a server slowed by it often finds the next
message before \`-EAGAIN\`, so its reads and waits per round trip fall, and
whether a semaphore call sleeps (a \`futex\`) is a race; differences of a
fraction of a call there, negative ones included, are that noise. channel
counts every thread: its writes per message are its wakes per message, and
its \`sched_yield\` calls are the producers' retries on a full channel
(\`futex\` there: the mutexes of the epoll loop and libuv).

MD
        pivot "$results/syscalls.tsv" 1 2 3 | md_table ratio
        printf '\nWithout futex:\n\n'
        pivot "$results/syscalls.tsv" 1 2 4 | md_table ratio
        printf '\nBy call:\n\n'
        awk -F'\t' '{ printf "- %s, %s: %s\n", $1, $2, $5 }' "$results/syscalls.tsv"
        cat <<MD

## Wall time

Medians of $reps interleaved runs; in parentheses, the ratio to epoll's
(pingpong, churn, wake: ns, lower is better; echo: round trips per second,
higher is better).

MD
        pivot "$results/time.tsv" 1 4 5 | md_table ratio
        printf '\nSpread of the runs, (max - min) / median, in percent:\n\n'
        pivot "$results/time.tsv" 1 4 6 | md_table
        printf '\npingpong set-up (ns per registered descriptor) and the echo server'"'"'s CPU time (ns per round trip):\n\n'
        awk -F'\t' '$3 != "-"' "$results/time.tsv" | pivot /dev/stdin 1 4 8 | md_table ratio
        report_event
    } >"$doc"
}

# report_event: the event-path section of docs/benchmarks.md, from the
# results of the event kind that are there.
report_event() {
    use_kind event
    [ -s "$results/instructions$sfx.tsv" ] || [ -s "$results/syscalls$sfx.tsv" ] ||
        [ -s "$results/time$sfx.tsv" ] || return 0
    cat <<MD

## Event path only

The same rows with \`io=raw\` (see "Two kinds of rows"): only the event loop
differs. In parentheses, each figure over its own language's floor: the C
epoll loop's (\`epoll\`) for cmio, libev, libevent and libuv, the Rust epoll
loop's (\`epoll-rs\`) for mio; the Rust loop's own figure is shown over the
C loop's, which is what the two compilers make of the same work. The overhead tables give each library's
figure minus its floor's (and the ratio again); the budget is
cmio's overhead no more than mio's on every row, its last column.
MD
    if [ -s "$results/instructions$sfx.tsv" ]; then
        printf '\n### Instructions per unit of work (callgrind)\n\n'
        pivot "$results/instructions$sfx.tsv" 1 2 3 | md_table ratio
        printf '\nOverhead over the own-language floor, instructions per unit:\n\n'
        pivot "$results/instructions$sfx.tsv" 1 2 3 | md_overhead 1
    fi
    if [ -s "$results/syscalls$sfx.tsv" ]; then
        printf '\n### System calls per unit of work (strace -c)\n\n'
        pivot "$results/syscalls$sfx.tsv" 1 2 3 | md_table ratio
        printf '\nOverhead over the own-language floor, system calls per unit:\n\n'
        pivot "$results/syscalls$sfx.tsv" 1 2 3 | md_overhead 2
        printf '\nWithout futex:\n\n'
        pivot "$results/syscalls$sfx.tsv" 1 2 4 | md_table ratio
        printf '\nBy call:\n\n'
        awk -F'\t' '{ printf "- %s, %s: %s\n", $1, $2, $5 }' "$results/syscalls$sfx.tsv"
    fi
    if [ -s "$results/time$sfx.tsv" ]; then
        printf '\n### Wall time\n\nMedians of %s interleaved runs, over the own-language floor in parentheses:\n\n' "$reps"
        pivot "$results/time$sfx.tsv" 1 4 5 | md_table ratio
        printf '\nSpread of the runs, (max - min) / median, in percent:\n\n'
        pivot "$results/time$sfx.tsv" 1 4 6 | md_table
    fi
    use_kind user
}

# for_kinds FUNCTION: runs it for each kind of rows in KINDS.
for_kinds() {
    local k
    for k in "${kinds[@]}"; do
        use_kind "$k"
        "$1"
    done
}

prepare
find_impls
case $mode in
time | instructions | syscalls) for_kinds "mode_$mode" ;;
report) mode_report ;;
all)
    for_kinds mode_time
    for_kinds mode_instructions
    for_kinds mode_syscalls
    mode_report
    ;;
esac
