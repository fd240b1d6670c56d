#!/bin/sh
# 201-attach-policy.t - the attachment_policy(5) language: every bad line is
# reported as "FILE, line N: problem" and the policy is refused; each condition,
# negation, the settings, first match per file, and the message's verdict as the
# strongest decision over its files (an ACCEPT for one file does not let
# another file's REJECT through).
. "$(dirname "$0")/lib/tap.sh"
need_cmd python3 "the messages are composed by Python's email package"

JUDGE="$TOP/t/lib/attach-judge"
mkdir "$T/msg"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"

# --- Errors ----------------------------------------------------------------
cat > "$T/bad" <<'POL'
# a comment, then a good rule
ext=exe REJECT fine
frobnicate=1 REJECT
ext= REJECT
ext=exe,,scr REJECT
name="abc REJECT
size>>5 REJECT
size=5X REJECT
encrypted=1 HOLD
malformed=bogus HOLD
ext=exe
set archive_depth = 99
set nosuch = 1
set parts 5
size>99999999999999999999 REJECT
 continued text after the last rule, fine
POL
out=$("$JUDGE" -l "$T/bad")
st=$?
is "$st" 1 "a policy with bad lines is refused"
is "$out" "$T/bad, line 3: unknown condition or action \"frobnicate=1\"
$T/bad, line 4: \"ext=\": empty item in list
$T/bad, line 5: \"ext=exe,,scr\": empty item in list
$T/bad, line 6: \"name=\"abc\": missing closing quote
$T/bad, line 7: \"size>>5\": a number must follow
$T/bad, line 8: \"size=5X\": unexpected text after the number
$T/bad, line 9: \"encrypted=1\": this condition takes no value
$T/bad, line 10: \"malformed=bogus\": \"bogus\": unknown kind of malformation (boundary, base64, encoding, duplicate, conflict, names, header, truncated, nesting, parts)
$T/bad, line 11: no action: a rule ends with REJECT, HOLD, DISCARD, DEFER, WARN or ACCEPT
$T/bad, line 12: set archive_depth: 99 is out of range (0 to 20)
$T/bad, line 13: unknown setting \"nosuch\" (archive_depth, archive_members, archive_size, parts, nesting)
$T/bad, line 14: set parts: '=' and a value must follow
$T/bad, line 15: \"size>99999999999999999999\": number too large" "every bad line, with its number and what is wrong"
out=$("$JUDGE" -l "$T/nonexistent")
like "$out" "^$T/nonexistent: cannot open: No such file" "a missing file is an error"
ok "the shipped policy loads" "$JUDGE" -l "$TOP/rules/attachment_policy"

# judge POLICY-TEXT MESSAGE - the verdict line and hit lines
judge() {
    printf '%s\n' "$1" > "$T/pol"
    "$JUDGE" "$T/pol" "$T/msg/$2.eml"
}
first() { judge "$1" "$2" | head -1; }

# --- Conditions ------------------------------------------------------------
is "$(first 'ext=EXE REJECT no' baseline-exe)" "REJECT no" "ext= is case-insensitive"
is "$(first 'ext=.exe REJECT no' baseline-exe)" "REJECT no" "ext= takes a leading dot"
is "$(first 'ext=pdf.exe REJECT no' bypass-spaces)" NONE "the spaces are part of the name: not pdf.exe"
is "$(first 'name="invoice.pdf  .exe" REJECT no' bypass-spaces)" "REJECT no" "quoted names keep their spaces; trailing ones are dropped"
is "$(first 'double-ext REJECT no' bypass-spaces)" NONE "\"invoice.pdf  .exe\" is not a double extension (spaces)"
is "$(first 'double-ext REJECT no' clean-two-pdfs)" NONE "contract-v1.2.pdf and Mr. Smith.pdf are not double extensions"
is "$(first 'name=*.exe REJECT no' bypass-rfc2231-cont)" "REJECT no" "name= globs the decoded name"
is "$(first 'name=INVOICE.* REJECT no' bypass-rfc2047)" "REJECT no" "name= is case-insensitive"
is "$(first 'type=application/pdf REJECT no' bypass-renamed)" "REJECT no" "type= is the declared type"
is "$(first 'magic=application/pdf REJECT no' bypass-renamed)" NONE "magic= is not the declared type"
is "$(first 'magic=application/vnd.microsoft.* REJECT no' bypass-renamed)" "REJECT no" "magic= globs the detected type"
is "$(first 'disposition=attachment named REJECT no' clean-pdf)" "REJECT no" "disposition= and named"
is "$(first 'disposition=inline REJECT no' clean-pdf)" NONE "disposition=inline does not match an attachment"
is "$(first 'size>1M REJECT big' clean-big-pdf)" "REJECT big" "size>1M matches the 3 MB PDF"
is "$(first 'size>1M REJECT big' clean-pdf)" NONE "size>1M does not match a small one"
is "$(first 'size<=100 named REJECT small' clean-csv)" "REJECT small" "size<= on decoded bytes"
is "$(first 'nested ext=exe REJECT nested' bypass-forwarded)" "REJECT nested" "nested: inside message/rfc822"
is "$(first 'nested ext=exe REJECT nested' baseline-exe)" NONE "nested does not match the outer message"
is "$(first 'depth=1 ext=exe REJECT d1' bypass-forwarded)" "REJECT d1" "depth=1"
is "$(first 'in-archive ext=exe REJECT a' baseline-exe)" NONE "in-archive does not match a part"
is "$(first 'in-archive ext=exe REJECT a' bypass-zip)" "REJECT a" "in-archive matches a member"
is "$(first 'archive-depth=2 REJECT a2' arch-nested)" "REJECT a2" "archive-depth=2: in an archive in an archive"
is "$(first 'archive name=*.zip REJECT z' bypass-zip)" "REJECT z" "archive"
is "$(first 'container REJECT c' clean-text)" NONE "a one-part message has no container"
is "$(first 'container REJECT c' clean-pdf)" "REJECT c" "a multipart is a container"
is "$(first 'malformed=names REJECT m' bad-name-mismatch)" "REJECT m" "malformed=names"
is "$(first 'malformed=base64 REJECT m' bad-name-mismatch)" NONE "malformed=base64 does not match other faults"
is "$(first '!named !container REJECT body' clean-text)" "REJECT body" "! negates (the text body has no name)"
is "$(first 'encrypted HOLD e' arch-7z-encrypted)" "HOLD e" "encrypted 7z (encrypted headers)"
is "$(first 'unscanned HOLD e' arch-7z-encrypted)" "HOLD e" "an archive whose headers are encrypted is unscanned too"

