/*
 * folder_mbox.c - append a message to an mbox file, as procmail does.
 *
 * Order, as procmail's writefolder()/dump(): the new-mail mark (o+x, see
 * folder.h), the dotlock when asked ($DEFAULT), open with O_APPEND, the
 * fcntl lock from the end of the file, note the size, write with "From "
 * escaping, fsync.  Unlike procmail, a failed write is truncated back
 * through the descriptor while the locks are still held (procmail
 * truncates by name after unlocking), and also under `i`: the message is
 * then reported delivered, as procmail reports it, but no torn message is
 * left for the next one to be glued to.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/folder.h"
#include "procsort/folder_int.h"
#include "procsort/lock.h"

/* mbox_lock_opts - the lock settings carried in the folder options */
static void mbox_lock_opts(struct lock_opts *lo, const struct folder_opts *opts)
{
    lock_opts_init(lo);
    lo->timeout = opts->locktimeout;
    lo->sleep = opts->locksleep;
    lo->suspend = opts->suspend;
    lo->umask = opts->umask;
    lo->log = opts->log;
    lo->stop = opts->stop;
}

/* mbox_mark_new - make atime < mtime, the new-mail sign procmail sleeps a second for */
static void mbox_mark_new(int fd)
{
    struct timespec ts[2];
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_atim.tv_sec < st.st_mtim.tv_sec)
        return;
    ts[0].tv_sec = st.st_mtim.tv_sec - 1;
    ts[0].tv_nsec = 0;
    ts[1].tv_sec = 0;
    ts[1].tv_nsec = UTIME_OMIT;
    (void) futimens(fd, ts);
}

/* folder_mbox - append msg's part to the mbox name; 0 delivered, -1 not */
int folder_mbox(const char *name, mode_t mode, const struct folder_msg *msg,
                const struct folder_opts *opts, long *written, struct buf *err)
{
    struct buf lockname = BUF_INIT;
    struct lock_opts lo;
    struct folder_opts raw;
    int devnull = strcmp(name, "/dev/null") == 0, locked = 0, fd, ret, serrno;
    off_t size;

    mbox_lock_opts(&lo, opts);
    if (!devnull)
        folder_update_mark(name, mode, opts);
    if (opts->dotlock && !devnull) {
        buf_printf(&lockname, "%s%s", name, opts->lockext ? opts->lockext : ".lock");
        /* procmail writes on when the lock fails; so do we. */
        if (opts->globlock == NULL || strcmp(opts->globlock, lockname.data) != 0)
            locked = lock_acquire(lockname.data, &lo, err) == 0;
        buf_reset(err);
    }
    folder_logf(&opts->log, FOLDER_LOG_LASTFOLDER, "%s", name);
    folder_logf(&opts->log, FOLDER_LOG_VERBOSE, "Opening \"%s\"", name);
    fd = open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, FOLDER_FILE_PERM);
    if (fd < 0) {
        serrno = errno;
        ret = opts->ignore_errors ? 0 : -1;
        if (ret < 0)
            folder_write_error(opts, serrno, name, err);
        goto out;
    }
    if (devnull) {
        raw = *opts;
        raw.raw = 1;
        ret = folder_dump(fd, FOLDER_PIPE, msg, &raw, written);
        if (ret < 0 && !opts->ignore_errors)
            folder_write_error(opts, errno, name, err);
        else
            ret = 0;
        goto out;
    }
    (void) lseek(fd, 0, SEEK_END);
    if (lock_kernel(fd, opts->timeout, &lo) < 0)
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Kernel-lock failed");
    size = lseek(fd, 0, SEEK_END);
    ret = folder_write(fd, FOLDER_FILE, msg, opts, written);
    serrno = errno;
    if (fsync(fd) < 0 && errno != EINVAL && ret == 0) {
        ret = -1;
        serrno = errno;
    }
    if (ret < 0 && !opts->ignore_errors)
        folder_write_error(opts, serrno, name, err);
    if (ret < 0 && size >= 0 && ftruncate(fd, size) == 0 && !opts->ignore_errors)
        folder_logf(&opts->log, FOLDER_LOG_NOTE, "Truncated file to former size");
    if (ret == 0 && !opts->raw)
        mbox_mark_new(fd);
    if (lock_kernel_release(fd) < 0)
        folder_logf(&opts->log, FOLDER_LOG_ERROR, "Kernel-unlock failed");
    if (close(fd) < 0 && ret == 0) {
        ret = -1;
        serrno = errno;
        if (!opts->ignore_errors)
            folder_write_error(opts, serrno, name, err);
    }
    if (opts->ignore_errors)
        ret = 0;
out:
    if (locked)
        lock_release(lockname.data, &lo);
    buf_free(&lockname);
    return ret;
}
