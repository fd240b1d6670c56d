/*
 * local_mbox.c - appending to an mbox file and writing into a Maildir, the
 * two ways local delivery writes a mailbox itself.
 *
 * mbox: locked with a dot-lock (PATH.lock, as procmail and mutt do; skipped
 * when the directory is not writable) and an fcntl() lock, as Debian's
 * Postfix does (mailbox_delivery_lock = fcntl, dotlock); the message is
 * appended in mbox format and fsynced; on any error the file is cut back
 * to its old size, so a failed delivery leaves no half message.
 *
 * Maildir: written to tmp/, fsynced, linked into new/ under a name made of
 * time, device, inode and microseconds (Postfix's scheme), and new/ is
 * fsynced; the directories are created when missing.
 *
 * Trust: the path comes from the configuration and the recipient's home;
 * the caller already runs with the recipient's privileges, so the kernel
 * decides what may be written.  O_NOFOLLOW: a symlink as mailbox is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/local_copy.h"
#include "mta-core/local_mbox.h"
#include "mta-core/queue.h"

#define LOCAL_LOCK_TRIES 200       /* 100 ms apart: 20 seconds for a lock */
#define LOCAL_LOCK_STALE 300       /* a dot-lock older than this is removed */

/* local_dotlock - take PATH.lock; 1 taken, 0 not possible here (skip), -1 busy */
static int local_dotlock(const char *lock)
{
    int i;

    for (i = 0; i < LOCAL_LOCK_TRIES; i++) {
        struct stat st;
        int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        if (fd >= 0) {
            close(fd);
            return 1;
        }
        if (errno != EEXIST)
            return 0; /* EACCES and friends: a directory we may not write */
        if (stat(lock, &st) == 0 && time(NULL) - st.st_mtime > LOCAL_LOCK_STALE)
            unlink(lock);
        else
            usleep(100000);
    }
    return -1;
}

/* local_fcntl_lock - an exclusive fcntl() lock on fd; 0, or -1 when it stays busy */
static int local_fcntl_lock(int fd)
{
    struct flock fl;
    int i;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    for (i = 0; i < LOCAL_LOCK_TRIES; i++) {
        if (fcntl(fd, F_SETLK, &fl) == 0)
            return 0;
        if (errno != EACCES && errno != EAGAIN)
            return -1;
        usleep(100000);
    }
    errno = EAGAIN;
    return -1;
}

/*
 * local_mbox_append - append the message to the mbox file path (created
 * mode 0600 when missing); what happened goes into res, with what (e.g.
 * "mailbox PATH for user USER", "file PATH") naming the destination in
 * error texts.
 */
void local_mbox_append(const struct local_request *req, const char *path, const char *delivered,
                       const char *what, struct local_result *res)
{
    struct local_fd_sink sink;
    struct buf lock = BUF_INIT, why = BUF_INIT;
    struct stat st;
    int fd, dot, rc;
    off_t size;

    buf_printf(&lock, "%s.lock", path);
    dot = local_dotlock(lock.data);
    if (dot < 0) {
        local_result_set(res, "deferred", "4.2.0", "cannot update %s. unable to create lock file %s: %s",
                         what, lock.data, "lock is busy");
        buf_free(&lock);
        return;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;

        local_result_set(res, local_mbox_dsn(e, "5.2.0")[0] == '4' ? "deferred" : "bounced",
                         local_mbox_dsn(e, "5.2.0"), "cannot update %s. cannot open file: %s", what, strerror(e));
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        local_result_set(res, "bounced", "5.2.0", "cannot update %s. destination is not a regular file", what);
        close(fd);
        goto out;
    }
    if (local_fcntl_lock(fd) < 0) {
        local_result_set(res, "deferred", "4.2.0", "cannot update %s. unable to lock for exclusive access: %s",
                         what, strerror(errno));
        close(fd);
        goto out;
    }
    size = lseek(fd, 0, SEEK_END);
    local_fd_sink_init(&sink, fd);
    rc = local_copy(req, delivered, LOCAL_COPY_MBOX, &sink.sink, &why);
    if (rc == 0 && local_fd_flush(&sink) < 0)
        rc = LOCAL_COPY_WRITE_ERROR;
    if (rc == 0 && fsync(fd) < 0)
        rc = LOCAL_COPY_WRITE_ERROR;
    if (rc == LOCAL_COPY_WRITE_ERROR) {
        int e = errno;
        const char *dsn = local_mbox_dsn(e, "5.2.0");

        local_result_set(res, dsn[0] == '4' ? "deferred" : "bounced", dsn,
                         "cannot update %s. error writing message: %s", what, strerror(e));
    } else if (rc == LOCAL_COPY_READ_ERROR) {
        local_result_set(res, "deferred", "4.3.0", "error reading queue file: %s", why.data);
    } else {
        local_result_set(res, "sent", "2.0.0", "delivered to mailbox");
    }
    if (rc != 0 && ftruncate(fd, size) < 0)
        buf_printf(&res->text, "; cannot truncate back: %s", strerror(errno));
    local_fd_sink_free(&sink);
    close(fd); /* releases the fcntl lock */
out:
    if (dot > 0)
        unlink(lock.data);
    buf_free(&lock);
    buf_free(&why);
}

