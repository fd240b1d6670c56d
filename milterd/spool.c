/*
 * spool.c - memory first, then an unlinked temporary file.
 *
 * Writes go to a memory buffer until it would pass memory_limit; then the
 * buffer is copied to a new file (O_TMPFILE in tmpdir, or mkstemp plus
 * unlink where O_TMPFILE is not supported) and all later writes go there
 * through a small write buffer.  spool_fd() moves the data to a file when
 * it is still in memory, since a file descriptor is what the caller wants
 * then.  Reading starts with spool_rewind().
 *
 * A write error (disk full) is remembered: later writes are ignored and
 * spool_failed() says so, so that the caller can answer with a temporary
 * failure at the end of the message instead of at every chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "milterd/spool.h"

#define SPOOL_WRITE_BUFFER 65536 /* bytes gathered before one write(2) */

struct spool {
    char *tmpdir;
    size_t memory_limit;
    struct buf mem;   /* the data while in memory; the write buffer after */
    int fd;           /* -1 while in memory */
    off_t read_pos;   /* for reading from memory */
    int failed;
};

/* spool_new - an empty spool */
struct spool *spool_new(const char *tmpdir, size_t memory_limit)
{
    struct spool *spool = mem_zalloc(sizeof(*spool));

    spool->tmpdir = mem_strdup(tmpdir && *tmpdir ? tmpdir : "/tmp");
    spool->memory_limit = memory_limit;
    buf_init(&spool->mem);
    spool->fd = -1;
    return spool;
}

/* spool_free - close and forget (NULL is fine) */
void spool_free(struct spool *spool)
{
    if (spool == NULL)
        return;
    if (spool->fd >= 0)
        close(spool->fd);
    buf_free(&spool->mem);
    mem_free(spool->tmpdir);
    mem_free(spool);
}

static int spool_write_all(struct spool *spool, const char *data, size_t len, struct buf *err)
{
    while (len > 0) {
        ssize_t n = write(spool->fd, data, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            buf_printf(err, "write temporary file in %s: %s", spool->tmpdir, strerror(errno));
            spool->failed = 1;
            return -1;
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static int spool_flush(struct spool *spool, struct buf *err)
{
    if (spool->fd < 0 || spool->mem.len == 0)
        return 0;
    if (spool_write_all(spool, spool->mem.data, spool->mem.len, err) < 0)
        return -1;
    buf_reset(&spool->mem);
    return 0;
}

/* spool_to_file - create the file and move the memory content there */
static int spool_to_file(struct spool *spool, struct buf *err)
{
    int fd;

    fd = open(spool->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        struct buf path = BUF_INIT;

        buf_printf(&path, "%s/milterd.XXXXXX", spool->tmpdir);
        fd = mkostemp(path.data, O_CLOEXEC);
        if (fd >= 0)
            unlink(path.data);
        buf_free(&path);
    }
    if (fd < 0) {
        buf_printf(err, "create temporary file in %s: %s", spool->tmpdir, strerror(errno));
        spool->failed = 1;
        return -1;
    }
    spool->fd = fd;
    return spool_flush(spool, err);
}

/* spool_write - append bytes; 0, or -1 with err set (and the spool failed) */
int spool_write(struct spool *spool, const void *data, size_t len, struct buf *err)
{
    if (spool->failed)
        return -1;
    if (spool->fd < 0 && spool->mem.len + len > spool->memory_limit
        && spool_to_file(spool, err) < 0)
        return -1;
    if (spool->fd >= 0 && spool->mem.len + len > SPOOL_WRITE_BUFFER) {
        if (spool_flush(spool, err) < 0)
            return -1;
        if (len > SPOOL_WRITE_BUFFER) {
            if (spool_write_all(spool, data, len, err) < 0)
                return -1;
            return 0;
        }
    }
    buf_add(&spool->mem, data, len);
    return 0;
}

/* spool_fd - the data as a file, positioned at its start; -1 with err set */
int spool_fd(struct spool *spool, struct buf *err)
{
    if (spool->failed)
        return -1;
    if (spool->fd < 0 && spool_to_file(spool, err) < 0)
        return -1;
    if (spool_flush(spool, err) < 0)
        return -1;
    if (lseek(spool->fd, 0, SEEK_SET) < 0) {
        buf_printf(err, "seek temporary file: %s", strerror(errno));
        return -1;
    }
    return spool->fd;
}

/* spool_rewind - get ready to read from the start */
int spool_rewind(struct spool *spool, struct buf *err)
{
    if (spool->failed)
        return -1;
    spool->read_pos = 0;
    if (spool->fd < 0)
        return 0;
    return spool_fd(spool, err) < 0 ? -1 : 0;
}

/* spool_read - up to len bytes; 0 at the end, -1 with err set */
ssize_t spool_read(struct spool *spool, void *data, size_t len, struct buf *err)
{
    ssize_t n;

    if (spool->fd < 0) {
        size_t left = spool->mem.len - (size_t) spool->read_pos;

        if (len > left)
            len = left;
        memcpy(data, spool->mem.data + spool->read_pos, len);
        spool->read_pos += (off_t) len;
        return (ssize_t) len;
    }
    do
        n = read(spool->fd, data, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        buf_printf(err, "read temporary file: %s", strerror(errno));
    return n;
}

/* spool_failed - a write has failed */
int spool_failed(const struct spool *spool)
{
    return spool->failed;
}
