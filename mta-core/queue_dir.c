/*
 * queue_dir.c - the queue directories: creating them, finding a message,
 * moving it from one queue to another, listing a queue, and cleaning up
 * after a crash.
 *
 * Moves are renames within one file system, never replacing a file, and
 * the directory a file arrives in is fsynced: a message is always in
 * exactly one queue, whoever moves it (the queue manager or mtaq) and
 * whenever the power goes.
 *
 * Trust: ids from users pass queue_id_ok() before they get here; names
 * read from a directory are checked the same way, and anything else
 * (editor backups, our own .tmp- files) is left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"

#define QUEUE_TMP_PREFIX ".tmp-"
#define QUEUE_TMP_MAX_AGE (24 * 3600) /* a temp file this old is garbage, whoever made it */

const char *const queue_names[] = {QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, NULL};

/* queue_path - "queue_dir/queue/id" into out */
void queue_path(struct buf *out, const char *queue_dir, const char *queue, const char *id)
{
    buf_reset(out);
    buf_printf(out, "%s/%s/%s", queue_dir, queue, id);
}

/*
 * queue_mkdir - one directory, mode 0700 unless it exists; as root, a
 * queue gets the owner of the queue directory (the mail owner), whoever
 * creates it, so that the SMTP side and the queue manager can share it
 * when only one of them runs as root.
 */
static int queue_mkdir(const char *path, const struct stat *owner, struct buf *err)
{
    struct stat st;

    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        buf_printf(err, "create directory %s: %s", path, strerror(errno));
        return -1;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        buf_printf(err, "%s: not a directory", path);
        return -1;
    }
    if (owner && geteuid() == 0 && (st.st_uid != owner->st_uid || st.st_gid != owner->st_gid) &&
        chown(path, owner->st_uid, owner->st_gid) < 0) {
        buf_printf(err, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* queue_init_dirs - create the queue directory and its queues */
int queue_init_dirs(const char *queue_dir, struct buf *err)
{
    struct buf path = BUF_INIT;
    struct stat top;
    int i;
    int rc = 0;

    if (queue_mkdir(queue_dir, NULL, err) < 0 || stat(queue_dir, &top) < 0)
        return -1;
    for (i = 0; queue_names[i] && rc == 0; i++) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", queue_dir, queue_names[i]);
        rc = queue_mkdir(path.data, &top, err);
    }
    if (rc == 0) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", queue_dir, QUEUE_CORRUPT);
        rc = queue_mkdir(path.data, &top, err);
    }
    buf_free(&path);
    return rc;
}

/* queue_fsync_dir - make the names in a directory durable */
int queue_fsync_dir(const char *dir, struct buf *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        buf_printf(err, "open directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (fsync(fd) < 0) {
        buf_printf(err, "fsync directory %s: %s", dir, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* queue_find - the queue that holds id, or NULL */
const char *queue_find(const char *queue_dir, const char *id)
{
    struct buf path = BUF_INIT;
    struct stat st;
    int i;

    if (!queue_id_ok(id))
        return NULL;
    for (i = 0; queue_names[i]; i++) {
        queue_path(&path, queue_dir, queue_names[i], id);
        if (lstat(path.data, &st) == 0 && S_ISREG(st.st_mode)) {
            buf_free(&path);
            return queue_names[i];
        }
    }
    buf_free(&path);
    return NULL;
}

/* queue_move_sync - rename id from one queue to another, the destination fsynced when sync */
static int queue_move_sync(const char *queue_dir, const char *id, const char *from, const char *to,
                           int sync, struct buf *err)
{
    struct buf src = BUF_INIT;
    struct buf dst = BUF_INIT;
    int rc = 0;
    int saved;

    queue_path(&src, queue_dir, from, id);
    queue_path(&dst, queue_dir, to, id);
    if (renameat2(AT_FDCWD, src.data, AT_FDCWD, dst.data, RENAME_NOREPLACE) < 0) {
        if ((errno == EINVAL || errno == ENOSYS) && link(src.data, dst.data) == 0) {
            unlink(src.data);
        } else {
            saved = errno;
            buf_printf(err, "%s: move from %s to %s: %s", id, from, to, strerror(errno));
            rc = -1;
            errno = saved;
        }
    }
    if (rc == 0 && sync) {
        buf_reset(&src);
        buf_printf(&src, "%s/%s", queue_dir, to);
        rc = queue_fsync_dir(src.data, err);
    }
    buf_free(&src);
    buf_free(&dst);
    return rc;
}

/* queue_move - rename id from one queue to another, durably; -1 with err (errno kept) */
int queue_move(const char *queue_dir, const char *id, const char *from, const char *to,
               struct buf *err)
{
    return queue_move_sync(queue_dir, id, from, to, 1, err);
}

/* queue_move_nosync - queue_move() without the directory fsync (see queue.h) */
int queue_move_nosync(const char *queue_dir, const char *id, const char *from, const char *to,
                      struct buf *err)
{
    return queue_move_sync(queue_dir, id, from, to, 0, err);
}

/* queue_remove_sync - delete id from a queue, the directory fsynced when sync */
static int queue_remove_sync(const char *queue_dir, const char *queue, const char *id, int sync,
                             struct buf *err)
{
    struct buf path = BUF_INIT;
    int rc = 0;

    queue_path(&path, queue_dir, queue, id);
    if (unlink(path.data) < 0) {
        int saved = errno;

        buf_printf(err, "%s: remove from %s: %s", id, queue, strerror(errno));
        errno = saved;
        rc = -1;
    } else if (sync) {
        buf_reset(&path);
        buf_printf(&path, "%s/%s", queue_dir, queue);
        rc = queue_fsync_dir(path.data, err);
    }
    buf_free(&path);
    return rc;
}

/* queue_remove - delete id from a queue, durably; -1 with err (errno kept) */
int queue_remove(const char *queue_dir, const char *queue, const char *id, struct buf *err)
{
    return queue_remove_sync(queue_dir, queue, id, 1, err);
}

/* queue_remove_nosync - queue_remove() without the directory fsync (see queue.h) */
int queue_remove_nosync(const char *queue_dir, const char *queue, const char *id, struct buf *err)
{
    return queue_remove_sync(queue_dir, queue, id, 0, err);
}

static int queue_id_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *) a;
    const char *y = *(const char *const *) b;
    size_t lx = strlen(x), ly = strlen(y);

    /* Same width sorts by arrival; the shorter inode part first otherwise. */
    if (lx >= 11 && ly >= 11) {
        int c = strncmp(x, y, 10);

        if (c)
            return c;
    }
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x, y);
}