/* local_mkdirs - mkdir -p, mode 0700; one stat() when the directory is there already */
static int local_mkdirs(const char *path)
{
    struct stat st;
    char *copy;
    char *p;
    int rc = 0;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    copy = mem_strdup(path);

    for (p = copy + 1; *p && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (rc == 0 && mkdir(copy, 0700) < 0 && errno != EEXIST)
        rc = -1;
    mem_free(copy);
    return rc;
}

static unsigned local_maildir_seq;

/* local_maildir_deliver - write the message into the Maildir dir (ending in '/') */
void local_maildir_deliver(const struct local_request *req, const char *dir, const char *delivered,
                           const char *what, struct local_result *res)
{
    struct buf tmp = BUF_INIT, newname = BUF_INIT, sub = BUF_INIT, why = BUF_INIT;
    struct local_fd_sink sink;
    struct timeval tv;
    struct stat st;
    const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
    const char *sub_names[] = {"tmp", "new", "cur"};
    int fd, rc, i;

    for (i = 0; i < 3; i++) {
        buf_reset(&sub);
        buf_printf(&sub, "%s%s%s", dir, sep, sub_names[i]);
        if (local_mkdirs(sub.data) < 0) {
            int e = errno;
            const char *dsn = local_mbox_dsn(e, "5.2.0");

            local_result_set(res, dsn[0] == '4' ? "deferred" : "bounced", dsn,
                             "cannot update %s. create maildir directory %s: %s", what, sub.data, strerror(e));
            goto out;
        }
    }
    gettimeofday(&tv, NULL);
    buf_printf(&tmp, "%s%stmp/%ld.P%ldQ%u.%s", dir, sep, (long) tv.tv_sec, (long) getpid(),
               local_maildir_seq++, req->queue_id);
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        const char *dsn = local_mbox_dsn(e, "5.2.0");

        local_result_set(res, dsn[0] == '4' ? "deferred" : "bounced", dsn,
                         "cannot update %s. create maildir file %s: %s", what, tmp.data, strerror(e));
        goto out;
    }
    local_fd_sink_init(&sink, fd);
    rc = local_copy(req, delivered, LOCAL_COPY_MAILDIR, &sink.sink, &why);
    if (rc == 0 && local_fd_flush(&sink) < 0)
        rc = LOCAL_COPY_WRITE_ERROR;
    if (rc == 0 && (fsync(fd) < 0 || fstat(fd, &st) < 0))
        rc = LOCAL_COPY_WRITE_ERROR;
    local_fd_sink_free(&sink);
    if (close(fd) < 0 && rc == 0)
        rc = LOCAL_COPY_WRITE_ERROR;
    if (rc == 0) {
        buf_printf(&newname, "%s%snew/%ld.V%lxI%lxM%ld.%s", dir, sep, (long) tv.tv_sec,
                   (unsigned long) st.st_dev, (unsigned long) st.st_ino, (long) tv.tv_usec, req->queue_id);
        if (link(tmp.data, newname.data) < 0)
            rc = LOCAL_COPY_WRITE_ERROR;
    }
    if (rc == LOCAL_COPY_WRITE_ERROR) {
        int e = errno;
        const char *dsn = local_mbox_dsn(e, "5.2.0");

        local_result_set(res, dsn[0] == '4' ? "deferred" : "bounced", dsn,
                         "cannot update %s. error writing message: %s", what, strerror(e));
    } else if (rc == LOCAL_COPY_READ_ERROR) {
        local_result_set(res, "deferred", "4.3.0", "error reading queue file: %s", why.data);
    } else {
        buf_reset(&sub);
        buf_printf(&sub, "%s%snew", dir, sep);
        fd = open(sub.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            if (fsync(fd) < 0)
                rc = LOCAL_COPY_WRITE_ERROR;
            close(fd);
        }
        if (rc == 0)
            local_result_set(res, "sent", "2.0.0", "delivered to maildir");
        else
            local_result_set(res, "deferred", "4.2.0", "cannot update %s. fsync %s: %s", what, sub.data,
                             strerror(errno));
    }
    unlink(tmp.data);
out:
    buf_free(&tmp);
    buf_free(&newname);
    buf_free(&sub);
    buf_free(&why);
}
