#!/bin/sh
# 110-postfix-interop.t - milterd behind a real Postfix (smtpd_milters):
# every verdict and edit as Postfix carries it out.  REJECT and DEFER give
# their SMTP replies, HOLD puts the message in Postfix's hold queue
# (postqueue -j), DISCARD is accepted and never delivered, IGNORE /
# PREPEND / REPLACE of headers, edits of MIME headers and body lines,
# REDIRECT and BCC show in the delivered mail.  milterd runs as "nobody"
# after opening its socket as root, and logs one line per decision.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
need_postfix
need_cmd swaks "the SMTP client of the interop tests"

cat > "$T/header_checks" <<'EOF'
/^Subject: reject me/          REJECT Go away
/^Subject: defer me/           REJECT 4.7.0 Not now
/^Subject: extension defer/    DEFER try tomorrow
/^Subject: hold me/            HOLD Needs a look
/^Subject: discard me/         DISCARD
/^Subject: redirect me/        REDIRECT boss@example.com
/^Subject: copy me/            BCC archive@example.com
/^X-Remove:/                   IGNORE
/^X-Mark: (.*)/                PREPEND X-Marked: $1
/^Subject: rename (.*)/        REPLACE Subject: [renamed] $1
EOF
cat > "$T/mime_header_checks" <<'EOF'
/^Content-Description: secret/ IGNORE
/^Content-Type: application\/x-evil(.*)/ REPLACE Content-Type: application/octet-stream$1
EOF
cat > "$T/body_checks" <<'EOF'
/^my password is (.*)/ REPLACE my password is [removed]
/^remove this line/ IGNORE
EOF
mkdir -p "$T/run" && chown nobody "$T/run"   # so that "nobody" can remove its socket at exit
cat > "$T/milterd.conf" <<EOF
socket = unix:$T/run/milterd.sock
socket_mode = 0666
user = nobody
header_checks = pcre:$T/header_checks
mime_header_checks = pcre:$T/mime_header_checks
body_checks = pcre:$T/body_checks
EOF
chmod 644 "$T"/*_checks "$T/milterd.conf"

start_bg "$T/milterd.log" milterd -v -c "$T/milterd.conf"
milterd_pid=$BG_PID
wait_file "$T/run/milterd.sock" 10 || { diag "$(cat "$T/milterd.log")"; bail "milterd did not start"; }
is "$(ps -o user= -p "$milterd_pid" | tr -d ' ')" nobody "milterd runs as the configured user"
is "$(stat -c %a "$T/run/milterd.sock")" 666 "the socket has socket_mode"

pf_init
pf_main "smtpd_milters = unix:$T/run/milterd.sock" "milter_default_action = tempfail"
pf_start

# send NAME SUBJECT [BODYFILE] [extra swaks args] - the end-of-data reply in $T/NAME.reply
send() {
    _name=$1 _subject=$2
    shift 2
    swaks --server "$PF_ADDR" --port "$PF_PORT" --from sender@example.com --to "$_name@example.com" \
          --header "Subject: $_subject" "$@" --timeout 30 > "$T/$_name.swaks" 2>&1 < /dev/null
    sed -n '/^ -> \.$/,$p' "$T/$_name.swaks" | sed -n 's/^<[-*~]* *\([245][0-9][0-9] .*\)$/\1/p' | head -1 | tr -d '\r' > "$T/$_name.reply"
}

send rejected "reject me"
is "$(cat "$T/rejected.reply")" "550 5.7.1 Go away" "REJECT: Postfix replies 550 with the rule's text"
send deferred "defer me"
is "$(cat "$T/deferred.reply")" "451 4.7.0 Not now" "REJECT 4.x.x: Postfix replies 451"
send deferred2 "extension defer"
is "$(cat "$T/deferred2.reply")" "450 4.7.1 try tomorrow" "DEFER: 450 4.7.1"
send held "hold me"
like "$(cat "$T/held.reply")" "^250 " "HOLD: the message is accepted"
send discarded "discard me"
like "$(cat "$T/discarded.reply")" "^250 " "DISCARD: the message is accepted"
send redirected "redirect me"
send copied "copy me"
send edited "rename this" --header "X-Remove: gone" --header "X-Mark: m1" --header "X-Keep: kept"
printf 'hello\nmy password is hunter2\nremove this line\nbye\n' > "$T/body.txt"
send bodyedit "plain" --body "@$T/body.txt"
cat > "$T/mime.txt" <<'EOF'
--b1
Content-Type: text/plain
Content-Description: secret part

text
--b1
Content-Type: application/x-evil; name="a.bin"

AAAA
--b1--
EOF
send mime "mime" --add-header "MIME-Version: 1.0" \
     --add-header 'Content-Type: multipart/mixed; boundary="b1"' --body "@$T/mime.txt"
send plain "nothing to see"
# Several messages in one SMTP session (one milter connection), with an
# aborted transaction between them: each message is judged on its own.
perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => $ARGV[1], PeerPort => $ARGV[0], Timeout => 30) or die "connect: $!";
    sub rd { my $l; do { $l = <$s>; die "eof" unless defined $l } while ($l =~ /^\d\d\d-/); $l =~ s/\r?\n$//; $l }
    sub cmd { print $s "$_[0]\r\n"; rd() }
    sub msg { my ($to, @h) = @_; cmd("MAIL FROM:<sender\@example.com>"); cmd("RCPT TO:<$to>"); cmd("DATA");
              print $s join("\r\n", @h), "\r\n\r\nbody\r\n"; my $r = cmd("."); $r =~ s/queued as \S+/queued/; print "$r\n" }
    rd(); cmd("EHLO multi");
    msg("multi1\@example.com", "Subject: reject me");
    msg("multi2\@example.com", "Subject: rename second", "X-Remove: x", "X-Mark: m2");
    cmd("MAIL FROM:<sender\@example.com>"); cmd("RCPT TO:<multi9\@example.com>"); cmd("RSET");
    msg("multi3\@example.com", "Subject: third", "X-Keep: 3");
    cmd("QUIT");' "$PF_PORT" "$PF_ADDR" > "$T/multi.out" 2>&1
is "$(cat "$T/multi.out")" "550 5.7.1 Go away
250 2.0.0 Ok: queued
250 2.0.0 Ok: queued" "three messages in one session: each gets its own verdict"
pf_wait_queue 30 || diag "queue did not empty: $(pf_postqueue -p)"

# HOLD: in Postfix's hold queue, with the message's recipient.
held_id=$(sed -n 's/^250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/held.reply")
json=$(pf_postqueue -j)
like "$json" "\"queue_name\": \"hold\", \"queue_id\": \"$held_id\"" "HOLD: postqueue -j shows it in the hold queue"
like "$(printf '%s\n' "$json" | grep "$held_id")" '"address": "held@example.com"' "HOLD: with its recipient"
is "$(ls "$(pf_mailbox held)" 2>/dev/null | wc -l)" 0 "HOLD: nothing delivered"
like "$(cat "$PF_LOG")" "$held_id: milter-hold: END-OF-MESSAGE .*milter triggers HOLD action" "HOLD: Postfix holds it for the milter"
like "$(cat "$T/milterd.log")" ": hold: header Subject: hold me .*: Needs a look$" "HOLD: milterd logs the reason"

# DISCARD: accepted, not queued, never delivered.
is "$(ls "$(pf_mailbox discarded)" 2>/dev/null | wc -l)" 0 "DISCARD: nothing delivered"
discard_id=$(sed -n 's/^250 .*queued as \([0-9A-F]*\).*/\1/p' "$T/discarded.reply")
like "$(cat "$PF_LOG")" "$discard_id: milter-discard" "DISCARD: Postfix discarded it for the milter"

