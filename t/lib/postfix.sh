# postfix.sh - a private, throw-away Postfix instance for tests (run as root).
#
#   . "$(dirname "$0")/lib/tap.sh"
#   . "$TOP/t/lib/postfix.sh"
#   need_postfix                           # skip (fail under CI=true) without postfix
#   pf_init                                # a config in $PF_DIR (default $T/postfix)
#                                          # (PF_ADDR=auto first: a private loopback address, below)
#   pf_main "header_checks = pcre:$T/hc"   # main.cf lines of your own (any number, before pf_start)
#   pf_master "$PF_ADDR:$p inet n - n - - smtpd -o smtpd_milters=unix:$T/m.sock"
#   pf_start                               # "postfix start"; returns when smtpd answers
#   swaks --server "$PF_ADDR" --port "$PF_PORT" --to alice@"$PF_DOMAIN" ...
#   pf_wait_queue                          # until nothing but held mail is left to deliver
#   ls "$(pf_mailbox alice)"               # one file per message delivered to alice@$PF_DOMAIN
#   pf_postqueue -j                        # postqueue(1) for this instance (held mail shows "hold")
#   cat "$PF_LOG"                          # the instance's log (maillog_file, no syslog needed)
#   pf_stop                                # also done at exit
#
# What you get: config_directory $PF_CONF with main.cf and master.cf,
# queue_directory $PF_QUEUE, data_directory $PF_DIR/data; smtpd on
# $PF_ADDR:$PF_PORT (127.0.0.1 and a free port) and nowhere else; no DNS (every address
# is taken literally); mail for any address in $PF_DOMAIN (example.com) is
# accepted and delivered by pipe(8), as "nobody", to $PF_MAIL/ADDRESS/new/,
# one file per message with Delivered-To: and Return-Path: on top (a
# Maildir without the flags); mail for any other domain is bounced at once
# by the error(8) transport.  127.0.0.0/8 may relay.  Later main.cf lines
# replace earlier ones, so pf_main can change any of this, e.g.
# "relayhost = [127.0.0.1]:2525" or "default_transport = smtp" to relay.
#
# Ports: Postfix listens with SO_REUSEPORT, so two instances (or anything
# else with that option) on the same address and port share the
# connections without an error.  pf_start fails loudly when one of the
# instance's ports is shared; a test that opens many ports (pf_free_ports)
# should set PF_ADDR=auto (a variable of its own, not on the pf_init line)
# before pf_init: the instance then listens on a
# random address of its own in 127.0.0.0/8 (clients still come from
# 127.0.0.1), where nobody else's ports can meet it.  Use "$PF_ADDR" in
# pf_master lines and with swaks --server.
#
# Why it looks like this: Postfix refuses a queue or data directory that is
# not owned as it wants (root for the queue, "postfix" for the data
# directory), so pf_init creates them and "postfix start" (as root) makes
# the queue subdirectories with the right owners.  maillog_file needs the
# postlog service and a maillog_file_prefixes entry, both set up here.
# An instance outside alternate_config_directories is fine for root.

PF_DOMAIN=${PF_DOMAIN:-example.com}

# need_postfix - the commands this helper runs
need_postfix() {
    need_cmd postfix "the real MTA for interop tests"
    need_cmd postconf "Postfix configuration"
    need_cmd postqueue "Postfix queue inspection"
    if [ "$(id -u)" != 0 ]; then
        [ "${CI:-}" = true ] && bail "Postfix tests must run as root under CI=true"
        skip_all "a private Postfix instance needs root"
    fi
}

