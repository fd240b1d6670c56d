#!/bin/sh
# 352-lock.t - procsort's locks: dotlocks made, waited for, forced when stale
# (LOCKTIMEOUT, SUSPEND), never forced when fresh, big or LOCKTIMEOUT=0, and
# given up on (missing directory) as procmail does; fcntl locks on mboxes;
# and both kinds working against the real procmail: each waits for the
# other's locks, and 24 deliveries racing into one mbox (half procmail, half
# procsort's writer) leave 24 whole messages.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/procdiff.sh"

need_cmd procmail "the reference for procsort's locking"
LOCK=$TOP/t/lib/procdiff-lock
DELIVER=$TOP/t/lib/procdiff-deliver
[ -x "$LOCK" ] && [ -x "$DELIVER" ] || bail "t/lib/procdiff-lock or procdiff-deliver not built"
procdiff_user
W=$T/w
PD_HOME=$W
user_dir "$W"
cd "$W" || bail "cd $W"

# 1. a dotlock: mode 0444 less the umask, "0" inside, nothing else left
as_user "$LOCK" -H 2 "$W/a.lock" > out1 2> err1 &
lpid=$!
wait_file "$W/a.lock" 5
is "$(stat -c '%a %s' a.lock 2>&1) $(cat a.lock 2>&1)" "400 1 0" "the lockfile is 0444 less umask 077, holds \"0\""
is "$(ls -A "$W" | grep -v -e '^out1$' -e '^err1$' -e '^a.lock$' | tr '\n' ' ')" "" "no temporary file is left beside it"

# 2. a held lock is waited for (LOCKSLEEP apart) and had when released
start=$(now)
as_user "$LOCK" -s 1 "$W/a.lock" > out2 2> err2
st=$?
wait $lpid
is "$st" 0 "the second taker gets the lock"
waited=$(sed -n 's/^locked //p' out2)
like "$waited" '^(1\.[5-9]|[2-9]\.)' "after the first lets go (waited ${waited}s)"
ok "the lock is gone after both" test ! -e a.lock

# 3. a stale lock is forced after LOCKTIMEOUT, then SUSPEND pauses
echo 0 > b.lock
touch -d '2 hours ago' b.lock
chown "$PD_UID:$PD_GID" b.lock
as_user "$LOCK" -t 60 -S 1 "$W/b.lock" > out3 2> err3
is "$?" 0 "a lock older than LOCKTIMEOUT is taken over"
like "$(cat err3)" 'procsort: Forcing lock on ".*/b.lock"' "and the log says so, as procmail does"
like "$(sed -n 's/^locked //p' out3)" '^1\.' "SUSPEND=1: one second's pause after forcing"

# 4. never forced: LOCKTIMEOUT=0, a young lock, a lockfile over 16 bytes
echo 0 > c.lock
touch -d '2 hours ago' c.lock
as_user "$LOCK" -t 0 -s 1 -w 2 "$W/c.lock" > out4 2> err4
is "$?" 1 "LOCKTIMEOUT=0: a stale lock is waited for forever (stopped after 2s)"
ok "and left in place" test -e c.lock
echo 0 > d.lock
as_user "$LOCK" -t 60 -s 1 -w 2 "$W/d.lock" > out5 2> err5
is "$?" 1 "a lock younger than LOCKTIMEOUT is not forced"
printf '01234567890123456\n' > e.lock
touch -d '2 hours ago' e.lock
as_user "$LOCK" -t 60 -s 1 -w 2 "$W/e.lock" > out6 2> err6
is "$?" 1 "a lockfile bigger than 16 bytes is never forced"
ok "and left in place" test -s e.lock

# 5. a lock in a missing directory: retried, then "Lock failure on"
start=$(now)
as_user "$LOCK" -s 0 "$W/nodir/f.lock" > out7 2> err7
is "$?" 1 "a lock in a missing directory fails"
like "$(cat err7)" 'procsort: Lock failure on ".*/nodir/f.lock"' "with procmail's message"

