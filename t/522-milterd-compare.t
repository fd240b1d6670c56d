#!/bin/sh
# 522-milterd-compare.t - milterd behind real Postfix and behind mta-core
# gives the same outcome on the same 30 messages (t/data/milterclient/
# compare: one set of header_checks/body_checks with a rule for every
# verdict, messages that trigger each, with and without MIME parts): the
# same reply to the end of data (queue id masked), the same hold, and the
# same mailboxes getting the same headers and body (each MTA's own
# Received:, Return-Path:, Delivered-To: and X-Original-To: left out).
# Then, through mta-core alone: REJECT gives the rule's code and text,
# DEFER a 4xx, DISCARD a 250 and no delivery, HOLD lands in mtaq list
# --hold with its reason and, after mtaq release, in the user's folder
# through procsort, and header edits are in the delivered message.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
. "$TOP/t/data/mta-queue/lib.sh"
command -v milterd >/dev/null || bail "milterd is not built"
[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"

CMP="$TOP/t/data/milterclient/compare"
plan 42

# milterd, on a socket both MTAs can reach.
mkdir -p "$T/run" "$T/tables" && chown nobody "$T/run"
cp "$CMP/header_checks" "$CMP/body_checks" "$T/tables/"
chmod 644 "$T"/tables/*
cat > "$T/milterd.conf" <<EOF
socket = unix:$T/run/milterd.sock
socket_mode = 0666
user = nobody
header_checks = pcre:$T/tables/header_checks
body_checks = pcre:$T/tables/body_checks
EOF
chmod 644 "$T/milterd.conf"
start_bg "$T/milterd.log" milterd -v -c "$T/milterd.conf"
MILTERD=$BG_PID
wait_file "$T/run/milterd.sock" 10 || bail "milterd did not start: $(cat "$T/milterd.log")"

# Postfix, with milterd.
pf_init
pf_main "smtpd_milters = unix:$T/run/milterd.sock" "milter_default_action = tempfail"
pf_start

# mta-core, with milterd, delivering to $T/home/USER/Maildir through procsort.
printf 'postmaster: root\n' > "$T/aliases"
mq_conf
cat >> "$T/main.cf" <<EOF
mydestination = example.com, \$myhostname, localhost
smtpd_milters = unix:$T/run/milterd.sock
mailbox_command = $TOP/procsort/procsort DEFAULT=\$HOME/Maildir/
EOF
mq_start

# reply TRANSCRIPT - the reply to the end of data, queue id masked
reply() {
    awk '/^ -> \.$/ { seen = 1; next } seen { print; exit }' "$1" | sed 's/^<[-~*]* *//; s/queued as [0-9A-Za-z]*/queued as ID/'
}

# normalize FILE - the message without the headers each MTA adds itself
normalize() {
    awk 'BEGIN { hdr = 1 }
         hdr && /^$/ { hdr = 0 }
         hdr && /^[ \t]/ { if (!skip) print; next }
         hdr { skip = ($0 ~ /^(Received|Return-Path|Delivered-To|X-Original-To):/) }
         !(hdr && skip) { print }' "$1"
}

