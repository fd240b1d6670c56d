/*
 * folder_screen.c - procmail's screening of the recipient's system
 * mailbox ($ORGMAIL, /var/mail/$LOGNAME) before a delivery as root (-d),
 * as procmail(1) documents it:
 *
 *   "If /var/mail/$LOGNAME is a bogus mailbox (i.e., does not belong to
 *   the recipient, is unwritable, is a symbolic link or is a hard link),
 *   procmail will upon startup try to rename it into a file starting with
 *   `BOGUS.$LOGNAME.' and ending in an inode-sequence-code.  If this turns
 *   out to be impossible, ORGMAIL will have no initial value."
 *
 *   "If /var/mail/$LOGNAME already is a valid mailbox, but has got too
 *   loose permissions on it, procmail will correct this.  To prevent
 *   procmail from doing this make sure the u+x bit is set."
 *
 * Also as procmail's screenmailbox(): a mailbox found bogus is looked at
 * again after SUSPEND seconds first (another delivery may be creating it:
 * it is a hard link for a moment); a missing mailbox is created (0600,
 * owned by the recipient) without following a symlink put in its place;
 * a setuid (or, for a file, setgid) mailbox means SysV autoforwarding and
 * the delivery is refused (EX_NOUSER); a lockfile $ORGMAIL.lock owned by
 * someone else than the recipient or root, next to a mailbox that is not
 * group-writable, is renamed out of the way.  Maildir and MH names are
 * not screened (procmail does not either).  The group check of "too
 * loose" is relaxed (group read/write allowed) unless the spool directory
 * is world-writable or the recipient's, as procmail's.
 *
 * Debian's procmail is setgid to the spool directory's group (mail), and
 * when the spool directory is not the recipient's and is setgid or not
 * world-writable, procmail screens with UMASK 007 and gives a mailbox it
 * creates that group (0660, recipient:mail).  Called as root, we can take
 * any group, so we do the same; otherwise the UMASK is opts->umask and the
 * group the recipient's (gid).
 *
 * Trusts: the path (the recipient's ORGMAIL, from the passwd entry).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_int.h"
#include "procsort/folder_name.h"

#define SCREEN_OVERRIDE_MASK (S_IXUSR | S_ISUID | S_ISGID | S_ISVTX) /* leave such a mailbox be */
#define SCREEN_TRIES 4 /* create or check again after a race, at most */
#define SCREEN_GROUPW_UMASK 007 /* procmail's GROUPW_UMASK: the spool group may write */

/* screen_bogus_name - DIR/BOGUS.logname.INODE, where the bogus entry goes */
static void screen_bogus_name(struct buf *out, const char *dir, const char *logname, ino_t ino)
{
    buf_reset(out);
    buf_printf(out, "%s%sBOGUS.%s.", dir, *dir ? "/" : "", logname);
    folder_name_b64(out, (unsigned long) ino);
}

/* screen_is_bogus - not the recipient's, unwritable, a symlink, or a hard link */
static int screen_is_bogus(const struct stat *st, uid_t uid)
{
    return st->st_uid != uid || !(st->st_mode & S_IWUSR) || S_ISLNK(st->st_mode)
           || (S_ISDIR(st->st_mode) ? !(st->st_mode & S_IXUSR) : st->st_nlink != 1);
}

/* screen_create - make the mailbox: exclusive, not through a symlink, owned by the recipient */
static int screen_create(const char *path, uid_t uid, gid_t gid, mode_t umask_)
{
    mode_t old = umask(umask_);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  (FOLDER_FILE_PERM & ~umask_) & 0666);
    struct stat st;

    umask(old);
    if (fd < 0)
        return -1;
    if (geteuid() == 0 && fchown(fd, uid, gid) < 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    if (fstat(fd, &st) < 0 || st.st_nlink != 1) {
        close(fd);
        return -1;
    }
    return close(fd);
}

