#!/bin/sh
# 473-durability.t - never lose mail, never deliver twice:
#   - kill -9 right after the 250 reply: the message is on disk under the
#     id the reply named, complete (mtaq show reads it);
#   - kill -9 while the delivery command is running (blocked): nothing is
#     delivered behind our back (the command dies with the daemon), and
#     after a restart the message is delivered exactly once;
#   - kill -9 in the middle of DATA: no 250 was given, the partial file is
#     removed at the next start, nothing is delivered;
#   - a queue that cannot be written (incoming/ replaced by a file) and a
#     full disk (a file size limit): the client gets 4xx, never 250, and
#     the daemon goes on serving once the problem is gone.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

mq_conf
# A delivery that waits for $T/out/go before it writes.
cat >> "$T/main.cf" <<EOF
mailbox_command = : > $T/out/started-\$USER; while [ ! -e $T/out/go ]; do sleep 0.05; done; cat >> $T/out/\$USER.mbox
EOF

# 1. kill -9 right after 250.
mq_start
out=$(send sender@example.org bob@mx.test --header "Subject: durable")
id=$(qid "$out")
mq_kill
ok "250 with a queue id" test -n "$id"
like "$(mtaq show "$id" 2>&1)" '^Subject: durable$' "after kill -9 the message is on disk, complete"

# 2. kill -9 while the delivery command runs.  Whether the queue manager
# had begun the delivery before the first kill is a race (it scans once a
# second); here it is made certain: restart, wait for the command, kill.
mq_start
ok "after a restart the delivery command starts" wait_for 10 'test -e "$T/out/started-bob"'
mq_kill
# The command was cut short with the daemon: nothing delivered, even when it could go on now.
: > "$T/out/go"
chmod 666 "$T/out/go"
sleep 1
ok "nothing was delivered behind the dead daemon's back" test ! -e "$T/out/bob.mbox"
mq_start
ok "after the restart: delivered" wait_for 10 'test "$(mbox_count "$T/out/bob.mbox")" -ge 1'
wait_for 5 'test "$(queue_count)" -eq 0'
sleep 1
is "$(mbox_count "$T/out/bob.mbox")" 1 "exactly once"
ok "log: the unfinished message was taken up again" log_has "unfinished message from the active queue taken up again"
ok "log: sent" log_has "$id: to=<bob@mx.test>, relay=local, .*status=sent"

# 3. kill -9 in the middle of DATA.
rm -f "$T/out/go"
chat_out=$(with_timeout 30 perl "$TOP/t/data/mta-smtpd/smtpchat.pl" 127.0.0.1 "$PORT" <<'S' &
<
> EHLO client.test
<
> MAIL FROM:<sender@example.org>
<
> RCPT TO:<carol@mx.test>
<
> DATA
<
> Subject: never finished
>
> half a message
sleep 3
S
)
sleep 1.5
# (smtpd may buffer the message and create the queue file only at its end)
partial=$(ls -A "$T/q/incoming" | grep -c '^\.tmp-')
mq_kill
wait
mq_start
if [ "$partial" -gt 0 ]; then
    ok "the partial file is removed at start" log_has "removed uncommitted queue file $T/q/incoming/\.tmp-"
else
    ok "no partial file was left behind" test "$(ls -A "$T/q/incoming" | grep -c '^\.tmp-')" -eq 0
fi
is "$(ls -A "$T/q/incoming" | wc -l)" 0 "incoming/ is empty"
is "$(queue_count)" 0 "nothing of the unfinished message is queued"
: > "$T/out/go"
sleep 1
ok "nothing was delivered for carol" test ! -e "$T/out/carol.mbox"

# 4. A queue that cannot be written.
rm -rf "$T/q/incoming"
: > "$T/q/incoming"
out=$(send sender@example.org bob@mx.test --header "Subject: no queue")
like "$out" '<\*\* +4[0-9][0-9] ' "an unwritable queue gives 4xx"
unlike "$out" 'queued as' "and no 250"
rm -f "$T/q/incoming"
mkdir "$T/q/incoming"
[ "$(id -u)" = 0 ] && chown "$MQ_OWNER" "$T/q/incoming" && chmod 700 "$T/q/incoming"
out=$(send sender@example.org bob@mx.test --header "Subject: queue back")
like "$out" 'queued as' "with the queue back, mail is accepted again"
mq_stop

# 5. A full disk: the daemon's file size limit (512-byte blocks in sh) makes the write fail.
mv "$T/mta.log" "$T/mta.log.1"
PORT=$(free_port)
MTA_LOG="$T/mta.log"
sh -c 'ulimit -f 40; exec "$@"' sh "$TOP/mta-core/mta-core" -c "$T/main.cf" -o smtpd_listen="127.0.0.1:$PORT" >"$MTA_LOG" 2>&1 &
MTA_PID=$!
tap_pids="$tap_pids $MTA_PID"
wait_port "$PORT" 10 || bail "mta-core did not start"
big=$(head -c 60000 /dev/zero | tr '\0' 'y' | fold -w 76)
before=$(queue_count)
out=$(send sender@example.org bob@mx.test --header "Subject: too big for the disk" --body "$big")
like "$out" '<\*\* +4[0-9][0-9] ' "a write error (disk full) gives 4xx"
unlike "$out" 'queued as' "and no 250"
is "$(queue_count)" "$before" "nothing half-written was left in the queue"
is "$(ls -A "$T/q/incoming" | grep -c '^\.tmp-')" 0 "not even a temp file"
out=$(send sender@example.org bob@mx.test --header "Subject: small" --body "fits")
like "$out" 'queued as' "a small message still fits and is accepted"
ok "the daemon is still running" kill -0 "$MTA_PID"
mq_stop
done_testing
