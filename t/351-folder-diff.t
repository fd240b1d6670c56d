#!/bin/sh
# 351-folder-diff.t - procsort's folder writer against the real procmail:
# each line of t/data/procsort/folders.list is one delivery recipe (mbox,
# Maildir, MH, directories, links, h/b/r/i flags, UMASK, MSGPREFIX,
# LOCKEXT, Content-Length, adversarial messages) run through procmail and
# through t/lib/procdiff-deliver (procsort's mail reader and folder writer)
# as the same unprivileged user; the folder trees (names normalised only
# where unique), modes, hard links, LASTFOLDER and the error log must match.
. "$(dirname "$0")/lib/tap.sh"

need_cmd procmail "the reference for procsort's folders"
[ -x "$TOP/t/lib/procdiff-deliver" ] || bail "t/lib/procdiff-deliver is not built (make check-build)"
perl "$TOP/t/lib/procdiff-folders.pl" "$TOP/t/data/procsort/folders.list"
exit $?
