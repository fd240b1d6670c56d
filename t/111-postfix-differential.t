#!/bin/sh
# 111-postfix-differential.t - the same tables give the same outcome in
# Postfix natively (cleanup(8) header_checks etc.) and in Postfix through
# milterd (smtpd_milters).
#
# Each t/data/milterd/diff/NAME.case holds the tables, the message and,
# for the few things a milter cannot reproduce, a "known" section saying
# why plus the outcome expected on each side.  One Postfix instance runs
# every case twice at once: through an smtpd whose cleanup service has the
# case's tables, and through an smtpd whose milter is a milterd with the
# same tables.  Compared per case: the SMTP reply to the message (queue
# id masked), whether it went to the hold queue, and every mailbox that
# got mail, with the delivered headers and body (the per-side token
# %SIDE% in addresses masked, Postfix's own Received: header reduced to a
# placeholder that keeps its position).
#
# Case file sections ("=== name"; tables may say "=== body_checks regexp"):
#   header_checks mime_header_checks nested_header_checks body_checks
#   message   (a line "@std" stands for Date/From/To/Message-ID)
#   rcpt      envelope recipients, one per line (default rcpt-%SIDE%@example.com)
#   config    "name = value" for both Postfix's cleanup and milterd
#   known     why a milter cannot do what Postfix does here
#   expect-native / expect-milter   the outcome on each side (with "known")
#   summary   (empty) compare replies, hold and mailbox names only
# DIFF_KEEP=1 writes each side's outcome to $T/out/NAME.{native,milter}.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd swaks "the SMTP client of the interop tests"
command -v milterd >/dev/null || bail "milterd is not built"

CASES=$TOP/t/data/milterd/diff
mkdir -p "$T/c" "$T/out"
PF_ADDR=auto
pf_init

