/*
 * queue_rec.c - one record of a queue file: "TYPE LENGTH ':' DATA '\n'".
 *
 * Trust: a queue file may be torn by a crash or damaged by hand, so the
 * reader checks the type letter, the length digits (at most
 * QUEUE_REC_DIGITS, at most QUEUE_REC_MAX) and the closing newline before
 * it believes a record; nothing is read past the reader's limit.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/queue.h"
#include "mta-core/queue_rec.h"

#define QUEUE_RD_CHUNK 65536 /* bytes read ahead at a time */

/* queue_rd_init - read fd from pos up to limit (-1: to the end) */
void queue_rd_init(struct queue_rd *rd, int fd, off_t pos, off_t limit)
{
    rd->fd = fd;
    rd->pos = pos;
    rd->limit = limit;
    buf_init(&rd->buf);
    rd->used = 0;
    rd->torn = 0;
}

/* queue_rd_free - release the read-ahead buffer */
void queue_rd_free(struct queue_rd *rd)
{
    buf_free(&rd->buf);
}

/* queue_rd_fill - make at least want bytes available; the count available */
static ssize_t queue_rd_fill(struct queue_rd *rd, size_t want, struct buf *err)
{
    size_t have = rd->buf.len - rd->used;

    if (have >= want)
        return (ssize_t) have;
    if (rd->used > 0) {
        memmove(rd->buf.data, rd->buf.data + rd->used, have);
        buf_truncate(&rd->buf, have);
        rd->used = 0;
    }
    while (have < want) {
        size_t chunk = want - have > QUEUE_RD_CHUNK ? want - have : QUEUE_RD_CHUNK;
        off_t at = rd->pos + (off_t) have;
        ssize_t n;

        if (rd->limit >= 0) {
            if (at >= rd->limit)
                break;
            if ((off_t) chunk > rd->limit - at)
                chunk = (size_t) (rd->limit - at);
        }
        buf_grow(&rd->buf, chunk);
        n = pread(rd->fd, rd->buf.data + have, chunk, at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            buf_printf(err, "read error at offset %lld: %s", (long long) at, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        have += (size_t) n;
        rd->buf.len = have;
        rd->buf.data[have] = 0;
    }
    return (ssize_t) have;
}

/* queue_rd_take - consume n bytes (known to be available) */
static const char *queue_rd_take(struct queue_rd *rd, size_t n)
{
    const char *p = rd->buf.data + rd->used;

    rd->used += n;
    rd->pos += (off_t) n;
    return p;
}

/*
 * queue_rec_get - read the next record.  1: *type and data filled in;
 * 0: clean end (at the limit or at end of file, between records); -1: a
 * malformed or torn record (rd->torn set when the file simply ended inside
 * it) or a read error, with err saying which and where.
 */
int queue_rec_get(struct queue_rd *rd, int *type, struct buf *data, struct buf *err)
{
    off_t start = rd->pos;
    size_t len = 0;
    size_t ndig = 0;
    ssize_t have;
    const char *p;

    rd->torn = 0;
    have = queue_rd_fill(rd, 1 + QUEUE_REC_DIGITS + 1, err);
    if (have < 0)
        return -1;
    if (have == 0)
        return 0;
    p = rd->buf.data + rd->used;
    /* State: the type letter. */
    if (!isupper((unsigned char) p[0])) {
        buf_printf(err, "offset %lld: bad record type byte 0x%02x", (long long) start,
                   (unsigned char) p[0]);
        return -1;
    }
    /* State: length digits, then the colon. */
    for (ndig = 0; 1 + ndig < (size_t) have && isdigit((unsigned char) p[1 + ndig]); ndig++) {
        if (ndig == QUEUE_REC_DIGITS) {
            buf_printf(err, "offset %lld: record length has too many digits", (long long) start);
            return -1;
        }
        len = len * 10 + (size_t) (p[1 + ndig] - '0');
    }
    if (1 + ndig >= (size_t) have) {
        rd->torn = 1;
        buf_printf(err, "offset %lld: file ends inside a record header", (long long) start);
        return -1;
    }
    if (ndig == 0 || p[1 + ndig] != ':') {
        buf_printf(err, "offset %lld: malformed record length", (long long) start);
        return -1;
    }
    if (len > QUEUE_REC_MAX) {
        buf_printf(err, "offset %lld: record length %zu exceeds the limit of %d",
                   (long long) start, len, QUEUE_REC_MAX);
        return -1;
    }
    *type = (unsigned char) p[0];
    queue_rd_take(rd, 1 + ndig + 1);
    /* State: the data, then the closing newline. */
    have = queue_rd_fill(rd, len + 1, err);
    if (have < 0)
        return -1;
    if ((size_t) have < len + 1) {
        rd->torn = 1;
        buf_printf(err, "offset %lld: file ends inside a record", (long long) start);
        return -1;
    }
    p = queue_rd_take(rd, len + 1);
    if (p[len] != '\n') {
        buf_printf(err, "offset %lld: record not terminated by a newline", (long long) start);
        return -1;
    }
    buf_set(data, p, len);
    return 1;
}

/* queue_rec_format - append one record to out */
void queue_rec_format(struct buf *out, int type, const char *data, size_t len)
{
    buf_printf(out, "%c%zu:", type, len);
    buf_add(out, data, len);
    buf_addch(out, '\n');
}

/* queue_rec_put - write one record to a stream; -1 on a write error */
int queue_rec_put(FILE *fp, int type, const char *data, size_t len)
{
    if (fprintf(fp, "%c%zu:", type, len) < 0)
        return -1;
    if (len > 0 && fwrite(data, 1, len, fp) != len)
        return -1;
    if (putc('\n', fp) == EOF)
        return -1;
    return 0;
}

/*
 * queue_append_records - add records (formatted with queue_format_*) to a
 * committed queue file with a single write(2) on fd (opened O_APPEND),
 * then fsync; a short write is cut back off so that the file stays
 * well-formed.  Several records in one write cost one fsync; a crash in
 * the middle leaves a torn last record, which readers ignore.
 */
static int queue_append_sync(int fd, const struct buf *records, int sync, struct buf *err)
{
    off_t before = lseek(fd, 0, SEEK_END);
    ssize_t n;

    do {
        n = write(fd, records->data, records->len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t) n != records->len) {
        buf_printf(err, "append to queue file: %s", n < 0 ? strerror(errno) : "short write");
        if (n > 0 && before >= 0 && ftruncate(fd, before) < 0)
            buf_printf(err, "; truncate: %s", strerror(errno));
        return -1;
    }
    if (sync && fsync(fd) < 0) {
        buf_printf(err, "fsync queue file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* queue_append_records - see above: one write, one fsync */
int queue_append_records(int fd, const struct buf *records, struct buf *err)
{
    return queue_append_sync(fd, records, 1, err);
}

/* queue_append - add one record (see queue_append_records) */
int queue_append(int fd, int type, const char *data, size_t len, struct buf *err)
{
    struct buf rec = BUF_INIT;
    int rc;

    queue_rec_format(&rec, type, data, len);
    rc = queue_append_records(fd, &rec, err);
    buf_free(&rec);
    return rc;
}

/* queue_format_record - append one record of any type to out */
void queue_format_record(struct buf *out, int type, const char *data, size_t len)
{
    queue_rec_format(out, type, data, len);
}

/* queue_format_target - append a Y record (one delivery target of a recipient) to out */
void queue_format_target(struct buf *out, size_t parent, const char *kind, uid_t uid, gid_t gid,
                         const char *alias, const char *target)
{
    struct buf data = BUF_INIT;

    buf_printf(&data, "%zu\t%s\t%ld\t%ld\t%s\t%s", parent, kind, (long) uid, (long) gid, alias, target);
    queue_rec_format(out, 'Y', data.data, data.len);
    buf_free(&data);
}

/* queue_format_status - append a D record (what became of one target) to out */
void queue_format_status(struct buf *out, size_t target, const char *status, const char *dsn, long when,
                         const char *text)
{
    struct buf data = BUF_INIT;
    const char *p;

    buf_printf(&data, "%zu\t%s\t%s\t%ld\t", target, status, dsn, when);
    /* The text is free-form but one line: no record is split by it. */
    for (p = text; *p; p++)
        buf_addch(&data, *p == '\n' || *p == '\r' ? ' ' : *p);
    queue_rec_format(out, 'D', data.data, data.len);
    buf_free(&data);
}

/* queue_append_target - a Y record: one delivery target of a recipient */
int queue_append_target(int fd, size_t parent, const char *kind, uid_t uid, gid_t gid,
                        const char *alias, const char *target, struct buf *err)
{
    struct buf rec = BUF_INIT;
    int rc;

    queue_format_target(&rec, parent, kind, uid, gid, alias, target);
    rc = queue_append_records(fd, &rec, err);
    buf_free(&rec);
    return rc;
}

/*
 * queue_append_status - a D record (a delivery result), one write and no
 * fsync, as Postfix marks a recipient done: lost in a crash, the target is
 * delivered again (a duplicate, never a loss).
 */
int queue_append_status(int fd, size_t target, const char *status, const char *dsn,
                        long when, const char *text, struct buf *err)
{
    struct buf rec = BUF_INIT;
    int rc;

    queue_format_status(&rec, target, status, dsn, when, text);
    rc = queue_append_sync(fd, &rec, 0, err);
    buf_free(&rec);
    return rc;
}
