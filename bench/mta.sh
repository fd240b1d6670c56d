# mta.sh - mta-core against Postfix as an MTA; sourced by bench/run.sh.
#
# Both accept mail over SMTP on loopback and deliver it locally into
# Maildirs ($HOME/Maildir/ of users under one directory): mta-core with
# home_base and home_mailbox = Maildir/, run entirely as the unprivileged
# benchmark user; Postfix (a private instance from t/lib/postfix.sh; its
# master needs root) with virtual(8) delivering as that same user into the
# same layout (virtual_mailbox_base, a map of userN@example.com to
# userN/Maildir/).  C clients at once (smtp-source, one session each, each
# to a mailbox of its own) send N messages in all; the figure runs from
# the first connection until the last message is in its Maildir.  CPU
# from /proc: the whole Postfix instance (its master's session, and the
# children the master has reaped) against mta-core and the delivery
# processes it has reaped; memory: the proportional set size (PSS) of all
# their processes after the run, and the largest peak RSS of any one.

MA_N=$(bench_n 1000 20)   # a multiple of MA_C
MA_C=$(bench_n 10 2)
MA_WAIT=3000    # tenths of a second to wait for the deliveries

# ma_count DIR - messages delivered under DIR
ma_count() {
    find "$1" -path '*/Maildir/new/*' -type f 2>/dev/null | wc -l
}

# ma_send PORT MESSAGE HOMES - N messages from C clients; prints the seconds
# until all are in the Maildirs under HOMES
ma_send() {
    _per=$((MA_N / MA_C))
    _want=$(($(ma_count "$3") + _per * MA_C))
    _t0=$(perl -MTime::HiRes=time -e 'printf "%.4f", time')
    _pids=""
    _c=0
    while [ "$_c" -lt "$MA_C" ]; do
        timeout 600 smtp-source -s 1 -m "$_per" -F "$2" -f bench@example.org -t "user$_c@example.com" \
            "127.0.0.1:$1" > "$B/mta/client$_c.out" 2>&1 &
        _pids="$_pids $!"
        _c=$((_c + 1))
    done
    _bad=0
    for _p in $_pids; do wait "$_p" || _bad=1; done
    if [ "$_bad" = 1 ]; then
        echo "an smtp-source client failed: $(cat "$B/mta"/client*.out | head -3)" >&2
        return 1
    fi
    _i=0
    while [ "$(ma_count "$3")" -lt "$_want" ]; do
        _i=$((_i + 1))
        if [ "$_i" -gt "$MA_WAIT" ]; then
            echo "$(($(ma_count "$3") - _want + _per * MA_C)) of $((_per * MA_C)) delivered after $((MA_WAIT / 10)) s" >&2
            return 1
        fi
        sleep 0.1
    done
    perl -MTime::HiRes=time -e 'printf "%.4f\n", time - $ARGV[0]' "$_t0"
}

# ma_run NAME MESSAGE - both MTAs, R times, back to back
ma_run() {
    _name=$1 _msg=$2
    _tck=$(getconf CLK_TCK)
    _r=1
    while [ "$_r" -le "$BENCH_REPEAT" ]; do
        if [ $((_r % 2)) = 1 ]; then _order="ours peer"; else _order="peer ours"; fi
        for _who in $_order; do
            if [ "$_who" = ours ]; then
                _port=$MA_PORT _homes=$B/mta/homes _sel="-p $MA_PID"
            else
                _port=$PF_PORT _homes=$B/mta/pfhomes _sel="-s $MA_SID"
            fi
            # shellcheck disable=SC2086
            perl "$TOP/bench/procstat.pl" $_sel > "$B/mta/before"
            _secs=$(ma_send "$_port" "$_msg" "$_homes" 2>"$B/mta/send.err") || {
                bench_fail "$_name ($_who): $(cat "$B/mta/send.err")"
                return 1
            }
            # shellcheck disable=SC2086
            perl "$TOP/bench/procstat.pl" $_sel > "$B/mta/after"
            _cpu=$(awk 'NR == FNR { t[$1] = $3; next } { s += $3 - ($1 in t ? t[$1] : 0) } END { print s + 0 }' \
                "$B/mta/before" "$B/mta/after")
            _pss=$(awk '{ s += $5 } END { print s + 0 }' "$B/mta/after")
            _hwm=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$B/mta/after")
            eval "_secs_$_who=\$_secs _cpu_$_who=\$_cpu _pss_$_who=\$_pss _hwm_$_who=\$_hwm"
        done
        bench_pair "$_name" "msgs/s" up \
            "$(awk -v s="$_secs_ours" -v n="$MA_N" 'BEGIN { printf "%.2f", n / s }')" \
            "$(awk -v s="$_secs_peer" -v n="$MA_N" 'BEGIN { printf "%.2f", n / s }')"
        bench_pair "$_name" "CPU ms/msg" down \
            "$(awk -v t="$_cpu_ours" -v k="$_tck" -v n="$MA_N" 'BEGIN { printf "%.4f", t * 1000 / k / n }')" \
            "$(awk -v t="$_cpu_peer" -v k="$_tck" -v n="$MA_N" 'BEGIN { printf "%.4f", t * 1000 / k / n }')"
        bench_pair "$_name" "PSS KB, all" down "$_pss_ours" "$_pss_peer"
        bench_pair "$_name" "peak RSS KB, max" down "$_hwm_ours" "$_hwm_peer"
        _r=$((_r + 1))
    done
    bench_report "$_name" "msgs/s" up
    bench_report "$_name" "CPU ms/msg" down
    bench_report "$_name" "PSS KB, all" down
    bench_report "$_name" "peak RSS KB, max" down
}

