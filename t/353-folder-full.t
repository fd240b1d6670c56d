#!/bin/sh
# 353-folder-full.t - a message is never lost nor torn when the disk fills:
# an mbox append that fails (RLIMIT_FSIZE: EFBIG; a full tmpfs: ENOSPC) is
# truncated back to the mbox's former size with procmail's messages, and a
# Maildir, MH or directory message that cannot be written whole leaves no
# file behind; procsort itself then falls through to DEFAULT and exits 75
# when nothing took the message, so the MTA keeps it.
. "$(dirname "$0")/lib/tap.sh"
. "$TOP/t/lib/procdiff.sh"

DELIVER=$TOP/t/lib/procdiff-deliver
[ -x "$DELIVER" ] || bail "t/lib/procdiff-deliver is not built"
procdiff_user
W=$T/w
PD_HOME=$W
user_dir "$W"
cd "$W" || bail "cd $W"

# two old messages, and a 100 KB new one
printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: old 1\n\nfirst\n\nFrom a@b  Mon Jan  1 00:00:00 2024\nSubject: old 2\n\nsecond\n\n' > old
perl -e 'print "From a\@b  Mon Jan  1 00:00:00 2024\nSubject: big\n\n", ("From a line\n" x 8000)' > big
printf 'From a@b  Mon Jan  1 00:00:00 2024\nSubject: small\n\nsmall\n' > small
chmod 644 old big small

# deliver_limited BLOCKS ARGS... - procdiff-deliver under RLIMIT_FSIZE (512-byte blocks)
deliver_limited() {
    _b=$1
    shift
    as_user sh -c "ulimit -f $_b; cd $W && exec $DELIVER $* < big"
}

# 1. mbox over RLIMIT_FSIZE
cp old box
chown "$PD_UID:$PD_GID" box
deliver_limited 8 box
ok "the mbox is back to its former bytes" cmp box old
like "$(cat errors)" 'procsort: Error while writing to "box"' "the failed write is logged as procmail logs it"
like "$(cat errors)" 'procsort: Truncated file to former size' "and the truncation"
is "$(cat lastfolder)" "box" "LASTFOLDER is set to the mbox all the same, as procmail does"
rm -f errors lastfolder
deliver_limited 8 -F i box
ok "with i the mbox is truncated back all the same" cmp box old
is "$(cat errors 2>/dev/null)" "" "and nothing is logged (i: the error does not count)"
rm -f errors lastfolder

# 2. Maildir, MH and a directory over RLIMIT_FSIZE: nothing half-written anywhere
deliver_limited 8 md/
is "$(find md -type f | wc -l)" 0 "Maildir: no file in new/ nor tmp/"
like "$(cat errors)" 'procsort: Error while writing to "md/tmp/' "the Maildir write error is logged"
is "$(cat lastfolder)" "" "LASTFOLDER is not set"
rm -f errors lastfolder
deliver_limited 8 mh/.
is "$(find mh -type f | wc -l)" 0 "MH: no message file, no temporary"
user_dir dir
deliver_limited 8 dir
is "$(find dir -type f | wc -l)" 0 "directory: no message file, no temporary"
rm -f errors lastfolder

# 3. procsort itself: DEFAULT is tried, then exit 75 (EX_TEMPFAIL) with the mbox intact
if [ -x "$TOP/procsort/procsort" ]; then
    printf 'LOGFILE=%s/pslog\n:0\nbox\n' "$W" > rc
    chown "$PD_UID:$PD_GID" rc
    as_user sh -c "ulimit -f 8; cd $W && exec $TOP/procsort/procsort -m MAILDIR=$W $W/rc < big"
    is "$?" 75 "procsort -m: an mbox that cannot take the message is EX_TEMPFAIL"
    ok "and the mbox is intact" cmp box old
    as_user sh -c "ulimit -f 8; cd $W && exec $TOP/procsort/procsort LOCKSLEEP=0 DEFAULT=$W/nodir/x ORGMAIL=$W/nodir/y MAILDIR=$W $W/rc < big"
    is "$?" 75 "procsort: when DEFAULT and ORGMAIL fail too, EX_TEMPFAIL"
    ok "and the mbox is intact" cmp box old
else
    ok 0 "procsort is built"
fi

# 4. a full filesystem (ENOSPC), on a small tmpfs when we may mount one
F=$T/full
mkdir -p "$F"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k,mode=0755 tmpfs "$F" 2>/dev/null; then
    trap 'umount "$F" 2>/dev/null; tap_cleanup' EXIT
    chown "$PD_UID:$PD_GID" "$F"
    perl -e 'print "From a\@b  Mon Jan  1 00:00:00 2024\nSubject: filler\n\n", "x" x 30000, "\n\n"' > "$F/box"
    cp "$F/box" before
    chown "$PD_UID:$PD_GID" "$F/box"
    as_user sh -c "cd $F && exec $DELIVER -l $W/errors box < $W/big"
    ok "ENOSPC: the mbox is back to its former bytes" cmp "$F/box" before
    like "$(cat errors)" 'procsort: No space left to finish writing "box"' "logged as procmail logs it"
    as_user sh -c "cd $F && exec $DELIVER -l $W/errors md/ < $W/big"
    is "$(find "$F/md" -type f | wc -l)" 0 "ENOSPC: the Maildir has no file in new/ nor tmp/"
    as_user sh -c "cd $F && exec $DELIVER -l $W/errors box < $W/small"
    is "$(grep -c '^From ' "$F/box")" 2 "a small message still fits after the failures"
    # what procmail does in the same place, for the record
    rm -rf "$F/box" "$F/md" "$F/lastfolder"
    cp before "$F/box2"
    chown "$PD_UID:$PD_GID" "$F/box2"
    printf ':0\nbox2\n' > "$F/rc"
    chown "$PD_UID:$PD_GID" "$F/rc"
    as_user /usr/bin/procmail -m "MAILDIR=$F" "$F/rc" < big 2> pm.err
    if cmp -s "$F/box2" before; then diag "procmail also truncates its mbox back on ENOSPC"; else
        diag "procmail leaves its mbox changed on ENOSPC ($(wc -c < "$F/box2") bytes, was $(wc -c < before))"; fi
    umount "$F"
else
    skip 4 "cannot mount a small tmpfs here (not root, or no permission)"
fi

done_testing
