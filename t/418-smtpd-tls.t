#!/bin/sh
# 418-smtpd-tls.t - STARTTLS with a self-signed certificate made by openssl
# for the test: offered in EHLO (and not after TLS), swaks --tls delivers a
# message marked ESMTPS, the handshake is logged, a second STARTTLS is
# refused, plaintext pipelined after STARTTLS is thrown away (never
# executed), smtpd_tls_security_level = encrypt requires TLS before MAIL,
# a broken certificate stops the daemon from starting.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"
need_cmd openssl "certificates for the test"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.test" \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || bail "openssl req failed"
chmod 644 "$T/key.pem"

mta_start -o smtpd_tls_cert_file="$T/cert.pem" -o smtpd_tls_key_file="$T/key.pem" \
          -o smtpd_starttls_timeout=3s -o smtpd_tls_received_header=yes
out=$(printf '<\n> EHLO c.test\n<\n' | chat)
like "$out" "250-STARTTLS" "STARTTLS offered"

out=$(swaks --server 127.0.0.1:$PORT --tls --helo c.test --from a@example.org --to tls@mx.test 2>&1)
like "$out" "<-  220 2.0.0 Ready to start TLS" "STARTTLS accepted"
like "$out" "=== TLS started with cipher TLSv1\.[23]" "handshake done (TLS 1.2 or better)"
like "$out" "~> EHLO c.test" "EHLO again inside TLS"
unlike "$(printf '%s\n' "$out" | sed -n '/TLS started/,$p')" "250-STARTTLS" "not offered again inside TLS"
like "$out" "<~  250 2.0.0 Ok: queued as" "message accepted over TLS"
ok "delivered" delivered tls 1
m=$(cat "$(msgs tls)")
like "$m" "with ESMTPS id" "Received: with ESMTPS"
like "$m" "\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ \([0-9]+ bits\)\)" "smtpd_tls_received_header: protocol and cipher"
ok "log: TLS established" log_has "Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.[23] with cipher"

# A second STARTTLS, from inside TLS.
out=$( (printf 'EHLO again.test\n'; sleep 1; printf 'STARTTLS\n'; sleep 0.5; printf 'QUIT\n'; sleep 1) |
      with_timeout 20 openssl s_client -quiet -crlf -ign_eof -starttls smtp -connect "127.0.0.1:$PORT" 2>/dev/null)
like "$out" "554 5.5.1 Error: TLS already active" "STARTTLS inside TLS: 554"
like "$out" "221 2.0.0 Bye" "the last reply gets out through TLS before the close"

# Commands sent in the clear behind STARTTLS are never executed.
out=$(printf '<\n> EHLO c.test\n<\n>> STARTTLS\\r\\nMAIL FROM:<evil@example.org>\\r\\n\n<*\n' | chat)
is "$(printf '%s\n' "$out" | tail -2)" "220 2.0.0 Ready to start TLS
CLOSED" "no reply to what was pipelined after STARTTLS; the handshake timeout closes"
ok "log: the plaintext was discarded" log_has "discarding 30 bytes pipelined after STARTTLS"
unlike "$(cat "$MTA_LOG")" "evil@example.org" "never seen as a command"

out=$(printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> STARTTLS\n<\n' | chat | tail -1)
is "$out" "503 5.5.1 Error: MAIL transaction in progress" "no STARTTLS inside a transaction"
mta_stop

mta_start -o smtpd_tls_cert_file="$T/cert.pem" -o smtpd_tls_key_file="$T/key.pem" \
          -o smtpd_tls_security_level=encrypt
out=$(printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n' | chat | tail -1)
is "$out" "530 5.7.0 Must issue a STARTTLS command first" "encrypt: no MAIL before STARTTLS"
out=$(swaks --server 127.0.0.1:$PORT --tls --from a@example.org --to enc@mx.test 2>&1)
like "$out" "queued as" "encrypt: mail over TLS is fine"
mta_stop

out=$(printf '<\n> EHLO c.test\n<\n> STARTTLS\n<\n' | { mta_start; chat; })
like "$out" "502 5.5.1 Error: command not implemented" "no certificate: STARTTLS not implemented"
unlike "$out" "250-STARTTLS" "and not offered"
mta_stop

: > "$T/empty.pem"
PORT=$(free_port)
out=$(with_timeout 10 mta-core -o queue_directory="$T/q2" -o smtpd_listen=127.0.0.1:$PORT \
      -o smtpd_tls_cert_file="$T/empty.pem" 2>&1)
is "$?" 1 "a certificate that does not load: the daemon does not start"
like "$out" "fatal: cannot load certificate $T/empty.pem" "and says why"
done_testing
