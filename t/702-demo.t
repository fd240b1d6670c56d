#!/bin/sh
# 702-demo.t - "make demo" as "make check" runs it: contrib/demo.sh sends
# every message of contrib/demo/messages through mta-core, milterd and
# procsort (and relays some to a second mta-core, the partner's server:
# one directly, one forwarded by a recipe through mta-sendmail), prints
# one table row per message, finds every outcome it
# expects, releases a held message, and exits 0 within two minutes; it
# stops every process it started and removes its directory.  The same as
# an ordinary user (when the test runs as root).  Then the
# other way round: with a list whose expectations are wrong, the demo
# must say which rows differ and exit 1.
. "$(dirname "$0")/lib/tap.sh"
need_cmd swaks "the demo's SMTP client"
need_cmd formail "rules/procmailrc/duplicates.rc uses it (procmail's package)"

rows=$(grep -Evc '^[[:space:]]*(#|$)' "$TOP/contrib/demo/messages")

start=$(date +%s)
TMPDIR=$T with_timeout 170 sh "$TOP/contrib/demo.sh" > "$T/out" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))
is "$rc" 0 "contrib/demo.sh exits 0" || diag "$(cat "$T/out")"
ok "in under two minutes (${secs}s)" test "$secs" -lt 120
like "$(cat "$T/out")" "^demo: all $((rows + 1)) outcomes as expected\.$" \
    "all $rows messages and the release came out as expected"
is "$(grep -Ec '^[0-9]+ +' "$T/out")" "$rows" "one table row per message"
is "$(grep -c 'UNEXPECTED' "$T/out")" 0 "no row is marked UNEXPECTED"
like "$(cat "$T/out")" '^#  +message +SMTP answer +milterd verdict \(rule\) +now in$' "the table has its heading"
like "$(cat "$T/out")" 'REJECT header_checks:[0-9]+ +refused' "a row names the header_checks line that refused a message"
like "$(cat "$T/out")" 'HOLD attachment_policy:[0-9]+ +hold$' "a row shows the attachment policy's hold"
like "$(cat "$T/out")" '\$ mtaq -c etc/mta-core.conf list --hold' "it shows mtaq list --hold"
like "$(cat "$T/out")" '\(held: Encrypted archive held for review\)' "with the hold reason"
like "$(cat "$T/out")" 'released from hold by uid' "mtaq release is run"
like "$(cat "$T/out")" 'now in: alice:Maildir/' "and the released message lands in alice's inbox"
like "$(cat "$T/out")" '^[0-9]+ +relayed to the partner +250 queued as [0-9A-Za-z]+ +ACCEPT +relay$' \
    "a message for another domain reaches the relayhost's mailbox"
like "$(cat "$T/out")" "^[0-9]+ +forwarded by bob's recipe .* +bob:Maildir/senders/facilities@demo\\.example relay\$" \
    "a recipe's forward goes out through mta-sendmail and the relay, and bob keeps his copy"

# Everything it started is gone, and so is its directory.
pids=$(sed -n 's/^  [a-z-]* *pid \([0-9]*\) .*/\1/p' "$T/out")
is "$(echo $pids | wc -w)" 3 "it reports the pids of milterd, mta-core and the partner's mta-core"
for pid in $pids; do
    nok "process $pid is stopped" kill -0 "$pid"
done
is "$(ls -d "$T"/mailsift-demo.* 2>/dev/null)" "" "its temporary directory is removed"

# Run by an ordinary user (here as root: nobody), nothing needs privileges.
if [ "$(id -u)" = 0 ]; then
    mkdir "$T/u" && chown nobody: "$T/u"
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- env -i PATH=/usr/bin:/bin \
        HOME="$T/u" TMPDIR="$T/u" timeout -k 5 170 sh "$TOP/contrib/demo.sh" > "$T/out.user" 2>&1
    is "$?" 0 "as an ordinary user (nobody), the demo exits 0" || diag "$(cat "$T/out.user")"
    like "$(cat "$T/out.user")" "^demo: all $((rows + 1)) outcomes as expected\.$" "with every outcome as expected"
    unlike "$(cat "$T/out.user")" "daemons and deliveries as" "and says nothing of handing the daemons to a user"
else
    skip 3 "not root: the run above was an ordinary user's"
fi

# Wrong expectations: the demo must notice.
grep -E '^(#|clean mail|"FREE OFFER)' "$TOP/contrib/demo/messages" |
    sed '/^"FREE OFFER/s/| 550 | REJECT | header_checks *| refused$/| 250 | ACCEPT | - | alice:Maildir\//' > "$T/wrong"
is "$(grep -c '| 250 | ACCEPT | - | alice:Maildir/$' "$T/wrong")" 1 "a list that expects FREE OFFER!! to be delivered"
TMPDIR=$T DEMO_MESSAGES=$T/wrong with_timeout 170 sh "$TOP/contrib/demo.sh" > "$T/out2" 2>&1
is "$?" 1 "the demo exits 1 when an outcome differs"
like "$(cat "$T/out2")" '^2 +"FREE OFFER!!" subject .*REJECT header_checks:[0-9]+ +refused +<-- UNEXPECTED$' \
    "the row is marked UNEXPECTED" || diag "$(cat "$T/out2")"
like "$(cat "$T/out2")" '^demo: 1 of 2 outcomes differ' "the summary counts it"
like "$(cat "$T/out2")" '#2 "FREE OFFER!!" subject: expected SMTP 250 verdict ACCEPT rule - place alice:Maildir/; got SMTP "550 5\.7\.1 Message looks like spam' \
    "and says what was expected and what happened"
like "$(cat "$T/out2")" '^1 +clean mail to two users .* ACCEPT +alice:Maildir/ bob:' "the other row is as expected"
is "$(ls -d "$T"/mailsift-demo.* 2>/dev/null)" "" "its directory is removed after a failure too"
done_testing
