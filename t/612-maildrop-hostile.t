#!/bin/sh
# 612-maildrop-hostile.t - the maildrop is written by any local user, so
# the pickup treats every file in it as hostile: garbage bytes (NUL and
# all 256 values) and a file cut in half go to corrupt/ with a warning; a
# symbolic link (here to /etc/passwd), a hard link to a file elsewhere
# (readable by the daemon) and a FIFO are removed without being read or
# followed (the targets are untouched); the daemon keeps running, never
# hangs on the FIFO, and the one good submission among them is
# delivered, once.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

printf '%s\n' "queue_directory = $T/q" "myhostname = mx.test" "mydomain = test" \
    "home_base = $T/home" "home_mailbox = Maildir/" > "$T/mta.conf"
SM="mta-sendmail -C $T/mta.conf"
INCOMING=$T/q/maildrop/incoming

# wait_until SHELL-CODE - poll for 10 s
wait_until() {
    _n=0
    while ! eval "$1" && [ $_n -lt 200 ]; do sleep 0.05; _n=$((_n + 1)); done
    eval "$1"
}
files() { ls "$INCOMING" | wc -l | tr -d ' '; }

# The maildrop exists once the daemon has run; submissions wait while it is down.
mta_start -c "$T/mta.conf"
wait_until 'test -d "$INCOMING"' || bail "no maildrop: $(cat "$MTA_LOG")"
mta_stop
for i in 1 2 3 4 5 6; do
    printf 'Subject: s%s\n\nbody %s\n' "$i" "$i" | $SM bob || bail "submission $i failed"
    sleep 0.02
done
set -- $(ls -tr "$INCOMING")
is "$#" 6 "six submissions wait in the maildrop"
garbage=$1 cut=$2 symlink=$3 hardlink=$4 fifo=$5

perl -e 'print map { chr($_ % 256) } 0 .. 4095' > "$INCOMING/$garbage"
size=$(stat -c %s "$INCOMING/$cut")
truncate -s $((size / 2)) "$INCOMING/$cut"
rm "$INCOMING/$symlink" && ln -s /etc/passwd "$INCOMING/$symlink"
mkdir "$T/elsewhere" && cp "$INCOMING/$hardlink" "$T/elsewhere/theirs" && rm "$INCOMING/$hardlink" &&
    chmod 644 "$T/elsewhere/theirs" && ln "$T/elsewhere/theirs" "$INCOMING/$hardlink" ||
    bail "cannot make a hard link in $INCOMING"
rm "$INCOMING/$fifo" && mkfifo "$INCOMING/$fifo"
passwd_sum=$(cksum < /etc/passwd)
theirs_sum=$(cksum < "$T/elsewhere/theirs")

mv "$MTA_LOG" "$T/mta-first.log"
mta_start -c "$T/mta.conf"
ok "the good submission is delivered" delivered bob 1
ok "nothing is left in the maildrop" wait_until '[ "$(files)" = 0 ]'
sleep 1
is "$(msgs bob | wc -l | tr -d ' ')" 1 "and only it: one message"
like "$(cat "$(msgs bob | head -1)")" '^Subject: s6$' "the one submitted last"

ok "garbage: moved to corrupt/ with a warning" log_has "warning: maildrop $garbage: .*moved to .*/corrupt/"
ok "garbage: kept there for a human" test -f "$T/q/corrupt/maildrop-$garbage"
ok "cut in half: moved to corrupt/" log_has "warning: maildrop $cut: .*moved to .*/corrupt/"
ok "a symbolic link is removed, not followed" log_has "warning: maildrop $symlink: a symbolic link, not a submission: removed"
is "$(cksum < /etc/passwd)" "$passwd_sum" "its target is untouched"
ok "a hard link is removed" log_has "warning: maildrop $hardlink: not a regular file with one link: removed"
is "$(cksum < "$T/elsewhere/theirs")" "$theirs_sum" "the file it linked to is untouched"
ok "a FIFO is removed, and nothing waits on it" log_has "warning: maildrop $fifo: not a regular file with one link: removed"
ok "mta-core is still running" kill -0 "$MTA_PID"
mta_stop
is "$?" 0 "and stops cleanly"
done_testing
