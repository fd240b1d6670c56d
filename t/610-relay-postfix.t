#!/bin/sh
# 610-relay-postfix.t - a real Postfix as the next hop (t/lib/postfix.sh,
# with STARTTLS on): mta-core relays two recipients in one session over
# TLS, Postfix delivers both with the envelope sender and the content as
# they were; a recipient Postfix refuses (unknown in its virtual mailbox
# table: 550 5.1.1) bounces alone, and its report, with Postfix's own
# reply, reaches the (local) sender; an 8-bit message arrives unchanged
# (Postfix offers 8BITMIME: nothing to convert).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd openssl "the receiving Postfix's certificate"

pf_init
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.example.com" \
    -keyout "$PF_DIR/key.pem" -out "$PF_DIR/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a certificate"
pf_main "smtpd_tls_cert_file = $PF_DIR/cert.pem" "smtpd_tls_key_file = $PF_DIR/key.pem" \
    "smtpd_tls_security_level = may" "smtpd_tls_received_header = yes"
pf_master "tlsmgr unix - - n 1000? 1 tlsmgr"
# Only listed users exist: anyone else is refused at RCPT (550 5.1.1).
printf 'bob@example.com ok\ncarol@example.com ok\n' > "$PF_CONF/vmailbox"
pf_postconf -e "virtual_mailbox_maps = texthash:$PF_CONF/vmailbox"
pf_start

mta_start -o "relayhost=[127.0.0.1]:$PF_PORT"
printf 'Subject: to postfix\nX-Check: intact\n\nfirst line\n.dotted line\nlast line\n' > "$T/msg"
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to bob@example.com,carol@example.com \
    --data "$T/msg" >/dev/null 2>&1
ok "both sent" log_has "to=<carol@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_PORT, .*status=sent \(250 2\.0\.0 Ok: queued as "
ok "bob too" log_has "to=<bob@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_PORT, .*status=sent"
ok "over TLS" log_has "Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$PF_PORT: TLSv1\.[23]"
ok "Postfix delivered them" pf_wait_queue 30
ok "bob's copy" wait_for 10 'test -n "$(ls "$(pf_mailbox bob)" 2>/dev/null)"'
m=$(cat "$(pf_mailbox bob)"/*)
like "$m" '^Return-Path: <alice@mx\.test>$' "the envelope sender, as Postfix saw it"
like "$m" '^X-Check: intact$' "the headers"
like "$m" '^\.dotted line$' "a line with a leading dot (stuffed and unstuffed on the way)"
like "$m" '^last line$' "the body"
like "$m" '\(using TLSv1\.[23] with cipher' "Postfix's Received: says TLS"
is "$(grep -c "from=<alice@mx.test>" "$PF_LOG")" 1 "one message in Postfix for both recipients (one session, one transaction)"

swaks --server 127.0.0.1:$PORT --from alice@mx.test --to carol@example.com,nobody@example.com \
    --header "Subject: one refused" --body "for two" >/dev/null 2>&1
ok "Postfix's 550 bounces that recipient" \
   log_has "to=<nobody@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PF_PORT, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <nobody@example\.com>: Recipient address rejected: User unknown in virtual mailbox table \(in reply to RCPT TO command\)\)"
ok "the other one is sent" wait_for 10 'test "$(ls "$(pf_mailbox carol)" | wc -l)" -ge 2'
ok "the report reaches alice" delivered alice 1
like "$(cat "$(msgs alice | head -1)")" '^Diagnostic-Code: smtp; 550 5\.1\.1 <nobody@example\.com>: Recipient address' \
     "quoting Postfix's reply"

printf 'Subject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nCaf\303\251\n' > "$T/8bit"
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to bob@example.com --data "$T/8bit" >/dev/null 2>&1
ok "8-bit mail sent" wait_for 20 'test "$(ls "$(pf_mailbox bob)" | wc -l)" -ge 2'
f=$(ls -t "$(pf_mailbox bob)"/* | head -1)
like "$(cat "$f")" "$(printf 'Caf\303\251')" "and arrives unchanged (Postfix offers 8BITMIME)"
mta_stop
pf_stop
done_testing
