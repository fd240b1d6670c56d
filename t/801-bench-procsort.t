#!/bin/sh
# 801-bench-procsort.t - "make bench"'s procsort and callgrind benchmarks
# run in quick mode (BENCH_QUICK=1: a few messages, one repetition) and
# print every row with our figure, procmail's and the ratio, the folders
# the messages went to, and the load average; and the benchmark refuses
# to report figures when the program measured as ours does not file the
# messages as procmail does.  No figure is judged: only that the scripts
# work and print what they should.
. "$(dirname "$0")/lib/tap.sh"
need_cmd procmail "the peer of the procsort benchmark"
need_cmd valgrind "the callgrind instruction counts"
[ -x "$TOP/bench/benchloop" ] || bail "bench/benchloop is not built (make check-build)"

BENCH_QUICK=1 with_timeout 900 sh "$TOP/bench/run.sh" procsort callgrind > "$T/out" 2>&1
st=$?
is "$st" 0 "bench/run.sh procsort callgrind exits 0" || diag "$(tail -20 "$T/out")"
like "$(head -5 "$T/out")" '^machine: .*CPUs' "it names the machine"
like "$(cat "$T/out")" '^load average at start: [0-9.]+ [0-9.]+ [0-9.]+$' "and the load average at the start"
like "$(cat "$T/out")" '^load average at end: ' "and at the end"
like "$(cat "$T/out")" '^benchmark +metric +mailsift +peer +ratio +verdict$' "the columns are named"
rows=""
for c in "procsort realistic.rc, Maildir" "procsort realistic.rc, mbox" \
         "procsort heavy.rc (60 regex recipes)" "procsort 5 MB message, realistic.rc"; do
    for m in "msgs/s" "CPU ms/msg" "peak RSS KB"; do rows="$rows
$c|$m"; done
done
for c in "callgrind: procsort realistic.rc" "callgrind: procsort heavy.rc" "callgrind: milterd -t vs postmap -bhmq"; do
    rows="$rows
$c|Minstr/msg"
done
printf '%s\n' "$rows" | sed 1d > "$T/rows"
n=$(wc -l < "$T/rows")
tr '\n' '\0' < "$T/rows" | xargs -0 perl "$TOP/t/lib/benchrows.pl" "$T/out" > "$T/bad"
is "$?" 0 "all $n rows, each with three figures and a verdict" || diag "$(cat "$T/bad")"
like "$(cat "$T/out")" '# folders: .*inbox [0-9]+.*spam [0-9]+' "the folders both programs filed into are shown"
unlike "$(cat "$T/out")" '^FAILED' "nothing failed"

# A "procsort" that files nothing: the benchmark must not report figures.
printf '#!/bin/sh\ncat > /dev/null\n' > "$T/fake"
chmod 755 "$T/fake"
BENCH_QUICK=1 BENCH_PROCSORT=$T/fake with_timeout 600 sh "$TOP/bench/run.sh" procsort > "$T/fake.out" 2>&1
is "$?" 1 "a program that files differently makes the benchmark fail"
like "$(cat "$T/fake.out")" '^FAILED: procsort realistic.rc, Maildir: procsort and procmail filed the messages differently' \
    "and says so"
unlike "$(cat "$T/fake.out")" '^procsort realistic.rc, Maildir +msgs/s' "with no figures for it"
done_testing
