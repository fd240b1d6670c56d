#!/bin/sh
# 114-milterd-bad-input.t - hostile messages: NUL bytes, a 1 MB header,
# 1 MB of headers, unterminated MIME, 10,000 parts, 50 and 200 levels of
# multipart nesting, 50 levels of attached messages, a 10 MB line, 10 MB of
# lines, bare CRs, random bytes.  Each gets a sane verdict from "milterd -t"
# (and the rules still see what they should, deep inside), no crash (this
# test runs under ASan with "make check SAN=1"), and memory that does not
# grow with the message: the peak RSS for a 10 MB message stays within a
# fixed margin of the peak for a small one.  Then the worst of them go
# through a real Postfix to the daemon, which must still be there after.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_cmd perl "generates the messages"
[ -x /usr/bin/time ] || need_cmd /usr/bin/time "measures peak memory"

# ASan keeps freed memory in quarantine (256 MB by default): measure what
# milterd holds, not what ASan holds back.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4:malloc_context_size=5"
export ASAN_OPTIONS

cat > "$T/header_checks" <<'EOF'
/^Subject: (.{0,40})/        REPLACE Subject: [seen] $1
/^X-Deep: 50$/               REJECT 5.7.1 found the deepest header
/^Content-Type: application\/evil/ REJECT 5.7.1 found the evil part
/^X-Many-/                   WARN many
EOF
cat > "$T/body_checks" <<'EOF'
/^needle$/                   REPLACE found
EOF
cat > "$T/milterd.conf" <<EOF
header_checks = pcre:$T/header_checks
body_checks = pcre:$T/body_checks
temp_directory = $T
EOF

perl - "$T" <<'EOF' || bail "cannot generate the messages"
use strict;
my $d = shift;
sub put { my ($n, $t) = @_; open(my $f, '>', "$d/$n.eml") or die; binmode $f; print $f $t; close $f }
my $hdr = "From: a\@example.com\nTo: b\@example.com\n";
put('small', "${hdr}Subject: small\n\nneedle\n");
put('nul', "${hdr}Subject: nul\0inside\nX-Nul: \0\0\0\n\nbody\0with\0nuls\nneedle\n\0\n");
put('header-1mb', "${hdr}Subject: " . ("a" x (1 << 20)) . "\n\nneedle\n");
put('headers-1mb', $hdr . join('', map { "X-Many-$_: " . ("v" x 10) . "\n" } 1 .. 50000) . "Subject: after many\n\nneedle\n");
put('unterminated', "${hdr}Subject: u\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nneedle\n--b\nContent-Type: multipart/mixed; boundary=\"c\"\n\n--c\nContent-Type: text/plain\n\ntext that never ends\n");
my $parts = join('', map { "--b\nContent-Type: text/plain; name=\"p$_.txt\"\n\npart $_\n" } 1 .. 10000);
put('parts-10000', "${hdr}Subject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n$parts--b\nContent-Type: application/evil\n\nx\n--b--\n");
put('parts-10000-clean', "${hdr}Subject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n$parts--b--\n");
sub nest { my ($depth, $inner) = @_;
    my $m = "${hdr}Subject: nest\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"n0-\"\n\n";
    $m .= "--n" . ($_ - 1) . "-\nContent-Type: multipart/mixed; boundary=\"n$_-\"\n\n" for 1 .. $depth;
    $m .= "--n$depth-\n$inner\n\nx\n";
    $m .= "--n$_-\n--n$_---\n" for reverse 0 .. $depth;
    return $m }
put('nesting-50', nest(50, "Content-Type: application/evil"));
put('nesting-200', nest(200, "Content-Type: text/plain"));
my $m = "X-Deep: 50\nSubject: innermost\n\ninnermost body\n";
$m = "Subject: level $_\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n$m" for reverse 1 .. 49;
put('rfc822-50', "${hdr}Subject: outer\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n$m");
put('line-10mb', "${hdr}Subject: line\n\n" . ("x" x (10 << 20)) . "\nneedle\n");
put('lines-10mb', "${hdr}Subject: lines\n\n" . ("needle\n" x (1_500_000)));
put('crs', "${hdr}Subject: crs\n\n" . ("\r" x (1 << 20)) . "\n\r\r\n\rneedle\r\n");
srand(42);
put('random', join('', map { chr(int(rand(256))) } 1 .. (1 << 20)));
EOF

