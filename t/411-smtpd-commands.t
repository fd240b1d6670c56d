#!/bin/sh
# 411-smtpd-commands.t - every SMTP command and its error replies, in
# Postfix's words (t/data/mta-smtpd/commands.chat against commands.out):
# syntax errors, state errors, unsupported parameters, null sender, source
# routes, quoted local parts, VRFY 252, HELP, unknown commands, bad UTF-8,
# NUL bytes; then what ends a session: non-SMTP commands, a BDAT without a
# count, overlong lines; and smtpd_helo_required, disable_vrfy_command.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

mta_start -o smtpd_hard_error_limit=100 -o smtpd_soft_error_limit=100
chat < "$MTA_DATA/commands.chat" | sed 's/queued as [0-9A-Za-z]*/queued as QUEUEID/' > "$T/commands.got"
same_file "$T/commands.got" "$MTA_DATA/commands.out" "every command and error path replies as Postfix would"
ok "log: counts per command, failures as ok/total" \
   log_has "disconnect from localhost\[127\.0\.0\.1\] helo=0/1 ehlo=1/2 starttls=0/1 mail=3/13 rcpt=6/11 data=1/4 rset=2/3 noop=3 vrfy=1/2 help=1 quit=1 unknown=0/1 commands=19/43"

out=$(printf '<\n> GET / HTTP/1.0\n<\n<*\n' | chat)
is "$out" "220 mx.test ESMTP mailsift
221 2.7.0 Error: I can break rules, too. Goodbye.
CLOSED" "an HTTP request ends the session (smtpd_forbidden_commands)"
ok "log: non-SMTP command" log_has "warning: non-SMTP command from localhost\[127\.0\.0\.1\]: GET / HTTP/1.0"

out=$(printf '<\n> EHLO x\n<\n> MAIL FROM:<a@b.example>\n<\n> RCPT TO:<u@mx.test>\n<\n> BDAT ten\n<\n<*\n' | chat | tail -2)
is "$out" "521 5.5.4 Syntax: BDAT count [LAST]
CLOSED" "BDAT without a count cannot be skipped: 521 and close"

long=$(head -c 3000 /dev/zero | tr '\0' x)
out=$(printf '<\n> NOOP %s\n<\n> NOOP\n<\n' "$long" | chat | tail -2)
is "$out" "500 5.5.2 mx.test Error: command too long
250 2.0.0 Ok" "a command line beyond line_length_limit: 500, and the session goes on"
ok "log: request longer than" log_has "warning: localhost\[127\.0\.0\.1\]: request longer than 2048"
long=$(head -c 100000 /dev/zero | tr '\0' x)
out=$(printf '<\n> NOOP %s\n<\n> NOOP\n<\n' "$long" | chat | tail -2)
is "$out" "500 5.5.2 mx.test Error: command too long
250 2.0.0 Ok" "a 100 KB line is skipped, never buffered whole"
mta_stop

mta_start -o smtpd_helo_required=yes -o disable_vrfy_command=yes
out=$(printf '<\n> MAIL FROM:<a@b.example>\n<\n> VRFY u\n<\n> HELO x.test\n<\n> MAIL FROM:<a@b.example>\n<\n' | chat | tail -4)
is "$out" "503 5.5.1 Error: send HELO/EHLO first
502 5.5.1 VRFY command is disabled
250 mx.test
250 2.1.0 Ok" "smtpd_helo_required and disable_vrfy_command"
out=$(printf '<\n> EHLO x.test\n<\n' | chat)
unlike "$out" "250-VRFY" "VRFY not announced when disabled"
mta_stop
done_testing
