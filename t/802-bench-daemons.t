#!/bin/sh
# 802-bench-daemons.t - "make bench"'s milterd and mta benchmarks run in
# quick mode (BENCH_QUICK=1: a few messages, one repetition): libmatch
# against postmap on a 1000-rule table, milterd -t against postmap -bhmq,
# Postfix with milterd against Postfix's native checks, and mta-core
# against Postfix as an MTA; every row prints our figure, the peer's and
# the ratio.  No figure is judged: only that the scripts work.  A private
# Postfix instance needs root.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd smtp-source "Postfix's SMTP load generator (package postfix)"
[ -x "$TOP/bench/benchloop" ] || bail "bench/benchloop is not built (make check-build)"

# Its scratch directories under $T/tmp, to find what it left behind.
mkdir -p "$T/tmp" && chmod 755 "$T/tmp"
BENCH_QUICK=1 TMPDIR=$T/tmp with_timeout 1200 sh "$TOP/bench/run.sh" milterd mta > "$T/out" 2>&1
st=$?
is "$st" 0 "bench/run.sh milterd mta exits 0" || diag "$(tail -20 "$T/out")"
like "$(cat "$T/out")" '^== milterd vs Postfix .* native checks \(load [0-9.]+ [0-9.]+ [0-9.]+\)$' \
    "the milterd section, with the load average"
like "$(cat "$T/out")" '^== mta-core vs Postfix .*\(load [0-9.]+' "the mta section, with the load average"
: > "$T/rows"
for m in "ms/start" "CPU ms/start"; do echo "1000-rule pcre table: load|$m" >> "$T/rows"; done
for m in "lookups/s" "CPU us/lookup"; do echo "1000-rule pcre table: lookups|$m" >> "$T/rows"; done
echo "1000-rule pcre table, no JIT: load|CPU ms/start" >> "$T/rows"
echo "1000-rule pcre table, no JIT: lookups|CPU us/lookup" >> "$T/rows"
for m in "msgs/s" "CPU ms/msg" "peak RSS KB"; do echo "milterd -t vs postmap -bhmq, 1000 rules|$m" >> "$T/rows"; done
for c in "Postfix+milterd vs native, 4 KB MIME" "Postfix+milterd vs native, 57 KB PDF"; do
    for m in "msgs/s" "CPU ms/msg, all" "checks CPU ms/msg" "peak RSS KB" "PSS KB, cleanups"; do
        echo "$c|$m" >> "$T/rows"
    done
done
for c in "mta-core vs Postfix, 3 KB to Maildir" "mta-core vs Postfix, 57 KB to Maildir"; do
    for m in "msgs/s" "CPU ms/msg" "PSS KB, all" "peak RSS KB, max"; do echo "$c|$m" >> "$T/rows"; done
done
n=$(wc -l < "$T/rows")
# In quick mode a daemon may spend less than one clock tick of CPU: a CPU
# row may then have no ratio ("-", verdict "?"); the row must be there.
tr '\n' '\0' < "$T/rows" | xargs -0 perl "$TOP/t/lib/benchrows.pl" --cpu-may-be-zero "$T/out" > "$T/bad"
is "$?" 0 "all $n rows, each with three figures and a verdict" || diag "$(cat "$T/bad")"
unlike "$(cat "$T/out")" '^FAILED' "nothing failed"
sleep 1
is "$(ps -eo args | grep -v grep | grep -c "$T/tmp")" 0 "no process of the benchmark's is left running" ||
    diag "$(ps -eo pid,args | grep -v grep | grep "$T/tmp")"
is "$(ls "$T/tmp")" "" "and its scratch directories are gone"
done_testing