# REDIRECT and BCC.
is "$(ls "$(pf_mailbox redirected)" 2>/dev/null | wc -l)" 0 "REDIRECT: the original recipient gets nothing"
is "$(grep -l 'Subject: redirect me' "$(pf_mailbox boss)"/* 2>/dev/null | wc -l)" 1 "REDIRECT: the target gets the message"
is "$(ls "$(pf_mailbox copied)" | wc -l)" 1 "BCC: the recipient still gets it"
is "$(grep -l 'Subject: copy me' "$(pf_mailbox archive)"/* 2>/dev/null | wc -l)" 1 "BCC: and so does the copy address"

# Header edits.
msg=$(cat "$(pf_mailbox edited)"/*)
unlike "$msg" "^X-Remove:" "IGNORE: the header is gone"
is "$(printf '%s\n' "$msg" | grep -A1 '^X-Marked:')" "X-Marked: m1
X-Mark: m1" "PREPEND: the new header is right before the matched one"
like "$msg" "^Subject: \[renamed\] this$" "REPLACE: the header has the new text"
like "$msg" "^X-Keep: kept$" "other headers stay"

# Body and MIME edits (smfi_replacebody).
body=$(sed '1,/^$/d' "$(pf_mailbox bodyedit)"/*)
is "$body" "hello
my password is [removed]
bye" "body_checks REPLACE and IGNORE rewrite the body"
mime=$(sed '1,/^$/d' "$(pf_mailbox mime)"/*)
unlike "$mime" "Content-Description" "mime_header_checks IGNORE in a part"
like "$mime" '^Content-Type: application/octet-stream; name="a.bin"$' "mime_header_checks REPLACE in a part"
like "$mime" "^AAAA$" "the rest of the part is intact"
is "$(ls "$(pf_mailbox plain)" | wc -l)" 1 "a message no rule matches is delivered"
unlike "$(cat "$(pf_mailbox plain)"/*)" "X-Marked|\[removed\]" "and is left alone"

m2=$(cat "$(pf_mailbox multi2)"/*)
like "$m2" "^Subject: \[renamed\] second$" "the second message of the session is edited"
unlike "$m2" "^X-Remove:" "and its header removed"
m3=$(cat "$(pf_mailbox multi3)"/*)
like "$m3" "^Subject: third$" "the third message gets no edits of the second"
unlike "$m3" "X-Marked|renamed" "none at all"
is "$(ls "$(pf_mailbox multi9)" 2>/dev/null | wc -l)" 0 "the aborted transaction delivered nothing"

# One log line per decision, with queue id, rule and client.
log=$(cat "$T/milterd.log")
rej_line=$(printf '%s\n' "$log" | grep ': reject: header Subject: reject me')
like "$rej_line" "^milterd: [0-9A-F]+: reject: header Subject: reject me from unknown\[127\.0\.0\.1\]; from=<sender@example.com> to=<rejected@example.com> rule=$T/header_checks:1 \(header_checks\): 550 5\.7\.1 Go away$" \
     "the REJECT is logged with queue id, client, envelope, rule and reply"
for a in hold discard redirect bcc ignore prepend replace; do
    like "$log" ": $a: (header|body) .*rule=$T/[a-z_]+:[0-9]+ " "$a is logged"
done
is "$(printf '%s\n' "$log" | grep -c ': replace: body my password is hunter2')" 1 "body decisions are logged too"

stop_bg "$milterd_pid"
is "$?" 0 "milterd exits 0 on SIGTERM"
ok "and removes its socket" test ! -e "$T/run/milterd.sock"
is "$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/milterd.log" | head -3)" "" "no sanitizer reports in milterd's log"
done_testing
