#!/bin/sh
# 417-smtpd-bdat.t - CHUNKING (RFC 3030): chunks of any size, a CRLF split
# between two chunks, dots that mean nothing, BDAT 0 LAST, everything in
# one write; the chunk of a refused BDAT is still read, so the session
# stays in step (no MAIL, no valid recipient); DATA, MAIL and RCPT after
# BDAT are refused; RSET drops a half-sent message.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

mta_start -o mynetworks=127.0.0.1/32
out=$(chat <<'S'
<
> EHLO c.test
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<chunk@mx.test>
<
>> BDAT 22\r\nSubject: chunks\r\n\r\nab\r
<
>> BDAT 9\r\n\n.\r\n..x\r\n
<
> DATA
<
> MAIL FROM:<b@example.org>
<
> RCPT TO:<other@mx.test>
<
>> BDAT 0 LAST\r\n
<
S
)
is "$(printf '%s\n' "$out" | sed -n '12,17p' | sed 's/queued as .*/queued as ID/')" "250 2.0.0 Ok: 22 bytes
250 2.0.0 Ok: 9 bytes
503 5.5.1 Error: DATA after BDAT
503 5.5.1 Error: MAIL after BDAT
503 5.5.1 Error: RCPT after BDAT
250 2.0.0 Ok: queued as ID" "chunks, refusals between them, BDAT 0 LAST"
ok "delivered" delivered chunk 1
is "$(sed '1,/^$/d' "$(msgs chunk)")" "ab
.
..x" "a CRLF split over two chunks joins; dots are data"
like "$(cat "$(msgs chunk)")" "^Subject: chunks$" "header kept"

out=$(printf '<\n>> EHLO c.test\\r\\nMAIL FROM:<a@example.org>\\r\\nRCPT TO:<pipe@mx.test>\\r\\nBDAT 6\\r\\nX: 1\\r\\nBDAT 8 LAST\\r\\n\\r\\nbody\\r\\nQUIT\\r\\n\n<*\n' | chat)
is "$(printf '%s\n' "$out" | sed -n '10,14p' | sed 's/queued as .*/queued as ID/')" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: 6 bytes
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "everything in one write: replies in order"
ok "pipelined BDAT message delivered" delivered pipe 1

out=$(chat <<'S'
<
> EHLO c.test
<
>> BDAT 12\r\nNOOP\r\nNOOP\r\n
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<x@far.example.invalid>
<
>> BDAT 8 LAST\r\nQUIT\r\n\r\n
<
> NOOP
<
S
)
is "$(printf '%s\n' "$out" | sed -n '10,14p')" "503 5.5.1 Error: need RCPT command
250 2.1.0 Ok
250 2.1.5 Ok
250 $(printf '%s\n' "$out" | sed -n '13s/^250 //p')
250 2.0.0 Ok" "a refused chunk is read, not executed; the session stays in step"

out=$(chat -b 127.0.0.2 <<'S'
<
> EHLO c.test
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<x@far.example>
<
>> BDAT 4 LAST\r\nab\r\n
<
> QUIT
<
S
)
is "$(printf '%s\n' "$out" | sed -n '11,13p')" "554 5.7.1 <x@far.example>: Relay access denied
554 5.5.1 Error: no valid recipients
221 2.0.0 Bye" "BDAT with no valid recipient: 554, chunk read"

out=$(printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RCPT TO:<rset@mx.test>\n<\n>> BDAT 12\\r\\nSubject: r\\r\\n\n<\n> RSET\n<\n> QUIT\n<\n' | chat)
is "$(printf '%s\n' "$out" | sed -n '12,13p')" "250 2.0.0 Ok: 12 bytes
250 2.0.0 Ok" "RSET after a chunk"
sleep 1
is "$(msgs rset | wc -l)" 0 "the half-sent message is dropped"
mta_stop
done_testing
