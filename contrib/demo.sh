#!/bin/sh
# demo.sh - mailsift's whole pipeline on the shipped rules, in about a minute.
#
# Run by "make demo" (after "make deps" and the build) and by t/702-demo.t.
# In a fresh temporary directory, on 127.0.0.1 and free ports, it starts
#
#   milterd    with rules/header_checks, rules/body_checks and
#              rules/attachment_policy;
#   mta-core   with milterd as its milter (smtpd_milters) and procsort as
#              the mailbox_command of two users, alice and bob, whose
#              ~/.procmailrc are made of the recipes in rules/procmailrc/
#              (bob's also forwards with mta-sendmail), relaying the rest
#              to
#   partner    a second mta-core, the next hop for partner.example, which
#              delivers into Maildirs of its own;
#
# sends the messages listed in contrib/demo/messages with swaks, one after
# the other, and prints one line per message: the SMTP answer, milterd's
# verdict with the rule that decided (from milterd's log), and where the
# message is now (found on disk: folders, the hold queue).  Then it shows
# "mtaq list --hold", releases one held message, shows where it went, stops
# every process it started (by pid) and exits 1 when any outcome differs
# from what contrib/demo/messages expects.
#
# Run as root, it gives the daemons and the deliveries to DEMO_USER
# (default: nobody); run as anyone else, everything runs as the caller.
# KEEP=1 keeps the directory (configurations, logs, queue, homes) to look
# around in; DEMO_MESSAGES=FILE sends another list.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
DEMO=$TOP/contrib/demo
MESSAGES=${DEMO_MESSAGES:-$DEMO/messages}
PATH=$PATH:/usr/sbin:/sbin
export PATH

pids=""
D=""

say() { printf '%s\n' "$*"; }
die() { say "demo: $*" >&2; exit 1; }

# stop_all - SIGTERM to every process we started, then wait for each (10 s)
stop_all() {
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    for pid in $pids; do
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=""
}

cleanup() {
    stop_all
    [ -n "$D" ] || return
    if [ "${KEEP:-0}" = 1 ]; then say "demo: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port - a TCP port on 127.0.0.1 that nothing listens on right now
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
            LocalPort => 0, Proto => "tcp", ReuseAddr => 1) or die "free_port: $!\n";
        print $s->sockport, "\n";'
}

# wait_port PORT - until 127.0.0.1:PORT accepts connections (10 s)
wait_port() {
    perl -MIO::Socket::INET -MTime::HiRes=sleep -e '
        for (1 .. 200) {
            exit 0 if IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Proto => "tcp");
            sleep 0.05;
        }
        exit 1;' "$1"
}

# start NAME PORT COMMAND... - start a daemon, log to $D/log/NAME.log, wait for its port
start() {
    _name=$1 _port=$2
    shift 2
    "$@" > "$D/log/$_name.log" 2>&1 &
    _pid=$!
    pids="$_pid $pids"
    wait_port "$_port" || { cat "$D/log/$_name.log" >&2; die "$_name did not start"; }
    printf '  %-9s pid %-7s 127.0.0.1:%-6s %s\n' "$_name" "$_pid" "$_port" "$START_NOTE"
}

# --- What we need --------------------------------------------------------------

for p in milterd/milterd mta-core/mta-core mta-core/mtaq mta-core/mta-sendmail procsort/procsort; do
    [ -x "$TOP/$p" ] || die "$p is not built: run 'make demo' (or 'make' first)"
done
for c in swaks perl formail; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing: run 'make deps'"
done
[ -r "$MESSAGES" ] || die "cannot read $MESSAGES"

RUNAS=""
if [ "$(id -u)" = 0 ]; then
    RUNAS=${DEMO_USER:-nobody}
    id "$RUNAS" >/dev/null 2>&1 || die "no user $RUNAS to run the daemons as (set DEMO_USER)"
fi

D=$(mktemp -d "${TMPDIR:-/tmp}/mailsift-demo.XXXXXX") || die "cannot make a temporary directory"
chmod 755 "$D"
mkdir -p "$D/etc/rules" "$D/bin" "$D/log" "$D/home" "$D/partner/dave/Maildir" "$D/partner/ops/Maildir"
# The daemons may run as another user who cannot read the source tree:
# they get copies of the rules and of procsort.
cp "$TOP/rules/header_checks" "$TOP/rules/body_checks" "$TOP/rules/attachment_policy" "$D/etc/rules/"
cp "$TOP/procsort/procsort" "$TOP/mta-core/mta-sendmail" "$D/bin/"

# --- Two users: ~/.procmailrc from rules/procmailrc/ ------------------------------

