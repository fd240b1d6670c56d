# procsort.sh - procsort against procmail 3.22; sourced by bench/run.sh.
#
# The same rc files and messages (bench/data/) go through both programs,
# run as the same unprivileged user the differential tests use, one
# message at a time by bench/benchloop, each into a fresh home:
#
#   realistic.rc into Maildir   the 14 kinds of message, N deliveries
#   realistic.rc into mbox      the same, locked mbox folders
#   heavy.rc (60 regex recipes) the 14 kinds, into Maildir
#   5 MB message                realistic.rc, Maildir; body conditions scan it
#
# Figures: messages per second (wall clock), CPU milliseconds per message
# and the peak resident set of one delivery (KB).  After each pair of runs
# the folders both left are counted (messages per folder): if they differ,
# the two programs did not do the same work and the benchmark fails.

PS_N=$(bench_n 700 28)
# The program measured as ours: BENCH_PROCSORT, e.g. an installed procsort.
PS_OURS=${BENCH_PROCSORT:-$TOP/procsort/procsort}
# The folders realistic.rc files into.  For the mbox runs each starts with
# one message in it, as a mailbox in use does: procmail sleeps a second
# before its first write into an empty mbox (so that atime < mtime, the
# new-mail sign; procsort sets the times instead), which would swamp the
# steady state this measures.
PS_MBOXES="inbox bounces lists/debian-devel lists/lkml-patches lists/lkml lists/postfix lists/hiking
 bulk spam quarantine work/urgent work/all security family receipts calendar large"
PS_BIG_N=$(bench_n 40 2)

# ps_setup - messages, rc files and the user; returns 1 when it cannot run
ps_setup() {
    command -v procmail >/dev/null 2>&1 || { bench_fail "procsort: procmail is not installed"; return 1; }
    bench_user || return 1
    mkdir -p "$B/ps" "$B/ps/msgs"
    perl "$TOP/bench/data/genmail.pl" "$B/ps/msgs" || { bench_fail "procsort: genmail.pl failed"; return 1; }
    sed 's/@S@/\//g; s/@L@//g' "$TOP/bench/data/realistic.rc" > "$B/ps/realistic-maildir.rc"
    sed 's/@S@//g; s/@L@/:/g' "$TOP/bench/data/realistic.rc" > "$B/ps/realistic-mbox.rc"
    perl "$TOP/bench/data/genheavy.pl" > "$B/ps/heavy.rc"
    chmod 755 "$B/ps" "$B/ps/msgs"
    chmod 644 "$B/ps"/*.rc "$B/ps/msgs"/*
    PS_MSGS=$(ls "$B/ps/msgs"/[0-9]*.msg)
}

# ps_home DIR [mbox] - a fresh home for one run, owned by the user
ps_home() {
    rm -rf "$1"
    mkdir -p "$1/Mail/lists" "$1/Mail/work" "$1/Mail/heavy"
    if [ "${2:-}" = mbox ]; then
        for _f in $PS_MBOXES; do
            printf 'From seed@bench.example Wed May  1 00:00:00 2024\nSubject: seed\n\nseed\n\n' > "$1/Mail/$_f"
        done
    fi
    [ "$(id -u)" = 0 ] && chown -R "$BU_UID:$BU_GID" "$1"
    return 0
}

# ps_tally HOME - "folder count" lines: files in a Maildir's new/ and cur/,
# From_ lines in an mbox
ps_tally() {
    (cd "$1/Mail" && find . -type f | sort | while read -r f; do
        case "$f" in
        */new/* | */cur/*) echo "${f%/*/*}" ;;
        *) grep -c '^From ' "$f" | sed "s|^|$f |" ;;
        esac
    done) | awk 'NF == 1 { n[$1]++; next } { n[$1] += $2 } END { for (f in n) print f, n[f] }' | sort
}

