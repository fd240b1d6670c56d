#!/bin/sh
# 412-smtpd-smuggling.t - SMTP smuggling (CVE-2023-51764 and its kin) must
# fail: a message whose "end of data" is \n.\n, \r.\n, \r\n.\n, \n.\r\n or
# \r.\r\n is not ended there; it is read to the real CRLF.CRLF and refused
# as Postfix refuses it ("550 5.5.2 <host> Error: bare <LF> received"), so
# the commands smuggled inside are never executed and nothing of it is
# delivered.  Bare LF and bare CR in commands end the session.  BDAT content
# with a bare LF is refused too.  An honest message afterwards still works.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

mta_start

n=0
for sep in '\n.\n' '\r.\n' '\r\n.\n' '\n.\r\n' '\r.\r\n'; do
    n=$((n + 1))
    # The label for test names: tap.sh prints them with echo, which knows escapes.
    name=$(printf '%s' "$sep" | sed 's/\\r/CR/g; s/\\n/LF/g')
    out=$(chat <<S
<
> EHLO attacker.test
<
> MAIL FROM:<sender@example.org>
<
> RCPT TO:<user$n@mx.test>
<
> DATA
<
>> Subject: outer\\r\\n\\r\\nouter body${sep}MAIL FROM:<evil@example.org>\\r\\nRCPT TO:<victim$n@mx.test>\\r\\nDATA\\r\\nSubject: smuggled\\r\\n\\r\\nevil\\r\\n.\\r\\n
<
> MAIL FROM:<sender@example.org>
<
> RCPT TO:<honest$n@mx.test>
<
> DATA
<
> Subject: honest
>
> fine
> .
<
> QUIT
<
S
)
    is "$(printf '%s\n' "$out" | sed -n '13,16p;18p')" "550 5.5.2 mx.test Error: bare <$( [ "$sep" = '\r.\r\n' ] && echo CR || echo LF)> received
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
221 2.0.0 Bye" "separator $name: one refusal for the whole thing, then the session goes on"
    like "$(printf '%s\n' "$out" | sed -n 17p)" '^250 2\.0\.0 Ok: queued as' "separator $name: the honest message after it is queued"
    ok "separator $name: honest message delivered" delivered "honest$n" 1
    is "$(msgs "victim$n" | wc -l)$(msgs "user$n" | wc -l)" "00" "separator $name: nothing smuggled or refused is delivered"
done
ok "log: the refusal names the fault" log_has "reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 550 5\.5\.2 mx\.test Error: bare <LF> received; from=<sender@example\.org>"
unlike "$(cat "$MTA_LOG")" "evil@example.org" "the smuggled MAIL FROM never reached the command parser"

# Commands: a bare LF or a bare CR ends the session.
out=$(printf '<\n>> NOOP\\n\n<\n<*\n' | chat)
is "$out" "220 mx.test ESMTP mailsift
550 5.5.2 mx.test Error: bare <LF> received
CLOSED" "a command ending in a bare LF: 550 and close"
out=$(printf '<\n>> NO\\rOP\\r\\n\n<\n<*\n' | chat)
is "$out" "220 mx.test ESMTP mailsift
550 5.5.2 mx.test Error: bare <CR> received
CLOSED" "a bare CR inside a command: 550 and close"
out=$(printf '<\n>> MAIL FROM:<a@b.example>\\r\\r\\n\n<\n<*\n' | chat)
like "$out" "550 5.5.2 mx.test Error: bare <CR> received" "CR CR LF is a bare CR too"

# BDAT: the bytes are counted, but a bare LF in them still refuses the message.
out=$(chat <<'S'
<
> EHLO x.test
<
> MAIL FROM:<a@example.org>
<
> RCPT TO:<bdat@mx.test>
<
>> BDAT 20\r\nSubject: b\n\r\nline\nx\r\n
<
>> BDAT 7 LAST\r\nmore\r\n\r\n
<
S
)
is "$(printf '%s\n' "$out" | tail -2)" "250 2.0.0 Ok: 20 bytes
550 5.5.2 mx.test Error: bare <LF> received" "BDAT with a bare LF: refused at LAST"
sleep 0.5
is "$(msgs bdat | wc -l)" 0 "nothing delivered"
mta_stop
done_testing
