#!/bin/sh
# 303-procsort-lang-diff.t - the procmailrc language, procsort against the
# real procmail: each t/data/procsort-lang/cases/*.case (rc file, message,
# command line) is run through both as the same unprivileged user, and the
# folders, forwards (a $SENDMAIL recorder) and exit codes must be the same.
# Covers flags, condition kinds, scoring, expansions, quoting, blocks,
# A/a/E/e chains, filters, captures, INCLUDERC/SWITCHRC, EXITCODE, -a/-m.
. "$(dirname "$0")/lib/tap.sh"

need_cmd procmail "the reference for procsort's language"
need_cmd setpriv "running both programs as the same unprivileged user"
[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"
exec perl "$TOP/t/data/procsort-lang/run.pl" "$TOP/procsort/procsort" "$TOP"/t/data/procsort-lang/cases/*.case
