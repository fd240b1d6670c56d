# tap.sh - TAP for mailsift's shell tests; source it first thing:
#
#   . "$(dirname "$0")/lib/tap.sh"
#   ok "milterd starts"  milterd -t -c "$T/conf" < msg
#   is "$(cat out)" "ACCEPT" "clean mail is accepted"
#   like "$reply" '^550 5\.7\.1' "the rule's code comes back"
#   done_testing
#
# Also: the build tree's programs come first in PATH; $TOP is the source
# tree, $T a fresh scratch directory removed at exit (kept with
# KEEP_TMP=1); free_port, wait_port, start_bg/stop_bg (processes this test
# started, by pid); need_cmd, which skips a test when a tool is missing and
# fails it instead under CI=true for the tools the interop tests rely on.

set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
PATH="$TOP/milterd:$TOP/procsort:$TOP/mta-core:$PATH:/usr/sbin:/sbin"
export TOP PATH

tap_run=0
tap_failed=0
tap_planned=""
tap_pids=""

T=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-test.XXXXXX")
export T
chmod 755 "$T"

tap_cleanup() {
    for pid in $tap_pids; do
        kill "$pid" 2>/dev/null && sleep 0.1
        kill -9 "$pid" 2>/dev/null
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "# kept $T" >&2
    else
        rm -rf "$T"
    fi
}
trap 'tap_cleanup' EXIT
trap 'exit 130' INT TERM

# plan N - announce the number of tests
plan() {
    tap_planned=$1
    echo "1..$1"
}

# diag TEXT... - a diagnostic line for each line of text
diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_result STATUS DESC - print one result line
tap_result() {
    tap_run=$((tap_run + 1))
    if [ "$1" = 0 ]; then
        echo "ok $tap_run - $2"
    else
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_run - $2"
    fi
    return "$1"
}

# ok DESC COMMAND... - pass when the command exits 0; its output is shown on failure
ok() {
    _desc=$1
    shift
    _out=$("$@" 2>&1)
    _st=$?
    tap_result $_st "$_desc" || { diag "command: $*"; diag "exit $_st"; [ -n "$_out" ] && diag "$_out"; }
    return $_st
}

# nok DESC COMMAND... - pass when the command fails
nok() {
    _desc=$1
    shift
    _out=$("$@" 2>&1)
    _st=$?
    if [ $_st != 0 ]; then tap_result 0 "$_desc"; else
        tap_result 1 "$_desc"; diag "command: $*"; diag "expected failure, got exit 0"; [ -n "$_out" ] && diag "$_out"
        return 1
    fi
}

# is GOT WANT DESC - string equality
is() {
    if [ "$1" = "$2" ]; then tap_result 0 "$3"; else
        tap_result 1 "$3"
        diag "     got: '$1'"
        diag "expected: '$2'"
        return 1
    fi
}

# like GOT ERE DESC - GOT matches the extended regular expression
like() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then tap_result 0 "$3"; else
        tap_result 1 "$3"
        diag "     got: '$1'"
        diag "expected to match: $2"
        return 1
    fi
}

# unlike GOT ERE DESC - GOT does not match
unlike() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then
        tap_result 1 "$3"
        diag "     got: '$1'"
        diag "expected not to match: $2"
        return 1
    else tap_result 0 "$3"; fi
}

# same_file GOT WANT DESC - two files are byte for byte the same (diff on failure)
same_file() {
    if cmp -s "$1" "$2"; then tap_result 0 "$3"; else
        tap_result 1 "$3"
        diag "$(diff -u "$2" "$1" 2>&1 | head -40)"
        return 1
    fi
}

# skip N REASON - record N skipped tests
skip() {
    _n=$1
    while [ "$_n" -gt 0 ]; do
        tap_run=$((tap_run + 1))
        echo "ok $tap_run # skip $2"
        _n=$((_n - 1))
    done
}

# skip_all REASON - nothing here can run
skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

# bail REASON - the environment is broken: stop the whole run
bail() {
    echo "Bail out! $*"
    exit 255
}

# need_cmd CMD WHY - skip the whole test without CMD; under CI=true the
# interop tools (postfix, procmail, swaks and their kin) must be there.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "${CI:-}" = true ]; then
        echo "1..1"
        echo "not ok 1 - $1 is installed ($2)"
        diag "CI=true: a missing $1 is a failure, not a skip; run 'make deps'"
        exit 1
    fi
    skip_all "$1 not installed ($2)"
}

# done_testing - print the plan if none was given; exit with the status
done_testing() {
    [ -z "$tap_planned" ] && echo "1..$tap_run"
    if [ -n "$tap_planned" ] && [ "$tap_planned" != "$tap_run" ]; then
        diag "planned $tap_planned tests but ran $tap_run"
        exit 1
    fi
    [ $tap_failed = 0 ] || diag "failed $tap_failed of $tap_run tests"
    [ $tap_failed = 0 ]
    exit $?
}

# free_port - a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
            LocalPort => 0, Proto => "tcp", ReuseAddr => 1) or die "free_port: $!\n";
        print $s->sockport, "\n";'
}

# wait_port PORT [SECONDS] - wait until 127.0.0.1:PORT accepts connections
wait_port() {
    perl -MIO::Socket::INET -MTime::HiRes=sleep -e '
        my ($port, $secs) = @ARGV;
        for (1 .. $secs * 20) {
            exit 0 if IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp");
            sleep 0.05;
        }
        exit 1;' "$1" "${2:-10}"
}

# wait_file PATH [SECONDS] - wait until PATH exists (a unix socket, a pid file)
wait_file() {
    _i=0
    while [ ! -e "$1" ] && [ $_i -lt $(( ${2:-10} * 20 )) ]; do
        sleep 0.05
        _i=$((_i + 1))
    done
    [ -e "$1" ]
}

# start_bg LOG COMMAND... - start COMMAND in the background; $BG_PID is its pid.
# It is stopped at exit if the test has not stopped it.
start_bg() {
    _log=$1
    shift
    "$@" >"$_log" 2>&1 &
    BG_PID=$!
    tap_pids="$tap_pids $BG_PID"
}

# stop_bg PID [SECONDS] - SIGTERM, wait, then SIGKILL; returns the exit status
stop_bg() {
    kill "$1" 2>/dev/null
    _i=0
    while kill -0 "$1" 2>/dev/null && [ $_i -lt $(( ${2:-10} * 20 )) ]; do
        sleep 0.05
        _i=$((_i + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    _st=$?
    tap_pids=$(echo "$tap_pids" | sed "s/ $1\$//; s/ $1 / /")
    return $_st
}

# with_timeout SECONDS COMMAND... - run a command that must not hang
with_timeout() {
    timeout -k 5 "$@"
}
