#!/bin/sh
# 202-attach-bypass.t - issue 4's bypasses, side by side: Postfix's classic
# regex lets each one through, milterd's shipped attachment policy stops it.
#
# The messages are composed by Python's email package (t/data/attach/mkmsgs.py).
# The classic regexes (t/data/attach/classic_body_checks) are run by Postfix's
# own pcre table code (postmap -q -) on what Postfix would give them:
#   body_checks   every line of the message, as with disable_mime_input_processing
#                 = yes, the setting where a body_checks regex sees attachment
#                 headers at all;
#   mime_headers  the same regex as mime_header_checks with Postfix's default MIME
#                 processing: headers of the message and of its MIME parts,
#                 unfolded; a forwarded message's headers go to nested_header_checks.
# milterd's verdict comes from attach_judge with rules/attachment_policy.
# The baseline (a plain name="invoice.exe") shows the regex works where it was
# meant to; every bypass must get past both Postfix columns (the forwarded
# message past the one for MIME-aware Postfix) and be refused by the policy.
. "$(dirname "$0")/lib/tap.sh"
need_cmd postmap "Postfix's pcre table code is the reference"
need_cmd python3 "the messages are composed by Python's email package"

JUDGE="$TOP/t/lib/attach-judge"
POLICY="$TOP/rules/attachment_policy"
CLASSIC="$TOP/t/data/attach/classic_body_checks"
mkdir "$T/msg" "$T/pf" && : > "$T/pf/main.cf"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"
postmap -c "$T/pf" -q probe "pcre:$CLASSIC" > /dev/null 2>"$T/probe.err"
[ $? -le 1 ] || bail "postmap cannot read pcre tables: $(cat "$T/probe.err")"

# postfix COLUMN MESSAGE - REJECT when Postfix's check would refuse it, else pass
postfix() {
    _hit=$(python3 "$TOP/t/data/attach/postfix_keys.py" "$1" "$2" |
           postmap -c "$T/pf" -q - "pcre:$CLASSIC" | head -1)
    if [ -n "$_hit" ]; then echo REJECT; else echo pass; fi
}

# milterd MESSAGE - the policy's action word
milterd() {
    "$JUDGE" "$POLICY" "$1" | head -1 | cut -d' ' -f1
}

# case NAME WANT_BODY WANT_MIME - one row of the table, three checks
n=0
printf '# %-22s %-12s %-12s %s\n' message body_checks mime_headers milterd
row() {
    m="$T/msg/$1.eml"
    [ -f "$m" ] || bail "mkmsgs.py wrote no $1.eml"
    a=$(postfix body "$m")
    b=$(postfix mime-headers "$m")
    c=$(milterd "$m")
    printf '# %-22s %-12s %-12s %s\n' "$1" "$a" "$b" "$c"
    is "$a" "$2" "$1: Postfix body_checks with the classic regex: $2"
    is "$b" "$3" "$1: Postfix mime_header_checks with the classic regex: $3"
    is "$c" REJECT "$1: milterd's shipped attachment policy: REJECT"
    n=$((n + 1))
}

row baseline-exe REJECT REJECT
row bypass-rfc2231-pct pass pass        # filename*=UTF-8''invoice%2Eexe
row bypass-rfc2231-cont pass pass       # filename*0="inv"; filename*1="oice.exe"
row bypass-rfc2047 pass pass            # filename="=?UTF-8?B?aW52b2ljZS5leGU=?="
row bypass-unquoted pass pass           # filename=invoice.exe
row bypass-trailing-dot pass pass       # filename="invoice.exe."
row bypass-spaces pass pass             # filename="invoice.pdf  .exe  " (Windows drops the trailing spaces)
row bypass-zip pass pass                # documents.zip holds docs/invoice.exe
row bypass-forwarded REJECT pass        # message/rfc822 holding invoice.exe
row bypass-forwarded-b64 pass pass      # the same, base64-encoded (clients decode it)
row bypass-renamed pass pass            # a Windows program named scan.pdf (libmagic)

# The log line names the part, the decoded name and the rule.
out=$("$JUDGE" "$POLICY" "$T/msg/bypass-rfc2231-cont.eml" | sed -n 2p)
like "$out" '^hit: REJECT part 2 "invoice\.exe" rule .*attachment_policy:[0-9]+ \(ext exe\)$' \
    "the hit names part 2, the decoded name and the rule"
out=$("$JUDGE" "$POLICY" "$T/msg/bypass-zip.eml" | sed -n 2p)
like "$out" '^hit: REJECT part 2 "documents\.zip" member "docs/invoice\.exe" rule ' \
    "a member is named with its path inside the archive"
out=$("$JUDGE" "$POLICY" "$T/msg/bypass-forwarded.eml" | sed -n 2p)
like "$out" '^hit: REJECT part 2\.2 "invoice\.exe" ' "the forwarded message's attachment is part 2.2"
out=$("$JUDGE" "$POLICY" "$T/msg/bypass-forwarded-b64.eml" | sed -n 2p)
like "$out" '^hit: REJECT part 2\.2 "invoice\.exe" ' "so is the base64-encoded one's"
done_testing
