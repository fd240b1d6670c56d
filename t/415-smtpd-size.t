#!/bin/sh
# 415-smtpd-size.t - SIZE and message_size_limit: the limit announced in
# EHLO, MAIL FROM SIZE= over it refused at once (552 5.3.4 Message size
# exceeds fixed limit), content over it read to the end and refused (552
# 5.3.4 Error: message file too big) with nothing delivered, in DATA and in
# BDAT; no limit with 0; and a 5 MB message (spooled to disk) delivered
# byte for byte.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

mta_start -o message_size_limit=1000
out=$(printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org> SIZE=1001\n<\n> MAIL FROM:<a@example.org> SIZE=1000\n<\n' | chat)
like "$out" "250-SIZE 1000" "EHLO announces SIZE message_size_limit"
like "$out" "552 5.3.4 Message size exceeds fixed limit" "SIZE=1001: refused at MAIL"
is "$(printf '%s\n' "$out" | tail -1)" "250 2.1.0 Ok" "SIZE=1000: accepted"

big=$(head -c 1500 /dev/zero | tr '\0' x)
out=$(chat <<S
<
> EHLO c.test
<
> MAIL FROM:<a@example.org> SIZE=500
<
> RCPT TO:<big@mx.test>
<
> DATA
<
> Subject: too big
>
> $big
> .
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<small@mx.test>
<
> DATA
<
> Subject: fits
>
> small
> .
<
S
)
is "$(printf '%s\n' "$out" | sed -n 13p)" "552 5.3.4 Error: message file too big" "content over the limit: 552 after the end of data"
like "$(printf '%s\n' "$out" | tail -1)" "^250 2.0.0 Ok: queued as" "the session goes on: a small message fits"
ok "small delivered" delivered small 1
is "$(msgs big | wc -l)" 0 "the big one was not"
ok "log: size limit" log_has "warning: [0-9A-Za-z]+: queue file size limit exceeded"

out=$(chat <<S
<
> EHLO c.test
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<bigbdat@mx.test>
<
> BDAT 800
>> $(head -c 798 /dev/zero | tr '\0' y)\r\n
<
> BDAT 800 LAST
>> $(head -c 798 /dev/zero | tr '\0' z)\r\n
<
S
)
is "$(printf '%s\n' "$out" | tail -2)" "250 2.0.0 Ok: 800 bytes
552 5.3.4 Error: message file too big" "BDAT: the chunks are read, the message refused at LAST"
mta_stop

mta_start -o message_size_limit=0
out=$(printf '<\n> EHLO c.test\n<\n' | chat)
like "$out" "250-SIZE$" "message_size_limit = 0: SIZE without a number"
# 5 MB in 70-byte lines: the body goes to the spool file, then to the queue, then to the Maildir.
perl -e 'for my $i (1..75000) { printf "line %06d %s\n", $i, "x" x 57 }' > "$T/body"
{
    printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org> SIZE=6000000\n<\n> RCPT TO:<huge@mx.test>\n<\n> DATA\n<\n> Subject: huge\n>\n'
    sed 's/^/> /' "$T/body"
    printf '> .\n<\n> QUIT\n<\n'
} | chat > "$T/out"
like "$(cat "$T/out")" "250 2.0.0 Ok: queued as" "a 5 MB message is accepted"
ok "and delivered" delivered huge 1
sed '1,/^$/d' "$(msgs huge)" > "$T/got"
same_file "$T/got" "$T/body" "byte for byte"
mta_stop
done_testing
