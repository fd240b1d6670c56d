#!/bin/sh
# 475-mtaq-hold.t - the hold queue end to end: an access map HOLD puts an
# accepted message on hold with its reason; it is not delivered; mtaq
# list --hold and show display it with the reason; mtaq release hands it
# to delivery (through procsort into the user's folder) within a second
# or two, without filtering it again; mtaq hold and delete act on a
# deferred message while the daemon runs; unknown ids are errors.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"
printf 'quarantine@example.org HOLD suspicious sender\n' > "$T/access"
cat > "$T/aliases" <<EOF
slow: "|echo busy; exit 75"
EOF
mq_conf
cat >> "$T/main.cf" <<EOF
access_maps = hash:$T/access
mailbox_command = $TOP/procsort/procsort HOME=\$HOME DEFAULT=\$HOME/Maildir/ \$HOME/.procmailrc
minimal_backoff_time = 1h
maximal_backoff_time = 1h
queue_run_delay = 1h
EOF
mq_home bob
printf ':0\n* ^Subject:.*held\n$HOME/quarantined.mbox\n' > "$T/home/bob/.procmailrc"
[ "$(id -u)" = 0 ] && chown "$MQ_OWNER" "$T/home/bob/.procmailrc"
mq_start

out=$(send quarantine@example.org bob@mx.test --header "Subject: held for review")
id=$(qid "$out")
like "$out" "250 2.0.0 Ok: queued as $id" "the held message is accepted (250)"
ok "it is in the hold queue" wait_for 5 'test -f "$T/q/hold/$id"'
sleep 2
ok "and not delivered" test ! -e "$T/home/bob/quarantined.mbox"
list=$(mtaq list --hold)
like "$list" "^$id! " "mtaq list --hold: the id marked !"
like "$list" "\(held: .*suspicious sender.*\)$" "with the hold reason"
like "$list" '^ +bob@mx.test$' "and its recipient"
like "$(mtaq list --json)" "\"queue_id\": \"$id\".*\"hold_reason\": \".*suspicious sender" "--json has hold_reason"
show=$(mtaq show "$id")
like "$show" '^Hold-Reason: .*suspicious sender' "mtaq show: the hold reason"
like "$show" '^Subject: held for review$' "mtaq show: the header"
unlike "$show" '^Delivered-To:' "as queued, before delivery"

ok "mtaq release" mtaq release "$id"
ok "delivered through procsort after the release" wait_for 5 'test "$(mbox_count "$T/home/bob/quarantined.mbox")" -eq 1'
ok "log: sent" log_has "$id: to=<bob@mx.test>, relay=local, .*status=sent"
is "$(log_count "$id: to=<bob@mx.test>")" 1 "delivered once"
ok "the queue is empty" wait_for 5 'test "$(queue_count)" -eq 0'

# hold and delete while the daemon runs.
out=$(send sender@example.org slow@mx.test --header "Subject: slow")
id=$(qid "$out")
ok "deferred" wait_for 5 'test -f "$T/q/deferred/$id"'
ok "mtaq hold --reason" mtaq hold --reason "checking with the user" "$id"
ok "now in hold" test -f "$T/q/hold/$id"
like "$(mtaq list --hold)" '\(held: checking with the user\)$' "with the new reason"
ok "mtaq flush does not touch held mail" mtaq flush
sleep 1.5
ok "still in hold" test -f "$T/q/hold/$id"
is "$(log_count "$id: to=<slow@mx.test>")" 1 "no further attempt while held"
ok "mtaq delete" mtaq delete "$id"
ok "gone" test "$(queue_count)" -eq 0

# Errors.
nok "mtaq release of an unknown id fails" mtaq release 5BLwJc4HQgz1bc5Z
like "$(mtaq release 5BLwJc4HQgz1bc5Z 2>&1)" 'no such message in the queue' "with a clear message"
nok "mtaq show of an invalid id fails" mtaq show "../../etc/passwd"
mq_stop
done_testing
