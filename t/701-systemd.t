#!/bin/sh
# 701-systemd.t - the systemd units in contrib/systemd are accepted by
# systemd-analyze verify, pointing at the programs this tree built (the
# units name /usr/local/sbin, where "make install" puts them), with the
# man pages their Documentation= lines name found in this tree's man/.
. "$(dirname "$0")/lib/tap.sh"
need_cmd systemd-analyze "checks the shipped unit files"
need_cmd man "systemd-analyze checks Documentation= pages with man"

for page in "$TOP"/man/*.[1-8]; do
    sec=${page##*.}
    mkdir -p "$T/man/man$sec" && cp "$page" "$T/man/man$sec/"
done
MANPATH="$T/man"
export MANPATH

for unit in milterd mta-core; do
    prog=$(find "$TOP" -maxdepth 2 -type f -perm -u+x -name "$unit" | head -1)
    if [ -z "$prog" ]; then
        tap_result 1 "$unit is built"
        continue
    fi
    sed "s|/usr/local/sbin/$unit|$prog|" "$TOP/contrib/systemd/$unit.service" > "$T/$unit.service"
    ok "systemd-analyze verify accepts $unit.service" systemd-analyze verify "$T/$unit.service"
    like "$(grep '^ExecStart=' "$TOP/contrib/systemd/$unit.service")" "^ExecStart=/usr/local/sbin/$unit -c /etc/" \
        "$unit.service starts the installed $unit with its default config"
done
done_testing
