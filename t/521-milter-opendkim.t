#!/bin/sh
# 521-milter-opendkim.t - a third-party milter behind mta-core: opendkim in
# signing mode on smtpd_milters.  The delivered message carries a
# DKIM-Signature, inserted at the top as Postfix puts it, that opendkim in
# verify mode accepts (and refuses once the body is changed).  The same
# message through real Postfix with the same opendkim gets the same
# signature (every tag but the time and the signature value, which moves
# with it) and the same headers in the same order.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
. "$TOP/t/data/mta-queue/lib.sh"
need_cmd opendkim "a third-party milter"
need_cmd opendkim-genkey "makes the signing key"

plan 15

printf 'postmaster: bob\n' > "$T/aliases"
mkdir -p "$T/dkim"
opendkim-genkey -D "$T/dkim" -d example.org -s test || bail "opendkim-genkey failed"
# The public key, as a verifier would find it in DNS (opendkim's TestPublicKeys).
pub=$(tr -d '\n\t' < "$T/dkim/test.txt" | sed 's/.*( *//; s/ *).*//; s/" *"//g; s/"//g')
echo "test._domainkey.example.org $pub" > "$T/dkim/keys"
DPORT=$(free_port)
cat > "$T/dkim/sign.conf" <<EOF
Mode s
Domain example.org
Selector test
KeyFile $T/dkim/test.private
Socket inet:$DPORT@127.0.0.1
Canonicalization relaxed/simple
InternalHosts 127.0.0.0/8
RequireSafeKeys false
Syslog no
Background no
EOF
cat > "$T/dkim/verify.conf" <<EOF
Mode v
TestPublicKeys $T/dkim/keys
RequireSafeKeys false
Syslog no
Background no
EOF
start_bg "$T/dkim/sign.log" opendkim -f -x "$T/dkim/sign.conf"
DKIM=$BG_PID
wait_port "$DPORT" 10 || bail "opendkim did not start: $(cat "$T/dkim/sign.log")"

cat > "$T/message" <<'EOF'
Date: Sat, 21 Nov 2026 10:00:00 +0000
From: Alice <alice@example.org>
To: Bob <bob@example.com>
Subject: please sign me
Message-ID: <dkim-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob,
this message is signed by opendkim behind an MTA.
EOF

# mta-core, delivering bob@example.com to $T/home/bob/Maildir.
mq_conf
cat >> "$T/main.cf" <<EOF
mydestination = example.com, \$myhostname, localhost
smtpd_milters = inet:127.0.0.1:$DPORT
EOF
mq_home bob
mq_start
out=$(with_timeout 60 swaks --server 127.0.0.1 --port "$PORT" --helo client.test \
    --from alice@example.org --to bob@example.com --data "$T/message" 2>&1 < /dev/null)
like "$out" '250 2.0.0 Ok: queued as' "mta-core accepts the message"
ok "and delivers it" wait_for 10 'test "$(maildir_count bob)" -eq 1'
mf=$(ls "$T"/home/bob/Maildir/new/* | head -1)
ok "logged by the milter client" log_has "milter inet:127.0.0.1:$DPORT: insert header DKIM-Signature at 0"
mq_stop

# Postfix, the same opendkim.
pf_init
pf_main "smtpd_milters = inet:127.0.0.1:$DPORT" "milter_default_action = tempfail"
pf_start
out=$(with_timeout 60 swaks --server 127.0.0.1 --port "$PF_PORT" --helo client.test \
    --from alice@example.org --to bob@example.com --data "$T/message" 2>&1 < /dev/null)
like "$out" '250 2.0.0 Ok: queued as' "Postfix accepts it"
pf_wait_queue 30
pfile=$(ls "$(pf_mailbox bob)"/* 2>/dev/null | head -1)
ok "and delivers it" test -n "$pfile"

# queued FILE - the message as the MTA queued it: without the delivery's own headers on top
queued() {
    awk 'BEGIN { top = 1 }
         top && /^(Return-Path|Delivered-To|X-Original-To):/ { next }
         { top = 0; print }' "$1"
}
# tags FILE - the DKIM-Signature's tags, one per line, without t= and b=
tags() {
    queued "$1" | awk '/^DKIM-Signature:/ { on = 1; sub(/^DKIM-Signature:/, ""); s = $0; next }
                       on && /^[ \t]/ { s = s $0; next } on { exit } END { print s }' |
        tr -d ' \t' | tr ';' '\n' | grep -v -E '^(t|b)=' | grep -v '^$'
}
# names FILE - the header names in order, the MTAs' Received: left out
names() {
    queued "$1" | awk '/^$/ { exit } /^[^ \t]/ { sub(/:.*/, ""); print }' | grep -v '^Received$'
}

is "$(queued "$mf" | head -1 | sed 's/:.*//')" DKIM-Signature "mta-core: the signature is the first header, above our Received:"
is "$(queued "$pfile" | head -1 | sed 's/:.*//')" DKIM-Signature "Postfix: the same place"
like "$(tags "$mf" | tr '\n' ' ')" 'd=example.org .*s=test .*h=' "mta-core's message is signed: $(tags "$mf" | tr '\n' ' ')"
is "$(tags "$mf")" "$(tags "$pfile")" "the same signature tags as under Postfix (body hash and signed headers included)"
is "$(names "$mf" | tr '\n' ' ')" "$(names "$pfile" | tr '\n' ' ')" "the same headers in the same order"
is "$(sed -n '/^$/,$p' "$mf")" "$(sed -n '/^$/,$p' "$pfile")" "the same body"

v=$(opendkim -x "$T/dkim/verify.conf" -t "$mf" 2>&1)
like "$v" 'verification \(s=test, d=example.org, 2048-bit key\) succeeded' "opendkim in verify mode accepts mta-core's message"
v=$(opendkim -x "$T/dkim/verify.conf" -t "$pfile" 2>&1)
like "$v" 'verification \(s=test, d=example.org, 2048-bit key\) succeeded' "and Postfix's"
sed 's/this message is signed/this message was changed/' "$mf" > "$T/tampered"
v=$(opendkim -x "$T/dkim/verify.conf" -t "$T/tampered" 2>&1)
like "$v" 'failed' "and refuses mta-core's once its body is changed"
unlike "$v" 'succeeded' "(not a verifier that says yes to everything)"
pf_stop
stop_bg "$DKIM" 5
done_testing
