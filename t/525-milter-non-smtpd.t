#!/bin/sh
# 525-milter-non-smtpd.t - non_smtpd_milters: mail submitted with
# mta-sendmail (the maildrop) goes through t/lib/testmilter before it is
# queued, as Postfix's cleanup does for pickup mail:
#  - the emulated events (connect from localhost [127.0.0.1] port 0, HELO
#    localhost, MAIL, RCPT, DATA, the message without the pickup's
#    Received:) with the queue id as "i" from the first event;
#  - edits land in the delivered message; HOLD puts it on hold with the
#    reason; DISCARD drops it and empties the maildrop;
#  - a reject bounces to the sender with the milter's status and text, and
#    nothing reaches the recipient;
#  - a tempfail, and a reject at RCPT (Postfix: a configuration error),
#    leave the file in the maildrop and are not tried again at once;
#  - SMTP mail does not go to non_smtpd_milters.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

plan 31

cat > "$T/m.script" <<'EOF'
eom:edit@ addheader X-Local-Milter checked
eom:edit@ chgheader Subject 1 "[checked] local"
eom:reject@ reply 554 5.7.1 "no local spam"
eom:tempfail@ tempfail
eom:hold@ quarantine "local hold"
eom:discard@ discard
rcpt:norcpt@ reject
EOF
start_bg "$T/m.err" "$TOP/t/lib/testmilter" -p "unix:$T/m.sock" -s "$T/m.script" -l "$T/m.log"
wait_file "$T/m.sock" 10 || bail "testmilter did not start: $(cat "$T/m.err")"
chmod 777 "$T" "$T/m.sock"

mq_conf
cat >> "$T/main.cf" <<EOF
non_smtpd_milters = unix:$T/m.sock
milter_command_timeout = 5s
EOF
for u in bob edit reject tempfail hold discard norcpt; do mq_home $u; done
mq_start -c "$T/main.cf"
wait_for 10 'test -d "$T/q/maildrop/incoming"' || bail "no maildrop: $(cat "$MTA_LOG")"

submit() { # SENDER SUBJECT: one message to bob
    printf 'Subject: %s\n\nbody of %s\n' "$2" "$2" | "$TOP/mta-core/mta-sendmail" -C "$T/main.cf" -f "$1" bob
}
maildrop_count() {
    find "$T/q/maildrop/incoming" -type f ! -name '.tmp-*' | wc -l
}

# Edits, and what the milter saw.
submit edit@mx.test hello
is "$?" 0 "mta-sendmail: exit 0"
ok "delivered to bob" wait_for 10 'test "$(maildir_count bob)" = 1'
msg=$(cat "$T"/home/bob/Maildir/new/*)
like "$msg" '^X-Local-Milter: checked$' "the milter's added header"
like "$msg" '^Subject: \[checked\] local$' "its changed Subject"
like "$msg" '^Received: by mx\.test' "the pickup's Received: is there"
id=$(sed -n 's/.*: \([0-9A-Za-z]*\): uid=[0-9]* from=<edit@mx\.test>$/\1/p' "$MTA_LOG" | head -1)
ok "log: the pickup line names the queue id ($id)" test -n "$id"
like "$msg" "id $id;" "the delivered message has that id"
log=$(cat "$T/m.log")
like "$log" 'c[0-9]+ connect host=localhost family=4 addr=127\.0\.0\.1 port=0' "CONNECT from localhost [127.0.0.1], port 0"
like "$log" 'c[0-9]+ helo localhost' "HELO localhost"
like "$log" 'c[0-9]+ mail <edit@mx\.test>' "MAIL with the sender"
like "$log" 'c[0-9]+ rcpt <bob@mx\.test>' "RCPT with the recipient"
like "$log" "macros mail:.* i=$id( |\$)" "i at MAIL is the queue id"
like "$log" "macros connect:.* _=localhost \[127\.0\.0\.1\]" "_ is localhost [127.0.0.1]"
like "$log" 'header Subject=\[? ?hello' "the milter saw the message's Subject"
unlike "$log" 'header Received=' "but not the pickup's Received:"
is "$(maildrop_count)" 0 "the maildrop is empty"

# Reject: a bounce to the sender.
submit reject@mx.test "rejected one"
ok "the sender gets a bounce" wait_for 15 'test "$(maildir_count reject)" = 1'
bounce=$(cat "$T"/home/reject/Maildir/new/* 2>/dev/null)
like "$bounce" '5\.7\.1' "with the milter's status"
like "$bounce" 'no local spam' "and its text"
ok "log: the milter's reject, with the queue id" log_has '[0-9A-Za-z]+: milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 no local spam; from=<reject@mx\.test>'
is "$(maildir_count bob)" 1 "bob got nothing more"

# Tempfail and a reject at RCPT: the file waits in the maildrop.
submit tempfail@mx.test "try later"
"$TOP/mta-core/mta-sendmail" -C "$T/main.cf" -f bob@mx.test norcpt@mx.test </dev/null
ok "log: tempfail leaves the file" log_has 'maildrop [0-9A-Za-z]+ left in the maildrop: 451 4\.7\.1 .*next attempt in 60s'
ok "log: a RCPT reject is a configuration error" log_has "milter configuration error: can't reject recipient in non-smtpd\(8\) submission"
sleep 3
is "$(maildrop_count)" 2 "both files are still in the maildrop, 3 s later"
is "$(grep -c 'mail <tempfail@mx.test>' "$T/m.log")" 1 "and were not tried again at once"

# Hold and discard.
submit hold@mx.test "hold me"
submit discard@mx.test "drop me"
ok "HOLD: in the hold queue" wait_for 10 'mtaq list --hold | grep -q "hold@mx.test"'
like "$(mtaq show "$(mtaq list --hold | awk '/hold@mx.test/ {print $1}' | tr -d '!*')" 2>&1)" 'local hold' \
    "with the milter's reason"
ok "log: the milter's discard" log_has '[0-9A-Za-z]+: milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action; from=<discard@mx\.test>'
ok "DISCARD: out of the maildrop, nothing delivered" \
    wait_for 10 'test "$(maildrop_count)" = 2 && test "$(maildir_count bob)" = 1'

# SMTP mail is for smtpd_milters only.
out=$(send smtp@example.org bob@mx.test --header "Subject: by smtp")
like "$out" "queued as" "SMTP mail is taken"
unlike "$(cat "$T/m.log")" 'client\.test|smtp@example\.org' "and never shown to non_smtpd_milters"
mq_stop
