#!/bin/sh
# 605-defer-bounce.t - what happens when relaying fails:
#   - the next hop is down: deferred with the reason (log, mtaq list,
#     mtaq list --deferred), then up: "mtaq flush" delivers at once; again
#     with SIGHUP instead of mtaq flush;
#   - a 5xx for a recipient: an RFC 3464 report in the (local) sender's
#     mailbox, with the server's reply and the original message attached;
#   - 4xx for longer than maximal_queue_lifetime: a report too (expired);
#   - one delay warning, never two (delay_warning_time);
#   - NOTIFY=NEVER: no report;
#   - a report that cannot be delivered is never reported in turn, and one
#     that can only wait expires after bounce_queue_lifetime.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
need_cmd mtaq "the queue tool"

mtaq_q() {
    mtaq -o queue_directory="$T/q" "$@"
}

# --- the next hop is down, then up ---
SINK_WANT_PORT=$(free_port)
mta_start -o "relayhost=[127.0.0.1]:$SINK_WANT_PORT" -o minimal_backoff_time=3600s -o maximal_backoff_time=3600s
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to far@remote.example --header "Subject: down" \
    --body "waiting" >/dev/null 2>&1
ok "deferred with the reason" \
   log_has "to=<far@remote\.example>, relay=none, .*dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_WANT_PORT: Connection refused\)"
ok "in deferred/" wait_for 10 'test "$(qcount deferred)" = 1'
list=$(mtaq_q list)
like "$list" "far@remote\.example" "mtaq list shows the recipient"
like "$list" "\(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_WANT_PORT: Connection refused\)" "and why it waits"
like "$(mtaq_q list --deferred)" "Connection refused" "mtaq list --deferred too"
sink_start up
ok "mtaq flush" mtaq_q flush
ok "delivered once the next hop is back, without waiting for the backoff" wait_for 15 'test "$(count "$T/up")" -ge 1'
ok "logged as sent" log_has "to=<far@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_WANT_PORT, .*status=sent"
ok "the queue is empty" wait_for 5 'test "$(qcount deferred)$(qcount active)" = 00'

# Again, SIGHUP instead of mtaq flush.
stop_bg "$SINK_PID"
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to far2@remote.example --body "again" >/dev/null 2>&1
ok "deferred again" wait_for 15 'test "$(qcount deferred)" = 1'
sink_start up2
kill -HUP "$MTA_PID"
ok "SIGHUP runs the deferred queue at once" wait_for 15 'test "$(count "$T/up2")" -ge 1'
ok "and says so" log_has "queue run: every deferred message, now"
mta_stop
stop_bg "$SINK_PID"
unset SINK_WANT_PORT

# --- reports: 5xx, expiry, a delay warning, NOTIFY=NEVER ---
sinkd_start sk
cat > "$T/sk.rules" <<'EOF'
rcpt bad@remote.example 550 5.1.1 <bad@remote.example>: Recipient address rejected: User unknown in virtual mailbox table
rcpt slow@remote.example 450 4.2.0 <slow@remote.example>: Recipient address rejected: Greylisted, try later
rcpt never@remote.example 550 5.1.1 <never@remote.example>: no such user
rcpt someone@remote.example 550 5.1.1 <someone@remote.example>: no such user either
rcpt grey@remote.example 450 4.7.1 <grey@remote.example>: greylisted forever
EOF
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT" -o minimal_backoff_time=1s -o maximal_backoff_time=1s \
    -o queue_run_delay=1s -o maximal_queue_lifetime=4s -o bounce_queue_lifetime=2s -o delay_warning_time=1s
swaks --server 127.0.0.1:$PORT --from alice@mx.test --to bad@remote.example \
    --header "Subject: for bad" --header "X-Original: kept" --body "the original body" >/dev/null 2>&1
ok "the report reaches the sender's mailbox" delivered alice 1
r=$(cat "$(msgs alice | head -1)")
like "$r" '^Return-Path: <>$' "from the null sender"
like "$r" '^From: MAILER-DAEMON@mx\.test \(Mail Delivery System\)$' "From: MAILER-DAEMON"
like "$r" '^Subject: Undelivered Mail Returned to Sender$' "the subject people filter on"
like "$r" '^Auto-Submitted: auto-replied$' "Auto-Submitted: auto-replied"
like "$r" '^Content-Type: multipart/report; report-type=delivery-status;$' "multipart/report, delivery-status"
like "$r" '^<bad@remote\.example>: host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1' "the reason for people"
like "$r" '^Content-Type: message/delivery-status$' "the machine-readable part"
like "$r" '^Reporting-MTA: dns; mx\.test$' "Reporting-MTA"
like "$r" '^Final-Recipient: rfc822; bad@remote\.example$' "Final-Recipient"
like "$r" '^Action: failed$' "Action: failed"
like "$r" '^Status: 5\.1\.1$' "Status: the server's"
like "$r" '^Remote-MTA: dns; 127\.0\.0\.1$' "Remote-MTA"
like "$r" '^Diagnostic-Code: smtp; 550 5\.1\.1 <bad@remote\.example>: Recipient address$' \
     "Diagnostic-Code: the server's reply"
