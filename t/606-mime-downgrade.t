#!/bin/sh
# 606-mime-downgrade.t - 8-bit mail to a next hop without 8BITMIME, against
# the reference: each message of t/data/relay/mime/ goes through a private
# Postfix and through mta-core, both relaying to Postfix's smtp-sink started
# without 8BITMIME (-8); what the two sinks receive must be the same, byte
# for byte (8-bit parts as quoted-printable with Postfix's line breaks,
# containers relabelled 7bit, 7-bit parts, base64 parts and mail without
# MIME headers untouched).  The same outputs are the golden files of
# t/601-smtp-mime.c.  Also: with 8BITMIME offered, nothing is converted and
# MAIL FROM says BODY=8BITMIME.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/relay/lib.sh"
# The private Postfix comes from t/lib/postfix.sh (written for milterd's tests).
[ -f "$TOP/t/lib/postfix.sh" ] || skip_all "t/lib/postfix.sh is not in this tree yet"
. "$TOP/t/lib/postfix.sh"
need_postfix

MIME="$TOP/t/data/relay/mime"

sink_start pfsink -8
PFSINK=$SINK_PORT
sink_start mtsink -8
MTSINK=$SINK_PORT
pf_init
pf_postconf -e "default_transport = smtp" "relayhost = [127.0.0.1]:$PFSINK" "smtp_tls_security_level = none"
pf_start
mta_start -o "relayhost=[127.0.0.1]:$MTSINK"

# strip DUMP - what the client sent, without smtp-sink's and the MTAs' trace headers
strip() {
    perl -0777 -pe 's/\A(?:(?:X-(?:Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):[^\n]*\n)|(?:Received:[^\n]*\n(?:[ \t][^\n]*\n)*))+//; s/\n\n\z/\n/' "$1"
}

# latest DIR - the newest capture in DIR
latest() {
    ls -t "$1"/* 2>/dev/null | head -1
}

n=0
for f in "$MIME"/*.eml; do
    name=$(basename "$f" .eml)
    n=$((n + 1))
    swaks --server 127.0.0.1:$PF_PORT --from a@src.test --to "r$n@remote.test" --data "$f" >/dev/null 2>&1
    swaks --server 127.0.0.1:$PORT --from a@src.test --to "r$n@remote.test" --data "$f" >/dev/null 2>&1
    wait_for 20 'test "$(count "$T/pfsink")" -ge $n' || diag "$(tail -5 "$PF_LOG")"
    wait_for 20 'test "$(count "$T/mtsink")" -ge $n' || diag "$(tail -5 "$MTA_LOG")"
    strip "$(latest "$T/pfsink")" > "$T/$name.postfix"
    strip "$(latest "$T/mtsink")" > "$T/$name.mta"
    same_file "$T/$name.mta" "$T/$name.postfix" "$name: converted as Postfix converts it"
    same_file "$T/$name.mta" "$MIME/$name.out" "$name: and as the golden file says"
done
like "$(cat "$T/plain8.mta")" 'Content-Transfer-Encoding: quoted-printable' "an 8bit leaf says quoted-printable"
like "$(cat "$T/plain8.mta")" 'Caf=C3=A9 cr=C3=A8me' "and is encoded"
like "$(cat "$T/multi8.mta")" 'AAECAwQFBgcICQ==' "base64 stays as it was"
like "$(cat "$T/nomime8.mta")" "$(printf 'bytes \303\251 without')" "mail without MIME headers goes unchanged"
ok "the log names nothing unusual" log_has "to=<r1@remote\.test>, relay=127\.0\.0\.1.*status=sent"

# A next hop with 8BITMIME: BODY=8BITMIME, nothing converted.
mta_stop
stop_bg "$SINK_PID"
sink_start eightsink
mta_start -o "relayhost=[127.0.0.1]:$SINK_PORT"
swaks --server 127.0.0.1:$PORT --from a@src.test --to r@remote.test --data "$MIME/plain8.eml" >/dev/null 2>&1
ok "delivered to the 8-bit sink" wait_for 20 'test "$(count "$T/eightsink")" -ge 1'
got=$(cat "$(latest "$T/eightsink")")
like "$got" '^X-Mail-Args: <a@src\.test> BODY=8BITMIME$' "MAIL FROM with BODY=8BITMIME"
like "$got" "$(printf 'Caf\303\251 cr\303\250me')" "the body as it came"
like "$got" 'Content-Transfer-Encoding: 8bit' "and its header too"
mta_stop
pf_stop
done_testing
