# milterd.sh - milterd against Postfix's own checks; sourced by bench/run.sh.
#
# 1. Table lookups, libmatch (t/lib/tablequery, the code milterd matches
#    with) against postmap -q on the same 1000-rule pcre: table
#    (bench/data/gentable.pl): the cost of loading the table (one process,
#    one lookup) and lookups per second over the lines of
#    bench/data/genmail.pl's messages; the two must print the same results.
#    And libmatch again without PCRE2's JIT (tablequery -J), against the
#    same postmap runs: with many rules and short subjects (header lines)
#    JIT code costs more than it saves, and this row shows by how much.
# 2. milterd -t against postmap -bhm -q - (Postfix's own header/body
#    query mode), one process per message, the 1000-rule table used as
#    header_checks and body_checks alike.
# 3. (as root) One private Postfix instance (t/lib/postfix.sh) with two
#    smtpd listeners that differ only in where the checks run: one with
#    header_checks and body_checks in cleanup(8) (native), one with the
#    same tables in milterd (smtpd_milters; its cleanup has no checks).
#    The same N messages go to each with smtp-source (C sessions at once),
#    delivered by discard(8); measured from the first connection until
#    the log shows the last one delivered.  CPU is read from /proc: the
#    whole Postfix instance (its master's session) plus milterd; "checks
#    CPU" is milterd's against what cleanup spends more with the checks
#    than without.  Memory: milterd's peak RSS against the largest
#    cleanup's; and the proportional set size (PSS, shared pages divided
#    among their users) of the processes that hold the compiled tables:
#    every cleanup process with the checks, against milterd plus the
#    cleanup processes without them.

MT_KEYS=$(bench_n 20000 300)
MT_LOADS=$(bench_n 20 2)
MT_TESTS=$(bench_n 140 14)
MT_N=$(bench_n 1000 20)
MT_C=10

