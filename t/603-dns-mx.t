#!/bin/sh
# 603-dns-mx.t - delivery to the recipient domain's MX hosts, with every
# DNS answer coming from t/data/relay/dnsd.pl on loopback
# (dns_server_address) and every server on smtp_tcp_port: MX preference,
# the next MX when the best one is down, implicit MX (A record only), a
# name that does not exist (bounced, 5.4.4, reported to the sender), a name
# server failure (deferred, 4.4.3), a null MX (5.1.10), an MX that is this
# host (5.4.6), a backup MX that hands mail only to better ones, one
# session per domain for a message to two domains, and a relayhost
# without brackets (MX lookup).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"

dnsd_start
sink_start mx
cat > "$T/zone" <<'EOF'
mx-ok.test        MX 10 mx1.mx-ok.test
mx-ok.test        MX 20 mx2.mx-ok.test
mx1.mx-ok.test    A  127.0.0.2
mx2.mx-ok.test    A  127.0.0.1
plain.test        A  127.0.0.1
nullmx.test       MX 0 .
self.test         MX 10 mx.test
backup.test       MX 5  best.backup.test
backup.test       MX 10 mx.test
backup.test       MX 20 worse.backup.test
best.backup.test  A  127.0.0.1
worse.backup.test A  127.0.0.2
broken.test       SERVFAIL
order.test        MX 20 second.order.test
order.test        MX 10 first.order.test
first.order.test  A  127.0.0.1
second.order.test A  127.0.0.2
EOF
mta_start -o "dns_server_address=127.0.0.1:$DNS_PORT" -o "smtp_tcp_port=$SINK_PORT" -o inet_protocols=ipv4 \
    -o smtp_connect_timeout=5s

send() {
    swaks --server 127.0.0.1:$PORT --from alice@mx.test --to "$1" --header "Subject: to $1" --body "for $1" \
        >/dev/null 2>&1
}

send rcpt@mx-ok.test
ok "the best MX is down: the next one takes it" \
   log_has "to=<rcpt@mx-ok\.test>, relay=mx2\.mx-ok\.test\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"
like "$(cat "$T/dns.log")" 'mx-ok\.test MX' "the MX question went to the test responder"
like "$(cat "$T/dns.log")" 'mx1\.mx-ok\.test A' "then the A question for each MX host"
unlike "$(cat "$T/dns.log")" 'mx1\.mx-ok\.test AAAA' "no AAAA with inet_protocols = ipv4"
ok "the first MX was tried first (logged as Postfix logs it)" \
   log_has "connect to mx1\.mx-ok\.test\[127\.0\.0\.2\]:$SINK_PORT: Connection refused"

send rcpt@order.test
ok "MX preference, not answer order" \
   log_has "to=<rcpt@order\.test>, relay=first\.order\.test\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"

send rcpt@plain.test
ok "no MX record: the domain's own address (implicit MX)" \
   log_has "to=<rcpt@plain\.test>, relay=plain\.test\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"

send rcpt@nowhere.test
ok "a domain that does not exist: bounced" \
   log_has "to=<rcpt@nowhere\.test>, relay=none, .*dsn=5\.4\.4, status=bounced \(Host or domain name not found\. Name service error for name=nowhere\.test type=MX: Host not found\)"
ok "and reported to the sender" wait_for 15 'grep -rl "^Final-Recipient: rfc822; rcpt@nowhere\.test$" "$T/home/alice/Maildir/new"'

send rcpt@broken.test
ok "a name server that fails: deferred" \
   log_has "to=<rcpt@broken\.test>, relay=none, .*dsn=4\.4\.3, status=deferred \(Host or domain name not found\. Name service error for name=broken\.test type=MX: Host not found, try again\)"

send rcpt@nullmx.test
ok "a null MX: the domain takes no mail" \
   log_has "to=<rcpt@nullmx\.test>, relay=none, .*dsn=5\.1\.10, status=bounced \(Domain nullmx\.test does not accept mail \(nullMX\)\)"

send rcpt@self.test
ok "the MX is this host: the mail would loop" \
   log_has "to=<rcpt@self\.test>, relay=none, .*dsn=5\.4\.6, status=bounced \(mail for self\.test loops back to myself\)"

send rcpt@backup.test
ok "as a backup MX, only better MX hosts are used" \
   log_has "to=<rcpt@backup\.test>, relay=best\.backup\.test\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"
unlike "$(cat "$T/dns.log")" 'worse\.backup\.test' "a worse MX is not even looked up"

before=$(count "$T/mx")
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to a@plain.test,b@plain.test,c@order.test \
    --body "two domains" >/dev/null 2>&1
ok "two domains: all sent" log_has "to=<c@order\.test>, relay=first\.order\.test.*status=sent"
ok "b too" log_has "to=<b@plain\.test>, relay=plain\.test.*status=sent"
wait_for 5 "test \$(count \"\$T/mx\") -ge $((before + 2))"
is "$(count "$T/mx")" $((before + 2)) "one session per domain: two transactions for three recipients"
is "$(grep -l 'X-Rcpt-Args: <a@plain.test>' "$T"/mx/* | xargs grep -c 'X-Rcpt-Args:')" 2 \
   "a@ and b@plain.test went in the same transaction"
mta_stop

# A relayhost without brackets is looked up as MX, with its own port.
mta_start -o "dns_server_address=127.0.0.1:$DNS_PORT" -o "relayhost=mx-ok.test:$SINK_PORT" -o inet_protocols=ipv4
send far@anywhere.example
ok "relayhost = host:port: its MX hosts, on that port" \
   log_has "to=<far@anywhere\.example>, relay=mx2\.mx-ok\.test\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"
unlike "$(cat "$T/dns.log")" 'anywhere\.example' "the recipient's domain is not looked up"
mta_stop
done_testing
