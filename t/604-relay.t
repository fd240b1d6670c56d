#!/bin/sh
# 604-relay.t - relay delivery to a relayhost: Postfix's smtp-sink receives
# the envelope and the content intact, several recipients in one session;
# then, against the scriptable t/data/relay/sinkd.pl: PIPELINING used only
# when offered, HELO after a refused EHLO, a status per recipient (550 for
# one bounces it alone, 450 defers it alone), 5xx to MAIL FROM, a server
# that drops the connection, a SIZE limit, a server that is us (loop), and
# the log lines for each; default_transport = error.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"

body() {
    printf 'Subject: relay test %s\nX-Test: %s\n\nline one\n.starts with a dot\n..two dots\n\n  indented\nlast line\n' "$1" "$1"
}

# --- smtp-sink: envelope and content intact, two recipients, one session ---
sink_start sink
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT"
body one | swaks --server 127.0.0.1:$PORT --from alice@mx.test --to bob@remote.example,carol@remote.example \
    --data - >/dev/null 2>&1
ok "both recipients sent" log_has "to=<carol@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent \(250 "
ok "bob sent too" log_has "to=<bob@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, .*dsn=2\.0\.0, status=sent"
wait_for 5 'test "$(count "$T/sink")" -ge 1'
is "$(count "$T/sink")" 1 "one transaction carried both recipients"
f=$(find "$T/sink" -type f | head -1)
got=$(cat "$f")
like "$got" '^X-Helo-Args: mx\.test$' "EHLO with myhostname"
like "$got" '^X-Mail-Args: <alice@mx\.test>$' "the envelope sender"
is "$(grep -c '^X-Rcpt-Args: <' "$f")" 2 "two RCPT TO in the session"
like "$got" '^X-Rcpt-Args: <bob@remote\.example>$' "bob"
like "$got" '^X-Rcpt-Args: <carol@remote\.example>$' "carol"
# The content after our own Received: header, as the client wrote it.
# (smtp-sink ends its dump with an empty line, swaks its DATA with one: both trimmed.)
sed -n '/^Subject: relay test one$/,$p' "$f" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$T/got.txt"
body one | sed -n '/^Subject/,$p' > "$T/want.txt"
same_file "$T/got.txt" "$T/want.txt" "the content arrives byte for byte (dots, blank and indented lines)"
like "$got" '^	by mx\.test \(mailsift\) with ESMTP id ' "our Received: header is on top of it"
ok "the queue is empty" wait_for 5 'test "$(qcount active)$(qcount deferred)$(qcount incoming)" = 000'
mta_stop
stop_bg "$SINK_PID"

# --- sinkd.pl: pipelining, HELO fallback, per-recipient results ---
sinkd_start sk
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT" -o delay_warning_time=0
send() {
    _s=$1
    shift
    body "$_s" | swaks --server 127.0.0.1:$PORT --from alice@mx.test --to "$@" --data - >/dev/null 2>&1
}

send pipe a@remote.example,b@remote.example
ok "pipelined: delivered" wait_for 10 'test -f "$T/sk/1.env"'
like "$(cat "$T/sk/transcript")" '^MAIL\|RCPT\|RCPT\|DATA$' "MAIL, both RCPT and DATA in one write (PIPELINING)"

: > "$T/sk/transcript"
echo "ext 8BITMIME, ENHANCEDSTATUSCODES" > "$T/sk.rules"
send nopipe c@remote.example,d@remote.example
ok "without PIPELINING: delivered" wait_for 10 'test -f "$T/sk/2.env"'
is "$(grep -c '|' "$T/sk/transcript")" 0 "one command per write without PIPELINING"
like "$(cat "$T/sk/transcript")" '^RCPT$' "RCPT TO alone"

echo "ehlo 502 5.5.2 Error: command not recognized" > "$T/sk.rules"
send helo e@remote.example
ok "EHLO refused: delivered" wait_for 10 'test -f "$T/sk/3.env"'
like "$(head -1 "$T/sk/3.env")" '^HELO mx\.test$' "HELO after the refused EHLO"

