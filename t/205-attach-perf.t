#!/bin/sh
# 205-attach-perf.t - a 20 MB message of 500 base64 parts (PDFs and binary
# files, composed by Python's email package) is judged by the shipped policy in
# well under a second (CPU time, so that tests running beside it do not
# count; the wall time is reported too), and memory stays bounded: the judge's peak memory is
# not more than 12 MB above what judging a one-page message takes (the message
# itself is 20 MB: it is not held in memory, let alone copied).  Built with
# SAN=1 the sanitizers make everything slower and bigger: the limits are 10 s
# and are not about memory then.
. "$(dirname "$0")/lib/tap.sh"
need_cmd python3 "the message is composed by Python's email package"

JUDGE="$TOP/t/lib/attach-judge"
POLICY="$TOP/rules/attachment_policy"
mkdir "$T/msg"
python3 "$TOP/t/data/attach/mkmsgs.py" --big "$T/msg" 500 20 || bail "mkmsgs.py --big failed"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"
size=$(wc -c < "$T/msg/big.eml")
ok "the message is about 20 MB ($size bytes)" test "$size" -gt 20000000

san=0
grep -q __asan_init "$JUDGE" && san=1

"$JUDGE" -s "$POLICY" "$T/msg/big.eml" > "$T/out" 2> "$T/stats"
is "$(head -1 "$T/out")" NONE "no rule matches the 500 parts"
is "$(tail -1 "$T/out")" "parts=502 members=0" "all 500 attachments were looked at (and the text and the multipart)"
secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$T/stats")
cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' "$T/stats")
big=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/stats")
"$JUDGE" -s "$POLICY" "$T/msg/clean-pdf.eml" > /dev/null 2> "$T/stats.small"
small=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/stats.small")
diag "20 MB, 500 parts: ${secs}s (CPU ${cpu}s), peak memory ${big} kB (one-page message: ${small} kB)"
if [ $san = 1 ]; then
    ok "judged in under 10 s of CPU (sanitizer build)" perl -e "exit !($cpu < 10)"
    skip 1 "peak memory means nothing under AddressSanitizer"
else
    ok "judged in well under a second of CPU (${cpu}s < 0.8s)" perl -e "exit !($cpu < 0.8)"
    ok "peak memory at most 12 MB above a small message's" perl -e "exit !($big - $small <= 12288)"
fi

# A zip that unpacks to 330 MB (and holds a zip that unpacks to 64 MB): members
# that are not archives are read only as far as libmagic looks, an archive in
# the archive is spooled to a temporary file, not to memory.
python3 "$TOP/t/data/attach/mkmsgs.py" --bomb "$T/msg" || bail "mkmsgs.py --bomb failed"
"$JUDGE" -s "$POLICY" "$T/msg/bomb.eml" > "$T/out" 2> "$T/stats"
is "$(cat "$T/out")" "NONE
parts=3 members=4" "the zip bomb's four members were looked at, nothing matched"
cpu=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' "$T/stats")
big=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$T/stats")
diag "zip bomb (13 MB, unpacks to 330 MB): CPU ${cpu}s, peak memory ${big} kB"
if [ $san = 1 ]; then
    skip 2 "sanitizer build"
else
    ok "judged in under a second of CPU (${cpu}s)" perl -e "exit !($cpu < 1)"
    ok "peak memory at most 12 MB above a small message's" perl -e "exit !($big - $small <= 12288)"
fi
done_testing
