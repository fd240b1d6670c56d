# lib.sh - helpers for the relay tests (600-649); source after tap.sh.
#
#   . "$TOP/t/data/relay/lib.sh"      (also brings t/data/mta-smtpd/lib.sh:
#                                      mta_start, mta_stop, log_has, msgs, delivered)
#   sinkd_start NAME                  t/data/relay/sinkd.pl with rules $T/NAME.rules,
#                                     captures in $T/NAME/; sets SINK_PORT, SINK_PID
#   sink_start NAME [smtp-sink options]  Postfix's smtp-sink capturing into $T/NAME/
#                                     (on port $SINK_WANT_PORT when set); sets SINK_PORT, SINK_PID
#   dnsd_start                        t/data/relay/dnsd.pl answering from $T/zone;
#                                     sets DNS_PORT, DNS_PID
#   wait_for SECONDS 'SHELL CODE'     until the code (evaluated each time) succeeds,
#                                     polling 20 times a second
#   count DIR                         files in DIR (not dot files), 0 when it is missing
#   qcount QUEUE                      messages in $T/q/QUEUE
need_cmd smtp-sink "Postfix's SMTP test server, the relay target"
. "$TOP/t/data/mta-smtpd/lib.sh"
RELAY_DATA="$TOP/t/data/relay"
# The relay tests deliver by SMTP (only ever to servers they started on loopback).
MTA_DEFAULT_TRANSPORT=smtp

count() {
    find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l
}

qcount() {
    count "$T/q/$1"
}

wait_for() {
    _secs=$1
    shift
    _n=0
    while ! eval "$*" >/dev/null 2>&1; do
        _n=$((_n + 1))
        [ $_n -ge $((_secs * 20)) ] && return 1
        sleep 0.05
    done
    return 0
}

# _portfile_wait FILE - the port a helper wrote, once it is there
_portfile_wait() {
    wait_file "$1" 10 || return 1
    cat "$1"
}

sinkd_start() {
    rm -f "$T/$1.port"
    touch "$T/$1.rules"
    start_bg "$T/$1.log" perl "$RELAY_DATA/sinkd.pl" "$T/$1.port" "$T/$1.rules" "$T/$1"
    SINK_PID=$BG_PID
    SINK_PORT=$(_portfile_wait "$T/$1.port") || bail "sinkd.pl did not start: $(cat "$T/$1.log")"
}

sink_start() {
    _name=$1
    shift
    mkdir -p "$T/$_name"
    SINK_PORT=${SINK_WANT_PORT:-$(free_port)}
    # As root, smtp-sink insists on a user to become; the capture directory is that user's.
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$T/$_name"
        set -- -u nobody "$@"
    fi
    start_bg "$T/$_name.log" smtp-sink "$@" -d "$T/$_name/%H%M%S." "127.0.0.1:$SINK_PORT" 10
    SINK_PID=$BG_PID
    wait_port "$SINK_PORT" 10 || bail "smtp-sink did not start: $(cat "$T/$_name.log")"
}

dnsd_start() {
    rm -f "$T/dns.port"
    touch "$T/zone"
    start_bg "$T/dns.log" perl "$RELAY_DATA/dnsd.pl" "$T/dns.port" "$T/zone"
    DNS_PID=$BG_PID
    DNS_PORT=$(_portfile_wait "$T/dns.port") || bail "dnsd.pl did not start: $(cat "$T/dns.log")"
}
