#!/bin/sh
# 113-milterd-daemon.t - milterd as a daemon behind Postfix: SIGHUP reloads
# every table at once, a reload that fails keeps the running policy and logs
# "FILE, line N: reason", a message under way finishes with the policy it
# started with, twenty SIGHUPs in a row do not stop it, SIGTERM lets the
# message under way finish and exits 0, a stale socket is replaced, and a
# bad configuration or table at start is exit 1 with the reason.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd swaks "the SMTP client of the interop tests"

# --- start-up errors: exit 1 and say why --------------------------------
printf 'header_checks = pcre:%s/hc\nno_such_parameter = 1\n' "$T" > "$T/bad.conf"
out=$(milterd -t -c "$T/bad.conf" < /dev/null 2>&1); st=$?
is "$st" 1 "an unknown parameter: exit 1"
like "$out" "$T/bad.conf, line 2: unknown parameter \"no_such_parameter\"" "and the file and line are named"
printf '/^Subject: ok/ DUNNO\n/^Subject: (bad/ REJECT\n' > "$T/badtable"
out=$(milterd -o "header_checks=pcre:$T/badtable" -o "socket=unix:$T/x.sock" 2>&1); st=$?
is "$st" 1 "a bad table at start: exit 1"
like "$out" "$T/badtable, line 2: " "and the table's file and line are named"
ok "no socket was left behind" test ! -e "$T/x.sock"
out=$(milterd -c "$T/does-not-exist.conf" 2>&1); st=$?
is "$st" 1 "a missing -c file: exit 1"
like "$out" "does-not-exist.conf: No such file" "and why"
out=$(milterd -x 2>&1); st=$?
is "$st" 2 "a bad option: exit 2 with usage"

# --- a running milterd ---------------------------------------------------
echo '/^Subject: test/ REJECT policy one' > "$T/hc"
cat > "$T/milterd.conf" <<EOF
socket = unix:$T/milterd.sock
socket_mode = 0666
header_checks = pcre:\$config_directory/hc
EOF
# A stale socket from a crash: milterd replaces it.
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die' "$T/milterd.sock"
ok "a stale socket is there" test -S "$T/milterd.sock"
start_bg "$T/milterd.log" milterd -v -c "$T/milterd.conf"
pid=$BG_PID
pf_init
pf_main "smtpd_milters = unix:$T/milterd.sock" "milter_default_action = tempfail"
pf_start
sleep 0.3
like "$(cat "$T/milterd.log")" "listening on unix:$T/milterd.sock" "milterd starts over the stale socket"

# reply SUBJECT - the reply to a message with that subject
reply() {
    swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.com --to b@example.com \
          --header "Subject: $1" --timeout 30 2>&1 < /dev/null |
        sed -n '/^ -> \.$/,$p' | sed -n 's/^<[-*~]* *\([245][0-9][0-9] .*\)$/\1/p' | head -1 | tr -d '\r'
}

# hup - SIGHUP, then wait for milterd to say how it went
hup() {
    _n=$(grep -c "reload" "$T/milterd.log")
    kill -HUP "$pid"
    _i=0
    while [ "$(grep -c "reload" "$T/milterd.log")" = "$_n" ] && [ $_i -lt 100 ]; do
        sleep 0.05
        _i=$((_i + 1))
    done
}

is "$(reply test)" "550 5.7.1 policy one" "the first policy applies"

echo '/^Subject: test/ REJECT policy two' > "$T/hc"
hup
like "$(tail -1 "$T/milterd.log")" "reloaded: policy generation 2" "SIGHUP: reloaded"
is "$(reply test)" "550 5.7.1 policy two" "the new tables apply to the next message"

printf '/^Subject: test/ REJECT policy three\nif /^X/\n/^Subject: (unclosed/ REJECT\n' > "$T/hc"
hup
like "$(cat "$T/milterd.log")" "reload failed; keeping the running policy" "a bad table: the reload fails"
like "$(cat "$T/milterd.log")" "header_checks: $T/hc, line 3: " "and the table's file and line are logged"
is "$(reply test)" "550 5.7.1 policy two" "the running policy stays, all of it"
ok "milterd still runs" kill -0 "$pid"

echo '/^Subject: test/ REJECT policy four' > "$T/hc"
echo 'bad line without equals' >> "$T/milterd.conf"
hup
like "$(tail -3 "$T/milterd.log")" "$T/milterd.conf, line 4: missing '=' after parameter name" "a bad milterd.conf: the reload fails, with the line"
is "$(reply test)" "550 5.7.1 policy two" "and the running policy stays"
sed -i '$d' "$T/milterd.conf"
hup
is "$(reply test)" "550 5.7.1 policy four" "a fixed configuration reloads"
echo "socket_mode = 0600" >> "$T/milterd.conf"
hup
like "$(tail -2 "$T/milterd.log")" "socket_mode changed; the new value takes effect at the next start" "a setting a reload cannot change is warned about"
sed -i '$d' "$T/milterd.conf"
hup