# 6. procmail waits for our dotlock, and we wait for procmail's (lockfile(1))
cat > rc <<'RC'
LOCKSLEEP=1
:0:
box
RC
chown "$PD_UID:$PD_GID" rc
printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: s\n\nbody\n' > msg
as_user "$LOCK" -H 2 "$W/box.lock" > out8 2> err8 &
lpid=$!
wait_file "$W/box.lock" 5
start=$(now)
as_user /usr/bin/procmail -m "MAILDIR=$W" "$W/rc" < msg
took=$(elapsed_since "$start")
wait $lpid
like "$took" '^(1\.[2-9]|[2-9]\.)' "procmail waited for procsort's dotlock (${took}s)"
is "$(grep -c '^From ' box)" 1 "and then delivered"
as_user lockfile -r0 "$W/box.lock"
is "$?" 0 "procmail's lockfile(1) takes box.lock"
( sleep 2; rm -f "$W/box.lock" ) &
as_user "$LOCK" -s 1 "$W/box.lock" > out9 2> err9
like "$(sed -n 's/^locked //p' out9)" '^(1\.[5-9]|[2-9]\.)' "procsort waits for a lock made by procmail's lockfile(1)"
wait

# 7. fcntl: procmail waits for our kernel lock on the mbox, we wait for a reader's
as_user "$LOCK" -k -H 2 "$W/box" > out10 2> err10 &
lpid=$!
sleep 0.5
start=$(now)
as_user /usr/bin/procmail -m "MAILDIR=$W" LOCKSLEEP=1 "$W/rc" < msg
took=$(elapsed_since "$start")
wait $lpid
like "$took" '^(1\.[2-9]|[2-9]\.)' "procmail waited for procsort's fcntl lock (${took}s)"
perl -MFcntl -e 'open(my $f, "+<", $ARGV[0]) or die; my $l = pack("s s l l l", F_WRLCK, 0, 0, 0, 0);
    fcntl($f, F_SETLKW, $l) or die "lock: $!"; print "held\n"; $| = 1; sleep 2;' "$W/box" > held &
lpid=$!
wait_file "$W/held" 5
sleep 0.3
start=$(now)
as_user sh -c "cd $W && $DELIVER box < msg"
took=$(elapsed_since "$start")
wait $lpid
like "$took" '^(1\.[5-9]|[2-9]\.)' "procsort's mbox append waits for a whole-file fcntl lock (${took}s)"
is "$(grep -c '^From ' box)" 3 "every delivery is in the mbox"

# 8. 24 deliveries race into one mbox: 12 by procmail, 12 by procsort's writer
rm -f race
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: pm %s\n\n%s\n' "$i" \
        "$(perl -e "print 'procmail $i ' x 2000")" > "pm$i"
    printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: ps %s\n\n%s\n' "$i" \
        "$(perl -e "print 'procsort $i ' x 2000")" > "ps$i"
done
cat > rcrace <<'RC'
LOCKSLEEP=1
:0:
race
RC
chown "$PD_UID:$PD_GID" rcrace
pids=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    as_user /usr/bin/procmail -m "MAILDIR=$W" "$W/rcrace" < "pm$i" &
    pids="$pids $!"
    as_user sh -c "cd $W && $DELIVER -L race < ps$i" &
    pids="$pids $!"
done
for p in $pids; do wait "$p"; done
is "$(grep -c '^From ' race)" 24 "24 messages in the mbox"
is "$(grep -c '^Subject: ' race)" 24 "24 headers"
bad=$(perl -ne 'if (/^Subject: (\w+) (\d+)/) { $who = $1 eq "pm" ? "procmail" : "procsort"; $n = $2 }
    elsif (/^(procmail|procsort) /) { print "torn: $who $n\n" unless /^(\Q$who\E $n )+$/ }' race)
is "$bad" "" "no message torn or interleaved"
ok "no lockfile left" test ! -e race.lock

done_testing