like "$r" '^ rejected: User unknown in virtual mailbox table$' "folded under 76 columns"
like "$r" '^Content-Type: message/rfc822$' "the original message attached"
like "$r" '^Return-Path: <alice@mx\.test>$' "with its sender"
like "$r" '^Subject: for bad$' "its headers"
like "$r" '^X-Original: kept$' "all of them"
like "$r" '^the original body$' "and its body"
ok "logged: sender non-delivery notification" log_has ": sender non-delivery notification: [0-9A-Za-z]+$"

swaks --server 127.0.0.1:$PORT --from alice@mx.test --to slow@remote.example --header "Subject: for slow" \
    --body "slow body" >/dev/null 2>&1
ok "4xx: deferred" log_has "to=<slow@remote\.example>, .*status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0"
ok "a delay warning" wait_for 20 'grep -l '\''^Subject: Delayed Mail (still being retried)$'\'' -r "$T/home/alice/Maildir/new"'
ok "then, past maximal_queue_lifetime, expired" \
   log_has "to=<slow@remote\.example>, relay=none, .*dsn=4\.2\.0, status=expired, returned to sender \(message expired: host"
ok "and reported" wait_for 20 'test "$(grep -l '\''^Final-Recipient: rfc822; slow@remote\.example$'\'' -r "$T/home/alice/Maildir/new" | wc -l)" -ge 2'
sleep 2
is "$(grep -l '^Subject: Delayed Mail' -r "$T/home/alice/Maildir/new" | wc -l)" 1 "one delay warning, never two"
w=$(cat "$(grep -l '^Subject: Delayed Mail' -r "$T/home/alice/Maildir/new")")
like "$w" '^Action: delayed$' "the warning: Action: delayed"
like "$w" '^Will-Retry-Until: ' "Will-Retry-Until"
like "$w" '^Content-Type: text/rfc822-headers$' "headers only, as Postfix sends them"
unlike "$w" 'slow body' "not the body"
f=$(grep -l '^Subject: Undelivered' -r "$T/home/alice/Maildir/new" | xargs grep -l 'slow@remote' | head -1)
like "$(cat "$f")" '^Diagnostic-Code: smtp; 450 4\.2\.0 <slow@remote\.example>: Recipient address$' \
     "the expired report quotes the last 4xx"
like "$(cat "$f")" '^Status: 4\.2\.0$' "and keeps its status, as Postfix does"

# NOTIFY=NEVER (given with mta-sendmail -N, our smtpd offers no DSN): nothing comes back.
before=$(msgs alice | wc -l)
printf 'queue_directory = %s\nmyhostname = mx.test\nmydomain = test\n' "$T/q" > "$T/mta.conf"
printf 'Subject: never tell\n\nbody\n' | mta-sendmail -C "$T/mta.conf" -N never -f alice@mx.test never@remote.example
ok "NOTIFY=NEVER: bounced" log_has "to=<never@remote\.example>, .*status=bounced"
ok "and no report, as asked" log_has "no non-delivery notification: the recipients' NOTIFY excludes it"
is "$(msgs alice | wc -l)" "$before" "alice got nothing more"

# A report that bounces is never reported: someone@remote is rejected, and so is the report to him.
swaks --server 127.0.0.1:$PORT --from someone@remote.example --to never@remote.example --body x >/dev/null 2>&1
ok "the report to someone@remote.example bounces too" \
   log_has "to=<someone@remote\.example>, .*status=bounced .*no such user either"
ok "and is dropped: no report about a report" log_has ": no non-delivery notification for the null sender$"
ok "the queue empties" wait_for 10 'test "$(qcount deferred)$(qcount active)$(qcount incoming)" = 000'
is "$(grep -c 'sender non-delivery notification' "$MTA_LOG")" 3 "three reports in all (bad, slow, someone)"

# A report that can only wait expires after bounce_queue_lifetime, and is dropped.
swaks --server 127.0.0.1:$PORT --from grey@remote.example --to never@remote.example --body x >/dev/null 2>&1
ok "the report to grey@ is deferred" log_has "to=<grey@remote\.example>, .*status=deferred .*greylisted forever"
ok "then expires (bounce_queue_lifetime)" \
   log_has "to=<grey@remote\.example>, relay=none, .*status=expired, returned to sender \(message expired: host"
ok "and nothing more is sent about it" wait_for 10 'test "$(grep -c "no non-delivery notification for the null sender" "$MTA_LOG")" -ge 2'
ok "the queue empties" wait_for 10 'test "$(qcount deferred)$(qcount active)$(qcount incoming)" = 000'
is "$(grep -c 'sender non-delivery notification' "$MTA_LOG")" 4 "four reports in all: none about a report"
mta_stop
done_testing
