# callgrind.sh - instructions executed, counted by valgrind's callgrind:
# the same figure on a loaded machine as on an idle one (time is not).
# Sourced by bench/run.sh.
#
#   procsort vs procmail: each of the 14 messages once through
#       realistic.rc (Maildir) and heavy.rc, as the benchmark user
#       (procmail: a copy without its setuid bit, which valgrind refuses)
#   milterd -t vs postmap -bhmq: 3 messages, the 1000-rule table as
#       header_checks and body_checks (as in milterd.sh)
#
# The figure is millions of instructions per message, the mean.
#
# Every process a run starts is counted (--trace-children=yes).  One
# repetition: the counts do not change from run to run.

CG_MSGS=$(bench_n 14 2)

# cg_count CMD... - instructions CMD executed (all its processes), stdin as given
cg_count() {
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# cg_procsort NAME RC - per-message mean over the 14 messages, both programs
cg_procsort() {
    _name=$1 _rc=$2
    for _who in ours peer; do
        if [ "$_who" = ours ]; then _p=$PS_OURS; else _p=$B/cg/procmail; fi
        _home=$B/cg/home-$_who
        _sum=0 _k=0
        for _m in $(echo "$PS_MSGS" | head -n "$CG_MSGS"); do
            ps_home "$_home"
            _ir=$(BU_HOME=$_home cg_count_user "$_p" HOME="$_home" "$_rc" < "$_m")
            if [ "${_ir:-0}" = 0 ]; then
                bench_fail "callgrind: no count for $(basename "$_p") on $(basename "$_m")"
                return 1
            fi
            _sum=$((_sum + _ir)) _k=$((_k + 1))
        done
        eval "_ir_$_who=\$((_sum / _k))"
    done
    bench_pair "$_name" "Minstr/msg" down \
        "$(awk -v i="$_ir_ours" 'BEGIN { printf "%.3f", i / 1e6 }')" \
        "$(awk -v i="$_ir_peer" 'BEGIN { printf "%.3f", i / 1e6 }')"
    bench_report "$_name" "Minstr/msg" down
}

# cg_count_user CMD... - cg_count as the benchmark user
cg_count_user() {
    as_bench_user valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

bench_callgrind() {
    bench_section "instruction counts (valgrind --tool=callgrind)"
    command -v valgrind >/dev/null 2>&1 || { bench_fail "callgrind: valgrind is not installed"; return; }
    [ -n "${PS_MSGS:-}" ] || ps_setup || return
    mkdir -p "$B/cg"
    # valgrind does not run setuid programs: a copy without the bit, which
    # does the same work for a user delivering into folders of their own
    cp "$(command -v procmail)" "$B/cg/procmail" && chmod 755 "$B/cg/procmail"
    [ "$(id -u)" = 0 ] && chown "$BU_UID:$BU_GID" "$B/cg"
    cg_procsort "callgrind: procsort realistic.rc" "$B/ps/realistic-maildir.rc"
    cg_procsort "callgrind: procsort heavy.rc" "$B/ps/heavy.rc"

    [ -n "${MT_MSGS:-}" ] || mt_setup || return
    _name="callgrind: milterd -t vs postmap -bhmq"
    _o=0 _p=0 _k=0
    for _m in $(echo "$MT_MSGS" | head -n 3); do
        _o=$((_o + $(cg_count "$TOP/milterd/milterd" -t -c "$B/mt/t1000.conf" < "$_m")))
        _p=$((_p + $(cg_count postmap -c "$B/mt/pf" -bhm -q - "pcre:$B/mt/h1000" < "$_m")))
        _k=$((_k + 1))
    done
    bench_pair "$_name" "Minstr/msg" down \
        "$(awk -v i="$_o" -v k="$_k" 'BEGIN { printf "%.3f", i / k / 1e6 }')" \
        "$(awk -v i="$_p" -v k="$_k" 'BEGIN { printf "%.3f", i / k / 1e6 }')"
    bench_report "$_name" "Minstr/msg" down
}