for u in alice bob; do
    mkdir -p "$D/home/$u/Maildir" "$D/home/$u/.procmail"
    cp "$TOP"/rules/procmailrc/*.rc "$D/home/$u/.procmail/"
done
# alice: the complete procmailrc as shipped (duplicates, spam, lists, plus).
cp "$TOP/rules/procmailrc/procmailrc" "$D/home/alice/.procmailrc"
# bob: a forward of his own, then one mbox per sender.
cat > "$D/home/bob/.procmailrc" <<'EOF'
# bob's ~/.procmailrc: the header of rules/procmailrc/procmailrc, one
# recipe of his own, and rules/procmailrc/senders.rc.
MAILDIR=$HOME/Maildir/
DEFAULT=$MAILDIR
LOGFILE=$HOME/.procmail.log
RCDIR=$HOME/.procmail

EOF
# (his forwards go through the demo's submission command, not the system's)
cat >> "$D/home/bob/.procmailrc" <<EOF
SENDMAIL=$D/bin/mta-sendmail
SENDMAILFLAGS="-oi -C $D/etc/mta-core.conf"
EOF
cat >> "$D/home/bob/.procmailrc" <<'EOF'

# facilities notices also go to dave, who stands in for bob
:0 c
* ^From:.*facilities@demo\.example
! dave@partner.example

INCLUDERC=$RCDIR/senders.rc
EOF
if [ -n "$RUNAS" ]; then chown -R "$RUNAS:" "$D/home" "$D/partner"; fi

# --- Configuration -----------------------------------------------------------------

MPORT=$(free_port)
PORT=$(free_port)
while [ "$PORT" = "$MPORT" ]; do PORT=$(free_port); done
RPORT=$(free_port)
while [ "$RPORT" = "$MPORT" ] || [ "$RPORT" = "$PORT" ]; do RPORT=$(free_port); done

cat > "$D/etc/milterd.conf" <<EOF
# milterd.conf(5) for the demo: the rule files shipped in rules/.
socket = inet:$MPORT@127.0.0.1
header_checks = pcre:\$config_directory/rules/header_checks
body_checks = pcre:\$config_directory/rules/body_checks
attachment_policy = \$config_directory/rules/attachment_policy
${RUNAS:+user = $RUNAS}
EOF

cat > "$D/etc/mta-core.conf" <<EOF
# mta-core.conf(5) for the demo: unprivileged, on loopback, in $D.
myhostname = mx.demo.example
mydomain = demo.example
mydestination = \$myhostname, \$mydomain
smtpd_listen = 127.0.0.1:$PORT
queue_directory = $D/queue
home_base = $D/home
alias_maps =
recipient_delimiter = +
smtpd_milters = inet:127.0.0.1:$MPORT
milter_default_action = tempfail
mailbox_command = $D/bin/procsort -a "\$EXTENSION" HOME=\$HOME SHELL=\$SHELL \$HOME/.procmailrc
relayhost = [127.0.0.1]:$RPORT
${RUNAS:+mail_owner = $RUNAS}
EOF

cat > "$D/etc/partner.conf" <<EOF
# mta-core.conf(5) of the partner's server: the next hop for partner.example.
myhostname = mx.partner.example
mydomain = partner.example
mydestination = \$myhostname, \$mydomain
smtpd_listen = 127.0.0.1:$RPORT
queue_directory = $D/pqueue
home_base = $D/partner
home_mailbox = Maildir/
alias_maps =
default_transport = error:the demo's partner relays nothing
${RUNAS:+mail_owner = $RUNAS}
EOF

say "mailsift demo in $D${RUNAS:+ (daemons and deliveries as $RUNAS)}"
START_NOTE="rules/header_checks, body_checks, attachment_policy"
start milterd "$MPORT" "$TOP/milterd/milterd" -v -c "$D/etc/milterd.conf"
START_NOTE="partner.example's next hop: Maildirs for dave and ops"
start partner "$RPORT" "$TOP/mta-core/mta-core" -c "$D/etc/partner.conf"
START_NOTE="smtpd_milters = milterd, mailbox_command = procsort, users alice and bob, relayhost = partner"
start mta-core "$PORT" "$TOP/mta-core/mta-core" -c "$D/etc/mta-core.conf"
MLOG=$D/log/milterd.log
CLOG=$D/log/mta-core.log

# mtaq ARGS - mtaq on the demo's queue, shown as it is run (from $D)
mtaq() {
    say "\$ mtaq -c etc/mta-core.conf $*"
    (cd "$D" && "$TOP/mta-core/mtaq" -c etc/mta-core.conf "$@" 2>&1) | sed 's/^/  /'
}

# --- Finding out what happened ------------------------------------------------------

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

# after FILE N - the lines of FILE after line N
after() { [ -f "$1" ] && tail -n "+$(($2 + 1))" "$1"; }

# busy - is any message still on its way (not delivered, not held)?
busy() {
    [ -n "$(find "$D/queue/incoming" "$D/queue/active" "$D/queue/maildrop" \
        "$D/pqueue/incoming" "$D/pqueue/active" -type f 2>/dev/null)" ]
}

# settle QID - wait until the message is delivered, held or deferred (30 s)
settle() {
    _n=0
    while [ $_n -lt 300 ]; do
        if ! busy; then
            [ -f "$D/queue/hold/$1" ] && return 0
            grep -q "^mta-core: $1: removed" "$CLOG" && return 0
            grep -q "^mta-core: $1: .*status=deferred" "$CLOG" && return 0
        fi
        sleep 0.1
        _n=$((_n + 1))
    done
    return 1
}

# verdict QID - milterd's decision on the message, from its log:
# "VERDICT FILE:LINE", or "ACCEPT -" when no rule decided
verdict() {
    QID=$1 perl -ne '
        BEGIN { %rank = (REJECT => 4, DEFER => 4, DISCARD => 3, HOLD => 2); $best = "ACCEPT -"; $brank = 0 }
        my ($act, $rule);
        if (/^milterd: \Q$ENV{QID}\E: (reject|defer|discard|hold): .* rule=(\S+) \(/) {
            ($act, $rule) = (uc $1, $2);
        } elsif (/^milterd: \Q$ENV{QID}\E: attachment: ([A-Z]+) .* rule (\S+) \(.*\) from /) {
            ($act, $rule) = ($1, $2);
        } else {
            next;
        }
        $rule =~ s{^.*/}{};
        if (($rank{$act} // 0) > $brank) { $brank = $rank{$act}; $best = "$act $rule" }
        END { print "$best\n" }
    ' "$MLOG"
}

# places QID - where the message is now, one label per line (see messages)
places() {
    [ -f "$D/queue/hold/$1" ] && echo hold
    [ -f "$D/queue/deferred/$1" ] && echo deferred
    grep -q "^mta-core: $1: .*status=bounced" "$CLOG" && echo bounced
    # the partner's copy names our queue id in our Received: header
    grep -rlqF -e "$1" "$D/partner" 2>/dev/null && echo relay
    grep -rlF -e "$1" "$D/home" 2>/dev/null | while read -r f; do
        rel=${f#"$D/home/"}
        user=${rel%%/*}
        path=${rel#*/}
        case "$path" in
            .*|*.cache|*.lock) continue ;;
            Maildir/new/*|Maildir/cur/*) echo "$user:Maildir/" ;;
            Maildir/.*/new/*|Maildir/.*/cur/*) echo "$user:${path%/*/*}/" ;;
            *) echo "$user:$path" ;;
        esac
    done
}

