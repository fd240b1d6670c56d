#!/bin/sh
# 477-commit-order.t - the durability guarantee, seen from the system calls:
# for a message sent over SMTP, mta-core fsyncs its queue file, renames it
# into incoming/ and fsyncs incoming/ before it writes "250 ... queued as
# ID" (the commit runs in worker threads: strace -f follows them).  Also:
# several sessions at once all get their 250s, each after its own commit.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/data/mta-queue/lib.sh"
need_cmd strace "the system call tracer"

mq_conf
PORT=$(free_port)
MTA_LOG="$T/mta.log"
: > "$MTA_LOG"
strace -f -y -tt -s 256 -o "$T/strace.log" \
    -e trace=fsync,fdatasync,rename,renameat,renameat2,write,writev,send,sendto,sendmsg \
    "$TOP/mta-core/mta-core" -c "$T/main.cf" -o smtpd_listen="127.0.0.1:$PORT" >>"$MTA_LOG" 2>&1 &
MTA_PID=$!
tap_pids="$tap_pids $MTA_PID"
if ! wait_port "$PORT" 20; then
    diag "$(tail -20 "$MTA_LOG")"
    diag "$(tail -20 "$T/strace.log")"
    bail "mta-core did not start under strace"
fi
mq_home bob

out=$(send sender@example.org bob@mx.test --header "Subject: ordered")
id=$(qid "$out")
ok "250 with a queue id" test -n "$id"
# Three more sessions at once: each reply must follow its own commit.
ids=""
senders=""
for n in 1 2 3; do
    send sender@example.org bob@mx.test --header "Subject: parallel $n" > "$T/par$n.out" &
    senders="$senders $!"
done
for p in $senders; do wait "$p"; done
for n in 1 2 3; do
    ids="$ids $(qid "$(cat "$T/par$n.out")")"
done
ok "all delivered" wait_for 20 'test "$(maildir_count bob)" -ge 4'
stop_bg "$MTA_PID" 15

order=$(perl "$TOP/t/data/mta-commit/order.pl" "$T/strace.log" "$T/q" "$id" 2>&1)
rc=$?
ok "queue file fsync, rename, incoming/ fsync, then the 250 reply" test "$rc" = 0 \
    || diag "$order"
n=0
for i in $ids; do
    n=$((n + 1))
    o=$(perl "$TOP/t/data/mta-commit/order.pl" "$T/strace.log" "$T/q" "$i" 2>&1)
    ok "parallel session $n ($i): fsyncs before its 250" test $? = 0 || diag "$o"
done
is "$n" 3 "three parallel sessions got a queue id"
done_testing