# ps_run WHO PROG RC N INPUTS... - one benchloop run as the user in a fresh
# home, $B/ps/home-WHO; prints its line
ps_run() {
    _home=$B/ps/home-$1 _prog=$2 _rc=$3 _n=$4
    shift 4
    case "$_rc" in *mbox*) ps_home "$_home" mbox ;; *) ps_home "$_home" ;; esac
    _args=""
    for _m in "$@"; do _args="$_args -i $_m"; done
    BU_HOME=$_home as_bench_user "$TOP/bench/benchloop" -n "$_n" -e "$_home/errors" $_args -- "$_prog" HOME="$_home" "$_rc"
}

# ps_case NAME RC N INPUTS... - measure both programs R times
ps_case() {
    _name=$1 _rc=$2 _cn=$3
    shift 3
    _r=1
    while [ "$_r" -le "$BENCH_REPEAT" ]; do
        if [ $((_r % 2)) = 1 ]; then _order="ours peer"; else _order="peer ours"; fi
        for _who in $_order; do
            if [ "$_who" = ours ]; then _p=$PS_OURS; else _p=$(command -v procmail); fi
            if ! _line=$(ps_run "$_who" "$_p" "$_rc" "$_cn" "$@" 2>"$B/ps/$_who.err"); then
                bench_fail "$_name: $(basename "$_p") failed: $(head -3 "$B/ps/$_who.err") $(head -3 "$B/ps/home-$_who/errors")"
                return 1
            fi
            eval "_line_$_who=\$_line"
        done
        _a=$B/ps/home-ours _b=$B/ps/home-peer
        _filed=$(ps_tally "$_b" | awk '{ n += $2 } END { print n + 0 }')
        if [ "$_filed" -lt "$_cn" ]; then
            bench_fail "$_name: procmail filed $_filed of $_cn messages: $(head -3 "$_b/errors")"
            return 1
        fi
        if [ "$(ps_tally "$_a")" != "$(ps_tally "$_b")" ]; then
            bench_fail "$_name: procsort and procmail filed the messages differently"
            ps_tally "$_b" > "$B/ps/tally.procmail"
            ps_tally "$_a" > "$B/ps/tally.procsort"
            diff -u "$B/ps/tally.procmail" "$B/ps/tally.procsort" | head -20 | sed 's/^/  /'
            return 1
        fi
        bench_pair "$_name" "msgs/s" up "$(field rate "$_line_ours")" "$(field rate "$_line_peer")"
        bench_pair "$_name" "CPU ms/msg" down \
            "$(per "$(field cpu "$_line_ours")" "$_cn" 1000)" \
            "$(per "$(field cpu "$_line_peer")" "$_cn" 1000)"
        bench_pair "$_name" "peak RSS KB" down "$(field maxrss_kb "$_line_ours")" "$(field maxrss_kb "$_line_peer")"
        _r=$((_r + 1))
    done
    bench_report "$_name" "msgs/s" up
    bench_report "$_name" "CPU ms/msg" down
    bench_report "$_name" "peak RSS KB" down
    echo "# folders: $(ps_tally "$B/ps/home-ours" | tr '\n' ' ' | sed 's/ $//; s/\.\///g')" >> "$B/ps/folders"
}

bench_procsort() {
    ps_setup || return
    bench_section "procsort vs procmail $(dpkg-query -W -f='${Version}' procmail 2>/dev/null) (one message at a time, as user $BU_USER)"
    # shellcheck disable=SC2086
    ps_case "procsort realistic.rc, Maildir" "$B/ps/realistic-maildir.rc" "$PS_N" $PS_MSGS
    # shellcheck disable=SC2086
    ps_case "procsort realistic.rc, mbox" "$B/ps/realistic-mbox.rc" "$PS_N" $PS_MSGS
    # shellcheck disable=SC2086
    ps_case "procsort heavy.rc (60 regex recipes)" "$B/ps/heavy.rc" "$PS_N" $PS_MSGS
    ps_case "procsort 5 MB message, realistic.rc" "$B/ps/realistic-maildir.rc" "$PS_BIG_N" "$B/ps/msgs/big.msg"
    [ -s "$B/ps/folders" ] && sed 's/^/  /' "$B/ps/folders"
    return 0
}
