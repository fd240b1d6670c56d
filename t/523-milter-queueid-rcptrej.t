#!/bin/sh
# 523-milter-queueid-rcptrej.t - the queue id from MAIL FROM on, and
# recipients that mta-core's own policy rejected shown to milters that ask
# for them (SMFIP_RCPT_REJ), measured against real Postfix.
#
# The same t/lib/testmilter script behind Postfix and behind mta-core, the
# same transaction (a recipient the access table rejects, then two good
# ones):
#  - the rejected recipient reaches the RCPT_REJ milter with the same
#    {rcpt_mailer}, {rcpt_host} and {rcpt_addr} from both MTAs, and not a
#    second milter that did not ask; the milter's reject of it changes
#    nothing, and its reject of a good recipient does;
#  - mta-core's "i" at MAIL, each RCPT, DATA and end of message is the id
#    the message is queued as (Postfix: no "i" at MAIL and at the first
#    recipient, a documented difference);
#  - transactions that end without a message (RSET, a MAIL the milter
#    rejects, 554 at DATA, a reject at end of message, QUIT) leave no file
#    in the queue, and every transaction gets an id of its own.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
. "$TOP/t/data/mta-queue/lib.sh"

plan 25

chat() {
    with_timeout 60 perl "$TOP/t/data/mta-smtpd/smtpchat.pl" 127.0.0.1 "$PORT"
}

# Milter 1 asks for rejected recipients; milter 2 does not.
cat > "$T/m1.script" <<'EOF'
flags RCPT_REJ
rcpt:nobody@ reject
rcpt:refuse@ reply 550 5.7.1 "refused by milter"
mail:badsender@ reject
eom:rejectme@ reply 554 5.7.1 "content refused"
EOF
printf 'rcpt continue\n' > "$T/m2.script"
start_milters() { # fresh milters and logs
    for n in 1 2; do
        [ -n "$(eval echo \${MPID$n:-})" ] && stop_bg "$(eval echo \$MPID$n)"
        rm -f "$T/m$n.sock"
        : > "$T/m$n.log"
        start_bg "$T/m$n.err" "$TOP/t/lib/testmilter" -p "unix:$T/m$n.sock" -s "$T/m$n.script" -l "$T/m$n.log"
        eval "MPID$n=\$BG_PID"
        wait_file "$T/m$n.sock" 10 || bail "testmilter $n did not start: $(cat "$T/m$n.err")"
    done
    chmod 777 "$T" "$T/m1.sock" "$T/m2.sock"
}
start_milters

macros_of() { # LOG ADDRESS: the {rcpt_*} macros the milter saw with that RCPT
    awk -v a="<$2>" '$2 == "rcpt" && $3 == a { want = 1; next }
                     want && $2 == "macros" && $3 == "rcpt:" { print; exit }' "$1" |
        sed -n 's/.*\({rcpt_addr}=\)/\1/p'
}

# --- Postfix ---------------------------------------------------------------
printf 'nobody@example.com REJECT no such user here\n' > "$T/pf_access"
pf_init
pf_main "smtpd_milters = unix:$T/m1.sock, unix:$T/m2.sock" \
    "smtpd_recipient_restrictions = check_recipient_access texthash:$T/pf_access, permit_mynetworks, reject_unauth_destination" \
    "milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}"
pf_start
out=$(with_timeout 60 swaks --server "$PF_ADDR" --port "$PF_PORT" --helo client.test --from s@example.org \
      --to nobody@example.com,alice@example.com,bob@example.com 2>&1)
like "$out" '<\*\* 554 5\.7\.1 <nobody@example\.com>: Recipient address rejected: no such user here' \
    "Postfix rejects the recipient itself"
pfqid=$(qid "$out")
pf_rej=$(macros_of "$T/m1.log" nobody@example.com)
like "$pf_rej" '\{rcpt_mailer\}=error' "Postfix shows the RCPT_REJ milter the rejected recipient: $pf_rej"
pf_i=$(grep -E '^c[0-9]+ macros (mail|rcpt|data|eom):' "$T/m1.log" |
       sed -E 's/^c[0-9]+ macros ([a-z]+):.*( i=[^ ]*).*/\1\2/; t; s/^c[0-9]+ macros ([a-z]+):.*/\1 -/' | tr '\n' ' ')
is "$pf_i" "mail - rcpt - rcpt - rcpt i=$pfqid data i=$pfqid eom i=$pfqid " \
    "Postfix: no i at MAIL and up to its first good recipient (the file opens then), i from there on"
pf_stop
cp "$T/m1.log" "$T/m1.pf.log"
start_milters

