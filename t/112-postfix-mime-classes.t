#!/bin/sh
# 112-postfix-mime-classes.t - every header and body line meets the same
# table in milterd as in Postfix's cleanup(8).
#
# Four tables that WARN on everything ("header_checks", ...) are applied
# natively by Postfix and through milterd to the tricky MIME messages of
# t/data/milterd/mime (nested multiparts, digests, message/rfc822, bad and
# truncated boundaries, headers ended by garbage, NUL bytes, long lines...).
# Postfix logs "warning: header TEXT ...: header_checks" and milterd logs
# the same decision; the two sequences, message by message, must be equal.
# Postfix's own Received: header, which milters never see, and the headers
# cleanup(8) deletes before milters run (Content-Length:, Bcc:, ...) are
# left out: those are documented differences.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd swaks "the SMTP client of the interop tests"

for t in header_checks mime_header_checks nested_header_checks body_checks; do
    echo "/^/ WARN $t" > "$T/$t"
done
# milterd on a TCP socket this time.
mport=$(free_port)
cat > "$T/milterd.conf" <<EOF
socket = inet:$mport@127.0.0.1
header_checks = pcre:$T/header_checks
mime_header_checks = pcre:$T/mime_header_checks
nested_header_checks = pcre:$T/nested_header_checks
body_checks = pcre:$T/body_checks
EOF
start_bg "$T/milterd.log" milterd -v -c "$T/milterd.conf"
milterd_pid=$BG_PID
wait_port "$mport" 10 || bail "milterd did not start: $(cat "$T/milterd.log")"

PF_ADDR=auto
pf_init
set -- $(pf_free_ports 4 | grep -v "^$PF_PORT\$" | grep -v "^$mport\$" | head -2)
native_port=$1 milter_port=$2
# No headers added by cleanup (they would be seen by milterd only).
pf_main "local_header_rewrite_clients ="
pf_master "$PF_ADDR:$native_port inet n - n - - smtpd -o cleanup_service_name=cleanwarn" \
    "cleanwarn unix n - n - 0 cleanup -o header_checks=pcre:$T/header_checks -o mime_header_checks=pcre:$T/mime_header_checks -o nested_header_checks=pcre:$T/nested_header_checks -o body_checks=pcre:$T/body_checks" \
    "$PF_ADDR:$milter_port inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$mport -o milter_default_action=tempfail"
pf_start

# The decisions of one queue id as "context|text|table" lines; both logs
# show control characters as '?' and cut the text at 200 bytes.
decisions() {
    perl -ne '
        BEGIN { $id = shift }
        next unless /\b\Q$id\E: warning: (header|body) (.*) from unknown\[127\.0\.0\.1\]; .*: ([a-z_]+)$/;
        my ($ctx, $text, $table) = ($1, $2, $3);
        next if $ctx eq "header" && $text =~ /^Received: from .*\(unknown \[127\.0\.0\.1\]\)/ && !$seen{own}++;
        # Headers cleanup(8) removes before milters run (see milterd(8)).
        next if $table eq "header_checks" && $text =~ /^(Bcc|Content-Length|Resent-Bcc|Return-Path):/i;
        print "$ctx|$text|$table\n";' "$1" "$2"
}

n=0
for f in "$TOP"/t/data/milterd/mime/*.in; do
    name=$(basename "$f" .in)
    # Cases with their own limits (#mime: line=...) are for the unit test only.
    head -1 "$f" | grep -q '^#mime:' && continue
    [ -s "$f" ] || continue   # SMTP cannot send an empty message
    for side in native milter; do
        port=$native_port
        [ $side = milter ] && port=$milter_port
        swaks --server "$PF_ADDR" --port "$port" --from a@example.com --to b@example.com \
              --data "@$f" --timeout 30 > "$T/$name.$side" 2>&1 < /dev/null
    done
    n=$((n + 1))
done
ok "at least 20 messages sent ($n)" test "$n" -ge 20
pf_wait_queue 30

for f in "$TOP"/t/data/milterd/mime/*.in; do
    name=$(basename "$f" .in)
    [ -f "$T/$name.native" ] || continue
    nid=$(sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$T/$name.native" | head -1)
    mid=$(sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$T/$name.milter" | head -1)
    if [ -z "$nid" ] || [ -z "$mid" ]; then
        tap_result 1 "$name: accepted on both sides"
        diag "$(tail -3 "$T/$name.native")" "$(tail -3 "$T/$name.milter")"
        continue
    fi
    decisions "$nid" "$PF_LOG" > "$T/$name.want"
    decisions "$mid" "$T/milterd.log" > "$T/$name.got"
    if [ ! -s "$T/$name.want" ]; then
        tap_result 1 "$name: Postfix logged its decisions"
        continue
    fi
    same_file "$T/$name.got" "$T/$name.want" "$name: each line meets the same table as in Postfix ($(wc -l < "$T/$name.want") lines)"
done
stop_bg "$milterd_pid"
is "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/milterd.log" | head -3)" "" "no sanitizer reports in milterd's log"
done_testing
