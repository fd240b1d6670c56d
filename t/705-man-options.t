#!/bin/sh
# 705-man-options.t - every option a program accepts is explained in its
# man page.  The options come from the program's source, not from a list
# kept here (t/lib/manopts.pl): its getopt string, the "case 'x':" letters
# of a hand-written parser, the "--word" strings compared with argv, and
# the command words compared with cmd (mtaq's list, show, ...).  The page
# must name each one with Fl (or Cm for a command) outside its SYNOPSIS.
# An option letter that takes an argument (getopt "o:") is also covered
# by a page that documents only its forms (sendmail's -oi, -bp).
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || bail "no source tree"

mkvar() {
    make -s --no-print-directory -f GNUmakefile -f - print-var <<EOT
print-var:
	@echo \$($1)
EOT
}
progs="$(mkvar BIN_PROGRAMS) $(mkvar SBIN_PROGRAMS)"
[ -n "$progs" ] || bail "cannot read PROGRAMS from the build"

for p in $progs; do
    n=$(basename "$p")
    # The program's main object is the first one its rule in a build.mk names.
    main=$(sed -n "s|^$p: *\([^ ]*\)\.o .*|\1.c|p" */build.mk | head -1)
    page=$(ls man/"$n".[18] 2>/dev/null | head -1)
    if [ -z "$main" ] || [ ! -f "$main" ]; then
        tap_result 1 "$n: its main source is found in a build.mk rule"
        continue
    fi
    if [ -z "$page" ]; then
        tap_result 1 "$n: has a man page"
        continue
    fi
    accepted=$(perl t/lib/manopts.pl accepted "$main") || bail "manopts.pl failed on $main"
    documented=$(perl t/lib/manopts.pl documented "$page") || bail "manopts.pl failed on $page"
    nopts=$(printf '%s\n' "$accepted" | grep -c '^-[^:]*$')
    ok "$n: options found in $main ($nopts)" test "$nopts" -gt 0
    for o in $accepted; do
        case "$o" in -?:) continue ;; esac
        found=no
        printf '%s\n' "$documented" | grep -qxF -- "$o" && found=yes
        if [ $found = no ] && printf '%s\n' "$accepted" | grep -qxF -- "$o:"; then
            # -o: documented as -oi, -b: as -bp
            printf '%s\n' "$documented" | grep -q -- "^$o." && found=yes
        fi
        case "$o" in
            cmd:*) what="command ${o#cmd:}" ;;
            *) what="option $o" ;;
        esac
        is "$found" yes "$n: $what is explained in $page"
    done
done
done_testing
