#!/bin/sh
# 102-milterd-test-mode.t - "milterd -t": the verdict, the edits and the
# rules that fired for one message on stdin, in the documented format.
# Golden cases: t/data/milterd/testmode/NAME.eml with NAME.out (the table
# directory shown as DIR) and optional NAME.args; all share milterd.conf.
# Then the command line: -o beats the file, a missing default file is
# fine, exit status 0 whatever the verdict, the log on stderr.
. "$(dirname "$0")/lib/tap.sh"

D=$TOP/t/data/milterd/testmode
n=0
for f in "$D"/*.eml; do
    name=$(basename "$f" .eml)
    args=$(cat "$D/$name.args" 2>/dev/null)
    # shellcheck disable=SC2086
    milterd -t -c "$D/milterd.conf" $args < "$f" 2> "$T/$name.err" | sed "s|$D|DIR|g" > "$T/$name.out"
    same_file "$T/$name.out" "$D/$name.out" "$name" || diag "stderr: $(cat "$T/$name.err")"
    n=$((n + 1))
done
ok "at least 12 golden cases ($n)" test "$n" -ge 12

# The decision log goes to stderr in test mode.
like "$(cat "$T/reject-text.err")" "NOQUEUE: reject: header Subject: reject text now from stdin; rule=$D/header_checks:3 \(header_checks\): 550 5.7.3 Not with that subject" \
     "the decision is logged on stderr"

# -o wins over the file; the file's other settings stay.
out=$(printf 'Subject: please reject default\n\nx\n' |
      milterd -t -c "$D/milterd.conf" -o "header_checks=regexp:$D/header_checks" 2>/dev/null | head -1)
is "$out" "REJECT 550 5.7.1 message content rejected" "-o header_checks= replaces the file's value"
out=$(printf 'Subject: x\n\npassword: a\n' | milterd -t -c "$D/milterd.conf" -o body_checks= 2>/dev/null)
is "$out" "ACCEPT" "-o body_checks= (empty) turns the body checks off"

# Without -c, a missing default configuration is fine: everything from -o.
out=$(printf 'Subject: defer\n\nx\n' | milterd -t -o "header_checks=pcre:$D/header_checks" 2>&1)
like "$out" "^DEFER 450 4\.7\.1 message content deferred" "no configuration file needed with -o"
printf 'Subject: x\n\ny\n' | milterd -t > "$T/plain.out" 2>&1
is "$(cat "$T/plain.out")" "ACCEPT" "no tables at all: ACCEPT"

# Exit status: 0 for any verdict, 1 when a table cannot be read.
printf 'Subject: reject text\n\nx\n' | milterd -t -c "$D/milterd.conf" >/dev/null 2>&1
is "$?" 0 "a rejected message is not an error"
printf 'Subject: x\n\n' | milterd -t -o "header_checks=pcre:$T/nonexistent" >/dev/null 2>&1
is "$?" 1 "a missing table is"
out=$(milterd -t -o "body_checks_size_limit=lots" < /dev/null 2>&1)
like "$out" "bad numerical parameter value: body_checks_size_limit = lots" "a bad number is named"

# Postfix's strict_* checks and disable_mime_input_processing.
out=$(printf 'Subject: caf\303\251\n\nx\n' | milterd -t -o strict_7bit_headers=yes 2>/dev/null | head -1)
is "$out" "REJECT 550 5.6.0 improper use of 8-bit data in message header" "strict_7bit_headers"
out=$(printf 'Subject: x\n\ncaf\303\251\n' | milterd -t -o strict_8bitmime_body=yes 2>/dev/null | head -1)
is "$out" "REJECT 550 5.6.0 improper use of 8-bit data in message body" "strict_8bitmime_body"
out=$(printf 'Subject: x\nContent-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n--b--\n' |
      milterd -t -o strict_mime_encoding_domain=yes 2>/dev/null | head -1)
is "$out" "REJECT 550 5.6.0 invalid message/* or multipart/* encoding domain" "strict_mime_encoding_domain"
mime='Subject: attachment\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename="x.exe"\n\nMZ\n--b--\n'
out=$(printf "$mime" | milterd -t -c "$D/milterd.conf" 2>/dev/null | head -1)
is "$out" "REJECT 550 5.7.1 No executables" "part headers go to mime_header_checks"
out=$(printf "$mime" | milterd -t -c "$D/milterd.conf" -o disable_mime_input_processing=yes 2>/dev/null | head -1)
is "$out" "ACCEPT" "disable_mime_input_processing: part headers are body text"

# An empty message and a message without a header/body separator.
is "$(milterd -t -c "$D/milterd.conf" < /dev/null 2>/dev/null)" "ACCEPT" "an empty message"
out=$(printf 'Subject: tag x\nno separator here\npassword: p\n' | milterd -t -c "$D/milterd.conf" 2>/dev/null)
is "$out" "ACCEPT
~header: Subject: [tag] x
body replaced
rule: $D/header_checks:10 (header_checks) REPLACE Subject: [tag] x
rule: $D/body_checks:1 (body_checks) REPLACE password: [removed]" "headers ended by a non-header line"
done_testing