cat > "$T/sk.rules" <<'EOF'
rcpt bad@remote.example 550 5.1.1 <bad@remote.example>: Recipient address rejected: User unknown
rcpt later@remote.example 450 4.2.0 <later@remote.example>: Recipient address rejected: Greylisted
EOF
send mixed good@remote.example,bad@remote.example,later@remote.example
ok "per recipient: the good one is sent" wait_for 10 'test -f "$T/sk/4.env"'
is "$(grep -c '^RCPT' "$T/sk/4.env")" 1 "and only it reached the message"
ok "the 550 bounces that recipient alone" \
   log_has "to=<bad@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <bad@remote\.example>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)"
ok "the 450 defers it" \
   log_has "to=<later@remote\.example>, .*dsn=4\.2\.0, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0 .*Greylisted \(in reply to RCPT TO command\)\)"
ok "the message waits in deferred/ for later@" wait_for 10 'test "$(qcount deferred)" = 1'

: > "$T/sk.rules"
echo "mail 553 5.7.1 <alice@mx.test>: Sender address rejected: not ours" > "$T/sk.rules"
send mail5 m1@remote.example,m2@remote.example
ok "5xx to MAIL FROM bounces every recipient" \
   log_has "to=<m2@remote\.example>, .*dsn=5\.7\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 553 5\.7\.1 .* \(in reply to MAIL FROM command\)\)"
ok "m1 too" log_has "to=<m1@remote\.example>, .*status=bounced .*in reply to MAIL FROM command"

echo "drop dot" > "$T/sk.rules"
send drop x@remote.example
ok "a connection lost after the message: deferred, with the stage" \
   log_has "to=<x@remote\.example>, .*dsn=4\.4\.2, status=deferred \(lost connection with 127\.0\.0\.1\[127\.0\.0\.1\] while sending end of data -- message may be sent more than once\)"

echo "ext SIZE 100, PIPELINING" > "$T/sk.rules"
send big y@remote.example
ok "a message over the server's SIZE bounces before MAIL FROM" \
   log_has "to=<y@remote\.example>, .*dsn=5\.3\.4, status=bounced \(message size [0-9]+ exceeds size limit 100 of server 127\.0\.0\.1\[127\.0\.0\.1\]\)"

echo "name mx.test" > "$T/sk.rules"
send loop z@remote.example
ok "a server that calls itself by our name is us: the mail would loop" \
   log_has "to=<z@remote\.example>, .*dsn=5\.4\.6, status=bounced \(mail for 127\.0\.0\.1 loops back to myself\)"

# SMTPUTF8: a UTF-8 address needs a server that offers it.
utf8chat() {
    chat <<S >/dev/null
<
> EHLO client.test
<
> MAIL FROM:<alice@mx.test> SMTPUTF8
<
> RCPT TO:<$1>
<
> DATA
<
> Subject: utf8
>
> body
> .
<
> QUIT
<
S
}
: > "$T/sk.rules"
utf8chat "j$(printf '\303\266')rg@remote.example"
ok "SMTPUTF8 needed, not offered: bounced 5.6.7" \
   log_has "dsn=5\.6\.7, status=bounced \(SMTPUTF8 is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"
utf8chat "ascii@remote.example"
ok "SMTPUTF8 asked for, but nothing needs it: sent to a server without it" \
   log_has "to=<ascii@remote\.example>, .*status=sent"
echo "ext PIPELINING, 8BITMIME, SMTPUTF8" > "$T/sk.rules"
n=$(count "$T/sk")
utf8chat "k$(printf '\303\266')rg@remote.example"
ok "offered: sent" wait_for 10 "test \$(count \"\$T/sk\") -gt $n"
like "$(cat "$(ls -t "$T"/sk/*.env | head -1)")" '^MAIL FROM:<alice@mx\.test> SMTPUTF8$' "MAIL FROM with SMTPUTF8"

echo "greeting 554 5.7.1 no thanks" > "$T/sk.rules"
send greet g@remote.example
ok "a 5xx greeting is a reason to try later (smtp_skip_5xx_greeting)" \
   log_has "to=<g@remote\.example>, .*dsn=4\.7\.1, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] refused to talk to me: 554 5\.7\.1 no thanks\)"
mta_stop
stop_bg "$SINK_PID"

# default_transport = error:text bounces every relay target, as Postfix's error(8) does.
mta_start -o "default_transport=error:no relaying from this test"
send err r@remote.example
ok "default_transport = error: bounced with its text" \
   log_has "to=<r@remote\.example>, relay=none, .*dsn=5\.0\.0, status=bounced \(no relaying from this test\)"
mta_stop
done_testing
