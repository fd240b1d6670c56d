#!/bin/sh
# 472-defer-retry.t - temporary failures through mta-core: a command that
# exits 75 (EX_TEMPFAIL) is deferred (4.3.0, with its output in the
# reason), shown by mtaq list and list --json with that reason, retried
# after the backoff and delivered exactly once; a command killed by a
# signal is deferred too; any other exit status bounces (5.3.0, or the
# sysexits code's DSN); with a long backoff, mtaq flush gets the retry
# done at once; maximal_queue_lifetime expires what keeps failing.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

# Fails with 75 while $T/out/fail-N exists (N counts down), then delivers.
cat > "$T/flaky.sh" <<'EOF'
#!/bin/sh
d=$(dirname "$0")/out
if [ -e "$d/fail" ]; then
    n=$(cat "$d/fail")
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$d/fail"; echo "mailbox busy, try later"; exit 75; fi
fi
cat >> "$d/flaky.out"
EOF
chmod 755 "$T/flaky.sh"
cat > "$T/aliases" <<EOF
flaky: |$T/flaky.sh
killed: "|kill -9 \$\$"
fails: "|echo no such folder; exit 1"
cantcreat: "|exit 73"
EOF
mq_conf
cat >> "$T/main.cf" <<EOF
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
EOF
mq_start

echo 2 > "$T/out/fail"
chmod 666 "$T/out/fail"
out=$(send sender@example.org flaky@mx.test --header "Subject: retry me")
id=$(qid "$out")
ok "first attempt deferred with the command's output" \
   log_has "$id: to=<flaky@mx.test>, relay=local, .*dsn=4\.3\.0, status=deferred \(temporary failure\. Command output: mailbox busy, try later\)"
wait_for 5 'test "$(queue_count deferred)" -eq 1'
list=$(mtaq list)
like "$list" "^$id " "mtaq list shows the deferred message"
like "$list" '\(temporary failure\. Command output: mailbox busy, try later\)$' "with the reason"
like "$(mtaq list --json)" '"delay_reason": "temporary failure\. Command output: mailbox busy, try later"' \
     "list --json has it as delay_reason"
ok "retried and delivered" wait_for 15 'grep -q "Subject: retry me" "$T/out/flaky.out"'
is "$(log_count "$id: to=<flaky@mx.test>")" 3 "three attempts logged (two deferred, one sent)"
is "$(grep -c '^Subject: retry me' "$T/out/flaky.out")" 1 "delivered exactly once"
ok "log: sent" log_has "$id: to=<flaky@mx.test>, relay=local, .*status=sent \(delivered to command: $T/flaky.sh\)"
ok "log: removed" log_has "$id: removed"

out=$(send sender@example.org killed@mx.test --header "Subject: killed")
id=$(qid "$out")
ok "a command killed by a signal is deferred" \
   log_has "$id: to=<killed@mx.test>, relay=local, .*dsn=4\.3\.0, status=deferred \(Command died with signal 9: "
mtaq delete "$id" 2>/dev/null

out=$(send sender@example.org fails@mx.test --header "Subject: fails")
id=$(qid "$out")
ok "exit 1 bounces 5.3.0 with the output" \
   log_has "$id: to=<fails@mx.test>, relay=local, .*dsn=5\.3\.0, status=bounced \(Command died with status 1: \"echo no such folder; exit 1\"\. Command output: no such folder\)"
out=$(send sender@example.org cantcreat@mx.test --header "Subject: 73")
id=$(qid "$out")
ok "exit 73 (EX_CANTCREAT) bounces with its DSN, 5.2.0" \
   log_has "$id: to=<cantcreat@mx.test>, relay=local, .*dsn=5\.2\.0, status=bounced \(can't create user output file\)"
mq_stop

# A long backoff: only mtaq flush gets it retried.
echo 1 > "$T/out/fail"
mq_start -o minimal_backoff_time=1h -o maximal_backoff_time=1h -o queue_run_delay=1h
out=$(send sender@example.org flaky@mx.test --header "Subject: flush me")
id=$(qid "$out")
ok "deferred" log_has "$id: to=<flaky@mx.test>, .*status=deferred"
sleep 2
is "$(grep -c '^Subject: flush me' "$T/out/flaky.out")" 0 "not retried by itself"
ok "mtaq flush" mtaq flush
ok "delivered right after the flush" wait_for 3 'grep -q "Subject: flush me" "$T/out/flaky.out"'
mq_stop

# maximal_queue_lifetime: a message that keeps failing expires.
echo 100 > "$T/out/fail"
mq_start -o maximal_queue_lifetime=2s
out=$(send sender@example.org flaky@mx.test --header "Subject: expire me")
id=$(qid "$out")
ok "expired and returned to the sender" \
   wait_for 30 'grep -Eq "$id: to=<flaky@mx.test>, relay=none, .*dsn=4\.3\.0, status=expired, returned to sender \(message expired: temporary failure" "$MTA_LOG"'
ok "and removed" wait_for 15 'test "$(queue_count)" -eq 0'
mq_stop
done_testing
