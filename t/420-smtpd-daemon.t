#!/bin/sh
# 420-smtpd-daemon.t - the daemon itself: configuration file with $name
# expansion and -o overrides, every configuration error fatal with a clear
# message (unknown parameter with file and line, bad values, bad or busy
# listen addresses), several listeners (IPv4, IPv6, all addresses), -v,
# and, as root, privileges given up to mail_owner with the queue directory
# made its own.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-smtpd/lib.sh"

# fails DESC ERE ARGS... - mta-core exits 1 with a fatal message matching ERE
fails() {
    _d=$1 _re=$2
    shift 2
    _out=$(with_timeout 10 mta-core -o queue_directory="$T/qx" "$@" 2>&1)
    _st=$?
    is "$_st" 1 "$_d: exit 1"
    like "$_out" "$_re" "$_d: says why"
}

printf 'mydomain = example.net\n# a comment\nmyhostname = mx.$mydomain\nbogus_param = 1\n' > "$T/bad.conf"
fails "unknown parameter in the file" "fatal: $T/bad.conf, line 4: unknown parameter \"bogus_param\"" -c "$T/bad.conf"
fails "unknown parameter with -o" 'fatal: -o: unknown parameter "smtpd_lisen"' -o smtpd_lisen=x
fails "a missing -c file" "fatal: open $T/none.conf: No such file or directory" -c "$T/none.conf"
fails "a bad time" "fatal: bad time parameter value: smtpd_timeout = soon" -o smtpd_timeout=soon
fails "a bad number" "fatal: bad numerical parameter value: smtpd_recipient_limit = many" -o smtpd_recipient_limit=many
fails "a bad network" 'fatal: [a-z_]+: bad mask length in "10.0.0.0/40"' -o mynetworks=10.0.0.0/40
fails "a missing access table" "fatal: .*$T/nope" -o "access_maps=hash:$T/nope"
fails "a listen entry without a port" 'fatal: smtpd_listen: "localhost": expected host:port' -o smtpd_listen=localhost
fails "an unclosed IPv6 bracket" 'fatal: smtpd_listen: "\[::1:25": expected \[address\]:port' -o 'smtpd_listen=[::1:25'
fails "an impossible port" 'fatal: smtpd_listen: "127.0.0.1:99999": bad port' -o smtpd_listen=127.0.0.1:99999
perl -MIO::Socket::INET -e '$|=1; $s=IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0) or die; print $s->sockport, "\n"; sleep 30' > "$T/busyport" &
busy=$!
while [ ! -s "$T/busyport" ]; do sleep 0.05; done
fails "a port in use" "fatal: smtpd_listen: \"127.0.0.1:$(cat "$T/busyport")\": bind 127.0.0.1:$(cat "$T/busyport"): Address already in use" \
      -o smtpd_listen=127.0.0.1:$(cat "$T/busyport")
kill $busy

# A good configuration file, overridden by -o, on several listeners.
P2=$(free_port)
P3=$(free_port)
printf 'mydomain = example.net\nmyhostname = mx.$mydomain\nsmtpd_banner = $myhostname says hello\n' > "$T/good.conf"
MTA_LISTEN_EXTRA="[::1]:$P2, :$P3"
mta_start -c "$T/good.conf" -o myhostname=override.example.net -v
is "$(printf '<\n' | chat)" "220 override.example.net says hello" "configuration file, \$name expansion, -o wins"
is "$(printf '<\n' | CHAT_HOST=::1 CHAT_PORT=$P2 chat)" "220 override.example.net says hello" "an IPv6 listener"
is "$(printf '<\n' | CHAT_PORT=$P3 chat -b 127.0.0.2)" "220 override.example.net says hello" ":port listens on IPv4..."
is "$(printf '<\n' | CHAT_HOST=::1 CHAT_PORT=$P3 chat)" "220 override.example.net says hello" "... and on IPv6"
ok "log: each listener" log_has "listening on \[::\]:$P3"
printf '<\n> NOOP\n<\n' | chat > /dev/null
ok "-v logs the dialogue" log_has "< localhost\[127\.0\.0\.1\]: NOOP"
if [ "$(id -u)" = 0 ]; then
    owner=$(id -u postfix)
    is "$(awk '/^Uid:/ {print $2 "," $3 "," $4}' /proc/$MTA_PID/status)" "$owner,$owner,$owner" \
       "as root: real, effective and saved uid are mail_owner's"
    is "$(awk '/^Groups:/ {print $2}' /proc/$MTA_PID/status)" "$(id -g postfix)" "supplementary groups: only mail_owner's group"
    is "$(stat -c %U "$T/q")" postfix "the queue directory belongs to mail_owner"
    ok "log: running as" log_has "running as postfix"
else
    skip 4 "not root: nothing to give up"
fi
mta_stop
is "$?" 0 "SIGTERM: exit 0"

if [ "$(id -u)" = 0 ]; then
    fails "an unknown mail_owner" "fatal: mail_owner nosuchuser42: no such user" -o mail_owner=nosuchuser42 \
          -o smtpd_listen=127.0.0.1:$(free_port)
else
    skip 2 "not root"
fi
done_testing