# pf_init [DIR] - write the configuration; sets PF_DIR PF_CONF PF_QUEUE PF_PORT PF_MAIL PF_LOG
pf_init() {
    PF_DIR=${1:-$T/postfix}
    PF_CONF=$PF_DIR/etc
    PF_QUEUE=$PF_DIR/queue
    PF_MAIL=$PF_DIR/mail
    PF_LOG=$PF_DIR/maillog
    if [ "${PF_ADDR:-127.0.0.1}" = auto ]; then
        PF_ADDR=$(perl -e 'srand($$ ^ time); printf "127.%d.%d.%d\n", 1 + int(rand(254)), int(rand(256)), 1 + int(rand(254))')
    fi
    PF_ADDR=${PF_ADDR:-127.0.0.1}
    PF_PORT=$(pf_free_ports 1)
    export PF_DIR PF_CONF PF_QUEUE PF_MAIL PF_LOG PF_PORT PF_DOMAIN PF_ADDR
    mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DIR/data" "$PF_MAIL" || bail "pf_init: cannot create $PF_DIR"
    chmod 755 "$PF_DIR" "$PF_CONF" "$PF_QUEUE"
    chown postfix "$PF_DIR/data" || bail "pf_init: no postfix user"
    chown nobody "$PF_MAIL" || bail "pf_init: no nobody user"
    : > "$PF_LOG"

    # The delivery agent: one file per message, written as nobody.
    cat > "$PF_DIR/deliver" <<'EOF'
#!/bin/sh
# deliver BASE RECIPIENT - store the message on stdin in BASE/RECIPIENT/new
umask 022
d="$1/$2"
mkdir -p "$d/tmp" "$d/new" || exit 75
f="$(date +%s).$$.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
cat > "$d/tmp/$f" && mv "$d/tmp/$f" "$d/new/$f" || exit 75
EOF
    chmod 755 "$PF_DIR/deliver"

    cat > "$PF_CONF/main.cf" <<EOF
# Written by t/lib/postfix.sh for a test; see the top of that file.
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.$PF_DOMAIN
mydomain = $PF_DOMAIN
myorigin = \$mydomain
mydestination =
mynetworks = 127.0.0.0/8
local_header_rewrite_clients = permit_mynetworks
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
enable_original_recipient = no
virtual_mailbox_domains = $PF_DOMAIN
virtual_mailbox_maps = static:ok
virtual_transport = testmbox
testmbox_destination_recipient_limit = 1
default_transport = error:the test instance delivers only to $PF_DOMAIN
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
EOF

    cat > "$PF_CONF/master.cf" <<EOF
# Written by t/lib/postfix.sh; nothing is chrooted.
$PF_ADDR:$PF_PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
lmtp      unix  - - n -  - lmtp
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
testmbox  unix  - n n -  - pipe flags=DR user=nobody argv=$PF_DIR/deliver $PF_MAIL \${recipient}
EOF
}

# pf_free_ports N - N different free TCP ports on $PF_ADDR (127.0.0.1 before
# pf_init), one per line (free_port called N times may give the same port
# twice: nothing holds it).
pf_free_ports() {
    perl -MIO::Socket::INET -e '
        my @s;
        for (1 .. $ARGV[0]) {
            my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => $ARGV[1],
                LocalPort => 0, Proto => "tcp") or die "pf_free_ports: $!\n";
            push @s, $s;
        }
        print $_->sockport, "\n" for @s;' "$1" "${PF_ADDR:-127.0.0.1}"
}