# ma_main - in a subshell of its own (tap.sh and postfix.sh set the traps
# that stop both MTAs when it ends)
ma_main() {
    . "$TOP/t/lib/tap.sh"
    . "$TOP/t/lib/postfix.sh"
    bench_user || return 1
    mkdir -p "$B/mta/msgs" "$B/mta/q" "$B/mta/homes" "$B/mta/pfhomes"
    perl "$TOP/bench/data/genmail.pl" "$B/mta/gen" 1000000 || { bench_fail "mta: genmail.pl failed"; return 1; }
    for _m in 08-work 13-personal; do sed 1d "$B/mta/gen/$_m.msg" > "$B/mta/msgs/$_m.msg"; done
    : > "$B/mta/aliases"
    chown "$BU_UID:$BU_GID" "$B/mta/q" "$B/mta/homes" "$B/mta/pfhomes"

    MA_PORT=$(free_port)
    cat > "$B/mta/main.cf" <<EOF
queue_directory = $B/mta/q
home_base = $B/mta/homes
home_mailbox = Maildir/
myhostname = mx.example.com
mydomain = example.com
mydestination = example.com
alias_maps = hash:$B/mta/aliases
recipient_delimiter = +
smtpd_listen = 127.0.0.1:$MA_PORT
EOF
    chmod -R a+rX "$B/mta/main.cf" "$B/mta/aliases" "$B/mta/msgs"
    (BU_EXEC=1; BU_HOME=$B/mta; as_bench_user "$TOP/mta-core/mta-core" -c "$B/mta/main.cf") > "$B/mta/mta.log" 2>&1 &
    MA_PID=$!
    tap_pids="$tap_pids $MA_PID"
    wait_port "$MA_PORT" 20 || { bench_fail "mta-core did not start: $(tail -3 "$B/mta/mta.log")"; return 1; }

    pf_init
    # (virtual(8) takes no $1 from a regular expression: one entry per user)
    _c=0
    while [ "$_c" -lt "$MA_C" ]; do
        echo "user$_c@example.com user$_c/Maildir/"
        _c=$((_c + 1))
    done > "$PF_DIR/vmailbox"
    # Processes live through the whole run, so /proc has all their CPU.
    pf_postconf -e "virtual_transport = virtual" "virtual_mailbox_base = $B/mta/pfhomes" \
        "virtual_mailbox_maps = texthash:$PF_DIR/vmailbox" "virtual_uid_maps = static:$BU_UID" \
        "virtual_gid_maps = static:$BU_GID" "recipient_delimiter = +" \
        "max_use = 1000000" "max_idle = 3600s"
    pf_start
    MA_SID=$(tr -d ' ' < "$PF_QUEUE/pid/master.pid")
    # Warm up both, and check that each delivers where we count.
    _save=$MA_N _wait=$MA_WAIT
    MA_N=$MA_C MA_WAIT=300
    for _w in "$MA_PORT $B/mta/homes" "$PF_PORT $B/mta/pfhomes"; do
        set -- $_w
        ma_send "$1" "$B/mta/msgs/13-personal.msg" "$2" > /dev/null 2>"$B/mta/send.err" ||
            { bench_fail "mta warm-up on port $1: $(cat "$B/mta/send.err")"; grep -m 5 -i -e bounced -e warning -e fatal "$PF_LOG"; return 1; }
    done
    MA_N=$_save MA_WAIT=$_wait
    ma_run "mta-core vs Postfix, 3 KB to Maildir" "$B/mta/msgs/13-personal.msg"
    ma_run "mta-core vs Postfix, 57 KB to Maildir" "$B/mta/msgs/08-work.msg"
}

bench_mta() {
    bench_section "mta-core vs Postfix $(dpkg-query -W -f='${Version}' postfix 2>/dev/null) ($MA_C clients, $MA_N messages, local Maildir delivery)"
    if [ "$(id -u)" != 0 ]; then
        bench_fail "mta: a private Postfix instance needs root"
        return
    fi
    command -v smtp-source >/dev/null 2>&1 || { bench_fail "mta: smtp-source (postfix) is not there"; return; }
    (ma_main) || [ -s "$B/failures" ] || bench_fail "mta: the benchmark stopped"
}
