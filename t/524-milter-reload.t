#!/bin/sh
# 524-milter-reload.t - SIGHUP re-reads smtpd_milters and the milter_*
# parameters for new SMTP sessions: a session in progress keeps the
# milters it began with, the next one gets the new list; a configuration
# that does not parse (an unknown parameter, a bad smtpd_milters entry, a
# bad milter_default_action) keeps the running milters and logs why;
# milter_default_action is re-read too; an empty smtpd_milters turns the
# milters off and a later reload on again.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"

plan 19

chat() {
    with_timeout 60 perl "$TOP/t/data/mta-smtpd/smtpchat.pl" 127.0.0.1 "$PORT"
}

for n in 1 2; do
    printf 'rcpt:refuse@ reply 550 5.7.1 "refused by milter %s"\n' $n > "$T/m$n.script"
    : > "$T/m$n.log"
    start_bg "$T/m$n.err" "$TOP/t/lib/testmilter" -p "unix:$T/m$n.sock" -s "$T/m$n.script" -l "$T/m$n.log"
    wait_file "$T/m$n.sock" 10 || bail "testmilter $n did not start: $(cat "$T/m$n.err")"
done
chmod 777 "$T" "$T/m1.sock" "$T/m2.sock"

mq_conf
cp "$T/main.cf" "$T/base.cf"
conf() { # the base configuration plus these lines
    cp "$T/base.cf" "$T/main.cf.new"
    for l in "$@"; do printf '%s\n' "$l" >> "$T/main.cf.new"; done
    mv "$T/main.cf.new" "$T/main.cf"
}
reloads=0
hup() { # SIGHUP, then wait for the daemon's reload line
    reloads=$((reloads + 1))
    kill -HUP "$MTA_PID"
    wait_for 10 "test \$(grep -c 'reload: reading the tables again' '$MTA_LOG') -ge $reloads" &&
        wait_for 10 "test \$(grep -cE 'reload: smtpd_milters = |warning: reload: ' '$MTA_LOG') -ge $reloads"
}
refusal() { # the reply to RCPT TO:<refuse@mx.test>, in a new session
    printf '<\n> EHLO c.test\n<\n> MAIL FROM:<a@example.org>\n<\n> RCPT TO:<refuse@mx.test>\n<\n> QUIT\n<\n' |
        chat | grep -E '^(250|[45][0-9][0-9]) [0-9.]+ ' | tail -1
}
mq_home bob
conf "smtpd_milters = unix:$T/m1.sock"
mq_start -c "$T/main.cf"
is "$(refusal)" "550 5.7.1 refused by milter 1" "at start: milter 1"

# A session in progress keeps its milters across the reload.
chat > "$T/long.out" <<'EOF' &
<
> EHLO c.test
<
> MAIL FROM:<long@example.org>
<
sleep 3
> RCPT TO:<refuse@mx.test>
<
> RCPT TO:<bob@mx.test>
<
> DATA
<
> Subject: long session
>
> body
> .
<
> QUIT
<
EOF
long=$!
wait_for 10 'grep -q "mail <long@example.org>" "$T/m1.log"'
conf "smtpd_milters = unix:$T/m2.sock"
ok "SIGHUP: reload logged" hup
ok "log: the new milter list, for new sessions" log_has "reload: smtpd_milters = unix:$T/m2.sock \(1 milter\) for new sessions"
is "$(refusal)" "550 5.7.1 refused by milter 2" "a new session gets milter 2"
wait "$long"
like "$(cat "$T/long.out")" "550 5.7.1 refused by milter 1" "the session that began before still talks to milter 1"
like "$(cat "$T/long.out")" "250 2.0.0 Ok: queued as" "and its message is queued"
like "$(cat "$T/m1.log")" 'eom' "milter 1 saw its end of message"
unlike "$(cat "$T/m2.log")" 'long@example.org' "milter 2 never saw that session"

# Configurations that do not parse keep the running milters.
conf "smtpd_milters = unix:$T/m1.sock" "no_such_parameter = 1"
ok "an unknown parameter: reload done" hup
ok "log: why, with the file and line" log_has "warning: reload: .*main\.cf.*no_such_parameter.*; keeping the running milter settings"
is "$(refusal)" "550 5.7.1 refused by milter 2" "milter 2 stays"
conf "smtpd_milters = unix:$T/m1.sock, carrier-pigeon:coop"
hup
ok "log: a bad smtpd_milters entry" log_has "warning: reload: .*carrier-pigeon:coop.*; keeping the running milter settings"
conf "smtpd_milters = unix:$T/m1.sock" "milter_default_action = maybe"
hup
ok "log: a bad milter_default_action" log_has "warning: reload: .*maybe.*; keeping the running milter settings"
is "$(refusal)" "550 5.7.1 refused by milter 2" "milter 2 still"

# milter_* parameters are re-read: a milter that is not there, accept or tempfail.
conf "smtpd_milters = unix:$T/nobody-home.sock" "milter_default_action = accept"
hup
is "$(refusal)" "250 2.1.5 Ok" "a missing milter with milter_default_action = accept"
conf "smtpd_milters = unix:$T/nobody-home.sock" "milter_default_action = tempfail"
hup
like "$(refusal)" "^451 4\.7\.1 " "the same milter after a reload to tempfail"

# No milters, then milters again.
conf ""
hup
ok "log: no milters" log_has "reload: smtpd_milters =  \(0 milters\) for new sessions"
is "$(refusal)" "250 2.1.5 Ok" "without milters the recipient is taken"
conf "smtpd_milters = unix:$T/m1.sock, unix:$T/m2.sock"
hup
is "$(refusal)" "550 5.7.1 refused by milter 1" "two milters after the next reload: the first decides"
mq_stop