# pipes USER N - what recipes piped the message to, from the user's log after line N
pipes() {
    after "$D/home/$1/.procmail.log" "$2" | sed -n 's/^  Folder: \([^ /]*\) .*/\1/p' |
        while read -r cmd; do
            [ -e "$D/home/$1/Maildir/$cmd" ] || echo "$1:|$cmd"
        done
}

# --- Sending -------------------------------------------------------------------------

total=0
failed=0
release_qid=""
release_want=""
report="$D/log/report"
: > "$report"

say ""
printf '%-2s  %-32s %-36s %-27s %s\n' "#" "message" "SMTP answer" "milterd verdict (rule)" "now in"
while IFS='|' read -r what file from to code want_verdict want_rule want_place; do
    what=$(echo "$what" | sed 's/^ *//; s/ *$//')
    case "$what" in "#"*|"") continue ;; esac
    for v in file from to code want_verdict want_rule want_place; do
        eval "$v=\$(echo \"\$$v\" | sed 's/^ *//; s/ *\$//')"
    done
    total=$((total + 1))
    mbefore=$(lines "$MLOG")
    cbefore=$(lines "$CLOG")
    for u in alice bob; do eval "pl_$u=\$(lines \"\$D/home/$u/.procmail.log\")"; done

    swaks --server "127.0.0.1:$PORT" --helo mail.example.net --from "$from" --to "$to" \
        --data "@$DEMO/msgs/$file" --suppress-data --timeout 30 > "$D/log/swaks.$total" 2>&1
    answer=$(awk '/^ -> QUIT/ { print last; exit } /^<[-~*]+ / { last = $0 }' "$D/log/swaks.$total" |
        sed 's/^<[-~*]* *//')
    got_code=${answer%% *}
    qid=$(after "$CLOG" "$cbefore" | sed -n 's/^mta-core: \([0-9A-Za-z]*\): client=.*/\1/p' | head -1)

    case "$got_code" in
        2*) settle "$qid" || say "   (message $qid did not settle within 30 s)" ;;
    esac
    set -- $(verdict "$qid")
    got_verdict=${1:-?} got_rule=${2:--}
    case "$got_code" in
        2*) got_place=$({ places "$qid"; pipes alice "$pl_alice"; pipes bob "$pl_bob"; } | sort -u | tr '\n' ' ')
            [ -n "$got_place" ] || got_place="nowhere" ;;
        *) got_place="refused" ;;
    esac
    got_place=${got_place% }

    # What was expected: the place before a release is the part before "->".
    want_now=$(echo "$want_place" | sed 's/ *->.*//' | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
    want_now=${want_now% }
    rule_file=${got_rule%%:*}
    bad=""
    [ "$got_code" = "$code" ] || bad="$bad SMTP $code"
    [ "$got_verdict" = "$want_verdict" ] || bad="$bad verdict $want_verdict"
    [ "$rule_file" = "$want_rule" ] || bad="$bad rule $want_rule"
    [ "$got_place" = "$want_now" ] || bad="$bad place $want_now"

    case "$got_code" in
        2*) short="$got_code queued as $qid" ;;
        *) short=$(printf '%s' "$answer" | cut -c1-36) ;;
    esac
    rule_show=$got_verdict
    [ "$got_rule" = - ] || rule_show="$got_verdict $got_rule"
    mark=""
    if [ -n "$bad" ]; then
        failed=$((failed + 1))
        mark="  <-- UNEXPECTED"
        printf '#%s %s: expected%s; got SMTP "%s", %s, place %s\n' "$total" "$what" "$bad" "$answer" \
            "$rule_show" "$got_place" >> "$report"
    fi
    printf '%-2s  %-32s %-36s %-27s %s%s\n' "$total" "$what" "$short" "$rule_show" "$got_place" "$mark"

    case "$want_place" in
        *"->"*)
            if [ -z "$release_qid" ]; then
                release_qid=$qid
                release_what=$what
                release_want=$(echo "$want_place" | sed 's/.*-> *//')
            fi ;;
    esac
