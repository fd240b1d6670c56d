#!/bin/sh
# 607-sendmail.t - mta-sendmail, the sendmail-compatible submission
# command, with a running mta-core picking up its maildrop: the default
# sender and myorigin completion, the headers local mail gets (Received:
# from userid, From:, Date:, Message-Id:, Bcc: removed), -f, -F, -t (with
# command-line recipients added, as Postfix does), -i/-oi and the lone dot,
# leading From_ lines, -bs, -bp and mailq, -q, -bi and newaliases, -N, the
# exit codes (64, 65, 75, 78), and mail submitted while the daemon is down.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
need_cmd mtaq "the queue tool (-bp, -q)"

SINK_WANT_PORT=$(free_port)
cat > "$T/mta.conf" <<EOF
queue_directory = $T/q
myhostname = mx.test
mydomain = test
myorigin = \$myhostname
home_base = $T/home
home_mailbox = Maildir/
relayhost = [127.0.0.1]:$SINK_WANT_PORT
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
EOF
SM="mta-sendmail -C $T/mta.conf"
me=$(id -un)
myuid=$(id -u)

# Mail submitted while the daemon is down waits in the maildrop (made by its first start).
mta_start -c "$T/mta.conf"
wait_for 10 'test -d "$T/q/maildrop/incoming"' || diag "no maildrop after the first start: $(cat "$MTA_LOG")"
mta_stop
printf 'Subject: early\n\nwritten before the daemon ran\n' | $SM bob
is "$?" 0 "submitted while mta-core is down: exit 0"
is "$(count "$T/q/maildrop/incoming")" 1 "the message waits in the maildrop"
mv "$MTA_LOG" "$T/mta-first.log"
mta_start -c "$T/mta.conf"
ok "picked up and delivered once mta-core runs" delivered bob 1
ok "logged as Postfix's pickup logs it" log_has ": uid=$myuid from=<$me@mx\.test>$"
m=$(cat "$(msgs bob | head -1)")
like "$m" "^Return-Path: <$me@mx\\.test>\$" "default sender: the login name, completed with myorigin"
like "$m" "^Received: by mx\\.test \\(mailsift, from userid $myuid\\)\$" "Received: by ... (mailsift, from userid N)"
like "$m" "^From: $me@mx\\.test\$" "a missing From: is added"
like "$m" '^Date: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] ' "a missing Date: too"
like "$m" '^Message-Id: <[0-9A-Za-z]+@mx\.test>$' "and Message-Id:"
like "$m" '^written before the daemon ran$' "the body"
is "$(count "$T/q/maildrop/incoming")" 0 "the maildrop is empty again"

# Another user submits (the daemon reads the file through its group, no privileged program).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    printf 'Subject: from nobody\n\nbody\n' |
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOP/mta-core/mta-sendmail" -C "$T/mta.conf" nina
    is "$?" 0 "an unprivileged user submits: exit 0"
    ok "and it is delivered" delivered nina 1
    ok "as coming from that user" log_has ": uid=$(id -u nobody) from=<nobody@mx\.test>$"
    f=$(find "$T/q/maildrop/incoming" -type f | head -1)
    is "$f" "" "nothing left behind"
else
    skip 4 "not root: cannot submit as another user"
fi

# -f, -F
printf 'Subject: ff\n\nbody ff\n' | $SM -f alice@mx.test -F "Alice Q. Example" carol
ok "-f -F: delivered" delivered carol 1
m=$(cat "$(msgs carol | head -1)")
like "$m" '^Return-Path: <alice@mx\.test>$' "-f sets the envelope sender"
like "$m" '^From: "Alice Q\. Example" <alice@mx\.test>$' "-F gives From: its full name (quoted when it must be)"

# -t: To, Cc, Bcc; Bcc removed; bare names completed; the command line adds recipients.
printf 'From: alice@mx.test\nTo: dave\nCc: Erin <erin@mx.test>\nBcc: frank@mx.test\nSubject: tt\n\nbody tt\n' |
    $SM -t -f alice@mx.test gina
for u in dave erin frank gina; do
    ok "-t: $u got it" delivered $u 1
done
m=$(cat "$(msgs dave | head -1)")
unlike "$m" '^Bcc:' "Bcc: is removed"
like "$m" '^To: dave@mx\.test$' "a bare name in To: gets @myorigin"
like "$m" '^Cc: Erin <erin@mx\.test>$' "Cc: as written"
like "$m" '^From: alice@mx\.test$' "a From: given is kept"

# Resent- headers: the Resent- recipients only.
printf 'To: dave@mx.test\nResent-To: hank@mx.test\nSubject: resent\n\nbody\n' | $SM -t -f alice@mx.test
ok "-t with Resent-To: hank got it" delivered hank 1
sleep 1
is "$(msgs dave | wc -l | tr -d ' ')" 1 "and To: was not used"

