#!/bin/sh
# 515-milter-body.t - big messages through the client: a 3 MB body goes
# to the milter in chunks of at most 65535 bytes with CRLF line ends,
# every byte once and in order; SMFIR_SKIP stops the chunks but not the
# end of message; with NR_BODY the chunks stream without replies (and
# without buffering the whole body); a replacement body of 240 KB, which
# libmilter sends in several pieces, arrives whole.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

plan 12

# 3000 lines of 999 bytes + LF: 3 000 000 bytes, 3 003 000 with CRLF.
{
    printf 'From: a@example.org\nSubject: big\n\n'
    perl -e 'for my $i (1..3000) { printf "%05d%s\n", $i, "x" x 994 }'
} > "$T/big.eml"

cat > "$T/session" <<EOF
connect client 192.0.2.1 1
mail <a@example.org>
rcpt <b@example.org>
message $T/big.eml $T/out
EOF

drive() {
    with_timeout 60 "$TOP/t/lib/milterdrive" -o "smtpd_milters=unix:$T/m1.sock" \
        -o milter_content_timeout=10s "$@" "$T/session" > "$T/drive.out" 2> "$T/drive.err"
}

# body_sizes - the sizes of the body chunks the milter saw
body_sizes() {
    sed -n 's/^c1 body \([0-9]*\) .*/\1/p' "$T/m1.log"
}

stop_milter() {
    kill -9 "$MILTER_PID1" 2>/dev/null
    stop_bg "$MILTER_PID1" 1
}

printf 'eom addheader X-Big seen\n' > "$T/script"
start_milter 1 "$T/script"
ok "a 3 MB message goes through" drive
is "$(grep 'message' "$T/drive.out")" "s: message $T/big.eml $T/out: continue" "and is accepted"
is "$(body_sizes | awk '$1 > 65535' | wc -l)" 0 "no chunk larger than 65535 bytes"
is "$(body_sizes | awk '{ n += $1 } END { print n }')" 3003000 "3 003 000 bytes: every LF became CRLF, nothing lost"
is "$(body_sizes | wc -l)" 46 "in 46 chunks"
first=$(sed -n 's/^c1 body [0-9]* \[\(.\{12\}\).*/\1/p' "$T/m1.log" | head -1)
is "$first" '00001xxxxxxx' "the first chunk starts the body"
is "$(tail -c 1000 "$T/out" | head -c 5)" "03000" "the edited message still ends with the last line"
stop_milter

printf 'flags SKIP\nbody skip\n' > "$T/script"
start_milter 1 "$T/script"
drive
is "$(body_sizes | wc -l)" 1 "SMFIR_SKIP after the first chunk: no more chunks"
like "$(cat "$T/m1.log")" 'c1 eom' "but the end of message still comes"
stop_milter

printf 'flags NR_BODY NR_HDR\neom addheader X-Nr yes\n' > "$T/script"
start_milter 1 "$T/script"
drive
is "$(body_sizes | awk '{ n += $1 } END { print n }')" 3003000 "NR_BODY: the whole body streams without replies"
stop_milter

printf 'eom replbody_repeat 20000 "0123456789\\r\\n"\n' > "$T/script"
start_milter 1 "$T/script"
drive
is "$(sed -n '/^$/,$p' "$T/out" | tail -n +2 | wc -c)" 220000 "a 240 KB CRLF replacement body arrives whole (220 000 bytes in LF form)"
is "$(sed -n '/^$/,$p' "$T/out" | tail -n +2 | sort -u)" "0123456789" "every line of it"
stop_milter

done_testing
