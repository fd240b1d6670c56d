/*
 * folder_dump.c - write a message part the way procmail's dump() does.
 *
 * For mbox files (not raw): every "\nFrom " found by procmail's search
 * gets a '>' after its newline.  procmail searches the header part from
 * realstart to the body, and the body from msg->escape on, each with
 * strstr(): a search ends at a NUL byte, so the rest of that region goes
 * out unescaped.  The search is repeated from the last match on, so it is
 * linear overall; where the next NUL is, is remembered for the same reason.
 *
 * Every type but Maildir then gets a newline unless the part ends in an
 * empty line (raw mode: never).  Writes go through one 64 KB buffer.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "procsort/folder.h"
#include "procsort/folder_int.h"

#define DUMP_BUFSIZE 65536
#define FROM_EXPR "\nFrom "
#define FROM_EXPR_LEN 6

struct dumper {
    int fd;
    char *out;
    size_t n;
    int serrno;            /* first write error, 0 while none */
    const char *text;      /* the whole message */
    size_t len;
    size_t nul_from;       /* the search for a NUL started here ... */
    size_t nul_at;         /* ... and found one here (len: none) */
};

/* dump_flush - write out what is buffered */
static void dump_flush(struct dumper *d)
{
    size_t done = 0;
    ssize_t w;

    while (done < d->n && d->serrno == 0) {
        w = write(d->fd, d->out + done, d->n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            d->serrno = errno;
        } else if (w == 0) {
            d->serrno = EIO;
        } else {
            done += (size_t) w;
        }
    }
    d->n = 0;
}

/* dump_out - queue bytes for writing */
static void dump_out(struct dumper *d, const char *p, size_t len)
{
    size_t room;

    while (len > 0 && d->serrno == 0) {
        room = DUMP_BUFSIZE - d->n;
        if (room > len)
            room = len;
        memcpy(d->out + d->n, p, room);
        d->n += room;
        p += room;
        len -= room;
        if (d->n == DUMP_BUFSIZE)
            dump_flush(d);
    }
}

/* dump_nul - the first NUL at or after pos, or len */
static size_t dump_nul(struct dumper *d, size_t pos)
{
    const char *p;

    if (pos < d->nul_from || pos > d->nul_at) {
        p = memchr(d->text + pos, 0, d->len - pos);
        d->nul_from = pos;
        d->nul_at = p ? (size_t) (p - d->text) : d->len;
    }
    return d->nul_at;
}

/* dump_fifrom - procmail's fifrom(): the first "\nFrom " inside [max(pos, lo), hi) before a NUL */
static int dump_fifrom(struct dumper *d, size_t pos, size_t lo, size_t hi, size_t *at)
{
    size_t s = pos > lo ? pos : lo, stop;
    const char *m;

    if (hi > d->len)
        hi = d->len;
    if (s >= hi)
        return 0;
    stop = dump_nul(d, s);
    if (stop > hi)
        stop = hi;
    if (stop - s < FROM_EXPR_LEN)
        return 0;
    m = memmem(d->text + s, stop - s, FROM_EXPR, FROM_EXPR_LEN);
    if (m == NULL)
        return 0;
    *at = (size_t) (m - d->text);
    return 1;
}

/* dump_chunk - procmail's getchunk(): how much to write before the next '>' */
static size_t dump_chunk(struct dumper *d, const struct folder_msg *msg, size_t pos, size_t left,
                         int *doesc)
{
    size_t at, endp;

    if (pos < msg->body && dump_fifrom(d, pos, msg->start, msg->body, &at))
        goto found;
    if (pos + left > msg->escape) {
        endp = pos + left + FROM_EXPR_LEN - 1;
        if (dump_fifrom(d, pos, msg->escape, endp, &at))
            goto found;
    }
    return left;
found:
    *doesc = 1;
    return at - pos + 1;
}

/* folder_write - write msg's part to fd as dump() does for type; 0, or -1 with errno */
int folder_write(int fd, enum folder_type type, const struct folder_msg *msg,
                 const struct folder_opts *opts, long *written)
{
    struct dumper d;
    size_t pos = msg->from, left = msg->count, part, end = msg->from + msg->count;
    int escaping = type == FOLDER_FILE && !opts->raw, doesc = 0;
    long total = (long) msg->count;

    if (msg->from > msg->len || msg->count > msg->len - msg->from)
        msg_panic("folder_write: part %zu+%zu outside a message of %zu bytes", msg->from,
                  msg->count, msg->len);
    memset(&d, 0, sizeof(d));
    d.fd = fd;
    d.out = mem_alloc(DUMP_BUFSIZE);
    d.text = msg->text;
    d.len = msg->len;
    d.nul_from = d.nul_at = msg->len + 1;
    while (left > 0) {
        part = left;
        if (escaping) {
            if (doesc) {
                dump_out(&d, ">", 1);
                total++;
                doesc = 0;
            }
            part = dump_chunk(&d, msg, pos, left, &doesc);
        }
        dump_out(&d, msg->text + pos, part);
        pos += part;
        left -= part;
    }
    if (!opts->raw && type != FOLDER_MAILDIR
        && (total < 2 || end < 2 || !(msg->text[end - 1] == '\n' && msg->text[end - 2] == '\n'))) {
        dump_out(&d, "\n", 1);
        total++;
    }
    dump_flush(&d);
    mem_free(d.out);
    if (written)
        *written = total;
    if (d.serrno) {
        errno = d.serrno;
        return -1;
    }
    return 0;
}

/* folder_dump - write msg's part to fd as procmail's dump() does, fsync a file, close */
int folder_dump(int fd, enum folder_type type, const struct folder_msg *msg,
                const struct folder_opts *opts, long *written)
{
    int ret, serrno;

    ret = folder_write(fd, type, msg, opts, written);
    serrno = errno;
    if (type != FOLDER_PIPE && fsync(fd) < 0 && errno != EINVAL && ret == 0) {
        ret = -1;
        serrno = errno;
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -1;
        serrno = errno;
    }
    errno = serrno;
    return ret;
}
