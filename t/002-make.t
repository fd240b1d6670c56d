#!/bin/sh
# 002-make.t - the build's own promises: "make deps" does nothing when every
# package is there, "make install" puts every program and man page under
# DESTDIR/PREFIX, and every program named in a build.mk was built.
. "$(dirname "$0")/lib/tap.sh"
cd "$TOP" || bail "no source tree"

out=$(sh contrib/deps.sh 2>&1); rc=$?
is "$rc" 0 "make deps succeeds"
is "$out" "deps: all packages present" "and does nothing when all packages are there"

progs=$(make -s --no-print-directory -f GNUmakefile -f - print-programs <<'EOT'
print-programs:
	@echo $(PROGRAMS)
EOT
)
mans=$(make -s --no-print-directory -f GNUmakefile -f - print-mans <<'EOT'
print-mans:
	@echo $(MAN_PAGES)
EOT
)
# MAKEFLAGS from the outer make (jobserver, -s) must not leak in; SAN must.
ok "make install into DESTDIR" env MAKEFLAGS= make -s install SAN="${SAN:-}" DESTDIR="$T/root" PREFIX=/usr
for p in $progs; do
    n=$(basename "$p")
    ok "$n is installed" sh -c "test -x '$T/root/usr/bin/$n' || test -x '$T/root/usr/sbin/$n'"
done
for m in $mans; do
    n=$(basename "$m")
    s=${n##*.}
    ok "$n is installed in man$s" test -f "$T/root/usr/share/man/man$s/$n"
done
done_testing
