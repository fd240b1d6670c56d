# procdiff.sh - shell helpers for the procsort folder, lock and Dovecot
# tests; source it after tap.sh.
#
#   procdiff_user          set PD_USER, PD_UID, PD_GID: the unprivileged user
#                          the tests run procmail and procsort as (made by
#                          t/lib/procdiff.pm when we are root; ourselves if not)
#   as_user CMD...         run CMD as that user with a clean environment
#                          (HOME=$PD_HOME, PATH, LOGNAME, SHELL=/bin/sh, TZ=UTC)
#   user_dir DIR...        make directories owned by that user
#   elapsed_since START    seconds since START (from $(now)), one decimal
#   now                    the time in seconds with a fraction

procdiff_user() {
    _pd=$(perl -I"$TOP/t/lib" -Mprocdiff -e 'print join(" ", procdiff::test_user()), "\n"') ||
        bail "cannot find or make the test user"
    set -- $_pd
    PD_UID=$1 PD_GID=$2 PD_USER=$3
    PD_HOME=${PD_HOME:-$T}
    export PD_UID PD_GID PD_USER PD_HOME
}

as_user() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid="$PD_UID" --regid="$PD_GID" --clear-groups -- \
            env -i HOME="$PD_HOME" PATH=/usr/bin:/bin LOGNAME="$PD_USER" USER="$PD_USER" \
            SHELL=/bin/sh TZ=UTC LANG=C "$@"
    else
        env -i HOME="$PD_HOME" PATH=/usr/bin:/bin LOGNAME="$PD_USER" USER="$PD_USER" \
            SHELL=/bin/sh TZ=UTC LANG=C "$@"
    fi
}

user_dir() {
    mkdir -p "$@" && chown "$PD_UID:$PD_GID" "$@"
}

now() {
    perl -MTime::HiRes=time -e 'printf "%.2f\n", time'
}

elapsed_since() {
    perl -MTime::HiRes=time -e 'printf "%.1f\n", time - $ARGV[0]' "$1"
}