done < "$MESSAGES"

say "(rules: FILE:LINE in rules/; folders: under each user's home; hold: mta-core's hold queue;"
say " relay: in a mailbox on the partner's server, mta-core's relayhost)"

# --- The hold queue ---------------------------------------------------------------------

say ""
mtaq list --hold
if [ -n "$release_qid" ]; then
    say ""
    say "# $release_what: let it through"
    total=$((total + 1))
    cbefore=$(lines "$CLOG")
    for u in alice bob; do eval "pl_$u=\$(lines \"\$D/home/$u/.procmail.log\")"; done
    mtaq release "$release_qid"
    settle_released() {
        _n=0
        while [ $_n -lt 300 ]; do
            after "$CLOG" "$cbefore" | grep -q "^mta-core: $release_qid: removed" && ! busy && return 0
            sleep 0.1
            _n=$((_n + 1))
        done
        return 1
    }
    settle_released || say "  (not delivered within 30 s)"
    got_place=$({ places "$release_qid"; pipes alice "$pl_alice"; pipes bob "$pl_bob"; } | sort -u | tr '\n' ' ')
    got_place=${got_place% }
    say "  now in: ${got_place:-nowhere}"
    after "$CLOG" "$cbefore" | grep "^mta-core: $release_qid: to=" | sed 's/^/  /'
    if [ "$got_place" != "$release_want" ]; then
        failed=$((failed + 1))
        say "  <-- UNEXPECTED: expected $release_want"
        printf 'released %s: expected place %s; got %s\n' "$release_qid" "$release_want" "${got_place:-nowhere}" >> "$report"
    fi
fi

# --- The end -----------------------------------------------------------------------------

say ""
say "stopping $(echo $pids | wc -w) processes we started (pids $(echo $pids))"
stop_all
if [ "${KEEP:-0}" = 1 ]; then say "configurations, logs, queue and homes are in $D"
else say "removing $D (KEEP=1 keeps it)"; fi
if [ "$failed" -ne 0 ]; then
    say ""
    say "demo: $failed of $total outcomes differ from $MESSAGES:"
    sed 's/^/  /' "$report"
    exit 1
fi
say "demo: all $total outcomes as expected."
exit 0
