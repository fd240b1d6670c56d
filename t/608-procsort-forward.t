#!/bin/sh
# 608-procsort-forward.t - a forward from procsort, inside mta-core's own
# local delivery, leaves the host: bob's ~/.procmailrc says
# "! someone@elsewhere.example", procsort runs mta-sendmail, the daemon
# picks the message up from the maildrop and relays it to the relayhost
# (Postfix's smtp-sink), with bob's message intact; a second recipe keeps a
# copy in bob's Maildir as well ("c" flag).
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"

sink_start far
cat > "$T/mta.conf" <<EOF
queue_directory = $T/q
myhostname = mx.test
mydomain = test
home_base = $T/home
home_mailbox = Maildir/
mailbox_command = $TOP/procsort/procsort \$HOME/.procmailrc
relayhost = [127.0.0.1]:$SINK_PORT
EOF
mkdir -p "$T/home/bob"
cat > "$T/home/bob/.procmailrc" <<EOF
SENDMAIL=$TOP/mta-core/mta-sendmail
SENDMAILFLAGS="-oi -C $T/mta.conf"
MAILDIR=$T/home/bob/Maildir/
LOGFILE=$T/home/bob/procsort.log
DEFAULT=$T/home/bob/Maildir/

:0 c
* ^Subject: forward me
! someone@elsewhere.example

:0
\$MAILDIR
EOF
# With home_base, bob has no account: procsort (as procmail would) takes
# HOME from the password file, so the rc file is named on its command line
# and every path in it is absolute.  Local delivery runs as the daemon's
# user, who must own bob's home.
[ "$(id -u)" = 0 ] && chown -R postfix "$T/home"
mta_start -c "$T/mta.conf"

swaks --server 127.0.0.1:$PORT --from alice@remote.example --to bob@mx.test \
    --header "Subject: forward me" --header "X-Marker: procsort-forward" --body "the body to forward" >/dev/null 2>&1
ok "bob's delivery through procsort" log_has "to=<bob@mx\.test>, relay=local, .*status=sent"
ok "the forward reaches the relay target" wait_for 20 'test "$(count "$T/far")" -ge 1'
f=$(find "$T/far" -type f | head -1)
got=$(cat "$f")
like "$got" '^X-Rcpt-Args: <someone@elsewhere\.example>$' "to the address of the recipe"
like "$got" '^Subject: forward me$' "the message as bob got it"
like "$got" '^X-Marker: procsort-forward$' "every header"
like "$got" '^the body to forward$' "and the body"
like "$got" '^Received: by mx\.test \(mailsift, from userid [0-9]+\)$' "handed over by mta-sendmail (maildrop)"
ok "logged: picked up from the maildrop" log_has ": uid=[0-9]+ from=<[a-z]+@mx\.test>$"
ok "logged: relayed" log_has "to=<someone@elsewhere\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK_PORT, .*status=sent"
ok "bob kept his copy (the c flag)" delivered bob 1
mta_stop
done_testing
