#!/bin/sh
# 520-milter-mta.t - mta-core with smtpd_milters, end to end, against
# t/lib/testmilter: a RCPT reject refuses that recipient only; edits made
# at end of message (headers, recipients) are in the delivered message; a
# quarantine puts the message in the hold queue with its reason (mtaq list
# --hold), and mtaq release delivers it; discard says 250 and delivers
# nothing; reject and tempfail at end of message reach the client; our
# Received: is not shown to the milter.  Then milters that are not there,
# and one that hangs in one session while another session is served.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"
. "$TOP/t/data/mta-queue/lib.sh"

plan 38

# (A non-empty alias map: an empty one trips UBSan in alias_map.c's bsearch.)
printf 'postmaster: bob\n' > "$T/aliases"

MPORT=$(free_port)
cat > "$T/script" <<'EOF'
rcpt:reject-me reply 550 5.7.1 "recipient refused by milter"
rcpt:slow hang 30
eom:edit@ addheader X-Milter checked
eom:edit@ chgheader Subject 1 "[checked] edited"
eom:hold@ quarantine "held by testmilter"
eom:hold@ addheader X-Held-Too yes
eom:discard@ discard
eom:reject@ reply 554 5.7.1 "content rejected by milter"
eom:tempfail@ tempfail
eom:addrcpt@ addrcpt <carol@mx.test>
eom:addrcpt@ delrcpt <bob@mx.test>
EOF
start_bg "$T/milter.err" "$TOP/t/lib/testmilter" -p "inet:$MPORT@127.0.0.1" -s "$T/script" -l "$T/milter.log"
MILTER=$BG_PID
wait_port "$MPORT" 10 || bail "testmilter did not start: $(cat "$T/milter.err")"

mq_conf
cat >> "$T/main.cf" <<EOF
smtpd_milters = inet:127.0.0.1:$MPORT
milter_command_timeout = 3s
EOF
mq_home bob
mq_home carol
mq_start

# Header edits land in the delivered message.
out=$(send edit@example.org bob@mx.test --header "Subject: hello")
like "$out" "250 2.0.0 Ok: queued as" "edited message accepted"
ok "delivered to bob" wait_for 10 'test "$(maildir_count bob)" -eq 1'
msg=$(cat "$T"/home/bob/Maildir/new/* 2>/dev/null)
like "$msg" '^X-Milter: checked$' "the milter's added header is in the delivered message"
like "$msg" '^Subject: \[checked\] edited$' "and its changed Subject"
unlike "$msg" '^Subject: hello$' "the old Subject is gone"
like "$msg" '^Received: from client.test' "our Received: is there"
like "$(cat "$T/milter.log")" 'header Subject=\[hello\]' "the milter saw the message's headers"
unlike "$(cat "$T/milter.log")" 'header Received=' "but not our Received:"

# A RCPT reject refuses that recipient only.
out=$(send sender@example.org reject-me@mx.test,bob@mx.test --header "Subject: two rcpts")
like "$out" '<[~*]\* 550 5.7.1 recipient refused by milter' "RCPT reject: the milter's code and text"
like "$out" '250 2.0.0 Ok: queued as' "the other recipient's message is accepted"
ok "and delivered to bob" wait_for 10 'test "$(maildir_count bob)" -eq 2'
ok "logged as milter-reject with the milter as the rule" \
    log_has "milter-reject: RCPT from .*: 550 5.7.1 recipient refused by milter.*to=<reject-me@mx.test>"

# Quarantine: into the hold queue with the reason, out with mtaq release.
out=$(send hold@example.org bob@mx.test --header "Subject: quarantine me")
id=$(qid "$out")
like "$out" "250 2.0.0 Ok: queued as $id" "the held message is accepted"
ok "it is in the hold queue" wait_for 5 'test -f "$T/q/hold/$id"'
like "$(mtaq list --hold)" "held: .*held by testmilter" "mtaq list --hold shows the milter's reason"
like "$(mtaq show "$id")" '^X-Held-Too: yes$' "the milter's edits are in the held message"
sleep 1
is "$(maildir_count bob)" 2 "not delivered while held"
ok "mtaq release" mtaq release "$id"
ok "delivered after the release" wait_for 10 'test "$(maildir_count bob)" -eq 3'
ok "the queue is empty" wait_for 5 'test "$(queue_count)" -eq 0'

# Discard: 250, nothing delivered.
out=$(send discard@example.org bob@mx.test --header "Subject: drop me")
like "$out" '250 2.0.0 Ok: queued as' "discard: the client is told 250"
ok "logged as milter-discard" log_has "milter-discard: END-OF-MESSAGE"
sleep 1
is "$(maildir_count bob)" 3 "nothing delivered"
is "$(queue_count)" 0 "nothing queued"

# Reject and tempfail at end of message reach the client after DATA.
out=$(send reject@example.org bob@mx.test --header "Subject: refuse me")
like "$out" '<[~*]\* 554 5.7.1 content rejected by milter' "end-of-message reject: the milter's reply"
out=$(send tempfail@example.org bob@mx.test --header "Subject: later")
like "$out" '<[~*]\* 451 4.7.1 Service unavailable - try again later' "end-of-message tempfail: 451"
is "$(queue_count)" 0 "neither was queued"

# Recipient edits: carol added, bob removed.
out=$(send addrcpt@example.org bob@mx.test --header "Subject: for carol")
like "$out" '250 2.0.0 Ok: queued as' "recipient edits accepted"
ok "carol gets it" wait_for 10 'test "$(maildir_count carol)" -eq 1'
sleep 1
is "$(maildir_count bob)" 3 "bob, removed by the milter, does not"

# One session's milter hangs; another session is served meanwhile.
t0=$(date +%s%N)
send sender@example.org slow@mx.test --header "Subject: slow" > "$T/slow.out" &
SLOW=$!
sleep 0.3
out=$(send edit@example.org bob@mx.test --header "Subject: fast")
t1=$(date +%s%N)
like "$out" '250 2.0.0 Ok: queued as' "a second session is served while the first one's milter hangs"
ok "within 2 seconds ($(( (t1 - t0) / 1000000 ))ms)" test $(( (t1 - t0) / 1000000 )) -lt 2000
wait $SLOW
like "$(cat "$T/slow.out")" '<[~*]\* 451 4.7.1 Service unavailable - try again later' \
    "the hung session gets the default action after milter_command_timeout"
ok "logged why" log_has "timeout while waiting for the reply to SMFIC_RCPT after 3s; default_action=tempfail"
mq_stop

# No milter listening: tempfail by default, accept when told so.
cat > "$T/main.cf.bad" <<EOF
smtpd_milters = inet:127.0.0.1:$(free_port)
EOF
cat "$T/main.cf" | grep -v '^smtpd_milters' >> "$T/main.cf.bad"
mv "$T/main.cf.bad" "$T/main.cf"
mq_start
out=$(send sender@example.org bob@mx.test --header "Subject: nobody home")
like "$out" '<[~*]\* 451 4.7.1 Service unavailable - try again later' "unreachable milter: 451 (milter_default_action = tempfail)"
ok "logged why" log_has "connect to milter service inet:127.0.0.1:[0-9]*: Connection refused; default_action=tempfail"
mq_stop
mq_start -o milter_default_action=accept
out=$(send sender@example.org bob@mx.test --header "Subject: fail open")
like "$out" '250 2.0.0 Ok: queued as' "milter_default_action = accept: accepted without the milter"
ok "and delivered" wait_for 10 'test "$(maildir_count bob)" -eq 5'
mq_stop
stop_bg "$MILTER" 1
done_testing
