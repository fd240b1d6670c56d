#!/bin/sh
# 516-milter-concurrency.t - a slow milter never stalls other sessions:
# in one event loop (as in mta-core), session A's milter connection hangs
# at RCPT while sessions B and C go through whole transactions against
# the same milter on connections of their own; they finish long before A
# times out (milter_command_timeout) and gets the default action.  Then
# twenty sessions at once, all served.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/milter.sh"

plan 8

printf 'rcpt:slow hang 8\neom addheader X-Seen yes\n' > "$T/script"
start_milter 1 "$T/script"

cat > "$T/session" <<EOF
session A
connect a.example 192.0.2.1 1
mail <a@example.org>
rcpt <slow@example.org>
session B
sleep 100
connect b.example 192.0.2.2 2
mail <b@example.org>
rcpt <fast@example.org>
data
message $DATA/msg2.eml $T/out.b 1
session C
sleep 100
connect c.example 192.0.2.3 3
mail <c@example.org>
rcpt <fast@example.org>
data
message $DATA/msg2.eml $T/out.c 1
EOF

with_timeout 60 "$TOP/t/lib/milterdrive" -t -o "smtpd_milters=unix:$T/m1.sock" \
    -o milter_command_timeout=3s "$T/session" > "$T/out" 2> "$T/err"
ms_of() { sed -n "s/^\([0-9]*\) $1.*/\1/p" "$T/out" | head -1; }
b=$(ms_of "B: message .*: continue")
c=$(ms_of "C: message .*: continue")
a=$(ms_of "A: rcpt <slow@example.org>: reply 451 4.7.1")
ok "B's message accepted" test -n "$b"
ok "C's message accepted" test -n "$c"
ok "A's hung RCPT got the default action" test -n "$a"
ok "B and C finished while A's milter hung (B ${b}ms, C ${c}ms, A ${a}ms)" \
    test "${b:-9999}" -lt 2500 -a "${c:-9999}" -lt 2500 -a "${b:-9999}" -lt "${a:-0}" -a "${c:-9999}" -lt "${a:-0}"
ok "A waited for milter_command_timeout (${a}ms)" test "${a:-0}" -ge 3000 -a "${a:-0}" -lt 7000
like "$(cat "$T/out.b")" 'X-Seen: yes' "B's message was edited by the milter"
[ -n "$a" ] || diag "$(cat "$T/out" "$T/err")"

# Twenty sessions at once.
: > "$T/many"
i=1
while [ $i -le 20 ]; do
    cat >> "$T/many" <<EOF
session s$i
connect c$i.example 192.0.2.$i $i
mail <s$i@example.org>
rcpt <r$i@example.org>
data
message $DATA/msg2.eml $T/many.$i 1
EOF
    i=$((i + 1))
done
with_timeout 60 "$TOP/t/lib/milterdrive" -o "smtpd_milters=unix:$T/m1.sock" "$T/many" > "$T/many.out" 2>&1
is "$(grep -c ': message .*: continue$' "$T/many.out")" 20 "twenty concurrent sessions, twenty messages accepted"
is "$(cat "$T"/many.[0-9]* | grep -c '^X-Seen: yes$')" 20 "and twenty edited"
done_testing