# mt_setup - tables, messages without From_ lines, a config for postmap
mt_setup() {
    command -v postmap >/dev/null 2>&1 || { bench_fail "milterd: postmap (postfix) is not installed"; return 1; }
    [ -x "$TOP/t/lib/tablequery" ] || { bench_fail "milterd: t/lib/tablequery is not built"; return 1; }
    mkdir -p "$B/mt/msgs" "$B/mt/pf"
    perl "$TOP/bench/data/genmail.pl" "$B/mt/gen" 1000000 || { bench_fail "milterd: genmail.pl failed"; return 1; }
    for _m in "$B/mt/gen"/[0-9]*.msg; do sed 1d "$_m" > "$B/mt/msgs/$(basename "$_m")"; done
    perl "$TOP/bench/data/gentable.pl" header 1000 > "$B/mt/h1000"
    perl "$TOP/bench/data/gentable.pl" header 250 > "$B/mt/h250"
    perl "$TOP/bench/data/gentable.pl" body 50 > "$B/mt/b50"
    printf 'header_checks = pcre:%s\nbody_checks = pcre:%s\n' "$B/mt/h1000" "$B/mt/h1000" > "$B/mt/t1000.conf"
    # postmap reads main.cf; a host name saves it a DNS lookup
    printf 'myhostname = bench.example\nmydomain = example\n' > "$B/mt/pf/main.cf"
    cat "$B/mt/msgs"/*.msg > "$B/mt/lines"
    _k=0
    : > "$B/mt/keys"
    while [ "$_k" -lt "$MT_KEYS" ]; do
        cat "$B/mt/lines" >> "$B/mt/keys"
        _k=$((_k + $(wc -l < "$B/mt/lines")))
    done
    head -n "$MT_KEYS" "$B/mt/keys" > "$B/mt/keys.n" && mv "$B/mt/keys.n" "$B/mt/keys"
    chmod -R a+rX "$B/mt"
    MT_MSGS=$(ls "$B/mt/msgs"/*.msg)
}

# mt_loop NAME METRIC... - benchloop, failing the benchmark on error
mt_loop() {
    _what=$1
    shift
    if ! _out=$("$TOP/bench/benchloop" -t 300 -e "$B/mt/errors" "$@" 2>&1); then
        bench_fail "$_what: $_out $(tail -3 "$B/mt/errors")"
        return 1
    fi
    echo "$_out"
}

mt_lookups() {
    _t=pcre:$B/mt/h1000
    _key="Message-ID: <1.202405011001.bench@debian.example>"
    "$TOP/t/lib/tablequery" "$_t" < "$B/mt/keys" > "$B/mt/ours.out" 2>&1
    postmap -c "$B/mt/pf" -q - "$_t" < "$B/mt/keys" > "$B/mt/peer.out" 2>&1
    if ! cmp -s "$B/mt/ours.out" "$B/mt/peer.out"; then
        bench_fail "1000-rule table: libmatch and postmap -q give different results"
        diff "$B/mt/peer.out" "$B/mt/ours.out" | head -5
        return 1
    fi
    _r=1
    while [ "$_r" -le "$BENCH_REPEAT" ]; do
        _lo=$(mt_loop "table load (libmatch)" -n "$MT_LOADS" -i /dev/null -- "$TOP/t/lib/tablequery" "$_t" "$_key") || return 1
        _lp=$(mt_loop "table load (postmap)" -n "$MT_LOADS" -i /dev/null -- postmap -c "$B/mt/pf" -q "$_key" "$_t") || return 1
        _qo=$(mt_loop "lookups (libmatch)" -n 1 -i "$B/mt/keys" -- "$TOP/t/lib/tablequery" "$_t") || return 1
        _qp=$(mt_loop "lookups (postmap)" -n 1 -i "$B/mt/keys" -- postmap -c "$B/mt/pf" -q - "$_t") || return 1
        # the same without PCRE2's JIT (table_open's TABLE_NO_JIT): what JIT costs here
        _lj=$(mt_loop "table load (libmatch, no JIT)" -n "$MT_LOADS" -i /dev/null -- "$TOP/t/lib/tablequery" -J "$_t" "$_key") || return 1
        _qj=$(mt_loop "lookups (libmatch, no JIT)" -n 1 -i "$B/mt/keys" -- "$TOP/t/lib/tablequery" -J "$_t") || return 1
        bench_pair "1000-rule pcre table, no JIT: load" "CPU ms/start" down \
            "$(per "$(field cpu "$_lj")" "$MT_LOADS" 1000)" \
            "$(per "$(field cpu "$_lp")" "$MT_LOADS" 1000)"
        bench_pair "1000-rule pcre table, no JIT: lookups" "CPU us/lookup" down \
            "$(per "$(field cpu "$_qj")" "$MT_KEYS" 1e6)" \
            "$(per "$(field cpu "$_qp")" "$MT_KEYS" 1e6)"
        bench_pair "1000-rule pcre table: load" "ms/start" down \
            "$(per 1000 "$(field rate "$_lo")" 1)" \
            "$(per 1000 "$(field rate "$_lp")" 1)"
        bench_pair "1000-rule pcre table: load" "CPU ms/start" down \
            "$(per "$(field cpu "$_lo")" "$MT_LOADS" 1000)" \
            "$(per "$(field cpu "$_lp")" "$MT_LOADS" 1000)"
        bench_pair "1000-rule pcre table: lookups" "lookups/s" up \
            "$(per "$MT_KEYS" "$(field wall "$_qo")" 1)" \
            "$(per "$MT_KEYS" "$(field wall "$_qp")" 1)"
        bench_pair "1000-rule pcre table: lookups" "CPU us/lookup" down \
            "$(per "$(field cpu "$_qo")" "$MT_KEYS" 1e6)" \
            "$(per "$(field cpu "$_qp")" "$MT_KEYS" 1e6)"
        _r=$((_r + 1))
    done
    bench_report "1000-rule pcre table: load" "ms/start" down
    bench_report "1000-rule pcre table: load" "CPU ms/start" down
    bench_report "1000-rule pcre table: lookups" "lookups/s" up
    bench_report "1000-rule pcre table: lookups" "CPU us/lookup" down
    bench_report "1000-rule pcre table, no JIT: load" "CPU ms/start" down
    bench_report "1000-rule pcre table, no JIT: lookups" "CPU us/lookup" down
}

mt_testmode() {
    _args=""
    for _m in $MT_MSGS; do _args="$_args -i $_m"; done
    _name="milterd -t vs postmap -bhmq, 1000 rules"
    _r=1
    while [ "$_r" -le "$BENCH_REPEAT" ]; do
        # shellcheck disable=SC2086
        _o=$(mt_loop "milterd -t" -n "$MT_TESTS" $_args -- "$TOP/milterd/milterd" -t -c "$B/mt/t1000.conf") || return 1
        # shellcheck disable=SC2086
        _p=$(mt_loop "postmap -bhmq" -n "$MT_TESTS" $_args -- postmap -c "$B/mt/pf" -bhm -q - "pcre:$B/mt/h1000") || return 1
        bench_pair "$_name" "msgs/s" up "$(field rate "$_o")" "$(field rate "$_p")"
        bench_pair "$_name" "CPU ms/msg" down \
            "$(per "$(field cpu "$_o")" "$MT_TESTS" 1000)" \
            "$(per "$(field cpu "$_p")" "$MT_TESTS" 1000)"
        bench_pair "$_name" "peak RSS KB" down "$(field maxrss_kb "$_o")" "$(field maxrss_kb "$_p")"
        _r=$((_r + 1))
    done
    bench_report "$_name" "msgs/s" up
    bench_report "$_name" "CPU ms/msg" down
    bench_report "$_name" "peak RSS KB" down
}

# --- 3. Postfix with native checks against Postfix with milterd ---------

# mt_ticks SNAPSHOT_BEFORE SNAPSHOT_AFTER NAME_ERE - CPU ticks spent in
# between by the processes whose name matches (new processes: all of theirs)
mt_ticks() {
    awk -v re="$3" 'NR == FNR { t[$1] = $3; next } $2 ~ re { s += $3 - ($1 in t ? t[$1] : 0) } END { print s + 0 }' "$1" "$2"
}

# mt_hwm SNAPSHOT NAME_ERE - the largest VmHWM of those processes
mt_hwm() {
    awk -v re="$2" '$2 ~ re && $4 > m { m = $4 } END { print m + 0 }' "$1"
}

mt_snapshot() {
    perl "$TOP/bench/procstat.pl" -s "$MT_SID" -p "$MT_MILTERD" > "$1"
}

# mt_send PORT MESSAGE N - send N messages, wait until all are delivered;
# prints the seconds it took
mt_send() {
    _sent=$(grep -c 'status=sent' "$PF_LOG")
    _want=$((_sent + $3))
    _t0=$(perl -MTime::HiRes=time -e 'printf "%.4f", time')
    if ! timeout 600 smtp-source -s "$MT_C" -m "$3" -F "$2" -f bench@example.org -t rcpt@example.com \
            "127.0.0.1:$1" > "$B/mt/smtp-source.out" 2>&1; then
        echo "smtp-source failed: $(head -3 "$B/mt/smtp-source.out")" >&2
        return 1
    fi
    _i=0
    while [ "$(grep -c 'status=sent' "$PF_LOG")" -lt "$_want" ]; do
        _i=$((_i + 1))
        if [ "$_i" -gt 6000 ]; then
            echo "only $(($(grep -c 'status=sent' "$PF_LOG") - _sent)) of $3 delivered after 300 s" >&2
            return 1
        fi
        sleep 0.05
    done
    perl -MTime::HiRes=time -e 'printf "%.4f\n", time - $ARGV[0]' "$_t0"
}

# mt_e2e NAME MESSAGE - the two listeners, R times, back to back
mt_e2e() {
    _name=$1 _msg=$2
    _r=1
    while [ "$_r" -le "$BENCH_REPEAT" ]; do
        if [ $((_r % 2)) = 1 ]; then _order="ours peer"; else _order="peer ours"; fi
        for _who in $_order; do
            if [ "$_who" = ours ]; then _port=$MT_PORT_MILTER; else _port=$PF_PORT; fi
            mt_snapshot "$B/mt/before"
            _secs=$(mt_send "$_port" "$_msg" "$MT_N" 2>"$B/mt/send.err") || {
                bench_fail "$_name ($_who): $(cat "$B/mt/send.err")"
                return 1
            }
            mt_snapshot "$B/mt/after"
            _all=$(mt_ticks "$B/mt/before" "$B/mt/after" .)
            _mil=$(mt_ticks "$B/mt/before" "$B/mt/after" '^milterd$')
            # cleanup(8): "cleanup" with the checks, "cleanup:cleanup_nochecks" without
            if [ "$_who" = ours ]; then
                _re='^cleanup:cleanup_nochecks$' _mem='^(cleanup:cleanup_nochecks|milterd)$'
            else
                _re='^cleanup$' _mem='^cleanup$'
            fi
            _cln=$(mt_ticks "$B/mt/before" "$B/mt/after" "$_re")
            _pss=$(awk -v re="$_mem" '$2 ~ re { s += $5 } END { print s + 0 }' "$B/mt/after")
            eval "_secs_$_who=\$_secs _all_$_who=\$_all _mil_$_who=\$_mil _cln_$_who=\$_cln _pss_$_who=\$_pss"
        done
        _tck=$(getconf CLK_TCK)
        bench_pair "$_name" "msgs/s" up \
            "$(awk -v s="$_secs_ours" -v n="$MT_N" 'BEGIN { printf "%.2f", n / s }')" \
            "$(awk -v s="$_secs_peer" -v n="$MT_N" 'BEGIN { printf "%.2f", n / s }')"
        bench_pair "$_name" "CPU ms/msg, all" down \
            "$(awk -v t="$_all_ours" -v k="$_tck" -v n="$MT_N" 'BEGIN { printf "%.4f", t * 1000 / k / n }')" \
            "$(awk -v t="$_all_peer" -v k="$_tck" -v n="$MT_N" 'BEGIN { printf "%.4f", t * 1000 / k / n }')"
        # the checks: milterd's CPU against cleanup's CPU with checks less without
        bench_pair "$_name" "checks CPU ms/msg" down \
            "$(awk -v t="$_mil_ours" -v k="$_tck" -v n="$MT_N" 'BEGIN { printf "%.4f", t * 1000 / k / n }')" \
            "$(awk -v a="$_cln_peer" -v b="$_cln_ours" -v k="$_tck" -v n="$MT_N" \
                'BEGIN { d = a - b; if (d < 0) d = 0; printf "%.4f", d * 1000 / k / n }')"
        bench_pair "$_name" "peak RSS KB" down "$(mt_hwm "$B/mt/after" '^milterd$')" \
            "$(mt_hwm "$B/mt/after" '^cleanup$')"
        bench_pair "$_name" "PSS KB, cleanups" down "$_pss_ours" "$_pss_peer"
        _r=$((_r + 1))
    done
    bench_report "$_name" "msgs/s" up
    bench_report "$_name" "CPU ms/msg, all" down
    bench_report "$_name" "checks CPU ms/msg" down
    bench_report "$_name" "peak RSS KB" down
    bench_report "$_name" "PSS KB, cleanups" down
}

# mt_postfix - runs in a subshell of its own (tap.sh and postfix.sh set
# traps that stop Postfix and milterd when it ends)
mt_postfix() {
    . "$TOP/t/lib/tap.sh"
    . "$TOP/t/lib/postfix.sh"
    command -v smtp-source >/dev/null 2>&1 || { bench_fail "milterd: smtp-source (postfix) is not there"; return 1; }
    mkdir -p "$T/run" && chown nobody "$T/run"
    cat > "$T/milterd.conf" <<EOF
socket = unix:$T/run/milterd.sock
socket_mode = 0666
user = nobody
header_checks = pcre:$B/mt/h250
body_checks = pcre:$B/mt/b50
EOF
    chmod 644 "$T/milterd.conf"
    # -v: its decisions to stderr (a file) as well, as Postfix's go to maillog_file
    start_bg "$T/milterd.log" "$TOP/milterd/milterd" -v -c "$T/milterd.conf"
    MT_MILTERD=$BG_PID
    wait_file "$T/run/milterd.sock" 10 || { bench_fail "milterd did not start: $(tail -3 "$T/milterd.log")"; return 1; }

    pf_init
    MT_PORT_MILTER=$(pf_free_ports 2 | grep -vx "$PF_PORT" | head -1)
    # Processes live through the whole run, so /proc has all their CPU.
    pf_postconf -e "header_checks = pcre:$B/mt/h250" "body_checks = pcre:$B/mt/b50" \
        "virtual_transport = discard" "milter_default_action = tempfail" \
        "max_use = 1000000" "max_idle = 3600s"
    pf_master "127.0.0.1:$MT_PORT_MILTER inet n - n - - smtpd -o smtpd_milters=unix:$T/run/milterd.sock -o cleanup_service_name=cleanup_nochecks" \
        "cleanup_nochecks unix n - n - 0 cleanup -o header_checks= -o mime_header_checks= -o nested_header_checks= -o body_checks="
    pf_start
    wait_port "$MT_PORT_MILTER" 20 || { bench_fail "the milter listener does not answer"; return 1; }
    MT_SID=$(tr -d ' ' < "$PF_QUEUE/pid/master.pid")
    # Warm up: every process both paths use is started before measuring.
    for _p in "$PF_PORT" "$MT_PORT_MILTER"; do
        mt_send "$_p" "$B/mt/msgs/05-spam.msg" 20 > /dev/null 2>"$B/mt/send.err" ||
            { bench_fail "warm-up on port $_p: $(cat "$B/mt/send.err")"; return 1; }
    done
    grep -q 'warning: header Message-ID:.*bench message' "$PF_LOG" ||
        { bench_fail "Postfix's native checks did not run"; return 1; }
    grep -q 'warning: header Message-ID:.*bench message' "$T/milterd.log" ||
        { bench_fail "milterd's checks did not run: $(tail -3 "$T/milterd.log")"; return 1; }
    mt_e2e "Postfix+milterd vs native, 4 KB MIME" "$B/mt/msgs/05-spam.msg"
    mt_e2e "Postfix+milterd vs native, 57 KB PDF" "$B/mt/msgs/08-work.msg"
}

bench_milterd() {
    bench_section "milterd vs Postfix $(dpkg-query -W -f='${Version}' postfix 2>/dev/null) native checks"
    mt_setup || return
    mt_lookups
    mt_testmode
    if [ "$(id -u)" != 0 ]; then
        bench_fail "milterd: a private Postfix instance needs root; the end-to-end rows were not measured"
        return
    fi
    (mt_postfix) || [ -s "$B/failures" ] || bench_fail "milterd: the Postfix benchmark stopped"
}
