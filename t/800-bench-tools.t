#!/bin/sh
# 800-bench-tools.t - the pieces "make bench" measures with, on their own:
# bench/benchloop gives each run the next input file, counts runs that
# fail (and exits 1 then), kills a run past its time limit, and prints the
# fields the scripts read; bench/procstat.pl finds a process by pid and by
# session; bench/data/*.pl write the same messages, rc and tables on every
# run; the rc files go through procsort and procmail alike.  No timings
# are checked, only that the figures are there and well formed.
. "$(dirname "$0")/lib/tap.sh"

L=$TOP/bench/benchloop
[ -x "$L" ] || bail "bench/benchloop is not built (make check-build)"

printf 'a\n' > "$T/a"
printf 'b\n' > "$T/b"
out=$("$L" -n 5 -i "$T/a" -i "$T/b" -- sh -c "cat >> $T/seen")
is "$?" 0 "benchloop: 5 runs that succeed, exit 0"
is "$(tr -d '\n' < "$T/seen")" "ababa" "benchloop: run k reads input k modulo the number of inputs"
like "$out" '^runs=5 failed=0 wall=[0-9.]+ rate=[0-9.]+ cpu=[0-9.]+ maxrss_kb=[0-9]+$' \
    "benchloop: one line of NAME=VALUE fields"

out=$("$L" -n 3 -e "$T/err" -i /dev/null -- sh -c 'echo oops >&2; exit 3' 2>"$T/stderr")
is "$?" 1 "benchloop: a run that fails makes the exit status 1"
like "$out" '^runs=3 failed=3 ' "benchloop: every failed run counts"
like "$(cat "$T/stderr")" 'the first exited 3' "benchloop: says how the first failure exited"
is "$(cat "$T/err")" "oops
oops
oops" "benchloop: -e collects the runs' errors"

out=$("$L" -t 1 -n 1 -i /dev/null -- sleep 30 2>/dev/null)
like "$out" '^runs=1 failed=1 ' "benchloop: a run past -t is killed and counts as failed"
nok "benchloop: no input file is a usage error" "$L" -n 1 -- true
nok "benchloop: no command is a usage error" "$L" -n 1 -i /dev/null

# procstat.pl: this shell by pid, and by its session
line=$(perl "$TOP/bench/procstat.pl" -p $$)
like "$line" "^$$ [^ ]+ [0-9]+ [0-9]+ [0-9]+\$" "procstat.pl: PID NAME TICKS HWM PSS for a pid"
sid=$(ps -o sid= -p $$ | tr -d ' ')
perl "$TOP/bench/procstat.pl" -s "$sid" > "$T/session"
ok "procstat.pl: finds the process by its session" grep -q "^$$ " "$T/session"
nok "procstat.pl: a bad option is refused" perl "$TOP/bench/procstat.pl" -x 1

# The generators: the same bytes on every run.
perl "$TOP/bench/data/genmail.pl" "$T/m1" 300000 && perl "$TOP/bench/data/genmail.pl" "$T/m2" 300000
ok "genmail.pl: the same messages twice" diff -r "$T/m1" "$T/m2"
is "$(ls "$T/m1" | wc -l)" 15 "genmail.pl: 14 messages and the big one"
size=$(wc -c < "$T/m1/big.msg")
ok "genmail.pl: big.msg has about the size asked for ($size)" test "$size" -gt 280000 -a "$size" -lt 320000
is "$(grep -c '^From ' "$T/m1/05-spam.msg")" 1 "genmail.pl: a From_ line on top, as an MTA hands it over"
is "$(perl "$TOP/bench/data/genheavy.pl" | grep -c '^:0')" 60 "genheavy.pl: 60 recipes"
is "$(perl "$TOP/bench/data/gentable.pl" header 1000 | grep -c '^/')" 1001 "gentable.pl: 1000 header rules and the WARN"
is "$(perl "$TOP/bench/data/gentable.pl" body 50 | grep -c '^/')" 50 "gentable.pl: 50 body rules"
nok "gentable.pl: an unknown kind is refused" perl "$TOP/bench/data/gentable.pl" mime 3
perl "$TOP/bench/data/gentable.pl" header 1000 > "$T/h1000"
ok "the 1000-rule table loads in libmatch without a warning" sh -c \
    "'$TOP/t/lib/tablequery' pcre:$T/h1000 'Message-ID: <1.x.bench@y>' 2>&1 | grep -qx 'WARN bench message'"
done_testing
