#!/bin/sh
# 354-dovecot.t - folders procsort delivered open cleanly in a real reader:
# procsort files messages into Maildir folders (INBOX and a Maildir++
# subfolder) and mbox files, then a private Dovecot on loopback (own config
# in $T, mail_location pointed at those folders) lists the folders, counts
# the messages and hands back their bytes over IMAP: a Maildir message is
# the input less its From_ line; mbox messages with "From " body lines are
# not split and come back with procmail's ">From " escapes; a 5 MB message
# comes back whole.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/procdiff.sh"

need_cmd dovecot "the IMAP server that reads procsort's folders"
[ "$(id -u)" = 0 ] || skip_all "Dovecot needs root to switch to the mail user"
[ -x "$TOP/procsort/procsort" ] || bail "procsort is not built"
procdiff_user
H=$T/home
D=$T/dovecot
PD_HOME=$H
user_dir "$H" "$H/mail" "$T/msgs"
mkdir -p "$D"
IMAP="perl $TOP/t/lib/procdiff-imap.pl"

# the messages
m() { printf 'From alice@example.org  Mon Jan  1 00:00:00 2024\nFrom: alice@example.org\nTo: bob@example.org\nSubject: %s\nMessage-ID: <%s@example.org>\n\n%s\n' "$1" "$2" "$3" > "$T/msgs/$2"; }
m "md one" md1 "first Maildir message"
m "md two" md2 "From the start of a line
>From quoted
last line"
printf 'From alice@example.org  Mon Jan  1 00:00:00 2024\nSubject: md three\n\nno final newline' > "$T/msgs/md3"
perl -e 'print "From a\@example.org  Mon Jan  1 00:00:00 2024\nSubject: md big\n\n"; print "line $_ of a five megabyte message, some text to fill it\n" for 1 .. 90000' > "$T/msgs/md4"
m "list one" ls1 "to the list"
m "list two" ls2 "to the list again"
m "mb one" mb1 "first mbox message"
m "mb two" mb2 "From here the body has
From lines that would split
an mbox if they were not escaped
From the end"
m "mb three" mb3 "third"
m "arch one" ar1 "archived"
cat > "$H/rc" <<'RC'
LOGFILE=$HOME/log
:0
* ^Subject: md
Maildir/
:0
* ^Subject: list
Maildir/.Lists/
:0:
* ^Subject: mb
mail/inbox
:0:
* ^Subject: arch
mail/archive
RC
chown "$PD_UID:$PD_GID" "$H/rc"
for f in md1 md2 md3 md4 ls1 ls2 mb1 mb2 mb3 ar1; do
    as_user "$TOP/procsort/procsort" "HOME=$H" "MAILDIR=$H" "$H/rc" < "$T/msgs/$f" ||
        diag "procsort exited $? for $f"
done
is "$(ls "$H/Maildir/new" | wc -l) $(ls "$H/Maildir/.Lists/new" | wc -l)" "4 2" "procsort filed 4 + 2 Maildir messages"
is "$(grep -c '^From ' "$H/mail/inbox")" 3 "and 3 mbox messages"

# a private Dovecot
PORT=$(free_port)
cat > "$D/users" <<USERS
mdir:{PLAIN}secret:$PD_UID:$PD_GID::$H::userdb_mail=maildir:~/Maildir:INDEX=$D/idx/mdir
mbox:{PLAIN}secret:$PD_UID:$PD_GID::$H::userdb_mail=mbox:~/mail:INBOX=~/mail/inbox:INDEX=$D/idx/mbox
USERS
cat > "$D/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
instance_name = mailsift-test-$PORT
log_path = $D/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
mkdir -p "$D/idx"
chown "$PD_UID:$PD_GID" "$D/idx"
start_bg "$D/stdout" dovecot -F -c "$D/dovecot.conf"
DPID=$BG_PID
wait_port "$PORT" 15 || { diag "$(cat "$D/stdout" "$D/log" 2>/dev/null | tail -20)"; bail "dovecot did not start"; }

