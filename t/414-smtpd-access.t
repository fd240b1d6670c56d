#!/bin/sh
# 414-smtpd-access.t - access_maps verdicts for every key kind: client
# address and network prefix, client name (before its address), sender
# (full address, domain and parent domain, user@, <>), recipient (with a
# recipient_delimiter extension), Sendmail tags (Connect:, From:, To:) and
# every result (OK, RELAY, REJECT [text], DEFER, 4NN/5NN text, ERROR:,
# DISCARD, HOLD, WARN, and an unknown one), with Postfix's reply texts;
# smtpd_delay_reject both ways; the table reloaded when it changes and on
# SIGHUP.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

cp "$MTA_DATA/access" "$T/access"
mta_start -o mynetworks=127.0.0.1/32 -o "access_maps=texthash:$T/access" -o recipient_delimiter=+

# rcpt_reply CLIENT SENDER RCPT - the reply to RCPT TO from that client and sender
rcpt_reply() {
    printf '<\n> HELO c.test\n<\n> MAIL FROM:<%s>\n<\n> RCPT TO:<%s>\n<\n> QUIT\n<\n' "$2" "$3" |
        chat -b "$1" | sed -n 4p
}
is "$(rcpt_reply 127.0.0.1 spam@example.org u@mx.test)" \
   "554 5.7.1 <spam@example.org>: Sender address rejected: no spam here" "sender REJECT text, at RCPT (delay_reject)"
is "$(rcpt_reply 127.0.0.1 a@x.sub.example.com u@mx.test)" \
   "550 5.7.9 <a@x.sub.example.com>: Sender address rejected: parent domain rule" "parent domain key, 5NN with its own DSN"
is "$(rcpt_reply 127.0.0.1 bad@anywhere.test u@mx.test)" \
   "450 4.7.1 <bad@anywhere.test>: Sender address rejected: greylisted" "user@ key, DEFER with access_map_defer_code"
is "$(rcpt_reply 127.0.0.1 tagged@example.org u@mx.test)" \
   "554 5.7.1 <tagged@example.org>: Sender address rejected: tagged sender" "From: tag matches the sender"
is "$(rcpt_reply 127.0.0.1 a@example.org tagged@example.org)" "250 2.1.5 Ok" "... and not the recipient"
is "$(rcpt_reply 127.0.0.1 a@example.org blocked@mx.test)" \
   "554 5.7.1 <blocked@mx.test>: Recipient address rejected: Access denied" "recipient REJECT without text"
is "$(rcpt_reply 127.0.0.1 a@example.org blocked+news@mx.test)" \
   "554 5.7.1 <blocked+news@mx.test>: Recipient address rejected: Access denied" "user+ext@ falls back to user@domain"
is "$(rcpt_reply 127.0.0.1 a@example.org tagonly@mx.test)" \
   "554 5.7.1 <tagonly@mx.test>: Recipient address rejected: tag only for rcpt" "To: tag matches the recipient"
is "$(rcpt_reply 127.0.0.1 tagonly@mx.test u@mx.test)" "250 2.1.5 Ok" "... and not the sender"
is "$(rcpt_reply 127.0.0.1 a@example.org weird@mx.test)" "451 4.3.5 Server configuration error" \
   "an unknown result: 451 4.3.5"
ok "log: the unknown result is a warning with file and line" log_has \
   "warning: access_maps $T/access, line 19: unknown result \"FROBNICATE\" for weird@mx.test"
is "$(rcpt_reply 127.0.0.1 a@example.org sendmail@mx.test)" "553 5.7.1 sendmail style" "Sendmail ERROR:\"553 text\""
is "$(rcpt_reply 127.0.0.1 a@example.org warn@mx.test)" "250 2.1.5 Ok" "WARN does not decide"
ok "log: WARN text" log_has "warn: <warn@mx.test>: Recipient address watch this"

# Clients.
is "$(rcpt_reply 127.0.0.2 a@example.org u@mx.test)" \
   "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: client blocked by test" "client address REJECT"
ok "log: reject line with the rule" log_has \
   "[0-9A-Za-z]+: reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 <unknown\[127\.0\.0\.2\]>: Client host rejected: client blocked by test; from=<a@example\.org> to=<u@mx\.test> proto=SMTP helo=<c\.test> rule=access_maps $T/access:4 \(127\.0\.0\.2\)"