# Split every case into per-side directories: $T/c/NN/{n,m}/{tables,message,rcpt,config}.
perl - "$CASES" "$T/c" <<'EOF' || bail "cannot read the cases"
use strict;
my ($dir, $out) = @ARGV;
opendir(my $dh, $dir) or die "$dir: $!";
my @cases = sort grep { /\.case$/ } readdir($dh);
my $n = 0;
for my $case (@cases) {
    $n++;
    my $id = sprintf("%02d", $n);
    open(my $fh, '<', "$dir/$case") or die "$case: $!";
    my (%sec, $cur, %type);
    while (my $l = <$fh>) {
        if ($l =~ /^=== (\S+)(?:\s+(\S+))?\s*$/) { $cur = $1; $type{$1} = $2 || 'pcre'; $sec{$cur} //= ''; next }
        next unless defined $cur;
        $sec{$cur} .= $l;
    }
    die "$case: no message\n" unless defined $sec{message};
    my $name = $case; $name =~ s/\.case$//;
    mkdir "$out/$id";
    open(my $nf, '>', "$out/$id/name") or die; print $nf "$name\n"; close $nf;
    for my $k (qw(known expect-native expect-milter summary)) {
        next unless defined $sec{$k};
        open(my $kf, '>', "$out/$id/$k") or die; print $kf $sec{$k}; close $kf;
    }
    for my $side ('n', 'm') {
        my $tok = "$side$id";
        my $d = "$out/$id/$side";
        mkdir $d;
        my $sub = sub { my $t = shift; $t =~ s/%SIDE%/$tok/g; $t =~ s/%CASE%/$name/g; $t };
        my $msg = $sec{message};
        $msg =~ s/^\@std\n/Date: Sat, 21 Nov 2026 10:00:00 +0000\nFrom: Sender <sender-%SIDE%\@example.com>\nTo: rcpt-%SIDE%\@example.com\nMessage-ID: <%CASE%\@test.example>\n/;
        open(my $mf, '>', "$d/message") or die; print $mf $sub->($msg); close $mf;
        my $rcpt = defined $sec{rcpt} ? $sec{rcpt} : "rcpt-%SIDE%\@example.com\n";
        open(my $rf, '>', "$d/rcpt") or die; print $rf $sub->($rcpt); close $rf;
        open(my $of, '>', "$d/tables") or die;
        for my $t (qw(header_checks mime_header_checks nested_header_checks body_checks)) {
            next unless defined $sec{$t};
            open(my $tf, '>', "$d/$t") or die; print $tf $sub->($sec{$t}); close $tf;
            print $of "$t = $type{$t}:$d/$t\n";
        }
        close $of;
        open(my $cf, '>', "$d/config") or die; print $cf $sec{config} // ''; close $cf;
    }
}
EOF
ncases=$(ls "$T/c" | wc -l)
ok "there are at least 40 cases ($ncases)" test "$ncases" -ge 40

# Services: per case, smtpd+cleanup with the tables (native) and smtpd+milterd
# (milter).  Tables a case does not set keep Postfix's defaults (mime_ and
# nested_header_checks = $header_checks), as they do in milterd.
pf_free_ports $((2 * ncases + 1)) | grep -v "^$PF_PORT\$" | head -n $((2 * ncases)) > "$T/ports"
i=0
for d in "$T"/c/*; do
    id=$(basename "$d")
    i=$((i + 1))
    sed -n "$((2 * i - 1))p" "$T/ports" > "$d/n/port"
    sed -n "$((2 * i))p" "$T/ports" > "$d/m/port"
    np=$(cat "$d/n/port"); mp=$(cat "$d/m/port")
    [ -n "$np" ] && [ -n "$mp" ] || bail "not enough free ports"
    opts=""
    while IFS= read -r line; do
        opts="$opts -o $(echo "$line" | sed 's/ = /=/')"
    done < "$d/n/tables"
    while IFS= read -r line; do
        [ -n "$line" ] && opts="$opts -o $(echo "$line" | sed 's/ *= */=/')"
    done < "$d/n/config"
    pf_master "$PF_ADDR:$np inet n - n - - smtpd -o cleanup_service_name=clean$id" \
              "clean$id unix n - n - 0 cleanup$opts" \
              "$PF_ADDR:$mp inet n - n - - smtpd -o smtpd_milters=unix:$d/m/sock -o milter_default_action=tempfail"
    {
        echo "socket = unix:$d/m/sock"
        echo "socket_mode = 0666"
        cat "$d/m/tables" "$d/m/config"
    } > "$d/m/milterd.conf"
    start_bg "$d/m/milterd.log" milterd -v -c "$d/m/milterd.conf"
    echo "$BG_PID" > "$d/m/pid"
done
pf_start
for d in "$T"/c/*; do
    wait_file "$d/m/sock" 10 || { diag "$(cat "$d/m/milterd.log")"; bail "milterd for $(cat "$d/name") did not start"; }
done

# Send every message, both sides, eight at a time (wait only for the
# clients: a plain "wait" would wait for the milterd processes too).
clients=""
for d in "$T"/c/*; do
    for side in n m; do
        set -- --server "$PF_ADDR" --port "$(cat "$d/$side/port")" --from "sender-$side$(basename "$d")@example.com"
        for r in $(cat "$d/$side/rcpt"); do set -- "$@" --to "$r"; done
        swaks "$@" --data "@$d/$side/message" --timeout 30 > "$d/$side/swaks.out" 2>&1 < /dev/null &
        clients="$clients $!"
        if [ "$(echo $clients | wc -w)" -ge 8 ]; then
            for p in $clients; do wait "$p"; done
            clients=""
        fi
    done
done
for p in $clients; do wait "$p"; done
pf_wait_queue 60 || diag "the queue did not empty in 60 seconds"
sleep 0.5

# One outcome per side: reply, hold, mailboxes with normalized content.
outcome() {
    perl - "$1" "$2" "$PF_QUEUE" "$PF_MAIL" <<'EOF'
use strict;
my ($d, $side, $queue, $mail) = @ARGV;
my $summary = -e "$d/summary";
my $id = (split m{/}, $d)[-1];
my $tok = "$side$id";
open(my $fh, '<', "$d/$side/swaks.out") or die;
my ($reply, $after_dot) = ('(no reply)', 0);
while (<$fh>) {
    s/\r?\n$//;
    $after_dot = 1 if /^ -> \.$/;
    if ($after_dot && /^<[-*~]* +([245]\d\d[ -].*)$/) { $reply = $1; last }
}
my ($qid) = $reply =~ /queued as ([0-9A-F]+)/;
$reply =~ s/queued as [0-9A-F]+/queued as QUEUEID/;
my $out = "reply: $reply\n";
$out .= "held: " . (($qid && -e "$queue/hold/$qid") ? "yes" : "no") . "\n";
opendir(my $md, $mail) or die;
for my $box (sort grep { /\Q$tok\E/ } readdir($md)) {
    (my $name = $box) =~ s/\Q$tok\E/SIDE/g;
    opendir(my $nd, "$mail/$box/new") or next;
    my @msgs = sort grep { !/^\./ } readdir($nd);
    my @texts;
    for my $f (@msgs) {
        open(my $m, '<', "$mail/$box/new/$f") or die;
        local $/; my $t = <$m>;
        $t =~ s/\Q$tok\E/SIDE/g;
        # Postfix's own Received: header (the first one) keeps its place, not its details.
        $t =~ s/^Received: from [^\n]*\n(?:[ \t][^\n]*\n)*\tby mx\.example\.com \(Postfix\)[^\n]*\n(?:[ \t][^\n]*\n)*/Received: (this hop)\n/m;
        $t =~ s/^(Message-Id: <)\d+\.[0-9A-F]+(\@mx\.example\.com>)/$1POSTFIX$2/mi;
        # What differs from run to run in mail Postfix writes itself (bounces).
        $t =~ s/\b[0-9A-F]{10,12}\b/QID/g;
        $t =~ s/\b\d\d:\d\d:\d\d\b/HH:MM:SS/g;
        $t =~ s/\b\d{10}\b/EPOCH/g;
        push @texts, $t;
    }
    $out .= "mailbox: $name (" . scalar(@msgs) . ")\n";
    $out .= "$_---\n" for $summary ? () : sort @texts;
}
print $out;
EOF
}

