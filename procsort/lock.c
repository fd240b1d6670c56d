/*
 * lock.c - dotlocks made and broken the way procmail 3.22 does.
 *
 * See lock.h for the rules.  The lockfile is never written in place: a
 * unique file is made beside it and hard-linked to the lockfile's name,
 * which is atomic over NFS too; a link() that reports failure but did
 * happen (a lost NFS reply) is recognised by comparing the two names'
 * inodes, as procmail's rlink() does.
 *
 * The system mailbox's lockfile (lock_sysbox(), set for a delivery as
 * root) is made and removed with the spool directory's group as our
 * effective group, taken from the saved group id setup_become() kept, and
 * given back at once: the one thing Debian's setgid-mail procmail uses its
 * group for after becoming the recipient.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "procsort/folder_name.h"
#include "procsort/lock.h"

#define LOCK_PERM 0444 /* procmail's LOCKperm */

static char *lock_sysbox_path; /* the system mailbox's lockfile, see lock_sysbox() */
static gid_t lock_sysbox_gid;  /* the group that may write the spool (our saved gid) */

/* lock_opts_init - procmail's defaults */
void lock_opts_init(struct lock_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->timeout = LOCK_DEFAULT_TIMEOUT;
    opts->sleep = LOCK_DEFAULT_SLEEP;
    opts->suspend = LOCK_DEFAULT_SUSPEND;
    opts->umask = 077;
}

/* lock_stopped - has a signal asked us to stop waiting? */
static int lock_stopped(const struct lock_opts *opts)
{
    return opts->stop != NULL && *opts->stop;
}

/* lock_pause - sleep up to secs seconds, waking early when told to stop */
static void lock_pause(long secs, const struct lock_opts *opts)
{
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    long tenths;

    if (secs <= 0)
        return;
    for (tenths = secs * 10; tenths > 0 && !lock_stopped(opts); tenths--)
        nanosleep(&ts, NULL);
}

/* lock_link - link(old, new), NFS-resistant: 0 when new is old's inode */
static int lock_link(const char *old, const char *new)
{
    struct stat so, sn;
    int serrno;

    if (link(old, new) == 0)
        return 0;
    serrno = errno;
    if (lstat(old, &so) == 0 && lstat(new, &sn) == 0 && so.st_dev == sn.st_dev
        && so.st_ino == sn.st_ino && !S_ISLNK(so.st_mode))
        return 0;
    errno = serrno;
    return -1;
}

/* lock_create - one try: 0 when ours, else -1 with errno; *fstime: the filesystem's clock */
static int lock_create(const char *path, mode_t umask_, time_t *fstime)
{
    struct buf dir = BUF_INIT, tmp = BUF_INIT;
    const char *slash = strrchr(path, '/');
    struct stat st;
    int fd, ret, serrno;

    if (slash)
        buf_add(&dir, path, (size_t) (slash - path) + 1);
    fd = folder_name_create(dir.data, FOLDER_NAME_TEMP, LOCK_PERM & ~umask_, &tmp);
    serrno = errno;
    buf_free(&dir);
    if (fd < 0) {
        buf_free(&tmp);
        errno = serrno;
        return -1;
    }
    /* "0": procmail's pid-less content, the same on every host. */
    ret = write(fd, "0", 1) == 1 ? 0 : -1;
    if (fstat(fd, &st) == 0)
        *fstime = st.st_mtime;
    else
        *fstime = time(NULL);
    if (close(fd) < 0)
        ret = -1;
    serrno = errno;
    if (ret == 0) {
        ret = lock_link(tmp.data, path);
        serrno = errno;
    }
    unlink(tmp.data);
    buf_free(&tmp);
    errno = serrno;
    return ret;
}

/* lock_sysbox - path is the system mailbox's lockfile, made and removed with group gid */
void lock_sysbox(const char *path, gid_t gid)
{
    mem_free(lock_sysbox_path);
    lock_sysbox_path = path ? mem_strdup(path) : 0;
    lock_sysbox_gid = gid;
}

/* lock_sysbox_enter - for the system mailbox's lockfile, the spool's group; 1 when taken */
static int lock_sysbox_enter(const char *path)
{
    if (!lock_sysbox_path || strcmp(path, lock_sysbox_path) != 0 || getegid() == lock_sysbox_gid)
        return 0;
    return setegid(lock_sysbox_gid) == 0; /* when we cannot, we try as we are, as procmail */
}

/* lock_sysbox_leave - back to our own group */
static void lock_sysbox_leave(int entered)
{
    int serrno = errno;

    if (entered && setegid(getgid()) != 0)
        msg_fatal("cannot give back group %ld: %s", (long) lock_sysbox_gid, strerror(errno));
    errno = serrno;
}

/* lock_take - lock_acquire's work, as we are */
static int lock_take(const char *path, const struct lock_opts *opts, struct buf *err)
{
    int transient = LOCK_NFS_TRIES, triedforce = 0;
    struct stat st;
    time_t t = 0;

    for (;;) {
        folder_logf(&opts->log, FOLDER_LOG_VERBOSE, "Locking \"%s\"", path);
        if (lock_create(path, opts->umask, &t) == 0)
            return 0;
        switch (errno) {
        case EEXIST:
            if (lstat(path, &st) == 0 && st.st_size <= LOCK_MAX_SIZE && opts->timeout > 0
                && opts->timeout < (long) (t - st.st_mtime)) {
                if (triedforce)
                    goto fail;
                if (S_ISDIR(st.st_mode) || unlink(path) < 0) {
                    triedforce = 1;
                    folder_logf(&opts->log, FOLDER_LOG_ERROR, "Forced unlock denied on \"%s\"",
                                path);
                } else {
                    folder_logf(&opts->log, FOLDER_LOG_ERROR, "Forcing lock on \"%s\"", path);
                    lock_pause(opts->suspend, opts);
                    goto again;
                }
            } else {
                triedforce = 0;
            }
            transient = LOCK_NFS_TRIES;
            break;
        case ENOSPC:
#ifdef EDQUOT
        case EDQUOT:
#endif
        case ENOENT:
        case ENOTDIR:
        case EIO:
            if (--transient > 0)
                break;
            goto fail;
        default:
            goto fail;
        }
        lock_pause(opts->sleep, opts);
    again:
        if (lock_stopped(opts)) {
            buf_printf(err, "interrupted whilst waiting for lockfile \"%s\"", path);
            return -1;
        }
    }
fail:
    buf_printf(err, "lock failure on \"%s\": %s", path, strerror(errno));
    folder_logf(&opts->log, FOLDER_LOG_ERROR, "Lock failure on \"%s\"", path);
    return -1;
}

/* lock_acquire - take the dotlock path; 0, or -1 with the reason in err */
int lock_acquire(const char *path, const struct lock_opts *opts, struct buf *err)
{
    int entered = lock_sysbox_enter(path), ret = lock_take(path, opts, err);

    lock_sysbox_leave(entered);
    return ret;
}

/* lock_release - remove the dotlock path; 0, or -1 when it would not go */
int lock_release(const char *path, const struct lock_opts *opts)
{
    int entered = lock_sysbox_enter(path), ret = 0;

    folder_logf(&opts->log, FOLDER_LOG_VERBOSE, "Unlocking \"%s\"", path);
    if (unlink(path) < 0) {
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Couldn't unlock \"%s\"", path);
        ret = -1;
    }
    lock_sysbox_leave(entered);
    return ret;
}
