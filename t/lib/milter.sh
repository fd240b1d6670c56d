# milter.sh - run milter client cases from a data file, for the 5xx tests.
#
#   . "$(dirname "$0")/lib/tap.sh"
#   . "$(dirname "$0")/lib/milter.sh"
#   run_cases "$TOP/t/data/milterclient/responses.cases"
#   done_testing
#
# A cases file holds cases, each a set of sections:
#
#   === what the case shows
#   -- milter [raw]      script for t/lib/testmilter on $M1 (raw: hand-made protocol)
#   -- milter2 [raw]     a second milter on $M2 (smtpd_milters is then "$M1, $M2")
#   -- conf              milterdrive -o settings, one per line ($M1, $M2, $T, $DATA expand)
#   -- session           the milterdrive script ($T, $DATA expand)
#   -- expect            milterdrive's output, exactly (milter names shown as M1, M2,
#                        the paths of $T and $DATA as those names)
#   -- log / -- log2     extended regexps that must match lines of milter 1's / 2's log
#   -- nolog / -- nolog2 extended regexps that must match no line of that log
#   -- stderr            extended regexps that must match lines of milterdrive's log
#   -- out               the edited message, exactly ($T/out)
#
# Each case is one TAP test (with diagnostics naming what differed).

DATA="$TOP/t/data/milterclient"
export DATA

# expand FILE - $T, $DATA, $M1, $M2 substituted
expand() {
    sed -e "s|\$T|$T|g" -e "s|\$DATA|$DATA|g" -e "s|\$M1|unix:$T/m1.sock|g" \
        -e "s|\$M2|unix:$T/m2.sock|g" "$1"
}

# start_milter N SCRIPT [raw] - testmilter on $T/mN.sock, its log in $T/mN.log
start_milter() {
    _n=$1
    rm -f "$T/m$_n.sock" "$T/m$_n.log"
    : > "$T/m$_n.log"
    expand "$2" > "$T/m$_n.script"
    if [ "${3:-}" = raw ]; then
        start_bg "$T/m$_n.err" "$TOP/t/lib/testmilter" -r -p "unix:$T/m$_n.sock" -s "$T/m$_n.script" -l "$T/m$_n.log"
    else
        start_bg "$T/m$_n.err" "$TOP/t/lib/testmilter" -p "unix:$T/m$_n.sock" -s "$T/m$_n.script" -l "$T/m$_n.log"
    fi
    eval "MILTER_PID$_n=\$BG_PID"
    wait_file "$T/m$_n.sock" 10 || { diag "testmilter $_n did not start: $(cat "$T/m$_n.err")"; return 1; }
}

# check_lines FILE REGEXPS WANT(1 must match, 0 must not) WHAT - diagnostics in $_why
check_lines() {
    [ -s "$2" ] || return 0
    while IFS= read -r _re; do
        [ -z "$_re" ] && continue
        if grep -Eq -- "$_re" "$1"; then _found=1; else _found=0; fi
        if [ "$_found" != "$3" ]; then
            _why="$_why
$4: $( [ "$3" = 1 ] && echo 'no line matches' || echo 'a line matches' ) /$_re/"
        fi
    done < "$2"
}

# run_case DIR - one case, split into files by run_cases
run_case() {
    _d=$1
    _desc=$(cat "$_d/desc")
    _why=""
    _milters=""
    for _n in 1 2; do
        _sec=milter; [ $_n = 2 ] && _sec=milter2
        if [ -f "$_d/$_sec" ]; then
            start_milter $_n "$_d/$_sec" "$(cat "$_d/$_sec.mode" 2>/dev/null)" || _why="$_why
milter $_n did not start"
            _milters="$_milters${_milters:+, }unix:$T/m$_n.sock"
        fi
    done
    set -- -o "smtpd_milters=$_milters" -o milter_command_timeout=5s -o milter_content_timeout=5s \
        -o milter_connect_timeout=5s
    if [ -f "$_d/conf" ]; then
        expand "$_d/conf" > "$_d/conf.x"
        while IFS= read -r _o; do
            [ -n "$_o" ] && set -- "$@" -o "$_o"
        done < "$_d/conf.x"
    fi
    expand "$_d/session" > "$_d/session.x"
    rm -f "$T/out"
    with_timeout 60 "$TOP/t/lib/milterdrive" "$@" "$_d/session.x" > "$_d/got.raw" 2> "$_d/stderr.got"
    _st=$?
    sed -e "s|unix:$T/m1.sock|M1|g" -e "s|unix:$T/m2.sock|M2|g" -e "s|$T|\$T|g" \
        -e "s|$DATA|\$DATA|g" "$_d/got.raw" > "$_d/got"
    [ $_st = 0 ] || _why="$_why
milterdrive exit $_st: $(tail -5 "$_d/stderr.got")"
    if [ -f "$_d/expect" ] && ! cmp -s "$_d/got" "$_d/expect"; then
        _why="$_why
output differs:
$(diff -u "$_d/expect" "$_d/got" | tail -n +3)"
    fi
    # The milters write their last log lines (close) as the connection goes away.
    sleep 0.1
    check_lines "$T/m1.log" "$_d/log" 1 "milter 1 log"
    check_lines "$T/m1.log" "$_d/nolog" 0 "milter 1 log"
    check_lines "$T/m2.log" "$_d/log2" 1 "milter 2 log"
    check_lines "$T/m2.log" "$_d/nolog2" 0 "milter 2 log"
    check_lines "$_d/stderr.got" "$_d/stderr" 1 "milterdrive log"
    if [ -f "$_d/out" ]; then
        if [ ! -f "$T/out" ]; then
            _why="$_why
no edited message written"
        elif ! cmp -s "$T/out" "$_d/out"; then
            _why="$_why
edited message differs:
$(diff -u "$_d/out" "$T/out" | tail -n +3)"
        fi
    fi
    for _n in 1 2; do
        eval "_pid=\${MILTER_PID$_n:-}"
        # SIGKILL: libmilter takes seconds to notice SIGTERM, and we want nothing from it.
        [ -n "$_pid" ] && kill -9 "$_pid" 2>/dev/null && stop_bg "$_pid" 1
        eval "MILTER_PID$_n="
    done
    if [ -z "$_why" ]; then
        tap_result 0 "$_desc"
    else
        tap_result 1 "$_desc"
        diag "$_why"
        [ -s "$T/m1.log" ] && diag "milter 1 log:" && diag "$(tail -30 "$T/m1.log")"
        [ -s "$_d/stderr.got" ] && diag "milterdrive log:" && diag "$(tail -10 "$_d/stderr.got")"
    fi
}

# run_cases FILE - every case in FILE
run_cases() {
    rm -rf "$T/cases"
    mkdir -p "$T/cases"
    awk -v dir="$T/cases" '
        # Sections end at the next "-- " or "=== " line; trailing empty lines are dropped.
        /^=== / { if (f != "") close(f); n++; d = dir "/" n; system("mkdir -p " d);
                  f = d "/desc"; sub(/^=== /, ""); print > f; close(f); f = ""; blank = 0; next }
        /^-- / { if (f != "") close(f); sec = $2; f = d "/" sec; blank = 0;
                 if ($3 != "") { m = f ".mode"; print $3 > m; close(m) }
                 printf "" > f; next }
        f != "" && /^$/ { blank++; next }
        f != "" { while (blank > 0) { print "" > f; blank-- } print > f }
    ' "$1"
    for _c in $(ls "$T/cases" | sort -n); do
        run_case "$T/cases/$_c"
    done
}