for d in "$T"/c/*; do
    name=$(cat "$d/name")
    native=$(outcome "$d" n)
    milter=$(outcome "$d" m)
    if [ "${DIFF_KEEP:-0}" = 1 ]; then
        printf '%s\n' "$native" > "$T/out/$name.native"
        printf '%s\n' "$milter" > "$T/out/$name.milter"
    fi
    case "$native$milter" in
    "reply: "*"reply: "*) ;;
    *) tap_result 1 "$name: an outcome on both sides"; diag "native: $native" "milter: $milter"; continue ;;
    esac
    if [ -f "$d/known" ]; then
        # A documented difference: each side must give exactly what the case records.
        want_n=$(cat "$d/expect-native" 2>/dev/null)
        want_m=$(cat "$d/expect-milter" 2>/dev/null)
        is "$native" "$want_n" "$name: native Postfix gives the recorded outcome" ||
            diag "known difference: $(cat "$d/known")"
        is "$milter" "$want_m" "$name: milterd gives its recorded outcome" ||
            diag "known difference: $(cat "$d/known")" "milterd log:" "$(tail -5 "$d/m/milterd.log")"
    else
        if [ "$native" = "$milter" ]; then
            tap_result 0 "$name: same outcome natively and through milterd"
        else
            tap_result 1 "$name: same outcome natively and through milterd"
            printf '%s\n' "$native" > "$T/native.txt"
            printf '%s\n' "$milter" > "$T/milter.txt"
            diag "$(diff -u "$T/native.txt" "$T/milter.txt" | head -40)"
            diag "milterd log:" "$(tail -5 "$d/m/milterd.log")"
        fi
    fi
done

# Every decision milterd made is one log line with queue id, rule and client.
decisions=$(cat "$T"/c/*/m/milterd.log | grep -E '^milterd: [^ ]+: (reject|defer|hold|discard|warning|info|prepend|replace|redirect|bcc|ignore|strip|pass|filter): (header|body) ')
ok "milterd logged its decisions" test "$(printf '%s\n' "$decisions" | wc -l)" -ge 50
bad=$(printf '%s\n' "$decisions" |
      grep -Ev '^milterd: [0-9A-F]+: [a-z]+: (header|body) .* from unknown\[127\.0\.0\.1\]; from=<[^>]*> to=<[^>]*> rule=/[^ ]+:[0-9]+ \([a-z_]+\)' | head -3)
is "$bad" "" "every decision is logged with queue id, client, envelope and rule file:line"

# Stop them all at once, then wait for each.
for d in "$T"/c/*; do
    kill "$(cat "$d/m/pid")" 2>/dev/null
done
for d in "$T"/c/*; do
    stop_bg "$(cat "$d/m/pid")"
done
is "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T"/c/*/m/milterd.log | head -3)" "" "no sanitizer reports in milterd's log"
[ "${DIFF_KEEP:-0}" = 1 ] && KEEP_TMP=1
done_testing
