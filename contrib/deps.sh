#!/bin/sh
# deps.sh - install the Debian packages mailsift builds and tests with.
#
# Called by "make deps" (and so by "make check" and "make demo").  Installs
# only what is missing, says what it installs, and does nothing when all is
# there.  Postfix, Dovecot and OpenDKIM are installed without prompting and
# without starting system instances: the tests run private instances of
# their own on loopback, and a system Postfix on port 25 would get in the way.
set -eu

BUILD_PKGS="gcc make pkg-config libmilter-dev libpcre2-dev libgmime-3.0-dev
 libevent-dev libssl-dev libarchive-dev libmagic-dev libvectorscan-dev"
TEST_PKGS="perl postfix postfix-pcre procmail swaks opendkim opendkim-tools
 dovecot-imapd mandoc python3 openssl systemd clang libclang-rt-14-dev
 p7zip-full libmagic-mgc libnet-ssleay-perl man-db manpages-dev valgrind strace"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: not root and no sudo; install these packages:$missing" >&2
        exit 1
    fi
else
    SUDO=""
fi

# No prompts, and no daemon started by a package's postinst: policy-rc.d
# refusing every action is Debian's documented way to say so.
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
policy=/usr/sbin/policy-rc.d
had_policy=no
[ -e "$policy" ] && had_policy=yes
if [ "$had_policy" = no ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi

$SUDO apt-get update -qq || echo "deps: apt-get update failed; trying with the cached lists" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: done"