# pf_shared_ports - the instance's TCP ports that someone else listens on too
pf_shared_ports() {
    sed -n 's/^\([0-9.]*\):\([0-9][0-9]*\)[ \t]\{1,\}inet[ \t].*/\1 \2/p' "$PF_CONF/master.cf" |
    perl -e '
        my %count;
        for my $f ("/proc/net/tcp") {
            open(my $fh, "<", $f) or next;
            while (<$fh>) {
                my @w = split;
                next unless ($w[3] // "") eq "0A";    # LISTEN
                my ($a, $p) = split /:/, $w[1];
                my $ip = join(".", reverse map { hex } unpack("(A2)4", $a));
                $count{"$ip " . hex($p)}++;
            }
        }
        while (<STDIN>) { chomp; print "$_\n" if ($count{$_} // 0) > 1 }'
}

# pf_main LINE... - append main.cf lines (later settings win)
pf_main() {
    printf '%s\n' "$@" >> "$PF_CONF/main.cf"
}

# pf_master LINE... - append master.cf lines
pf_master() {
    printf '%s\n' "$@" >> "$PF_CONF/master.cf"
}

# pf_postconf ARGS... - postconf(1) for this instance
pf_postconf() {
    postconf -c "$PF_CONF" "$@"
}

# pf_postqueue ARGS... - postqueue(1) for this instance
pf_postqueue() {
    postqueue -c "$PF_CONF" "$@"
}

# pf_wait_port PORT [SECONDS] - wait until $PF_ADDR:PORT accepts connections
pf_wait_port() {
    perl -MIO::Socket::INET -MTime::HiRes=sleep -e '
        my ($addr, $port, $secs) = @ARGV;
        for (1 .. $secs * 20) {
            exit 0 if IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => "tcp");
            sleep 0.05;
        }
        exit 1;' "$PF_ADDR" "$1" "${2:-10}"
}

# pf_start - start the instance; returns when its smtpd answers (bails if it cannot start)
pf_start() {
    _pf_warn=$(postfix -c "$PF_CONF" check 2>&1)
    [ -n "$_pf_warn" ] && diag "postfix check: $_pf_warn"
    if ! postfix -c "$PF_CONF" start >"$PF_DIR/start.out" 2>&1; then
        diag "$(cat "$PF_DIR/start.out")"
        diag "$(tail -20 "$PF_LOG")"
        bail "pf_start: postfix -c $PF_CONF start failed"
    fi
    PF_STARTED=1
    pf_wait_port "$PF_PORT" 20 || { diag "$(tail -20 "$PF_LOG")"; bail "pf_start: smtpd does not answer on $PF_ADDR:$PF_PORT"; }
    _pf_shared=$(pf_shared_ports)
    [ -z "$_pf_shared" ] || bail "pf_start: another listener shares these ports (SO_REUSEPORT), mail would go astray: $_pf_shared; use PF_ADDR=auto"
}

# pf_reload - "postfix reload" (after pf_main/pf_master changes), then wait for smtpd
pf_reload() {
    postfix -c "$PF_CONF" reload >/dev/null 2>&1 || bail "pf_reload failed"
    sleep 1
    pf_wait_port "$PF_PORT" 20 || bail "pf_reload: smtpd does not answer"
}

# pf_stop - stop the instance and wait for its master to go away
pf_stop() {
    [ "${PF_STARTED:-0}" = 1 ] || return 0
    PF_STARTED=0
    _pf_pid=$(cat "$PF_QUEUE/pid/master.pid" 2>/dev/null | tr -d ' ')
    postfix -c "$PF_CONF" stop >/dev/null 2>&1
    _i=0
    while [ -n "$_pf_pid" ] && kill -0 "$_pf_pid" 2>/dev/null && [ $_i -lt 200 ]; do
        sleep 0.05
        _i=$((_i + 1))
    done
    [ -n "$_pf_pid" ] && kill -0 "$_pf_pid" 2>/dev/null && postfix -c "$PF_CONF" abort >/dev/null 2>&1
    return 0
}

# pf_wait_queue [SECONDS] - wait until incoming, active and deferred are empty
# (held mail stays in "hold" and does not count); fails on timeout.
pf_wait_queue() {
    _i=0
    while [ $_i -lt $(( ${1:-30} * 10 )) ]; do
        if [ -z "$(find "$PF_QUEUE/maildrop" "$PF_QUEUE/incoming" "$PF_QUEUE/active" \
                        "$PF_QUEUE/deferred" -type f 2>/dev/null | head -1)" ]; then
            return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

# pf_mailbox ADDRESS - where mail for ADDRESS (or LOCALPART@$PF_DOMAIN) is delivered
pf_mailbox() {
    case "$1" in
    *@*) echo "$PF_MAIL/$1/new" ;;
    *) echo "$PF_MAIL/$1@$PF_DOMAIN/new" ;;
    esac
}

# pf_held - queue ids in the hold queue, one per line
pf_held() {
    find "$PF_QUEUE/hold" -type f -printf '%f\n' 2>/dev/null
}

trap 'pf_stop; tap_cleanup' EXIT
