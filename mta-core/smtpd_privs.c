/*
 * smtpd_privs.c - giving up root: mta-core starts as root only to bind its
 * ports (and prepare its directories), then becomes mail_owner for good.
 *
 * One function, a fixed order (supplementary groups, then the group,
 * then the user, each real, effective and saved), every failure fatal,
 * and a check that root cannot be regained.  Run unprivileged, there is
 * nothing to give up and nothing happens: tests and hosts without a mail
 * user run mta-core as themselves.
 *
 * Trusts: the password database.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/msg.h"
#include "mta-core/smtpd_server.h"

/* smtpd_privs_drop - become user (when root), or stay who we are */
void smtpd_privs_drop(const char *user)
{
    struct passwd *pw;

    if (geteuid() != 0)
        return;
    if ((pw = getpwnam(user)) == NULL)
        msg_fatal("mail_owner %s: no such user", user);
    if (pw->pw_uid == 0)
        msg_fatal("mail_owner %s: must not be root", user);
    if (setgroups(1, &pw->pw_gid) < 0)
        msg_fatal("setgroups(%ld): %s", (long) pw->pw_gid, strerror(errno));
    if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
        msg_fatal("setresgid(%ld): %s", (long) pw->pw_gid, strerror(errno));
    if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
        msg_fatal("setresuid(%ld): %s", (long) pw->pw_uid, strerror(errno));
    if (setuid(0) == 0 || seteuid(0) == 0)
        msg_fatal("privileges could be regained after dropping them to %s", user);
    msg_info("running as %s (uid %ld, gid %ld)", user, (long) pw->pw_uid, (long) pw->pw_gid);
}

/*
 * smtpd_privs_owner - as root, make sure directory path exists and belongs
 * to user, so that it is still usable once privileges are gone (what
 * "postfix set-permissions" does for Postfix).  A directory that already
 * exists is given to user only when it is root's.  Unprivileged: nothing.
 */
int smtpd_privs_owner(const char *user, const char *path, int mode, struct buf *err)
{
    struct passwd *pw;
    struct stat st;

    if (geteuid() != 0 || path == NULL || *path == 0)
        return 0;
    if ((pw = getpwnam(user)) == NULL) {
        buf_printf(err, "mail_owner %s: no such user", user);
        return -1;
    }
    if (stat(path, &st) < 0) {
        if (errno != ENOENT || mkdir(path, (mode_t) mode) < 0) {
            buf_printf(err, "create %s: %s", path, strerror(errno));
            return -1;
        }
        st.st_uid = 0;
    }
    if (st.st_uid == 0 && chown(path, pw->pw_uid, pw->pw_gid) < 0) {
        buf_printf(err, "chown %s to %s: %s", path, user, strerror(errno));
        return -1;
    }
    return 0;
}
