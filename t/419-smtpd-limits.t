#!/bin/sh
# 419-smtpd-limits.t - limits and timeouts: smtpd_recipient_limit, the hard
# and soft error limits (with the error sleep measured), the junk command
# limit, smtpd_timeout while waiting for a command and in the middle of
# DATA (nothing delivered), per-client connection count and rate, message
# and recipient rates (and their exceptions), default_process_limit
# (clients wait, are not refused).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

now() { perl -MTime::HiRes=time -e 'printf "%.2f\n", time'; }

mta_start -o smtpd_recipient_limit=2 -o smtpd_hard_error_limit=4 -o smtpd_soft_error_limit=100 \
          -o smtpd_timeout=2s -o smtpd_junk_command_limit=2
out=$(printf '<\n> HELO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RCPT TO:<r1@mx.test>\n<\n> RCPT TO:<r2@mx.test>\n<\n> RCPT TO:<r3@mx.test>\n<\n' | chat | tail -1)
is "$out" "452 4.5.3 Error: too many recipients" "smtpd_recipient_limit"

out=$(printf '<\n> FOO\n<\n> FOO\n<\n> FOO\n<\n> FOO\n<\n> NOOP\n<\n<*\n' | chat | tail -3)
is "$out" "502 5.5.2 Error: command not recognized
421 4.7.0 mx.test Error: too many errors
CLOSED" "smtpd_hard_error_limit: 421 and close"
ok "log: too many errors" log_has "too many errors after UNKNOWN from localhost\[127\.0\.0\.1\]"

out=$(printf '<\n> NOOP\n<\n> NOOP\n<\n> NOOP\n<\n> NOOP\n<\n> NOOP\n<\n> NOOP\n<\n> NOOP\n<\n' | chat | tail -2)
is "$out" "250 2.0.0 Ok
421 4.7.0 mx.test Error: too many errors" "NOOPs beyond smtpd_junk_command_limit count as errors"

t0=$(now)
out=$(printf '<\n<*\n' | chat)
t1=$(now)
is "$out" "220 mx.test ESMTP mailsift
421 4.4.2 mx.test Error: timeout exceeded
CLOSED" "smtpd_timeout while waiting for a command"
ok "after about 2 s" perl -e "exit !($t1 - $t0 >= 1.8 && $t1 - $t0 < 5)"
ok "log: timeout after CONNECT" log_has "timeout after CONNECT from localhost\[127\.0\.0\.1\]"

out=$(printf '<\n> HELO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RCPT TO:<slow@mx.test>\n<\n> DATA\n<\n> Subject: slow\n>\n> half a message\n<*\n' | chat | tail -2)
is "$out" "421 4.4.2 mx.test Error: timeout exceeded
CLOSED" "smtpd_timeout in the middle of DATA"
ok "log: timeout after DATA" log_has "timeout after DATA from localhost\[127\.0\.0\.1\]"
sleep 0.5
is "$(msgs slow | wc -l)$(find "$T/q" -type f | wc -l)" "00" "the half message is neither delivered nor left in the queue"
mta_stop

mta_start -o smtpd_soft_error_limit=2 -o smtpd_error_sleep_time=1s -o smtpd_hard_error_limit=50
t0=$(now)
printf '<\n> FOO\n<\n> FOO\n<\n> FOO\n<\n> FOO\n<\n' | chat > /dev/null
t1=$(now)
ok "smtpd_soft_error_limit: replies after the 2nd error wait 1 s each (took $(perl -e "printf '%.1f', $t1 - $t0")s)" \
   perl -e "exit !($t1 - $t0 >= 1.8 && $t1 - $t0 < 6)"
mta_stop

mta_start -o smtpd_client_connection_count_limit=1 -o smtpd_client_event_limit_exceptions= \
          -o smtpd_client_message_rate_limit=1 -o smtpd_client_recipient_rate_limit=2
printf '<\nsleep 2\n> QUIT\n<\n' | chat > "$T/first" &
first=$!
sleep 0.5
out=$(printf '<\n<*\n' | chat)
is "$out" "421 4.7.0 mx.test Error: too many connections from 127.0.0.1
CLOSED" "smtpd_client_connection_count_limit"
ok "log: concurrency limit" log_has "warning: Connection concurrency limit exceeded: 2 from localhost\[127\.0\.0\.1\] for service smtp"
wait $first
is "$(head -1 "$T/first")" "220 mx.test ESMTP mailsift" "the first client was served"
out=$(printf '<\n> HELO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RCPT TO:<r1@mx.test>\n<\n> RCPT TO:<r2@mx.test>\n<\n> RCPT TO:<r3@mx.test>\n<\n> RSET\n<\n> MAIL FROM:<a@example.org>\n<\n' | chat)
is "$(printf '%s\n' "$out" | sed -n '6,8p')" "450 4.7.1 Error: too many recipients from 127.0.0.1
250 2.0.0 Ok
450 4.7.1 Error: too much mail from 127.0.0.1" "message and recipient rate limits"
mta_stop

mta_start -o smtpd_client_connection_rate_limit=2 -o smtpd_client_message_rate_limit=1
for i in 1 2 3; do printf '<\n> QUIT\n<\n' | chat > /dev/null; done
out=$(printf '<\n> HELO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RSET\n<\n> MAIL FROM:<a@example.org>\n<\n' | chat | tail -1)
is "$out" "250 2.1.0 Ok" "clients in smtpd_client_event_limit_exceptions (\$mynetworks) have no limits"
mta_stop

mta_start -o smtpd_client_connection_rate_limit=2 -o smtpd_client_event_limit_exceptions=
for i in 1 2; do printf '<\n> QUIT\n<\n' | chat > /dev/null; done
out=$(printf '<\n<*\n' | chat)
is "$out" "421 4.7.0 mx.test Error: too many connections from 127.0.0.1
CLOSED" "smtpd_client_connection_rate_limit"
ok "log: rate limit" log_has "warning: Connection rate limit exceeded: 3 from localhost\[127\.0\.0\.1\] for service smtp"
mta_stop

mta_start -o default_process_limit=1
printf '<\nsleep 1.5\n> QUIT\n<\n' | chat > /dev/null &
first=$!
sleep 0.3
t0=$(now)
out=$(printf '<\n> QUIT\n<\n' | chat)
t1=$(now)
wait $first
is "$out" "220 mx.test ESMTP mailsift
221 2.0.0 Bye" "default_process_limit: the second client is served..."
ok "... once the first has gone ($(perl -e "printf '%.1f', $t1 - $t0")s)" perl -e "exit !($t1 - $t0 >= 0.9)"
mta_stop
done_testing
