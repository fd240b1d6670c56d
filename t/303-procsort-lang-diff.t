#!/bin/sh
# 303-procsort-lang-diff.t - the procmailrc language, procsort against the
# real procmail: each t/data/procsort-lang/cases/*.case (rc file, message,
# command line) runs through both as the same unprivileged user
# (t/lib/procdiff.pl, the harness of the delivery cases), and the folders,
# forwards (a $SENDMAIL recorder), stdout, stderr, log files and exit codes
# must be the same.  Covers flags, condition kinds, scoring, expansions,
# quoting, blocks, A/a/E/e chains, filters, captures, INCLUDERC/SWITCHRC,
# EXITCODE, -a/-m.
. "$(dirname "$0")/lib/tap.sh"

need_cmd procmail "the reference for procsort's language"
[ -x "$TOP/procsort/procsort" ] || bail "procsort/procsort is not built"
[ -x "$TOP/t/lib/procdiff-reap" ] || bail "t/lib/procdiff-reap is not built"
cd "$TOP/t/data/procsort-lang/cases" || bail "no cases"
perl "$TOP/t/lib/procdiff.pl" *.case
exit $?