/* queue_scan - the ids in one queue, oldest first */
int queue_scan(const char *queue_dir, const char *queue, char ***idsp, size_t *countp,
               struct buf *err)
{
    struct buf path = BUF_INIT;
    struct dirent *de;
    DIR *dir;
    char **ids = NULL;
    size_t n = 0, alloc = 0;

    buf_printf(&path, "%s/%s", queue_dir, queue);
    dir = opendir(path.data);
    if (dir == NULL) {
        buf_printf(err, "open directory %s: %s", path.data, strerror(errno));
        buf_free(&path);
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (!queue_id_ok(de->d_name))
            continue;
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            ids = mem_realloc_array(ids, alloc, sizeof(*ids));
        }
        ids[n++] = mem_strdup(de->d_name);
    }
    closedir(dir);
    buf_free(&path);
    if (n > 1)
        qsort(ids, n, sizeof(*ids), queue_id_cmp);
    *idsp = ids;
    *countp = n;
    return 0;
}

/* queue_ids_free - release what queue_scan() returned */
void queue_ids_free(char **ids, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++)
        mem_free(ids[i]);
    mem_free(ids);
}

/*
 * queue_recover - remove the temp files of writers that are gone (a crash
 * between queue_create() and queue_commit(): the client never got 250).
 */
int queue_recover(const char *queue_dir, struct buf *err)
{
    struct buf path = BUF_INIT;
    struct dirent *de;
    struct stat st;
    DIR *dir;
    time_t now = time(NULL);

    buf_printf(&path, "%s/%s", queue_dir, QUEUE_INCOMING);
    dir = opendir(path.data);
    if (dir == NULL) {
        buf_printf(err, "open directory %s: %s", path.data, strerror(errno));
        buf_free(&path);
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        const char *p;
        char *end;
        long pid;
        int gone;

        if (strncmp(de->d_name, QUEUE_TMP_PREFIX, strlen(QUEUE_TMP_PREFIX)) != 0)
            continue;
        p = de->d_name + strlen(QUEUE_TMP_PREFIX);
        pid = strtol(p, &end, 10);
        gone = end == p || *end != '-' || pid <= 0 || pid == (long) getpid() ||
               (kill((pid_t) pid, 0) < 0 && errno == ESRCH);
        buf_reset(&path);
        buf_printf(&path, "%s/%s/%s", queue_dir, QUEUE_INCOMING, de->d_name);
        if (!gone && lstat(path.data, &st) == 0 && now - st.st_mtime > QUEUE_TMP_MAX_AGE)
            gone = 1;
        if (!gone)
            continue;
        if (unlink(path.data) == 0)
            msg_info("removed uncommitted queue file %s", path.data);
        else if (errno != ENOENT)
            msg_warn("remove uncommitted queue file %s: %m", path.data);
    }
    closedir(dir);
    buf_free(&path);
    return 0;
}