# A message under way keeps the policy it started with: MAIL FROM (when
# milterd takes the policy) under policy four, DATA after a reload to five.
perl -MIO::Socket::INET -e '
    my ($port, $pid, $hc, $addr) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Timeout => 30) or die "connect: $!";
    sub rd { my $l; do { $l = <$s>; die "eof" unless defined $l } while ($l =~ /^\d\d\d-/); $l =~ s/\r?\n$//; $l }
    sub cmd { print $s "$_[0]\r\n"; rd() }
    rd(); cmd("EHLO test"); cmd("MAIL FROM:<a\@example.com>"); cmd("RCPT TO:<b\@example.com>");
    open(my $f, ">", $hc) or die; print $f "/^Subject: test/ REJECT policy five\n"; close $f;
    kill "HUP", $pid;
    sleep 1;
    cmd("DATA");
    print $s "Subject: test\r\n\r\nbody\r\n";
    print "", cmd("."), "\n";
    cmd("QUIT");' "$PF_PORT" "$pid" "$T/hc" "$PF_ADDR" > "$T/inflight.out" 2>&1
is "$(cat "$T/inflight.out")" "550 5.7.1 policy four" "a message under way finishes with the policy it started with"
is "$(reply test)" "550 5.7.1 policy five" "the next message gets the new policy"

# Many SIGHUPs in a row: libmilter must not take any of them for a stop.
i=0
while [ $i -lt 20 ]; do
    kill -HUP "$pid"
    sleep 0.02
    i=$((i + 1))
done
sleep 0.5
ok "twenty SIGHUPs: still running" kill -0 "$pid"
is "$(reply test)" "550 5.7.1 policy five" "and still answering"
is "$(grep -c 'stopping' "$T/milterd.log")" 0 "nothing stopped"

# Thirty messages at once while the policy is swapped back and forth: each
# message gets the verdict of one whole policy, never a mix or an error.
i=0
clients=""
while [ $i -lt 30 ]; do
    swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.com --to b@example.com \
          --header "Subject: test" --header "X-Other: y" --timeout 60 > "$T/par$i.out" 2>&1 < /dev/null &
    clients="$clients $!"
    if [ $((i % 3)) = 0 ]; then
        if [ $((i % 2)) = 0 ]; then
            printf '/^Subject: test/ REJECT policy A\n/^X-Other/ DUNNO\n' > "$T/hc"
        else
            printf '/^X-Other: y/ REJECT policy B\n' > "$T/hc"
        fi
        kill -HUP "$pid"
    fi
    i=$((i + 1))
done
for p in $clients; do wait "$p"; done
bad=$(for f in "$T"/par*.out; do
          sed -n '/^ -> \.$/,$p' "$f" | sed -n 's/^<[-*~]* *\([245][0-9][0-9] .*\)$/\1/p' | head -1 | tr -d '\r'
      done | grep -Ev '^550 5\.7\.1 policy (A|B|five)$')
is "$bad" "" "30 parallel messages during 10 reloads: each judged by one whole policy"
ok "still running" kill -0 "$pid"
echo '/^Subject: test/ REJECT policy five' > "$T/hc"
hup
is "$(reply test)" "550 5.7.1 policy five" "and back to policy five"

# SIGTERM with a message under way: it finishes, then milterd exits 0.
perl -MIO::Socket::INET -e '
    my ($port, $pid, $addr) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Timeout => 30) or die "connect: $!";
    sub rd { my $l; do { $l = <$s>; die "eof" unless defined $l } while ($l =~ /^\d\d\d-/); $l =~ s/\r?\n$//; $l }
    sub cmd { print $s "$_[0]\r\n"; rd() }
    rd(); cmd("EHLO test"); cmd("MAIL FROM:<a\@example.com>"); cmd("RCPT TO:<b\@example.com>");
    kill "TERM", $pid;
    sleep 1;
    cmd("DATA");
    print $s "Subject: test\r\n\r\nbody\r\n";
    print "", cmd("."), "\n";
    cmd("QUIT");' "$PF_PORT" "$pid" "$PF_ADDR" > "$T/term.out" 2>&1
is "$(cat "$T/term.out")" "550 5.7.1 policy five" "SIGTERM: the message under way still gets its verdict" || diag "$(tail -5 "$T/milterd.log")" "$(grep -i milter "$PF_LOG" | tail -5)"
stop_bg "$pid" 10
is "$?" 0 "and milterd exits 0"
like "$(tail -1 "$T/milterd.log")" "stopped" "it says so"
ok "the socket is removed" test ! -e "$T/milterd.sock"
is "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/milterd.log" | head -3)" "" "no sanitizer reports in milterd's log"
out=$(swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.com --to b@example.com --timeout 30 2>&1 < /dev/null)
like "$out" "^<\*\* +451 4\.7\.1 " "without milterd, Postfix applies milter_default_action (tempfail)"
done_testing
