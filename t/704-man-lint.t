#!/bin/sh
# 704-man-lint.t - the man pages: every program (PROGRAMS in the build) has
# a page in its section (bin: 1, sbin: 8), so does every file format the
# programs read; every page in man/ is installed (MAN_PAGES), names itself
# as its file is named, and has an EXAMPLES section; and "mandoc -Tlint
# -W style" finds nothing in any page.  Cross references are looked up in
# our own pages (indexed in $T/man) and in the system's manpath; the only
# messages let through are mandoc's "outdated mandoc.db lacks NAME(N)
# entry" notes, which say that the system's database is older than its
# pages (a fact about this machine, not about our pages), matched exactly.
. "$(dirname "$0")/lib/tap.sh"
need_cmd mandoc "the man page checker"
need_cmd makewhatis "indexes our pages for mandoc's cross-reference check"
cd "$TOP" || bail "no source tree"

mkvar() {
    make -s --no-print-directory -f GNUmakefile -f - print-var <<EOT
print-var:
	@echo \$($1)
EOT
}
mans=$(mkvar MAN_PAGES)
bins=$(mkvar BIN_PROGRAMS)
sbins=$(mkvar SBIN_PROGRAMS)
[ -n "$mans" ] && [ -n "$sbins" ] || bail "cannot read MAN_PAGES and PROGRAMS from the build"

has_page() {
    for m in $mans; do [ "$m" = "man/$1" ] && return 0; done
    return 1
}
for p in $bins; do ok "$(basename "$p") (bin) has a page in section 1" has_page "$(basename "$p").1"; done
for p in $sbins; do ok "$(basename "$p") (sbin) has a page in section 8" has_page "$(basename "$p").8"; done
for f in milterd.conf.5 attachment_policy.5 procsortrc.5 mta-core.conf.5; do
    ok "file format page $f is built and installed" has_page "$f"
done
for f in man/*; do
    ok "$f is in MAN_PAGES (installed)" has_page "${f#man/}"
done

# Our pages, indexed, ahead of the system's.
for m in $mans; do
    s=${m##*.}
    mkdir -p "$T/man/man$s" && cp "$m" "$T/man/man$s/"
done
makewhatis "$T/man" 2>&1 || bail "makewhatis $T/man failed"
sysman=$(manpath 2>/dev/null) || sysman=/usr/share/man
for m in $mans; do
    n=$(basename "$m")
    name=${n%.*}
    sec=${n##*.}
    title=$(sed -n 's/^\.Dt \([^ ]*\) \([^ ]*\).*/\1 \2/p' "$m")
    is "$title" "$(echo "$name" | tr '[:lower:]' '[:upper:]') $sec" "$n: .Dt names the page as its file"
    ex=$(awk '/^\.Sh EXAMPLES/ { on = 1; next } /^\.Sh / { on = 0 } on && !/^\./ { n++ } END { print n + 0 }' "$m")
    ok "$n has an EXAMPLES section with text" test "$ex" -gt 0
    out=$(MANPATH="$T/man:$sysman" mandoc -Tlint -W style "$m" 2>&1 |
        grep -Ev '^mandoc: outdated mandoc\.db lacks [^ ]+\([0-9a-z]+\) entry, run makewhatis [^ ]+$')
    is "$out" "" "mandoc -Tlint -W style: $n is clean"
done
done_testing