# The lone dot, -i and -oi; a leading From_ line.
printf 'From alice Sat Nov 21 10:00:00 2026\nSubject: dots\n\nbefore\n.\nafter\n' | $SM ivan
ok "without -i: delivered" delivered ivan 1
m=$(cat "$(msgs ivan | head -1)")
like "$m" '^before$' "the text before the dot"
unlike "$m" '^after$' "a line with a single dot ended the message"
unlike "$m" '^From alice' "the leading From_ line is dropped"
printf 'Subject: dots\n\nbefore\n.\nafter\n' | $SM -oi judy
printf 'Subject: dots\n\nbefore\n.\nafter\n' | $SM -i kate
ok "-oi: delivered" delivered judy 1
ok "-i: delivered" delivered kate 1
like "$(cat "$(msgs judy | head -1)")" '^after$' "-oi: the dot is data"
like "$(cat "$(msgs kate | head -1)")" '^\.$' "-i: the lone dot is kept"

# -bs: SMTP on standard input
out=$(printf 'HELO me\r\nMAIL FROM:<alice@mx.test>\r\nRCPT TO:<lee@mx.test>\r\nDATA\r\nSubject: bs\r\n\r\n..stuffed\r\n.\r\nQUIT\r\n' |
      $SM -bs)
like "$out" '^220 mx\.test ESMTP mailsift' "-bs: a greeting"
like "$out" '^250 2\.0\.0 Ok: queued as [0-9A-Za-z]+' "-bs: queued"
like "$out" '^221 2\.0\.0 Bye' "-bs: QUIT"
ok "-bs: delivered" delivered lee 1
like "$(cat "$(msgs lee | head -1)")" '^\.stuffed$' "-bs: the dot-stuffing undone"
out=$(printf 'RCPT TO:<x@y>\r\nMAIL FROM:<a@b>\r\nDATA\r\nQUIT\r\n' | $SM -bs)
like "$out" '^503 5\.5\.1 Error: need MAIL command' "-bs: RCPT before MAIL"
like "$out" '^554 5\.5\.1 Error: no valid recipients' "-bs: DATA without RCPT"

# -bp, mailq, -q: a message for the relayhost that is not there.
printf 'Subject: away\n\nbody\n' | $SM -f alice@mx.test far@remote.example
ok "relay mail deferred" log_has "to=<far@remote\.example>, relay=none, .*status=deferred \(connect to 127\.0\.0\.1"
ok "in deferred/" wait_for 10 'test "$(qcount deferred)" = 1'
out=$($SM -bp)
like "$out" 'far@remote\.example' "-bp lists it (mtaq list)"
like "$out" 'Connection refused' "with the reason"
ln -s "$TOP/mta-core/mta-sendmail" "$T/mailq"
like "$("$T/mailq" -C "$T/mta.conf")" 'far@remote\.example' "mailq is -bp"
sink_start back
ok "-q: exit 0" $SM -q
ok "-q runs the queue now" wait_for 15 'test "$(count "$T/back")" -ge 1'
ln -s "$TOP/mta-core/mta-sendmail" "$T/newaliases"
ok "newaliases: nothing to do, exit 0" "$T/newaliases" -C "$T/mta.conf"
ok "-bi too" $SM -bi

# Exit codes.
printf 'x\n' | $SM >/dev/null 2>"$T/err"
is "$?" 64 "no recipients: EX_USAGE"
like "$(cat "$T/err")" 'Recipient addresses must be specified on the command line or via the -t option' "and why"
printf 'Subject: none\n\nx\n' | $SM -t >/dev/null 2>"$T/err"
is "$?" 64 "-t without recipients: EX_USAGE"
like "$(cat "$T/err")" 'No recipient addresses found in message header' "and why"
$SM -Z x </dev/null >/dev/null 2>&1
is "$?" 64 "an unknown option: EX_USAGE"
$SM -bd </dev/null >/dev/null 2>&1
is "$?" 64 "-bd: EX_USAGE (the daemon is mta-core)"
$SM -qRexample.com </dev/null >/dev/null 2>&1
is "$?" 64 "-qR: EX_USAGE"
$SM -N sometimes x </dev/null >/dev/null 2>&1
is "$?" 64 "-N with a bad word: EX_USAGE"
head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70 | mta-sendmail -C "$T/mta.conf" x@mx.test 2>/dev/null
is "$?" 0 "3000 bytes: fine"
printf 'message_size_limit = 1000\n' >> "$T/mta.conf"
head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70 | $SM x@mx.test 2>"$T/err"
is "$?" 65 "over message_size_limit: EX_DATAERR"
like "$(cat "$T/err")" 'message file too big' "and why"
printf 'queue_directory = %s/nowhere\n' "$T" > "$T/bad.conf"
printf 'x\n' | mta-sendmail -C "$T/bad.conf" x@y 2>/dev/null
is "$?" 75 "no maildrop (mta-core never ran there): EX_TEMPFAIL"
printf 'no_such_parameter = 1\n' > "$T/worse.conf"
printf 'x\n' | mta-sendmail -C "$T/worse.conf" x@y 2>/dev/null
is "$?" 78 "a configuration that does not load: EX_CONFIG"
mta-sendmail -C "$T/nonexistent.conf" x@y </dev/null 2>/dev/null
is "$?" 78 "-C names a file that is not there: EX_CONFIG"
mta_stop
stop_bg "$SINK_PID"
done_testing
