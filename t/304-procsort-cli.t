#!/bin/sh
# 304-procsort-cli.t - procsort's command line and what procmail never had:
# -n (a trace of every condition with its line, nothing delivered), --lint
# (every problem of an rc file with its line), exit codes (0, 75 when even
# DEFAULT fails, EXITCODE, -m without rc file, -d with an unknown user,
# -z), errors logged with file and line, -d as root: the recipient's
# identity and procmail's checks on a group- or world-writable rc file,
# and -d for another user refused when not root.
. "$(dirname "$0")/lib/tap.sh"

PS="$TOP/procsort/procsort"
[ -x "$PS" ] || bail "procsort/procsort is not built"
cd "$T" || bail "no $T"
printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: hello there\nTo: bob@example.com\n\nbody line\n' > msg

cat > rc <<'EOF2'
# a comment
:0
* ^Subject:.*hello
* ! ^To:.*nobody
hello.mbox

:0 B
* 2^1 body
* -1^0 nomatch
scored.mbox

X=`echo never run`
:0
* ? true
prog.mbox
EOF2
out=$("$PS" -n -p DEFAULT="$T/default" MAILDIR="$T" "$T/rc" < msg 2>&1)
st=$?
is "$st" 0 "-n exits 0"
like "$out" "rc:3: match: \* \^Subject:\.\*hello" "-n: the first condition, its line and its outcome"
like "$out" "rc:4: match \(negated\): \* ! \^To:\.\*nobody" "-n: a negated condition"
like "$out" "rc:5: would deliver to hello.mbox" "-n: the delivery it would make"
like "$out" "rc:8: score \+2, total 2: \* 2\^1 body" "-n: a weighted condition with its score"
like "$out" "rc:9: score \+0, total 2" "-n: a weight that did not apply"
like "$out" "not run \(dry run\)" "-n: backquotes and ? conditions are not run"
like "$out" "end of rc files: would deliver to \\\$DEFAULT" "-n: the DEFAULT fallback"
ok "-n delivered nothing" test ! -e hello.mbox -a ! -e default -a ! -e scored.mbox

cat > bad.rc <<'EOF2'
:0 Bz
* ^Subject: (unclosed
* ^Subject: x)y
folder

-junk
}
:0 E e
* x
mbox
:0 h
| cat > x
:0
{
:0
EOF2
out=$("$PS" --lint bad.rc 2>&1)
st=$?
is "$st" 1 "--lint exits 1 when it finds problems"
like "$out" "bad.rc, line 1: unknown flags, skipped: \"z\"" "--lint: an unknown flag, with its line"
like "$out" "bad.rc, line 3: invalid regular expression: unmatched" "--lint: a bad expression"
like "$out" "bad.rc, line 6: Skipped \"-junk\"" "--lint: a junk line"
like "$out" "bad.rc, line 7: Closing brace unexpected" "--lint: a stray brace"
like "$out" "bad.rc, line 8: conflicting flags E and e" "--lint: conflicting flags"
like "$out" "bad.rc, line 11: delivering only the header" "--lint: h without c loses the body"
like "$out" "bad.rc, line 14: block not closed" "--lint: an open block"
like "$out" "bad.rc, line 2: invalid regular expression: unclosed" "--lint: an unclosed group"
like "$out" "bad.rc, line 15: incomplete recipe" "--lint: a recipe without action"
printf ':0\n* ^Subject\nfolder\n' > good.rc
ok "--lint is quiet and exits 0 on a good file" sh -c "test -z \"\$('$PS' --lint good.rc)\""

# exit codes
printf ':0\n* ^Subject\n/nonexistent/dir/x\n' > fail.rc
"$PS" -p LOCKSLEEP=0 DEFAULT=/nonexistent/d ORGMAIL=/nonexistent/o MAILDIR="$T" "$T/fail.rc" < msg 2>err
is "$?" 75 "nothing could be delivered: EX_TEMPFAIL (75)"
like "$(cat err)" "fail.rc, line 3: |Error while writing to \"/nonexistent/dir/x\"" "the failed delivery is logged"
printf 'EXITCODE=9\n:0\nok.mbox\n' > ex.rc
"$PS" -p DEFAULT="$T/default" MAILDIR="$T" "$T/ex.rc" < msg 2>/dev/null
is "$?" 9 "EXITCODE sets the exit status"
printf ':0\nnot rc syntax at all\nSkipMe here\n' > junk.rc
"$PS" -p DEFAULT="$T/junkdefault" MAILDIR="$T" "$T/junk.rc" < msg 2>err
is "$?" 0 "an rc file with junk still delivers"
"$PS" -m < msg 2>err
is "$?" 66 "-m without an rc file: EX_NOINPUT"
like "$(cat err)" "Missing rcfile" "and says so"
"$PS" -z < msg 2>err
is "$?" 64 "-z: no LMTP, as Debian's procmail"
"$PS" -v >/dev/null 2>&1
is "$?" 0 "-v exits 0"
"$PS" -d no-such-user-here < msg 2>err
is "$?" 67 "-d with an unknown user: EX_NOUSER"
like "$(cat err)" "Unknown user \"no-such-user-here\"" "and says so"

# Skipped words are logged with file and line
printf 'A=1\n-junk\n:0\nj.mbox\n' > j2.rc
"$PS" -p DEFAULT="$T/default" MAILDIR="$T" "$T/j2.rc" < msg 2>err
like "$(cat err)" "j2.rc, line 2: Skipped \"-junk\"" "a syntax error is logged with its file and line"

# -d as root: the recipient's identity and procmail's checks on the rc file
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1; then
    user=mailsift-test
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
        --shell /bin/sh --user-group "$user" 2>/dev/null
    uid=$(id -u "$user")
    home="$T/home"
    mkdir -p "$home" && chown "$user" "$home" && chmod 755 "$home"
    printf ':0\n* ^Subject\ninbox\n' > "$home/.procmailrc"
    chown "$user" "$home/.procmailrc" && chmod 644 "$home/.procmailrc"
    # the home from passwd is /nonexistent: point HOME at ours through a wrapper rc
    printf 'MAILDIR=%s\n:0\n* ^Subject\ninbox\n' "$home" > "$home/abs.rc"
    chown "$user" "$home/abs.rc" && chmod 644 "$home/abs.rc"
    setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups -- env -i HOME="$home" PATH=/usr/bin:/bin \
        "$PS" "$home/abs.rc" < msg 2>err
    is "$?" 0 "as $user with an rc file it owns"
    ok "the message is in its inbox, owned by $user" test "$(stat -c %U "$home/inbox")" = "$user"
    chmod 666 "$home/abs.rc"
    setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups -- env -i HOME="$home" PATH=/usr/bin:/bin \
        "$PS" DEFAULT="$home/fallback" "$home/abs.rc" < msg 2>err
    like "$(cat err)" "Suspicious rcfile \"$home/abs.rc\"" "a world-writable rc file is not read"
    ok "the message went to DEFAULT instead" test -s "$home/fallback"
    # -d for someone else, not as root: refused before anything is read or written
    setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups -- env -i HOME="$home" PATH=/usr/bin:/bin \
        "$PS" -d root < msg > out 2>err
    is "$?" 77 "-d root as $user: EX_NOPERM"
    like "$(cat err)" "Insufficient privileges to deliver to \"root\"" "and says so"
else
    skip 6 "not root: -d identity checks need root"
fi
done_testing