# run NAME - milterd -t on NAME.eml: the verdict line in $T/NAME.out, peak RSS (KB) in $T/NAME.rss
run() {
    /usr/bin/time -f %M -o "$T/$1.rss" milterd -t -c "$T/milterd.conf" < "$T/$1.eml" > "$T/$1.out" 2> "$T/$1.err"
}

check() { # NAME EXPECTED-FIRST-LINE DESCRIPTION
    run "$1"
    st=$?
    is "$st" 0 "$1: exit 0" || diag "$(tail -5 "$T/$1.err")"
    is "$(head -1 "$T/$1.out")" "$2" "$1: $3"
}

check small "ACCEPT" "a small message, the baseline"
check nul "ACCEPT" "NUL bytes: header keys end at the NUL, as in Postfix"
like "$(cat "$T/nul.out")" "~header: Subject: \[seen\] nul" "NUL bytes: the header rule still fires"
check header-1mb "ACCEPT" "a 1 MB header"
like "$(sed -n 2p "$T/header-1mb.out")" "^~header: Subject: \[seen\] a{40}$" "1 MB header: matched once, cut as Postfix cuts it"
check headers-1mb "ACCEPT" "50,000 headers (1 MB)"
is "$(grep -c ': warning: header X-Many-' "$T/headers-1mb.err")" 50000 "every one of them was checked"
check unterminated "ACCEPT" "unterminated MIME"
like "$(cat "$T/unterminated.out")" "body replaced" "unterminated MIME: body lines still checked"
check parts-10000 "REJECT 550 5.7.1 found the evil part" "10,000 parts: the last part's header is found"
check parts-10000-clean "ACCEPT" "10,000 clean parts"
check nesting-50 "REJECT 550 5.7.1 found the evil part" "50 levels of multipart: the innermost header is found"
check nesting-200 "REJECT 550 5.6.0 MIME nesting exceeds safety limit" "200 levels: Postfix's nesting limit"
check rfc822-50 "REJECT 550 5.7.1 found the deepest header" "50 attached messages deep: the innermost header is found"
check line-10mb "ACCEPT" "a 10 MB line"
check lines-10mb "ACCEPT" "10 MB of lines"
like "$(cat "$T/lines-10mb.out")" "body replaced" "10 MB of lines: the first 51200 bytes are checked and edited"
check crs "ACCEPT" "a megabyte of bare CRs"
check random "ACCEPT" "a megabyte of random bytes"

# Memory: nothing may grow with the message.
base=$(tail -1 "$T/small.rss")
for n in header-1mb headers-1mb parts-10000 nesting-200 rfc822-50 line-10mb lines-10mb crs random; do
    rss=$(tail -1 "$T/$n.rss")
    ok "$n: peak memory ${rss} KB within 24 MB of the baseline ${base} KB" test "$rss" -le $((base + 24 * 1024))
done
ok "no temporary files left behind" test -z "$(find "$T" -name 'milterd.??????' -type f)"

# The daemon, behind Postfix, with the worst of them.
if command -v postfix >/dev/null 2>&1 && command -v swaks >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    printf 'socket = unix:%s/milterd.sock\nsocket_mode = 0666\n' "$T" >> "$T/milterd.conf"
    start_bg "$T/milterd.log" milterd -v -c "$T/milterd.conf"
    pid=$BG_PID
    wait_file "$T/milterd.sock" 10 || bail "milterd did not start: $(cat "$T/milterd.log")"
    pf_init
    pf_main "smtpd_milters = unix:$T/milterd.sock" "milter_default_action = tempfail" \
            "message_size_limit = 50000000"
    pf_start
    for n in nul header-1mb parts-10000 nesting-200 rfc822-50 lines-10mb crs; do
        swaks --server "$PF_ADDR" --port "$PF_PORT" --from a@example.com --to b@example.com \
              --data "@$T/$n.eml" --timeout 60 > "$T/$n.swaks" 2>&1 < /dev/null
        r=$(sed -n '/^ -> \.$/,$p' "$T/$n.swaks" | sed -n 's/^<[-*~]* *\([245][0-9][0-9]\) .*/\1/p' | head -1)
        like "$r" "^(250|550)$" "through Postfix: $n gets a verdict ($r)"
    done
    ok "the daemon is still running" kill -0 "$pid"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    ok "the daemon's peak memory stays bounded (${hwm} KB)" test "$hwm" -le $((base + 64 * 1024))
    stop_bg "$pid"
    is "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/milterd.log" | head -3)" "" "no sanitizer reports in milterd's log"
else
    skip 10 "no Postfix, swaks or root for the daemon part"
fi
done_testing
