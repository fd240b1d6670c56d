/*
 * setup.c - identity and environment before the rc files (see setup.h).
 *
 * Privileges are dropped in one place, setup_become(), in the fixed order
 * setgroups (initgroups), setresgid, setresuid, and any failure is fatal
 * (EX_TEMPFAIL: the MTA will retry).  The one thing kept is the saved
 * group id the caller asks for (Debian's procmail keeps group mail the
 * same way, for the system mailbox's lockfile).  Trusts the passwd
 * database.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "procsort/setup.h"
#include "procsort/var.h"

extern char **environ;

/* setup_find_user - by name (when given) or by uid; 0 when found */
int setup_find_user(const char *name, uid_t uid, struct setup_user *user)
{
    struct passwd *pw = name ? getpwnam(name) : getpwuid(uid);

    memset(user, 0, sizeof(*user));
    if (!pw)
        return -1;
    user->name = mem_strdup(pw->pw_name);
    user->home = mem_strdup(pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    user->shell = mem_strdup(pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    user->uid = pw->pw_uid;
    user->gid = pw->pw_gid;
    return 0;
}

/* setup_user_free - release a user */
void setup_user_free(struct setup_user *user)
{
    mem_free(user->name);
    mem_free(user->home);
    mem_free(user->shell);
}

/*
 * setup_become - take the user's identity for good (only root can); sgid
 * stays our saved group id (the spool's group for the system mailbox's
 * lockfile, see lock_sysbox(); user->gid when none is needed): exec()
 * drops it, so no program we start has it.
 */
int setup_become(const struct setup_user *user, gid_t sgid)
{
    if (geteuid() != 0)
        return getuid() == user->uid ? 0 : -1;
    if (initgroups(user->name, user->gid) != 0)
        msg_fatal("initgroups %s: %s", user->name, strerror(errno));
    if (setresgid(user->gid, user->gid, sgid) != 0)
        msg_fatal("setresgid %ld: %s", (long) user->gid, strerror(errno));
    if (setresuid(user->uid, user->uid, user->uid) != 0)
        msg_fatal("setresuid %ld: %s", (long) user->uid, strerror(errno));
    return 0;
}

/* setup_drop_saved_group - the delivery is done: the saved group id goes too */
void setup_drop_saved_group(void)
{
    gid_t gid = getgid();

    if (setresgid(gid, gid, gid) != 0)
        msg_fatal("setresgid %ld: %s", (long) gid, strerror(errno));
#ifdef __SANITIZE_ADDRESS__
    /*
     * The sanitizer build only (make SAN=1, for tests): LeakSanitizer stops
     * the process with ptrace at exit, which a process that changed its
     * ids may not undergo.  A real build stays undumpable.
     */
    (void) prctl(PR_SET_DUMPABLE, 1);
#endif
}

/*
 * setup_environment - procmail's cleanupenv() and initdefenv(): without
 * -p only TZ survives; LD_ variables and friends never do; then LOGNAME,
 * HOME, SHELL, DEFAULT/ORGMAIL and (with presets) procmail's defaults.
 */
void setup_environment(const struct setup_user *user, int preserve, int presets)
{
    static const char *const drop_prefix[] = { "LD_", "_RLD", "LIBPATH=", "ELF_LD_", "AOUT_LD_", 0 };
    char **ep;
    char *tz = 0;
    struct buf mbox = BUF_INIT, path = BUF_INIT;
    char host[HOST_NAME_MAX + 1] = "";

    if (!preserve) {
        const char *t = getenv("TZ");

        tz = t ? mem_strdup(t) : 0;
        clearenv();
        if (tz)
            setenv("TZ", tz, 1);
        mem_free(tz);
    } else {
        int again = 1;

        while (again) {
            again = 0;
            for (ep = environ; ep && *ep; ep++) {
                int k;

                for (k = 0; drop_prefix[k]; k++) {
                    if (strncmp(*ep, drop_prefix[k], strlen(drop_prefix[k])) == 0) {
                        char *name = mem_strndup(*ep, strcspn(*ep, "="));

                        unsetenv(name);
                        mem_free(name);
                        again = 1;
                        break;
                    }
                }
                if (again)
                    break;
            }
        }
    }
    var_set("LOGNAME", user->name);
    var_set("HOME", user->home);
    var_set("SHELL", user->shell);
    buf_printf(&mbox, "%s/%s", SETUP_MAILSPOOL, user->name);
    var_set("DEFAULT", mbox.data);
    if (presets) {
        var_set("SHELLMETAS", var_str("SHELLMETAS"));
        var_set("LOCKEXT", var_str("LOCKEXT"));
        var_set("MSGPREFIX", var_str("MSGPREFIX"));
        var_set("SHELLFLAGS", var_str("SHELLFLAGS"));
        var_set("SENDMAIL", var_str("SENDMAIL"));
        var_set("SENDMAILFLAGS", var_str("SENDMAILFLAGS"));
        var_set("PROCMAIL_VERSION", "3.22");
        gethostname(host, sizeof(host) - 1);
        var_set("HOST", host);
        var_unset("LASTFOLDER");
        var_unset("EXITCODE");
        var_unset("IFS");
        var_unset("ENV");
        var_unset("PWD");
    }
    buf_printf(&path, "%s/bin:/usr/local/bin:/usr/bin:/bin", user->home);
    var_set("PATH", path.data);
    buf_free(&mbox);
    buf_free(&path);
}

/* setup_stdout - move stdout aside (for the bare | action), /dev/null in its place */
int setup_stdout(void)
{
    int saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
    int null = open("/dev/null", O_WRONLY);

    if (null < 0)
        msg_fatal("cannot open /dev/null: %s", strerror(errno));
    if (null != 1) {
        dup2(null, 1);
        close(null);
    }
    return saved;
}
