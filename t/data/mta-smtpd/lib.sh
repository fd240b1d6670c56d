# lib.sh - helpers for mta-core's SMTP tests; source it after tap.sh.
#
#   mta_start [-o name=value]...   mta-core on a free port of 127.0.0.1, queue in
#                                  $T/q, users' Maildirs under $T/home; sets PORT,
#                                  MTA_PID, MTA_LOG
#   mta_stop                       SIGTERM and wait; returns the exit status
#   chat [-b ADDR] < script        t/data/mta-smtpd/smtpchat.pl against PORT (or
#                                  CHAT_HOST and CHAT_PORT when set)
#   delivered USER N               wait (10 s at most) for N messages in USER's Maildir
#   msgs USER                      the files of USER's Maildir, oldest first
#   log_has ERE                    wait (5 s at most) for a log line matching ERE
need_cmd swaks "the SMTP client of the tests"
MTA_DATA="$TOP/t/data/mta-smtpd"

mta_start() {
    PORT=$(free_port)
    MTA_LOG="$T/mta.log"
    # Nothing leaves the machine unless a test asks (MTA_DEFAULT_TRANSPORT=smtp and a relayhost).
    start_bg "$MTA_LOG" mta-core -o "default_transport=${MTA_DEFAULT_TRANSPORT:-error:tests deliver nothing beyond this host}" \
        -o queue_directory="$T/q" -o home_base="$T/home" \
        -o home_mailbox=Maildir/ -o smtpd_listen="127.0.0.1:$PORT ${MTA_LISTEN_EXTRA:-}" -o myhostname=mx.test \
        -o mydomain=test "$@"
    MTA_PID=$BG_PID
    if ! wait_port "$PORT" 10; then
        diag "$(cat "$MTA_LOG")"
        bail "mta-core did not start"
    fi
}

mta_stop() {
    stop_bg "$MTA_PID" 10
}

chat() {
    with_timeout 60 perl "$MTA_DATA/smtpchat.pl" "$@" "${CHAT_HOST:-127.0.0.1}" "${CHAT_PORT:-$PORT}"
}

msgs() {
    find "$T/home/$1/Maildir/new" -type f 2>/dev/null | sort
}

delivered() {
    _n=0
    while [ "$(msgs "$1" | wc -l)" -lt "$2" ] && [ $_n -lt 200 ]; do
        sleep 0.05
        _n=$((_n + 1))
    done
    [ "$(msgs "$1" | wc -l)" -ge "$2" ]
}

log_has() {
    _n=0
    while ! grep -Eq -- "$1" "$MTA_LOG" && [ $_n -lt 100 ]; do
        sleep 0.05
        _n=$((_n + 1))
    done
    grep -Eq -- "$1" "$MTA_LOG"
}
