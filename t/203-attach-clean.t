#!/bin/sh
# 203-attach-clean.t - no false positives: ordinary mail (PDFs, images, calendar
# invites, S/MIME and PGP signed mail, Office documents, zips of PDFs, a forwarded
# message, text that talks about .exe files) passes the shipped attachment policy
# with no rule matching at all (not even a WARN).  At least 20 messages, composed
# by Python's email package (t/data/attach/mkmsgs.py, the clean-* ones).
. "$(dirname "$0")/lib/tap.sh"
need_cmd python3 "the messages are composed by Python's email package"

JUDGE="$TOP/t/lib/attach-judge"
POLICY="$TOP/rules/attachment_policy"
mkdir "$T/msg"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"

count=0
for m in "$T"/msg/clean-*.eml; do
    name=$(basename "$m" .eml)
    out=$("$JUDGE" "$POLICY" "$m")
    is "$(echo "$out" | head -1)" NONE "$name: no rule matches" || diag "$out"
    count=$((count + 1))
done
ok "at least 20 clean messages ($count)" test "$count" -ge 20

# They do go through the policy's machinery: parts are counted, archives opened.
out=$("$JUDGE" "$POLICY" "$T/msg/clean-zip-pdfs.eml" | tail -1)
is "$out" "parts=3 members=2" "the zip of PDFs was opened (2 members looked at)"
out=$("$JUDGE" "$POLICY" "$T/msg/clean-docx.eml" | tail -1)
is "$out" "parts=3 members=3" "the .docx was opened as the zip it is"
out=$("$JUDGE" "$POLICY" "$T/msg/clean-forwarded-pdf.eml" | tail -1)
is "$out" "parts=6 members=0" "the forwarded message's parts were walked"
done_testing