/* folder_screen_mailbox - check (and make safe) the system mailbox path for the recipient uid */
int folder_screen_mailbox(const char *path, uid_t uid, gid_t gid, const char *logname,
                          const struct folder_opts *opts, gid_t *sgid)
{
    struct buf base = BUF_INIT, dir = BUF_INIT, bogus = BUF_INIT, lock = BUF_INIT;
    enum folder_type type = folder_parse(path, &base);
    struct stat st, ds;
    const char *slash;
    int accspooldir = 0, tries, checked, ret = -1;
    mode_t loose, cumask = opts->umask;

    if (base.len == 0 || type == FOLDER_MAILDIR || type == FOLDER_MH) {
        ret = 0;
        goto out;
    }
    slash = strrchr(base.data, '/');
    if (slash)
        buf_add(&dir, base.data, slash == base.data ? 1 : (size_t) (slash - base.data));
    if (stat(dir.len ? dir.data : ".", &ds) == 0) {
        mode_t ww = S_IWGRP | S_IXGRP | S_IWOTH | S_IXOTH;

        int wwsdir = (ds.st_mode & ww) == ww;

        accspooldir = wwsdir << 1 | (ds.st_uid == uid);
        if (ds.st_uid != uid && ((ds.st_mode & S_ISGID) || !wwsdir)) {
            /* the spool directory's group (procmail: when it is ours, setgid) */
            if (geteuid() == 0)
                cumask = SCREEN_GROUPW_UMASK;
            gid = ds.st_gid;
        } else if (ds.st_mode & S_ISGID) {
            gid = ds.st_gid;
        }
    } else if (dir.len) {
        (void) mkdir(dir.data, FOLDER_DIR_PERM);
    }
    if (sgid)
        *sgid = gid;
    for (tries = 0; tries < SCREEN_TRIES; tries++) {
        if (lstat(base.data, &st) < 0) {
            if (errno != ENOENT)
                break;
            if (screen_create(base.data, uid, gid, cumask) == 0) {
                ret = 0;
                break;
            }
            if (errno == EEXIST)
                continue; /* someone was faster: check what they made */
            break;
        }
        for (checked = 0; screen_is_bogus(&st, uid); checked++) {
            if (checked) {
                screen_bogus_name(&bogus, dir.data, logname, st.st_ino);
                folder_logf(&opts->log, FOLDER_LOG_ERROR,
                            "Renaming bogus mailbox \"%s\" info \"%s\"", base.data, bogus.data);
                if (rename(base.data, bogus.data) < 0)
                    goto fishy;
                goto again;
            }
            /* Another delivery may be making the mailbox (a link for a moment). */
            if (opts->suspend > 0)
                sleep((unsigned) opts->suspend);
            if (lstat(base.data, &st) < 0)
                goto again;
        }
        if ((st.st_mode & S_ISUID) || (!S_ISDIR(st.st_mode) && (st.st_mode & S_ISGID))) {
            folder_logf(&opts->log, FOLDER_LOG_ERROR, "Autoforwarding mailbox found");
            ret = FOLDER_SCREEN_AUTOFORWARD;
            goto out;
        }
        loose = cumask & (accspooldir ? ~(mode_t) 0 : ~(mode_t) (S_IRGRP | S_IWGRP));
        if (!(st.st_mode & SCREEN_OVERRIDE_MASK) && (st.st_mode & loose)) {
            folder_logf(&opts->log, FOLDER_LOG_ERROR, "Enforcing stricter permissions on \"%s\"",
                        base.data);
            st.st_mode &= ~cumask;
            (void) chmod(base.data, st.st_mode & 07777);
        }
        ret = 0;
        break;
    again:;
    }
    if (ret < 0) {
fishy:
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't create \"%s\"", base.data);
        ret = -1;
        goto out;
    }
    /* A lockfile of someone else's, next to a mailbox only the recipient writes. */
    if (lstat(base.data, &st) == 0 && !S_ISDIR(st.st_mode) && !(st.st_mode & S_IWGRP)) {
        buf_printf(&lock, "%s%s", base.data, opts->lockext ? opts->lockext : ".lock");
        if (lstat(lock.data, &st) == 0 && st.st_uid != uid && st.st_uid != 0) {
            screen_bogus_name(&bogus, dir.data, logname, st.st_ino);
            (void) rename(lock.data, bogus.data);
        }
    }
out:
    buf_free(&base);
    buf_free(&dir);
    buf_free(&bogus);
    buf_free(&lock);
    return ret;
}
