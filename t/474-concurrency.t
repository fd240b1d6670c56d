#!/bin/sh
# 474-concurrency.t - 100 SMTP sessions at once, each sending 10 messages
# over its connection (t/data/mta-queue/smtpload.pl): every one of the
# 1000 messages gets a 250 with a unique queue id, is delivered, exactly
# once (each message's unique subject is found once in the Maildirs), and
# the queue ends up empty.  Prints the time it took.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

CLIENTS=100
MESSAGES=10
TOTAL=$((CLIENTS * MESSAGES))

mq_conf
mq_start
start=$(date +%s.%N)
with_timeout 300 perl "$MQ_DATA/smtpload.pl" 127.0.0.1 "$PORT" $CLIENTS $MESSAGES mx.test 10 \
    >"$T/accepted" 2>"$T/load.err"
st=$?
is "$st" 0 "all $CLIENTS sessions ran to the end"
[ -s "$T/load.err" ] && diag "$(head -5 "$T/load.err")"
is "$(wc -l < "$T/accepted")" $TOTAL "$TOTAL messages accepted (250)"
is "$(cut -d' ' -f2 "$T/accepted" | sort -u | wc -l)" $TOTAL "each with a queue id of its own"

ok "all delivered" wait_for 120 'test "$(find "$T/home" -path "*/Maildir/new/*" -type f | wc -l)" -ge $TOTAL'
end=$(date +%s.%N)
wait_for 10 'test "$(queue_count)" -eq 0'
is "$(queue_count)" 0 "the queue is empty"
sleep 1
find "$T/home" -path "*/Maildir/new/*" -type f -exec grep -h '^Subject: load ' {} + | sort > "$T/delivered"
is "$(wc -l < "$T/delivered")" $TOTAL "$TOTAL copies delivered, no more"
is "$(uniq -d "$T/delivered" | wc -l)" 0 "no message delivered twice"
is "$(sed 's/^Subject: load //' "$T/delivered" | sort)" "$(cut -d' ' -f1 "$T/accepted" | sort)" \
   "every accepted message delivered, none lost"
is "$(log_count 'status=sent \(delivered to maildir\)')" $TOTAL "one status=sent log line per message"
is "$(log_count ': removed$')" $TOTAL "one removed line per message"
diag "$TOTAL messages from $CLIENTS concurrent sessions accepted and delivered in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
mq_stop
done_testing
