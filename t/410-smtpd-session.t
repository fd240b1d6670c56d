#!/bin/sh
# 410-smtpd-session.t - full SMTP sessions against mta-core, from a real
# client (swaks, with and without pipelining) and from a scripted one:
# replies, the Received: header, dot-unstuffing, several recipients, the
# message delivered, and the Postfix-style log lines (connect, client=,
# disconnect with command counts).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

mta_start

out=$(swaks --server 127.0.0.1:$PORT --pipeline --helo client.test --from alice@example.org \
      --to bob@mx.test --header "Subject: one" --body "hello
..leading dot
." 2>&1)
like "$out" '<-  250 2.0.0 Ok: queued as [0-9A-Za-z]+' "swaks with pipelining: queued"
like "$out" '<-  250-PIPELINING' "PIPELINING announced"
id=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
ok "delivered to bob" delivered bob 1
m=$(cat "$(msgs bob | head -1)")
like "$m" "^Received: from client.test \(localhost \[127\.0\.0\.1\]\)$" "Received: from HELO (name [addr])"
like "$m" "^	by mx\.test \(mailsift\) with ESMTP id $id$" "Received: by myhostname with ESMTP id QUEUEID"
like "$m" "^	for <bob@mx\.test>; [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] " "Received: for <rcpt>; date"
like "$m" '^Subject: one$' "the client's headers follow"
like "$m" '^\.\.leading dot$' "swaks stuffs, we unstuff: the body arrives as written"
like "$m" '^\.$' "a line with a single (stuffed) dot survives"
ok "log: connect from" log_has "connect from localhost\[127\.0\.0\.1\]"
ok "log: QUEUEID: client=" log_has "$id: client=localhost\[127\.0\.0\.1\]"
ok "log: disconnect with command counts" \
   log_has "disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"

# Everything after EHLO in one write: the replies come back in order.
out=$(chat <<'S'
<
> EHLO pipe.test
<
>> MAIL FROM:<a@example.org>\r\nRCPT TO:<carol@mx.test>\r\nRCPT TO:<dave@mx.test>\r\nRCPT TO:<>\r\nDATA\r\n
<
<
<
<
<
>> Subject: two\r\n\r\nbody\r\n..one dot\r\n...\r\n.\r\nQUIT\r\n
<
<
S
)
like "$out" '^220 mx\.test ESMTP mailsift$' "greeting is smtpd_banner"
is "$(printf '%s\n' "$out" | sed -n '10,14p')" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
501 5.1.3 Bad recipient address syntax
354 End data with <CR><LF>.<CR><LF>" "pipelined MAIL, RCPT x3, DATA answered in order"
like "$out" '250 2.0.0 Ok: queued as' "pipelined content and QUIT"
like "$out" '221 2.0.0 Bye' "QUIT answered"
delivered carol 1 && delivered dave 1
is "$?" 0 "carol and dave each got the message"
m=$(cat "$(msgs carol | head -1)")
like "$m" "with ESMTP id [0-9A-Za-z]+;$" "two recipients: no 'for' clause"
like "$m" '^\.one dot$' "dot-stuffing undone"
like "$m" '^\.\.$' "three dots become two"
ok "log: rcpt=2/3 and data counted" \
   log_has "disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=2/3 data=1 quit=1 commands=6/7"

# HELO (not EHLO): protocol SMTP.
out=$(swaks --server 127.0.0.1:$PORT --helo old.test --from a@example.org --to erin@mx.test \
      --protocol SMTP 2>&1)
like "$out" '250 2.0.0 Ok: queued' "HELO session queued"
delivered erin 1
like "$(cat "$(msgs erin | head -1)")" "with SMTP id" "HELO gives 'with SMTP'"

mta_stop
is "$?" 0 "SIGTERM: clean exit"
ok "log: stopped" grep -q "stopped" "$MTA_LOG"
done_testing
