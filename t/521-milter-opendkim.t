#!/bin/sh
# 521-milter-opendkim.t - a third-party milter behind mta-core: opendkim in
# signing mode on smtpd_milters; the delivered message carries a
# DKIM-Signature (inserted at the top, as Postfix puts it) that opendkim in
# verify mode accepts, and that fails once the body is changed.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"
need_cmd opendkim "a third-party milter"
need_cmd opendkim-genkey "makes the signing key"

plan 9

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

mq_conf
echo "smtpd_milters = inet:127.0.0.1:$DPORT" >> "$T/main.cf"
mq_home bob
mq_start

out=$(send alice@example.org bob@mx.test --header "From: Alice <alice@example.org>" \
    --header "Subject: please sign me" --body "Hello Bob,
this message is signed by opendkim behind mta-core.")
like "$out" '250 2.0.0 Ok: queued as' "accepted"
ok "delivered" wait_for 10 'test "$(maildir_count bob)" -eq 1'
f=$(ls "$T"/home/bob/Maildir/new/* | head -1)
like "$(cat "$f")" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=test;' \
    "the delivered message has opendkim's signature"
# Local delivery adds Return-Path: and Delivered-To: above what was queued.
queued_first=$(grep -m1 -v -E '^(Return-Path|Delivered-To|X-Original-To):' "$f" | sed 's/:.*//')
is "$queued_first" "DKIM-Signature" "inserted above our Received:, where Postfix puts it (header 0)"
h=$(sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$f" | tr -d '\n\t ' | sed -n 's/.*;h=\([^;]*\);.*/\1/p')
like ":$h:" ':From:' "the signature covers From: (h=$h)"
ok "logged by the milter client" log_has "milter inet:127.0.0.1:$DPORT: insert header DKIM-Signature at 0"

v=$(opendkim -x "$T/dkim/verify.conf" -t "$f" 2>&1)
like "$v" 'verification \(s=test, d=example.org, 2048-bit key\) succeeded' "opendkim in verify mode accepts it: $v"
sed 's/this message is signed/this message was changed/' "$f" > "$T/tampered"
v=$(opendkim -x "$T/dkim/verify.conf" -t "$T/tampered" 2>&1)
like "$v" 'failed' "and refuses it once the body is changed"
unlike "$v" 'succeeded' "(not a verifier that says yes to everything)"
mq_stop
stop_bg "$DKIM" 5
done_testing