# --- Settings --------------------------------------------------------------
is "$(first "$(printf 'set archive_depth = 0\nin-archive REJECT in\nunscanned HOLD u')" bypass-zip)" "HOLD u" \
    "archive_depth = 0: archives are not opened, and are unscanned"
is "$(first "$(printf 'set archive_depth = 1\next=js REJECT js\nunscanned HOLD u')" arch-nested)" "HOLD u" \
    "archive_depth = 1: the zip inside the zip is not opened"
is "$(first "$(printf 'set archive_depth = 2\next=js REJECT js\nunscanned HOLD u')" arch-nested)" "REJECT js" \
    "archive_depth = 2: it is"
is "$(first "$(printf 'set archive_size = 1k\nunscanned HOLD big')" clean-zip-pdfs)" NONE \
    "archive_size: a small zip is listed"
is "$(first "$(printf 'set archive_members = 1\nunscanned HOLD many')" clean-zip-pdfs)" "HOLD many" \
    "archive_members = 1: a zip of two is unscanned"
is "$(first "$(printf 'set parts = 2\nmalformed=parts HOLD many')" clean-pdf)" "HOLD many" \
    "parts = 2: a message of three parts is malformed=parts"

# --- First match per file, strongest over files ----------------------------
is "$(first "$(printf 'ext=pdf ACCEPT pdf ok\nnamed REJECT other')" clean-two-pdfs)" "ACCEPT pdf ok" \
    "first match wins for each file"
is "$(first "$(printf 'ext=exe REJECT exe\next=pdf ACCEPT pdf ok')" bad-dup-param)" "REJECT exe" \
    "a file with names a.pdf and a.exe meets the first rule that matches either name (exe first)"
is "$(first "$(printf 'ext=pdf ACCEPT pdf ok\next=exe REJECT exe')" bad-dup-param)" "ACCEPT pdf ok" \
    "(pdf first: which is why the shipped policy refuses malformed=names and conflict up front)"
printf '%s\n' 'name=file000.bin ACCEPT fine' 'ext=csv WARN csv' 'ext=exe DEFER later' \
    'ext=pdf HOLD pdf' > "$T/pol"
out=$("$JUDGE" "$T/pol" "$T/msg/clean-csv.eml" | head -1)
is "$out" "WARN csv" "WARN alone is the verdict"
for pair in "HOLD DEFER:DEFER" "DEFER DISCARD:DISCARD" "DISCARD REJECT:REJECT" "WARN HOLD:HOLD" "ACCEPT WARN:WARN"; do
    a=${pair%% *}; rest=${pair#* }; b=${rest%%:*}; want=${pair#*:}
    printf 'name=scan1.pdf %s one\nname=scan2.pdf %s two\n' "$a" "$b" > "$T/pol"
    got=$("$JUDGE" "$T/pol" "$T/msg/clean-zip-pdfs.eml" | head -1 | cut -d' ' -f1)
    is "$got" "$want" "$a on one file and $b on another: $want"
    printf 'name=scan1.pdf %s one\nname=scan2.pdf %s two\n' "$b" "$a" > "$T/pol"
    got=$("$JUDGE" "$T/pol" "$T/msg/clean-zip-pdfs.eml" | head -1 | cut -d' ' -f1)
    is "$got" "$want" "$b on one file and $a on another: $want"
done
out=$(judge "$(printf 'ext=pdf WARN one\next=pdf REJECT never')" clean-two-pdfs)
is "$(echo "$out" | grep -c '^hit: WARN')" 2 "every matched file is a hit (two WARNs)"
is "$(echo "$out" | grep -c '^hit: REJECT')" 0 "and the second rule never fires"
done_testing
