#!/bin/sh
# 413-smtpd-relay.t - relay control: a client outside mynetworks (127.0.0.2,
# or ::1 when mynetworks has no IPv6) may only send to mydestination and
# relay_domains (with subdomains) and to postmaster; anything else gets
# Postfix's "554 5.7.1 <rcpt>: Relay access denied", logged with the rule.
# Inside mynetworks (127.0.0.1, [::1]/128) relaying is allowed.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

P6=$(free_port)
MTA_LISTEN_EXTRA="[::1]:$P6"
mta_start -o mynetworks=127.0.0.1/32 -o 'mydestination=$myhostname, localhost' \
          -o relay_domains=relay.test

script() {
    cat <<S
<
> EHLO outside.test
<
> MAIL FROM:<s@example.org>
<
> RCPT TO:<x@far.example>
<
> RCPT TO:<user@mx.test>
<
> RCPT TO:<User@MX.TEST.>
<
> RCPT TO:<a@relay.test>
<
> RCPT TO:<a@deep.sub.relay.test>
<
> RCPT TO:<postmaster>
<
> RCPT TO:<a@notrelay.test>
<
> QUIT
<
S
}

out=$(script | chat -b 127.0.0.2 | sed -n '11,18p')
is "$out" "554 5.7.1 <x@far.example>: Relay access denied
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
554 5.7.1 <a@notrelay.test>: Relay access denied
221 2.0.0 Bye" "outside mynetworks: only local and relay_domains destinations"
ok "log: Postfix's reject line, with the rule" log_has \
   "[0-9A-Za-z]+: reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 <x@far\.example>: Relay access denied; from=<s@example\.org> to=<x@far\.example> proto=ESMTP helo=<outside\.test> rule=relay control"
ok "log: the disconnect line counts the refusals" log_has \
   "disconnect from unknown\[127\.0\.0\.2\] ehlo=1 mail=1 rcpt=5/7 quit=1 commands=8/10"

out=$(script | chat -b 127.0.0.1 | sed -n '11p;17p')
is "$out" "250 2.1.5 Ok
250 2.1.5 Ok" "inside mynetworks: relaying allowed"

out=$(script | CHAT_HOST=::1 CHAT_PORT=$P6 chat | sed -n '11p')
is "$out" "554 5.7.1 <x@far.example>: Relay access denied" "from ::1, not in mynetworks: denied"
ok "log: an IPv6 client" log_has "connect from [a-z0-9.-]*\[::1\]"
mta_stop

P6=$(free_port)
MTA_LISTEN_EXTRA="[::1]:$P6"
mta_start -o 'mynetworks=127.0.0.1/32, [::1]/128'
out=$(script | CHAT_HOST=::1 CHAT_PORT=$P6 chat | sed -n '11p')
is "$out" "250 2.1.5 Ok" "from ::1 with [::1]/128 in mynetworks: relaying allowed"
out=$(script | chat -b 127.0.0.2 | sed -n '11p')
is "$out" "554 5.7.1 <x@far.example>: Relay access denied" "127.0.0.2 is still outside"
mta_stop

printf '127.0.0.0/8 yes\n!127.0.0.5 nope\n' > "$T/nets.cidr"
printf '# our networks\n127.0.0.7\n' > "$T/nets.list"
mta_start -o "mynetworks=!127.0.0.5, 127.0.0.1, cidr:$T/nets.cidr, $T/nets.list" \
          -o relay_domains_reject_code=550
out=$(script | chat -b 127.0.0.3 | sed -n '11p')
is "$out" "250 2.1.5 Ok" "mynetworks with a cidr: table"
out=$(script | chat -b 127.0.0.5 | sed -n '11p')
is "$out" "550 5.7.1 <x@far.example>: Relay access denied" "!pattern excludes; relay_domains_reject_code"
mta_stop
done_testing
