#!/bin/sh
# 609-tls-masq.t - opportunistic STARTTLS and masquerading on the way out.
#   - mta-core relays to a second mta-core that offers STARTTLS with a
#     self-signed certificate: the session is encrypted (the client logs
#     it, the receiver's Received: says ESMTPS), the mail arrives;
#   - smtp_tls_security_level = encrypt to a server without STARTTLS:
#     deferred (4.7.4); = may: sent in plaintext;
#   - a server whose TLS handshake fails: with "may", tried again at once
#     without TLS, and delivered;
#   - masquerade_domains rewrites the envelope sender and the sender and
#     recipient headers of relayed mail (masquerade_exceptions honoured,
#     envelope recipients and other headers left alone), as Postfix does.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
need_cmd openssl "a certificate for the receiving side"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rx.test" \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a certificate"
chmod 644 "$T/key.pem"

# --- the receiver: a second mta-core with STARTTLS, delivering to Maildirs ---
RXPORT=$(free_port)
mkdir -p "$T/rx"
start_bg "$T/rx.log" mta-core -o queue_directory="$T/rx/q" -o home_base="$T/rx/home" -o home_mailbox=Maildir/ \
    -o smtpd_listen="127.0.0.1:$RXPORT" -o myhostname=rx.test -o mydomain=rx.test \
    -o "smtpd_tls_cert_file=$T/cert.pem" -o "smtpd_tls_key_file=$T/key.pem"
RX_PID=$BG_PID
wait_port "$RXPORT" 10 || bail "the receiving mta-core did not start: $(cat "$T/rx.log")"

mta_start -o "relayhost=[127.0.0.1]:$RXPORT" -o "masquerade_domains=!keep.example.com, example.com" \
    -o "masquerade_exceptions=root"
swaks --server 127.0.0.1:$PORT --from alice@host.example.com --to bob@rx.test \
    --header "From: Alice <alice@host.example.com>" --header "Cc: carol@dept.example.com, dan@keep.example.com" \
    --header "Reply-To: root@host.example.com" --header "X-Other: eve@host.example.com" \
    --header "Subject: tls and masq" --body "secret" >/dev/null 2>&1
ok "relayed" log_has "to=<bob@rx\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$RXPORT, .*status=sent"
ok "over TLS (the client says so)" log_has "Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$RXPORT: TLSv1\.[23] with cipher"
n=0
while [ -z "$(find "$T/rx/home/bob/Maildir/new" -type f 2>/dev/null)" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
m=$(cat "$(find "$T/rx/home/bob/Maildir/new" -type f | head -1)")
like "$m" '^	by rx\.test \(mailsift\) with ESMTPS id ' "the receiver's Received: says ESMTPS"
like "$m" '^Return-Path: <alice@example\.com>$' "envelope sender masqueraded"
like "$m" '^From: Alice <alice@example\.com>$' "From: masqueraded (header_sender)"
like "$m" '^Cc: carol@example\.com, dan@keep\.example\.com$' "Cc: masqueraded, except the !excluded domain"
like "$m" '^Reply-To: root@host\.example\.com$' "masquerade_exceptions: root stays"
like "$m" '^X-Other: eve@host\.example\.com$' "other headers are not address headers"
like "$m" '^X-Original-To: bob@rx\.test$' "the envelope recipient is not masqueraded (no envelope_recipient class)"
like "$m" '^secret$' "the body"
mta_stop

# --- encrypt against a server without STARTTLS; may against the same ---
sinkd_start plain
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT" -o smtp_tls_security_level=encrypt
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to x@remote.example --body x >/dev/null 2>&1
ok "encrypt: no STARTTLS offered, deferred" \
   log_has "to=<x@remote\.example>, .*dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)"
mta_stop
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT"
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to y@remote.example --body y >/dev/null 2>&1
ok "may: plaintext when TLS is not offered" log_has "to=<y@remote\.example>, .*status=sent"

# --- a handshake that fails: the same server again, in plaintext ---
echo "ext PIPELINING, STARTTLS, 8BITMIME" > "$T/plain.rules"
: > "$T/plain/transcript"
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to z@remote.example --body z >/dev/null 2>&1
ok "a failed handshake: tried again without TLS, delivered" log_has "to=<z@remote\.example>, .*status=sent"
ok "the failure was logged" log_has "Cannot start TLS: handshake failure with 127\.0\.0\.1\[127\.0\.0\.1\].*will try again without TLS"
like "$(cat "$T/plain/transcript")" 'TLS-GARBAGE' "the first session asked for TLS"
is "$(grep -c '^STARTTLS' "$T/plain/transcript")" 1 "the second one did not"
mta_stop
stop_bg "$RX_PID"
done_testing
