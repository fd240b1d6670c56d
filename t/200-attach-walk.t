#!/bin/sh
# 200-attach-walk.t - libmatch's mime_walk (GMime) as the attachment policy sees
# messages: IMAP-style part numbers (0 the top multipart, 2.0 and 2.1 inside a
# forwarded message 2), message/rfc822 depth, names decoded from RFC 2231
# (percent-encoding, continuations, charsets) and RFC 2047, every name from every
# copy of Content-Type and Content-Disposition, and each kind of malformed MIME
# flagged on the part it belongs to; CRLF mail is walked like LF mail; input that
# is not MIME at all is one malformed part, not an error.
. "$(dirname "$0")/lib/tap.sh"
need_cmd python3 "the messages are composed by Python's email package"

JUDGE="$TOP/t/lib/attach-judge"
mkdir "$T/msg"
python3 "$TOP/t/data/attach/mkmsgs.py" "$T/msg" || bail "mkmsgs.py failed"

# walk MESSAGE - what the walk reports, part by part
walk() { "$JUDGE" -w "$T/msg/$1.eml"; }

is "$(walk bypass-forwarded)" '0 multipart depth=0 type=multipart/mixed disposition= filename=""
1 leaf depth=0 type=text/plain disposition= filename="" size=17
2 message depth=0 type=message/rfc822 disposition= filename=""
2.0 multipart depth=1 type=multipart/mixed disposition= filename=""
2.1 leaf depth=1 type=text/plain disposition= filename="" size=49
2.2 leaf depth=1 type=application/octet-stream disposition=attachment filename="invoice.exe" name="invoice.exe" size=1023' \
    "a forwarded message: its parts are 2.0 (its multipart), 2.1, 2.2 at depth 1"
sed 's/$/\r/' "$T/msg/bypass-forwarded.eml" > "$T/msg/crlf.eml"
is "$(walk crlf | cut -d' ' -f1-3,6-)" "$(walk bypass-forwarded | cut -d' ' -f1-3,6- | sed 's/size=17/size=18/; s/size=49/size=54/')" \
    "CRLF line ends: the same parts (text sizes count the CRs)"
is "$(walk clean-html-inline | cut -d' ' -f1-4)" '0 multipart depth=0 type=multipart/related
1 multipart depth=0 type=multipart/alternative
1.1 leaf depth=0 type=text/plain
1.2 leaf depth=0 type=text/html
2 leaf depth=0 type=image/png' "a multipart inside a multipart is numbered like IMAP (1, 1.1, 1.2, 2)"
is "$(walk clean-text)" '1 leaf depth=0 type=text/plain disposition= filename="" size=148' \
    "a one-part message is part 1"

# names PART MESSAGE - the decoded names of one part
names() { walk "$2" | grep "^$1 " | sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* //'; }
is "$(names 2 bypass-rfc2231-pct)" 'filename="invoice.exe" name="invoice.exe" size=1023' "RFC 2231 percent-encoding"
is "$(names 2 bypass-rfc2231-cont)" 'filename="invoice.exe" name="invoice.exe" size=1023' "RFC 2231 continuations"
is "$(names 2 bypass-rfc2047)" 'filename="invoice.exe" name="invoice.exe" size=1023' "RFC 2047 in a quoted parameter"
is "$(names 2 clean-pdf-2231)" 'filename="Rechnung März.pdf" name="Rechnung März.pdf" size=205' \
    "RFC 2231 with a UTF-8 charset, as the email package writes it"
is "$(names 2 clean-pdf-2047)" 'filename="Résumé.pdf" name="Résumé.pdf" size=202' "RFC 2047 quoted-printable"
is "$(names 2 bypass-unquoted)" 'filename="invoice.exe" name="invoice.exe" size=1023' "unquoted"

# Malformed MIME, on the part it belongs to.
is "$(names 2 bad-name-mismatch)" 'filename="invoice.pdf" name="invoice.exe" name="invoice.pdf" size=202 bad=names' \
    "Content-Type name and Content-Disposition filename differ: both names, bad=names"
is "$(names 2 bad-duplicate-cd)" 'filename="invoice.exe" name="invoice.pdf" name="invoice.exe" size=1023 bad=conflict bad=names' \
    "two Content-Disposition headers: both names, bad=conflict"
is "$(names 2 bad-dup-param)" 'filename="a.pdf" name="a.pdf" name="a.exe" size=1023 bad=conflict bad=names' \
    "two filename parameters: both names, bad=conflict"
is "$(names 2 bad-double-cte)" 'filename="a.pdf" name="a.pdf" size=276 bad=conflict' "two transfer encodings: bad=conflict"
is "$(names 2 bad-base64)" 'filename="a.pdf" name="a.pdf" size=201 bad=base64' "stray characters in base64: bad=base64"
is "$(names 2 bad-unknown-cte)" 'filename="a.pdf" name="a.pdf" size=276 bad=encoding' "Content-Transfer-Encoding: base-64: bad=encoding"
like "$(walk bad-unterminated | head -1)" '^0 multipart .* bad=boundary' "no closing boundary: the multipart is bad=boundary"
is "$(walk bad-no-boundary)" '0 multipart depth=0 type=multipart/mixed disposition= filename="" bad=boundary' \
    "a multipart without a boundary parameter: bad=boundary"
printf 'MZ\220\0\3\0\0\0\4\0\0\0\377\377' > "$T/msg/raw.eml"
is "$(walk raw)" "1 leaf depth=0 type=application/octet-stream disposition= filename=\"\" size=$(wc -c < "$T/msg/raw.eml" | tr -d ' ') bad=header" \
    "bytes that are no message: one part, bad=header, content still readable"
: > "$T/msg/empty.eml"
like "$(walk empty)" '^1 leaf .* size=0 bad=header$' "an empty message: one empty part, bad=header"
out=$(cat "$T/msg/bypass-forwarded.eml" | "$JUDGE" -w -)
is "$out" "$(walk bypass-forwarded)" "a message from a pipe is walked the same (spooled)"
done_testing