# --- mta-core --------------------------------------------------------------
printf 'nobody@mx.test REJECT no such user here\n' > "$T/access"
mq_conf
cat >> "$T/main.cf" <<EOF
smtpd_milters = unix:$T/m1.sock, unix:$T/m2.sock
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
access_maps = texthash:$T/access
EOF
for u in alice bob; do mq_home $u; done
mq_start

out=$(send s@example.org nobody@mx.test,alice@mx.test,refuse@mx.test,bob@mx.test)
like "$out" '<\*\* 554 5\.7\.1 <nobody@mx\.test>: Recipient address rejected: no such user here' \
    "the policy's reject stands although the milter rejects too"
like "$out" '<\*\* 550 5\.7\.1 refused by milter' "the milter's reject of a good recipient counts"
id=$(qid "$out")
ok "the message is queued ($id)" test -n "$id"
rej=$(macros_of "$T/m1.log" nobody@mx.test)
is "$rej" "$(macros_of "$T/m1.pf.log" nobody@example.com)" "the rejected recipient's macros are Postfix's"
is "$rej" "{rcpt_addr}=Recipient address rejected: no such user here {rcpt_host}=5.7.1 {rcpt_mailer}=error" \
    "{rcpt_addr} is the text after the address, {rcpt_host} the status, {rcpt_mailer} error"
like "$(macros_of "$T/m1.log" alice@mx.test)" '^\{rcpt_addr\}=alice@mx\.test$' \
    "the next recipient has its own macros, not the error ones"
unlike "$(cat "$T/m2.log")" 'rcpt <nobody@' "a milter that did not ask does not see the rejected recipient"
like "$(cat "$T/m2.log")" 'rcpt <alice@mx.test>' "but sees the good ones"
ok "log: one reject line for the policy's decision, with the queue id" \
    test "$(grep -c "$id: reject: RCPT from .*<nobody@mx.test>: Recipient address rejected" "$MTA_LOG")" = 1
ok "log: the milter's reject, with the queue id" log_has "$id: milter-reject: RCPT from .*refused by milter"
got=$(grep -E '^c[0-9]+ macros (mail|rcpt|data|eom):' "$T/m1.log" |
      sed -E 's/^c[0-9]+ macros ([a-z]+):.*( i=[^ ]*).*/\1\2/; t; s/^c[0-9]+ macros ([a-z]+):.*/\1 -/' | tr '\n' ' ')
is "$got" "mail i=$id rcpt i=$id rcpt i=$id rcpt i=$id rcpt i=$id data i=$id eom i=$id " \
    "mta-core: i at MAIL, every RCPT, DATA and end of message is the queued id"
ok "log: client= with the id at MAIL FROM" log_has "$id: client=localhost\[127\.0\.0\.1\]"
ok "delivered to alice and bob" wait_for 10 'test "$(maildir_count alice)" = 1 && test "$(maildir_count bob)" = 1'
like "$(cat "$T"/home/bob/Maildir/new/*)" "with ESMTP id $id" "the Received: header names the same id"

# Transactions without a message leave nothing behind; each has its own id.
start_milters
out=$(chat <<'EOF'
<
> EHLO client.test
<
> MAIL FROM:<a@example.org>
<
> RSET
<
> MAIL FROM:<badsender@example.org>
<
> MAIL FROM:<b@example.org>
<
> RCPT TO:<nobody@mx.test>
<
> DATA
<
> RSET
<
> MAIL FROM:<rejectme@example.org>
<
> RCPT TO:<alice@mx.test>
<
> DATA
<
> Subject: rejected
>
> x
> .
<
> MAIL FROM:<d@example.org>
<
> RCPT TO:<alice@mx.test>
<
> QUIT
<
EOF
)
like "$out" '550 5.7.1 Command rejected' "a MAIL the milter rejects"
like "$out" '554 5.5.1 Error: no valid recipients' "554 at DATA"
like "$out" '554 5.7.1 content refused' "a reject at end of message"
ok "every aborted transaction's file is gone" wait_for 5 \
    'test -z "$(find "$T/q" -type f -name ".tmp-*")" && test "$(queue_count)" = 0'
ids=$(grep -E '^c[0-9]+ macros mail:' "$T/m1.log" | sed -E 's/.* i=([^ ]*).*/\1/')
is "$(printf '%s\n' "$ids" | wc -l)" 5 "five transactions, each seen at MAIL with an id"
is "$(printf '%s\n' "$ids" | sort -u | wc -l)" 5 "five different ids"
ok "log: each aborted transaction's id was logged at MAIL FROM" \
    test "$(for i in $ids; do grep -c "$i: client=" "$MTA_LOG"; done | sort -u)" = 1
ok "log: the MAIL reject line carries its id" log_has "[0-9A-Za-z]+: milter-reject: MAIL from .*<badsender@example.org>"
mq_stop
