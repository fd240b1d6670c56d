#!/bin/sh
# run.sh - "make bench": run the benchmarks and print, for each, our figure,
# the peer's and their ratio, measured in the same run on the same inputs.
#
#   sh bench/run.sh [procsort] [milterd] [mta] [callgrind]   (default: all)
#
# Environment: BENCH_QUICK=1 (tiny runs, to check the scripts), BENCH_REPEAT=R
# (repetitions, median reported; default 5), BENCH_KEEP=1 (keep the scratch
# directory).  Prints the date, the machine and its load average first, and
# the load again at each section: the machine may be shared, and the ratios
# (both sides measured back to back) are what to compare, not the absolute
# figures.  Exits 1 if any benchmark could not measure.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
B=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-bench.XXXXXX")
chmod 755 "$B"
export B
bench_cleanup() {
    [ -n "${BENCH_CLEANUP_HOOKS:-}" ] && eval "$BENCH_CLEANUP_HOOKS"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "# kept $B" >&2; else rm -rf "$B"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

. "$TOP/bench/lib.sh"
. "$TOP/bench/procsort.sh"
. "$TOP/bench/milterd.sh"
. "$TOP/bench/mta.sh"
. "$TOP/bench/callgrind.sh"

[ $# -gt 0 ] || set -- procsort milterd mta callgrind
for _b in "$@"; do
    case "$_b" in
    procsort | milterd | mta | callgrind) ;;
    *) echo "run.sh: no benchmark named $_b (procsort, milterd, mta, callgrind)" >&2; exit 2 ;;
    esac
done

echo "mailsift benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
echo "machine: $(hostname), $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "load average at start: $(bench_load)"
echo "repetitions: $BENCH_REPEAT (medians; ratio = mailsift / peer, median of the per-repetition ratios)"
[ "$BENCH_QUICK" = 1 ] && echo "BENCH_QUICK=1: tiny runs, the figures mean nothing"
bench_header
for _b in "$@"; do
    "bench_$_b"
done
echo
echo "load average at end: $(bench_load)"
if [ -s "$B/failures" ]; then
    echo "$(wc -l < "$B/failures") benchmark(s) could not measure:"
    sed 's/^/  /' "$B/failures"
    exit 1
fi
exit 0