# outcome SIDE MSGID REPLY HELD - what one MTA did with one message
outcome() {
    _side=$1 _mid=$2
    echo "reply: $3"
    echo "held: $4"
    if [ "$_side" = postfix ]; then
        _files=$(grep -lF "Message-ID: <$_mid>" "$PF_MAIL"/*/new/* 2>/dev/null | sort)
    else
        _files=$(grep -lF "Message-ID: <$_mid>" "$T"/home/*/Maildir/new/* 2>/dev/null | sort)
    fi
    for _f in $_files; do
        if [ "$_side" = postfix ]; then
            _box=$(basename "$(dirname "$(dirname "$_f")")" | sed 's/@.*//')
        else
            _box=$(basename "$(dirname "$(dirname "$(dirname "$_f")")")")
        fi
        echo "--- delivered to $_box"
        normalize "$_f"
    done | sort_boxes
}

# sort_boxes - deliveries in mailbox order, so that the order of delivery does not matter
sort_boxes() {
    awk '/^--- delivered to / { box = $4 } { print box "\t" NR "\t" $0 }' | sort -t '	' -k1,1 -k2,2n | cut -f3-
}

for f in "$CMP"/*.eml; do
    n=$(basename "$f" .eml)
    num=${n%%-*}
    for side in postfix mta; do
        port=$PF_PORT
        [ $side = mta ] && port=$PORT
        with_timeout 60 swaks --server 127.0.0.1 --port "$port" --helo client.test \
            --from sender@example.org --to "rcpt-$num@example.com" --data "$f" \
            > "$T/$side.$n.swaks" 2>&1 < /dev/null
    done
done

pf_wait_queue 60 || diag "Postfix's queue did not drain"
wait_for 60 'test "$(queue_count incoming active deferred)" -eq 0' || diag "mta-core's queue did not drain"
sleep 1

for f in "$CMP"/*.eml; do
    n=$(basename "$f" .eml)
    mid=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$f")
    pr=$(reply "$T/postfix.$n.swaks")
    mr=$(reply "$T/mta.$n.swaks")
    pid=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/postfix.$n.swaks" | tail -1)
    mid_q=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/mta.$n.swaks" | tail -1)
    ph=no
    [ -n "$pid" ] && pf_held | grep -qx "$pid" && ph=yes
    mh=no
    [ -n "$mid_q" ] && [ -f "$T/q/hold/$mid_q" ] && mh=yes
    outcome postfix "$mid" "$pr" "$ph" > "$T/$n.postfix"
    outcome mta "$mid" "$mr" "$mh" > "$T/$n.mta"
    if cmp -s "$T/$n.postfix" "$T/$n.mta"; then
        tap_result 0 "$n: same outcome ($pr; held $ph; $(grep -c '^--- delivered' "$T/$n.mta") deliveries)"
    else
        tap_result 1 "$n: same outcome behind Postfix and behind mta-core"
        diag "$(diff -u "$T/$n.postfix" "$T/$n.mta" | sed 's/^---/postfix/; s/^+++/mta-core/' | head -40)"
    fi
done

# The verdicts themselves, through mta-core.
like "$(reply "$T/mta.05-reject-code.swaks")" '^550 5.7.2 Policy says no$' "REJECT gives the rule's code and text"
like "$(reply "$T/mta.06-defer.swaks")" '^4[0-9][0-9] 4\.[0-9.]* try again tomorrow$' "DEFER gives a 4xx"
like "$(reply "$T/mta.08-discard.swaks")" '^250 ' "DISCARD is accepted"
is "$(grep -c '^--- delivered' "$T/08-discard.mta")" 0 "and delivered nowhere"
like "$(cat "$T/15-prepend-header.mta")" 'X-Marked: red' "header edits are in the delivered message"
hid=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/mta.07-hold.swaks" | tail -1)
like "$(mtaq list --hold | grep -A1 "^$hid!")" "held: Needs a look" "HOLD: in mtaq list --hold with the rule's reason"
ok "mtaq release" mtaq release "$hid"
ok "released: delivered to rcpt-07's folder through procsort" \
    wait_for 10 'grep -lqF "Message-ID: <07-hold@test.example>" "$T"/home/rcpt-07/Maildir/new/*'
ok "procsort did the delivery" log_has "$hid: to=<rcpt-07@example.com>.*procsort|$hid: to=<rcpt-07@example.com>.*status=sent"
like "$(cat "$T/milterd.log")" "$hid: hold: header Subject: hold me .*rule=.*header_checks:6" \
    "milterd logged the hold with mta-core's queue id (the i macro) and the rule"
rid=$(grep -c "reject: .*rule=.*header_checks:4 .*550 5.7.2 Policy says no" "$T/milterd.log")
is "$rid" 2 "milterd logged the reject once per MTA"
ok "mta-core logged milter-reject with milterd as the rule" log_has "milter-reject: END-OF-MESSAGE.*Policy says no.*rule=unix:"

mq_stop
pf_stop
stop_bg "$MILTERD" 10
done_testing
