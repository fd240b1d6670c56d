# lib.sh - helpers for the queue and delivery tests (t/470-499); source it after tap.sh.
#
#   mq_start [-o name=value]...  mta-core on a free port of 127.0.0.1 with its
#                                configuration in $T/main.cf (written by the test
#                                or by mq_conf), queue $T/q, homes under $T/home;
#                                sets PORT, MTA_PID, MTA_LOG (appended to across
#                                restarts)
#   mq_conf                      a default $T/main.cf (local domain mx.test)
#   mq_stop / mq_kill            SIGTERM and wait / SIGKILL at once
#   send FROM TO [swaks args]    one message through swaks; its transcript
#   qid TRANSCRIPT               the queue id of a "queued as" reply
#   wait_for SECONDS 'SHELL CODE' until the code succeeds (evaluated again every 50 ms)
#   log_has ERE / log_count ERE  the daemon's log
#   maildir_count USER [SUB]     files in $T/home/USER/Maildir/new (or SUB)
#   mbox_count FILE              messages (From_ lines) in an mbox file
#   mtaq ARGS...                 mtaq with the test's configuration
#   queue_count [QUEUE...]       files in those queues (default: all four)
#   mq_home USER                 create USER's home as the daemon's user
#
# When the tests run as root, mta-core gives up root for mail_owner
# (postfix), and with home_base it delivers as that user: files the
# deliveries write go to $T/out (mode 1777) or to the users' homes.
need_cmd swaks "the SMTP client of the tests"
MQ_DATA="$TOP/t/data/mta-queue"
MQ_OWNER=postfix
mkdir -p "$T/out" "$T/home"
chmod 1777 "$T/out"
if [ "$(id -u)" = 0 ]; then chown "$MQ_OWNER" "$T/home"; fi
: > "$T/aliases"

mq_conf() {
    cat > "$T/main.cf" <<EOF
queue_directory = $T/q
home_base = $T/home
home_mailbox = Maildir/
myhostname = mx.test
mydomain = test
mydestination = \$myhostname, localhost
myorigin = \$myhostname
alias_maps = hash:$T/aliases
recipient_delimiter = +
mail_owner = $MQ_OWNER
# Nothing leaves the machine: bounces to remote senders bounce in turn (and are dropped).
default_transport = error:tests deliver nothing beyond this host
EOF
}

mq_start() {
    [ -f "$T/main.cf" ] || mq_conf
    PORT=$(free_port)
    MTA_LOG="$T/mta.log"
    touch "$MTA_LOG"
    "$TOP/mta-core/mta-core" -c "$T/main.cf" -o smtpd_listen="127.0.0.1:$PORT" "$@" >>"$MTA_LOG" 2>&1 &
    MTA_PID=$!
    tap_pids="$tap_pids $MTA_PID"
    if ! wait_port "$PORT" 10; then
        diag "$(tail -20 "$MTA_LOG")"
        bail "mta-core did not start"
    fi
}

mq_stop() {
    stop_bg "$MTA_PID" 15
}

mq_kill() {
    kill -9 "$MTA_PID" 2>/dev/null
    wait "$MTA_PID" 2>/dev/null
    tap_pids=$(echo "$tap_pids" | sed "s/ $MTA_PID\$//; s/ $MTA_PID / /")
}

send() {
    _from=$1
    _to=$2
    shift 2
    with_timeout 60 swaks --server "127.0.0.1:$PORT" --helo client.test --from "$_from" --to "$_to" "$@" 2>&1
}

qid() {
    printf '%s\n' "$1" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' | head -1
}

wait_for() {
    _secs=$1
    shift
    _n=0
    while ! eval "$*" >/dev/null 2>&1 && [ $_n -lt $((_secs * 20)) ]; do
        sleep 0.05
        _n=$((_n + 1))
    done
    eval "$*" >/dev/null 2>&1
}

log_has() {
    _n=0
    while ! grep -Eq -- "$1" "$MTA_LOG" && [ $_n -lt 100 ]; do
        sleep 0.05
        _n=$((_n + 1))
    done
    grep -Eq -- "$1" "$MTA_LOG"
}

log_count() {
    grep -Ec -- "$1" "$MTA_LOG"
}

maildir_count() {
    find "$T/home/$1/Maildir/${2:-new}" -type f 2>/dev/null | wc -l
}

mbox_count() {
    if [ -f "$1" ]; then awk '/^From /{n++} END{print n+0}' "$1"; else echo 0; fi
}

mtaq() {
    "$TOP/mta-core/mtaq" -c "$T/main.cf" "$@"
}

queue_count() {
    [ $# -eq 0 ] && set -- incoming active deferred hold
    _total=0
    for _q in "$@"; do
        _total=$((_total + $(find "$T/q/$_q" -type f 2>/dev/null | wc -l)))
    done
    echo "$_total"
}

mq_home() {
    mkdir -p "$T/home/$1"
    if [ "$(id -u)" = 0 ]; then chown -R "$MQ_OWNER" "$T/home/$1"; fi
}
