#!/bin/sh
# 416-smtpd-8bit-utf8.t - 8BITMIME and SMTPUTF8: an 8-bit body arrives
# intact with BODY=8BITMIME recorded in the queue file; a UTF-8 address is
# accepted after MAIL FROM ... SMTPUTF8 (protocol UTF8SMTP in Received:) and
# refused without it (553 5.6.7, Postfix's words); malformed UTF-8 in a
# command is refused; smtputf8_enable = no withdraws the extension.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

printf 'held@mx.test HOLD keep it for the test\n' > "$T/access"
mta_start -o "access_maps=texthash:$T/access"

out=$(chat <<'S'
<
> EHLO c.test
<
> MAIL FROM:<a@example.org> BODY=8BITMIME
<
> RCPT TO:<eight@mx.test>
<
> DATA
<
> Subject: =?UTF-8?Q?caf=C3=A9?=
> Content-Type: text/plain; charset=UTF-8
> Content-Transfer-Encoding: 8bit
>
>> Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9 \xe2\x82\xac 10, and a raw \xff byte\r\n
> .
<
> MAIL FROM:<a@example.org> BODY=8BITMIME
<
> RCPT TO:<held@mx.test>
<
> DATA
<
>> Subject: held\r\n\r\n\xe2\x82\xac\r\n.\r\n
<
S
)
like "$out" "250-8BITMIME" "8BITMIME announced"
like "$out" "250-SMTPUTF8" "SMTPUTF8 announced"
like "$out" "250 2.0.0 Ok: queued as" "8-bit message accepted"
id=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | tail -1)
ok "delivered" delivered eight 1
printf 'Gr\303\274\303\237e, caf\303\251 \342\202\254 10, and a raw \377 byte\n' > "$T/want"
tail -1 "$(msgs eight)" > "$T/got"
same_file "$T/got" "$T/want" "8-bit body byte for byte (even a byte that is not UTF-8)"
ok "the held copy is in the queue" test -f "$T/q/hold/$id"
ok "BODY=8BITMIME is recorded in the queue file" grep -q "^P[0-9]*:BODY=8BITMIME" "$T/q/hold/$id"

out=$(chat <<'S'
<
> EHLO c.test
<
>> MAIL FROM:<j\xc3\xb6rg@example.org>\r\n
<
>> MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8\r\n
<
>> RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@mx.test>\r\n
<
> DATA
<
> Subject: utf8
>
> hello
> .
<
>> RCPT TO:<caf\xc3\xa9@mx.test>\r\n
<
> MAIL FROM:<a@example.org>
<
>> RCPT TO:<caf\xc3\xa9@mx.test>\r\n
<
>> NOOP \xc3\x28\r\n
<
>> NOOP \xed\xa0\x80\r\n
<
>> NOOP \xc0\xaf\r\n
<
S
)
is "$(printf '%s\n' "$out" | sed -n '10,11p;14,20p')" "553 5.6.7 Must declare SMTPUTF8 to send unicode address
250 2.1.0 Ok
250 $(printf '%s\n' "$out" | sed -n '14s/^250 //p')
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
553 5.6.7 Must declare SMTPUTF8 to send unicode address
500 5.5.2 Error: bad UTF-8 syntax
500 5.5.2 Error: bad UTF-8 syntax
500 5.5.2 Error: bad UTF-8 syntax" "UTF-8 addresses need SMTPUTF8 (per transaction); malformed, surrogate and overlong UTF-8 refused"
ok "delivered to the UTF-8 mailbox" delivered "$(printf '\347\224\250\346\210\267')" 1
like "$(cat "$(msgs "$(printf '\347\224\250\346\210\267')")")" "with UTF8SMTP id" "Received: with UTF8SMTP"
mta_stop

mta_start -o smtputf8_enable=no
out=$(printf '<\n> EHLO c.test\n<\n>> MAIL FROM:<j\\xc3\\xb6rg@example.org> SMTPUTF8\\r\\n\n<\n' | chat)
unlike "$out" "250-SMTPUTF8" "smtputf8_enable = no: not announced"
like "$out" "555 5.5.4 Unsupported option: SMTPUTF8" "and the parameter is refused"
mta_stop
done_testing
