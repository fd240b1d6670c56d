#!/bin/sh
# 357-procmail-diff-var.t - the differential suite, part: variables and their side effects, the command line, and rc syntax errors.
# Each case in t/data/procsort/cases/ (var-* cmdline-* rc-*) runs through the real
# procmail and through procsort as the same unprivileged user with the same
# environment; folder trees, forwards (a recorder as $SENDMAIL), pipe
# output, exit code, stdout, stderr and the LOGFILE must be the same after
# normalising only dates, pids, the program name and unique file names,
# and procsort's deliberate differences, one documented rule each
# (t/lib/procdiff.pm deliberate(), procsortrc(5) COMPATIBILITY).
. "$(dirname "$0")/lib/tap.sh"

need_cmd procmail "the reference procsort is compared with"
[ -x "$TOP/procsort/procsort" ] || bail "procsort is not built"
[ -x "$TOP/t/lib/procdiff-reap" ] || bail "t/lib/procdiff-reap is not built"
cd "$TOP/t/data/procsort/cases" || bail "no cases"
perl "$TOP/t/lib/procdiff.pl" var-* cmdline-* rc-*
exit $?