# Maildir user: the folders, the counts, the bytes
out=$($IMAP "$PORT" mdir secret 'LIST "" "*"' 'STATUS INBOX (MESSAGES)' 'STATUS Lists (MESSAGES)' 2>&1)
like "$out" '\* LIST \([^)]*\) "\." "?INBOX"?' "Dovecot lists the Maildir INBOX"
like "$out" '\* LIST \([^)]*\) "\." "?Lists"?' "and the Maildir++ folder .Lists procsort made"
like "$out" '\* STATUS "?INBOX"? \(MESSAGES 4\)' "INBOX has the 4 messages"
like "$out" '\* STATUS "?Lists"? \(MESSAGES 2\)' "Lists has 2"
mkdir -p "$T/lit"
out=$(OUTDIR=$T/lit $IMAP "$PORT" mdir secret 'SELECT INBOX' \
    'SEARCH SUBJECT "md two"' 'SEARCH SUBJECT "md three"' 'SEARCH SUBJECT "md big"' 2>&1)
n2=$(printf '%s\n' "$out" | sed -n '/^\* SEARCH/p' | sed -n 1p | awk '{print $3}')
n3=$(printf '%s\n' "$out" | sed -n '/^\* SEARCH/p' | sed -n 2p | awk '{print $3}')
n4=$(printf '%s\n' "$out" | sed -n '/^\* SEARCH/p' | sed -n 3p | awk '{print $3}')
ok "the three messages are found by subject ($n2 $n3 $n4)" test -n "$n2" -a -n "$n3" -a -n "$n4"
rm -f "$T/lit"/*
out=$(OUTDIR=$T/lit $IMAP "$PORT" mdir secret 'SELECT INBOX' "FETCH $n2 BODY.PEEK[]" \
    "FETCH $n3 BODY.PEEK[]" "FETCH $n4 (RFC822.SIZE BODY.PEEK[])" 2>&1)
# IMAP sends lines ended by CRLF
crlf() { perl -pe 's/\n/\r\n/'; }
tail -n +2 "$T/msgs/md2" | crlf > "$T/want2"
tail -n +2 "$T/msgs/md3" | crlf > "$T/want3"
tail -n +2 "$T/msgs/md4" | crlf > "$T/want4"
ok "a Maildir message comes back as delivered, less its From_ line (CRLF on the wire)" cmp "$T/lit/lit.1" "$T/want2"
ok "one without a final newline too" cmp "$T/lit/lit.2" "$T/want3"
ok "and the 5 MB one, whole" cmp "$T/lit/lit.3" "$T/want4"
like "$out" "RFC822.SIZE $(wc -c < "$T/want4")" "with the right RFC822.SIZE"

# mbox user: the folders, the counts, the escaped From lines
out=$($IMAP "$PORT" mbox secret 'LIST "" "*"' 'STATUS INBOX (MESSAGES)' 'STATUS archive (MESSAGES)' 2>&1)
like "$out" '\* LIST \([^)]*\) "/" "?INBOX"?' "Dovecot lists the mbox INBOX"
like "$out" '\* LIST \([^)]*\) "/" "?archive"?' "and the mbox archive"
like "$out" '\* STATUS "?INBOX"? \(MESSAGES 3\)' "the mbox INBOX has 3 messages: From lines did not split one"
like "$out" '\* STATUS "?archive"? \(MESSAGES 1\)' "archive has 1"
rm -f "$T/lit"/*
out=$(OUTDIR=$T/lit $IMAP "$PORT" mbox secret 'SELECT INBOX' 'SEARCH SUBJECT "mb two"' 2>&1)
n=$(printf '%s\n' "$out" | sed -n 's/^\* SEARCH \([0-9]*\).*/\1/p')
out=$(OUTDIR=$T/lit $IMAP "$PORT" mbox secret 'SELECT INBOX' "FETCH $n BODY.PEEK[TEXT]" 2>&1)
printf '>From here the body has\n>From lines that would split\nan mbox if they were not escaped\n>From the end\n' | crlf > "$T/wantb"
ok "the body comes back with procmail's >From escapes, whole" cmp "$T/lit/lit.1" "$T/wantb"

stop_bg "$DPID"
done_testing
