# lib.sh - what the benchmark scripts share; sourced by bench/run.sh.
#
#   BENCH_QUICK=1      tiny N, one repetition: checks that the scripts work
#                      (t/800-bench.t), measures nothing worth keeping
#   BENCH_REPEAT=R     repetitions of each pair of measurements (default 5,
#                      1 when quick); the figures are medians
#   BENCH_KEEP=1       keep the scratch directory $B
#
#   bench_n FULL QUICK      FULL, or QUICK under BENCH_QUICK=1
#   field NAME LINE         the value of NAME=VALUE in a benchloop-style line
#   median V...             the median of numbers
#   bench_load              the load averages, "1.23 2.34 3.45"
#   bench_section TITLE     a heading, with the load average now
#   bench_pair NAME METRIC DIR UNIT_OURS UNIT_PEER
#                           record one repetition's figures (ours, peer)
#   bench_report NAME METRIC DIR
#                           print the row: median of ours, of the peer's,
#                           and the median of the per-repetition ratios
#                           (DIR "up": more is better, "down": less is)
#   bench_fail TEXT         a benchmark that could not measure: say why,
#                           remember it (run.sh exits 1 at the end)
#
# Each repetition measures ours and the peer's back to back (alternating
# which goes first), so a change of load on the shared machine hits both;
# the ratio is taken within each repetition, then the median over them.
# What it trusts: the programs it measures are ours and the peers'.

BENCH_QUICK=${BENCH_QUICK:-0}
if [ "$BENCH_QUICK" = 1 ]; then BENCH_REPEAT=${BENCH_REPEAT:-1}; else BENCH_REPEAT=${BENCH_REPEAT:-5}; fi
export BENCH_QUICK BENCH_REPEAT

bench_n() {
    if [ "$BENCH_QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi
}

field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_load() {
    cut -d' ' -f1-3 /proc/loadavg
}

bench_section() {
    printf '\n== %s (load %s)\n' "$1" "$(bench_load)"
}

# The figures of the repetitions so far, one file per row: "ours peer" lines.
bench_pair() {
    _f="$B/pairs/$(printf '%s|%s' "$1" "$2" | tr -c 'A-Za-z0-9._-' '_')"
    mkdir -p "$B/pairs"
    printf '%s %s\n' "$4" "$5" >> "$_f"
}

# per VALUE COUNT SCALE - VALUE * SCALE / COUNT (CPU seconds to ms per message,
# a wall time to a rate, ...); "-" when COUNT is 0 or missing
per() {
    awk -v v="$1" -v n="$2" -v s="$3" 'BEGIN { if (n + 0 == 0) print "-"; else printf "%.6f\n", v * s / n }'
}

# fmt NUMBER - a figure with 3 or 4 significant digits, as wide as it needs
fmt() {
    awk -v v="$1" 'BEGIN { if (v == "-" || v == "") { print "-"; exit }
        a = v < 0 ? -v : v
        if (a >= 1000) printf "%.0f\n", v; else if (a >= 10) printf "%.1f\n", v;
        else if (a >= 0.1) printf "%.3f\n", v; else printf "%.4g\n", v }'
}

bench_report() {
    _f="$B/pairs/$(printf '%s|%s' "$1" "$2" | tr -c 'A-Za-z0-9._-' '_')"
    if [ ! -s "$_f" ]; then
        bench_fail "$1: no $2 figures"
        return
    fi
    _ours=$(median $(cut -d' ' -f1 "$_f"))
    _peer=$(median $(cut -d' ' -f2 "$_f"))
    _ratio=$(median $(awk '$2 > 0 { printf "%.6g\n", $1 / $2 }' "$_f"))
    _n=$(wc -l < "$_f")
    _verdict=$(awk -v r="$_ratio" -v d="$3" 'BEGIN {
        if (r == "-" || r == "") { print "?"; exit }
        if (d == "up") print (r >= 1.05 ? "better" : r <= 0.95 ? "WORSE" : "same")
        else print (r <= 0.95 ? "better" : r >= 1.05 ? "WORSE" : "same") }')
    printf '%-44s %-16s %11s %11s %8s  %-6s n=%s\n' "$1" "$2" "$(fmt "$_ours")" "$(fmt "$_peer")" \
        "$(awk -v r="$_ratio" 'BEGIN { if (r == "-" || r == "") print "-"; else printf "%.2f\n", r }')" "$_verdict" "$_n"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$_ours" "$_peer" "$_ratio" "$_verdict" "$_n" \
        >> "$B/results.tsv"
}

bench_header() {
    printf '%-44s %-16s %11s %11s %8s  %s\n' benchmark metric mailsift peer ratio verdict
}

bench_fail() {
    printf 'FAILED: %s\n' "$*"
    echo "$*" >> "$B/failures"
}

# as_bench_user CMD... - run CMD as the unprivileged benchmark user (the
# differential tests' user, t/lib/procdiff.pm) with a clean environment,
# HOME=$BU_HOME; with BU_EXEC=1, exec it (in a subshell started with &, so
# that $! is the command's own pid)
as_bench_user() {
    if [ "$(id -u)" = 0 ]; then
        ${BU_EXEC:+exec} setpriv --reuid="$BU_UID" --regid="$BU_GID" --clear-groups -- \
            env -i HOME="$BU_HOME" PATH=/usr/bin:/bin LOGNAME="$BU_USER" USER="$BU_USER" \
            SHELL=/bin/sh TZ=UTC LANG=C "$@"
    else
        ${BU_EXEC:+exec} env -i HOME="$BU_HOME" PATH=/usr/bin:/bin LOGNAME="$BU_USER" USER="$BU_USER" \
            SHELL=/bin/sh TZ=UTC LANG=C "$@"
    fi
}

# bench_user - set BU_UID BU_GID BU_USER (root: the tests' "mailsift-test")
bench_user() {
    _bu=$(perl -I"$TOP/t/lib" -Mprocdiff -e 'print join(" ", procdiff::test_user()), "\n"') || {
        bench_fail "cannot find or make the benchmark user"
        return 1
    }
    set -- $_bu
    BU_UID=$1 BU_GID=$2 BU_USER=$3
    export BU_UID BU_GID BU_USER
}
