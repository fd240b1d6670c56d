#!/bin/sh
# 476-root-delivery.t - mta-core as root without home_base, as in
# production: mta-core gives up root after qmgr_init() started the
# privileged delivery helper, and each delivery takes the recipient's identity:
# mailbox_command runs as the system user the mail is for (here: daemon),
# never as root (mail for root: default_privs), a |command from an aliases
# file owned by root runs as default_privs; the queues stay writable for
# the SMTP side.  Needs root; skipped otherwise.
. "$(dirname "$0")/lib/tap.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (deliveries as other users)"
getent passwd daemon >/dev/null && getent passwd nobody >/dev/null || skip_all "needs the users daemon and nobody"
. "$TOP/t/data/mta-queue/lib.sh"

cat > "$T/aliases" <<EOF
tocmd: "|id -un > $T/out/alias.who"
EOF
mq_conf
sed -i '/^home_base/d; /^home_mailbox/d' "$T/main.cf"
cat >> "$T/main.cf" <<EOF
mailbox_command = id -un > $T/out/\$USER.who; cat > $T/out/\$USER.msg
default_privs = nobody
EOF
mq_start
ok "log: the privileged delivery helper started" log_has "privileged delivery helper started"
ok "log: the daemon gave up root" log_has "running as $MQ_OWNER"

out=$(send sender@example.org daemon@mx.test --header "Subject: for daemon")
like "$out" 'queued as' "accepted by the unprivileged SMTP side"
ok "delivered" wait_for 10 'test -s "$T/out/daemon.who"'
is "$(cat "$T/out/daemon.who")" daemon "mailbox_command ran as the recipient"
like "$(cat "$T/out/daemon.msg")" '^Delivered-To: daemon@mx.test$' "with the message"

send sender@example.org root@mx.test --header "Subject: for root" >/dev/null
ok "mail for root delivered" wait_for 10 'test -s "$T/out/root.who"'
is "$(cat "$T/out/root.who")" nobody "but never as root: default_privs"

send sender@example.org tocmd@mx.test --header "Subject: alias" >/dev/null
ok "alias command ran" wait_for 10 'test -s "$T/out/alias.who"'
is "$(cat "$T/out/alias.who")" nobody "as default_privs (the aliases file is root's)"

out=$(send sender@example.org nosuchuser@mx.test --header "Subject: nobody home")
id=$(qid "$out")
if [ -n "$id" ]; then
    ok "an unknown local user bounces 5.1.1" \
       log_has "$id: to=<nosuchuser@mx.test>, relay=local, .*dsn=5\.1\.1, status=bounced \(unknown user: \"nosuchuser\"\)"
else
    like "$out" '<\*\* +550' "an unknown local user is refused by smtpd"
fi
is "$(stat -c %U "$T/q/incoming")" "$MQ_OWNER" "incoming/ belongs to mail_owner"
ok "the queue empties" wait_for 10 'test "$(queue_count)" -eq 0'
mq_stop
done_testing
