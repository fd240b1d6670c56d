#!/bin/sh
# 470-local-delivery.t - local delivery end to end, from swaks through
# mta-core: mailbox_command = procsort -a "$EXTENSION" (user+ext reaches
# the rc file as $1) into an mbox and Maildir folders, the same with the
# real procmail for comparison; home_mailbox as an mbox file (From_ line,
# >From quoting, Return-Path, X-Original-To, Delivered-To) and as a
# Maildir; mailbox_size_limit (a full mbox bounces with 5.2.2 and is left
# as it was); the Postfix-style log lines.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"
need_cmd procmail "the reference for procsort"

[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"

# An rc file that sorts on the extension ($1) and the subject.
write_rc() {
    mq_home "$1"
    cat > "$T/home/$1/.procmailrc" <<'EOF'
ARG=$1
:0
* ARG ?? ^^lists^^
$HOME/lists.mbox

:0
* ^Subject:.*urgent
$HOME/urgent/

:0
$HOME/Maildir/
EOF
    [ "$(id -u)" = 0 ] && chown "$MQ_OWNER" "$T/home/$1/.procmailrc"
    mkdir -p "$T/home/$1/urgent"
    [ "$(id -u)" = 0 ] && chown "$MQ_OWNER" "$T/home/$1/urgent"
}

mq_conf
# procmail takes HOME from the password file: hand it the home_base one.
cat >> "$T/main.cf" <<EOF
mailbox_command = $TOP/procsort/procsort -a "\$EXTENSION" HOME=\$HOME DEFAULT=\$HOME/Maildir/ \$HOME/.procmailrc
EOF
write_rc bob
mq_start

out=$(send alice@example.org bob+lists@mx.test --header "Subject: digest" --body "From the list
body")
id=$(qid "$out")
like "$out" "250 2.0.0 Ok: queued as" "bob+lists accepted"
ok "procsort filed the +lists mail into lists.mbox" wait_for 10 'test "$(queue_count)" -eq 0 && test -s "$T/home/bob/lists.mbox"'
is "$(mbox_count "$T/home/bob/lists.mbox")" 1 "one message in lists.mbox"
m=$(cat "$T/home/bob/lists.mbox")
like "$m" '^Return-Path: <alice@example.org>$' "Return-Path as local(8) writes it"
like "$m" '^X-Original-To: bob\+lists@mx.test$' "X-Original-To"
like "$m" '^Delivered-To: bob\+lists@mx.test$' "Delivered-To"
like "$m" '^>From the list$' "procsort quoted the body's From_"
like "$m" "^	by mx.test \(mailsift\) with ESMTP id $id$" "smtpd's Received: header"
ok "log: delivered to command" log_has "$id: to=<bob\+lists@mx.test>, relay=local, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered to command: $TOP/procsort/procsort"

send alice@example.org bob@mx.test --header "Subject: urgent: reply" --body "now" >/dev/null
send alice@example.org bob@mx.test --header "Subject: plain" --body "later" >/dev/null
ok "the urgent one went to the urgent Maildir" wait_for 10 'test "$(maildir_count bob ../urgent/new)" -ge 1'
ok "the plain one to the default Maildir" wait_for 10 'test "$(maildir_count bob)" -ge 1'
is "$(maildir_count bob ../urgent/new)/$(maildir_count bob)/$(mbox_count "$T/home/bob/lists.mbox")" "1/1/1" \
   "each message in exactly one folder"
like "$(cat "$T"/home/bob/Maildir/new/*)" '^Delivered-To: bob@mx.test$' "Delivered-To in the Maildir copy"
mq_stop

# The same through the real procmail: the same folders.
sed -i "s|^mailbox_command = .*|mailbox_command = procmail -a \"\$EXTENSION\" HOME=\$HOME DEFAULT=\$HOME/Maildir/ \$HOME/.procmailrc|" "$T/main.cf"
write_rc pat
mq_start
send alice@example.org pat+lists@mx.test --header "Subject: digest" --body "From the list
body" >/dev/null
send alice@example.org pat@mx.test --header "Subject: urgent: reply" --body "now" >/dev/null
send alice@example.org pat@mx.test --header "Subject: plain" --body "later" >/dev/null
# procmail writes an mbox in more than one go: wait for the deliveries to end.
wait_for 15 'test "$(queue_count)" -eq 0'
is "$(maildir_count pat ../urgent/new)/$(maildir_count pat)/$(mbox_count "$T/home/pat/lists.mbox")" "1/1/1" \
   "procmail as mailbox_command files them the same way"
strip() { grep -v -e '^From ' -e '^Received:' -e '^	' -e '^Message-Id:' -e '^Date:' -e '^X-Mailer:' "$@" | sed 's/pat/USER/g; s/bob/USER/g'; }
is "$(strip "$T/home/pat/lists.mbox")" "$(strip "$T/home/bob/lists.mbox")" \
   "and what procmail wrote matches what procsort wrote (but for dates and ids)"
mq_stop

# home_mailbox: an mbox file, written by mta-core itself.
sed -i '/^mailbox_command/d' "$T/main.cf"
mq_start -o home_mailbox=mbox
send alice@example.org carol@mx.test --header "Subject: one" --body "From here on
line" >/dev/null
send "<>" carol@mx.test --header "Subject: two" --body "bounce-ish" >/dev/null
ok "two messages in carol's mbox" wait_for 10 'test "$(mbox_count "$T/home/carol/mbox")" -eq 2'
m=$(cat "$T/home/carol/mbox")
like "$m" '^From alice@example.org  [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} 20[0-9][0-9]$' \
     "a From_ line as Postfix writes it (two spaces)"
like "$m" '^From MAILER-DAEMON  ' "the null sender as MAILER-DAEMON"
like "$m" '^Return-Path: <>$' "and Return-Path: <>"
like "$m" '^>From here on$' "From_ quoting in the body"
like "$m" '^Delivered-To: carol@mx.test$' "Delivered-To"
is "$(tail -c 2 "$T/home/carol/mbox" | od -An -c | tr -d ' ')" '\n\n' "an empty line ends each message"
ok "log: delivered to mailbox" log_has "to=<carol@mx.test>, relay=local, .*status=sent \(delivered to mailbox\)"
mq_stop

# mailbox_size_limit: the mbox would grow past it: bounced, 5.2.2, file unchanged.
mq_start -o home_mailbox=mbox -o mailbox_size_limit=4000 -o message_size_limit=3500
big=$(head -c 1500 /dev/zero | tr '\0' 'x' | fold -w 70)
send alice@example.org dave@mx.test --header "Subject: fits" --body "$big" >/dev/null
ok "the first message fits" wait_for 10 'test "$(mbox_count "$T/home/dave/mbox")" -eq 1'
size1=$(wc -c < "$T/home/dave/mbox")
out=$(send alice@example.org dave@mx.test --header "Subject: too much" --body "$big$big")
id=$(qid "$out")
ok "the second is bounced: mailbox full" \
   log_has "$id: to=<dave@mx.test>, relay=local, .*dsn=5\.2\.2, status=bounced \(cannot update mailbox .*/dave/mbox for user dave\. error writing message: File too large\)"
is "$(wc -c < "$T/home/dave/mbox")" "$size1" "the mbox was left as it was"
ok "the bounced message left the queue" wait_for 5 'test "$(queue_count)" -eq 0'
mq_stop

# home_mailbox = Maildir/ (the library's default).
mq_start
send alice@example.org erin@mx.test --header "Subject: md" --body "maildir" >/dev/null
ok "Maildir delivery" wait_for 10 'test "$(maildir_count erin)" -eq 1'
like "$(cat "$T"/home/erin/Maildir/new/*)" '^Return-Path: <alice@example.org>$' "with Return-Path"
ok "log: delivered to maildir" log_has "to=<erin@mx.test>, relay=local, .*status=sent \(delivered to maildir\)"
ok "log: removed" log_has "removed$"
mq_stop
done_testing