is "$(rcpt_reply 127.0.0.3 a@example.org u@mx.test)" "550 5.7.1 tagged client rule" "Connect: tag with ERROR:D.S.N:NNN"
is "$(rcpt_reply 127.0.1.9 a@example.org u@mx.test)" \
   "554 5.7.1 <unknown[127.0.1.9]>: Client host rejected: prefix" "network prefix key (127.0.1)"
is "$(rcpt_reply 127.0.0.4 a@example.org x@far.example)" "250 2.1.5 Ok" "client RELAY allows relaying"
is "$(rcpt_reply 127.0.0.5 a@example.org x@far.example)" "554 5.7.1 <x@far.example>: Relay access denied" \
   "no entry, outside mynetworks: relay denied"
is "$(rcpt_reply 127.0.0.5 a@example.org x@relayok.example)" "250 2.1.5 Ok" "recipient domain RELAY"
is "$(rcpt_reply 127.0.0.5 a@example.org x@okdomain.test)" "554 5.7.1 <x@okdomain.test>: Relay access denied" \
   "OK does not allow relaying (as Postfix >= 2.10)"

# DISCARD and HOLD.
out=$(swaks --server 127.0.0.1:$PORT --from a@example.net --to disc@mx.test 2>&1)
like "$out" "250 2.0.0 Ok: queued as" "DISCARD: the client is told the message was taken"
ok "log: discard with the rule" log_has \
   "[0-9A-Za-z]+: discard: RCPT from localhost\[127\.0\.0\.1\]: <a@example\.net>: Sender address triggers DISCARD action; from=<a@example\.net> to=<disc@mx\.test> .* rule=access_maps $T/access:10 \(example\.net\)"
out=$(swaks --server 127.0.0.1:$PORT --from a@example.org --to held@mx.test 2>&1)
id=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
ok "HOLD: the message waits in the hold queue" test -f "$T/q/hold/$id"
ok "log: hold" log_has "hold: RCPT from localhost\[127\.0\.0\.1\]: <held@mx\.test>: Recipient address held for review"
out=$(swaks --server 127.0.0.1:$PORT --from '<>' --to bounce@mx.test 2>&1)
id=$(printf '%s\n' "$out" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
ok "the null sender is looked up as <>: held" test -f "$T/q/hold/$id"
sleep 1
is "$(msgs disc | wc -l)$(msgs held | wc -l)$(msgs bounce | wc -l)" "000" "nothing discarded or held was delivered"

# The table follows its file, and SIGHUP reads it again.
sleep 1.1
echo "reload@mx.test REJECT reloaded" >> "$T/access"
is "$(rcpt_reply 127.0.0.1 a@example.org reload@mx.test)" \
   "554 5.7.1 <reload@mx.test>: Recipient address rejected: reloaded" "a changed file is read again"
ok "log: reloaded" log_has "access_maps: reloaded texthash:$T/access"
kill -HUP "$MTA_PID"
ok "SIGHUP reloads" log_has "reload: reading the tables again"
rm "$T/access"
sleep 1.1
is "$(rcpt_reply 127.0.0.1 a@example.org reload@mx.test)" \
   "554 5.7.1 <reload@mx.test>: Recipient address rejected: reloaded" "a table that no longer opens keeps its last contents"
ok "log: why the reload failed" log_has "warning: access_maps: cannot reload texthash:$T/access"
mta_stop

# By name, before the address; and without delay.
printf 'localhost REJECT by name\n127.0.0.1 OK\n127.0.0.2 REJECT at once\n' > "$T/access2"
mta_start -o "access_maps=hash:$T/access2"
is "$(rcpt_reply 127.0.0.1 a@example.org u@mx.test)" \
   "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: by name" "the client name is looked up before the address"
mta_stop
mta_start -o "access_maps=hash:$T/access2" -o smtpd_delay_reject=no
out=$(printf '<\n> HELO c.test\n<\n> MAIL FROM:<a@b.example>\n<\n> QUIT\n<\n' | chat -b 127.0.0.2)
is "$out" "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: at once
250 mx.test
554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: at once
221 2.0.0 Bye" "smtpd_delay_reject = no: refused instead of the greeting and at MAIL" 
mta_stop
done_testing
