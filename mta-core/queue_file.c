/*
 * queue_file.c - writing one message into the queue, durably.
 *
 * The file is created as incoming/.tmp-PID-N, which no reader looks at; the
 * content streams into it as it arrives; the envelope is kept in memory
 * (so that a milter may still change it) and written after the content at
 * commit time.  queue_commit() is the only way a message enters a queue:
 * the file is flushed and fsynced, renamed to its id in incoming/ (or
 * hold/), and that directory is fsynced.  Only then may the caller say 250.
 *
 * Trust: the caller (smtpd) hands us bytes from the network; nothing here
 * interprets them, they are only cut into records.  Every write error is
 * remembered and turns the commit into a failure (the client gets 4xx and
 * the file is removed): no message is acknowledged that is not on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/queue_id.h"
#include "mta-core/queue_rec.h"

#define QUEUE_STDIO_BUF 65536 /* stdio buffer for the queue file */

struct queue_file {
    char id[QUEUE_ID_SIZE];
    char *queue_dir;
    struct buf tmp_path;
    int fd;
    FILE *fp;
    off_t c_offset;         /* offset of the C record's data */
    off_t content_start;    /* just after the M record */
    struct timeval arrival;
    struct buf pending;     /* a content line not yet ended */
    size_t size;            /* content bytes so far */
    int error;              /* errno of the first write error, or 0 */
    char *sender;
    struct queue_attr *params;
    size_t nparams;
    struct queue_attr *attrs;
    size_t nattrs;
    struct queue_rcpt *rcpts;
    size_t nrcpt;
    size_t rcpt_alloc;
    char *hold_reason;
};

static unsigned long queue_tmp_seq;

/* queue_file_fail - remember the first write error */
static void queue_file_fail(struct queue_file *qf)
{
    if (qf->error == 0)
        qf->error = errno ? errno : EIO;
}

/* queue_file_put - write a record, remembering errors */
static void queue_file_put(struct queue_file *qf, int type, const char *data, size_t len)
{
    if (qf->error == 0 && queue_rec_put(qf->fp, type, data, len) < 0)
        queue_file_fail(qf);
}

/* queue_create - a new queue file in incoming/; NULL with err when impossible */
struct queue_file *queue_create(const char *queue_dir, struct buf *err)
{
    struct queue_file *qf;
    struct stat st;
    char c_data[QUEUE_C_LEN + 1];
    char tbuf[64];
    int fd = -1;
    int tries;

    qf = mem_zalloc(sizeof(*qf));
    buf_init(&qf->tmp_path);
    buf_init(&qf->pending);
    for (tries = 0; tries < 100; tries++) {
        buf_reset(&qf->tmp_path);
        buf_printf(&qf->tmp_path, "%s/%s/.tmp-%ld-%lu", queue_dir, QUEUE_INCOMING,
                   (long) getpid(), queue_tmp_seq++);
        fd = open(qf->tmp_path.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        buf_printf(err, "create queue file %s: %s", qf->tmp_path.data, strerror(errno));
        buf_free(&qf->tmp_path);
        buf_free(&qf->pending);
        mem_free(qf);
        return NULL;
    }
    qf->fd = fd;
    qf->queue_dir = mem_strdup(queue_dir);
    if (fstat(fd, &st) < 0 || (qf->fp = fdopen(fd, "w")) == NULL) {
        buf_printf(err, "open queue file %s: %s", qf->tmp_path.data, strerror(errno));
        if (qf->fp == NULL)
            close(fd);
        unlink(qf->tmp_path.data);
        qf->fp = NULL;
        queue_abort(qf);
        return NULL;
    }
    setvbuf(qf->fp, NULL, _IOFBF, QUEUE_STDIO_BUF);
    gettimeofday(&qf->arrival, NULL);
    queue_id_make(qf->id, &qf->arrival, st.st_ino);
    qf->sender = mem_strdup("");

    queue_file_put(qf, 'V', QUEUE_VERSION, strlen(QUEUE_VERSION));
    snprintf(c_data, sizeof(c_data), QUEUE_C_FORMAT, 0LL, (size_t) 0, (size_t) 0);
    qf->c_offset = ftello(qf->fp) + (off_t) strlen("C:") + 2; /* "C40:" */
    queue_file_put(qf, 'C', c_data, QUEUE_C_LEN);
    snprintf(tbuf, sizeof(tbuf), "%lld.%06ld", (long long) qf->arrival.tv_sec,
             (long) qf->arrival.tv_usec);
    queue_file_put(qf, 'T', tbuf, strlen(tbuf));
    queue_file_put(qf, 'M', "", 0);
    qf->content_start = ftello(qf->fp);
    return qf;
}

/* queue_file_id - the id the message will have */
const char *queue_file_id(const struct queue_file *qf)
{
    return qf->id;
}

/* queue_set_sender - the envelope sender ("" for <>) */
void queue_set_sender(struct queue_file *qf, const char *sender)
{
    mem_free(qf->sender);
    qf->sender = mem_strdup(sender);
}

static void queue_attr_add(struct queue_attr **list, size_t *n, const char *name, const char *value)
{
    *list = mem_realloc_array(*list, *n + 1, sizeof(**list));
    (*list)[*n].name = mem_strdup(name);
    (*list)[*n].value = mem_strdup(value);
    (*n)++;
}

/* queue_add_sender_param - one MAIL FROM parameter (BODY=8BITMIME, ...) */
void queue_add_sender_param(struct queue_file *qf, const char *name, const char *value)
{
    queue_attr_add(&qf->params, &qf->nparams, name, value);
}

/* queue_add_attr - a named attribute (client_address, helo_name, ...) */
void queue_add_attr(struct queue_file *qf, const char *name, const char *value)
{
    queue_attr_add(&qf->attrs, &qf->nattrs, name, value);
}

/* queue_add_rcpt - one envelope recipient with its DSN NOTIFY and ORCPT */
void queue_add_rcpt(struct queue_file *qf, const char *address, int notify, const char *orcpt)
{
    if (qf->nrcpt == qf->rcpt_alloc) {
        qf->rcpt_alloc = qf->rcpt_alloc ? 2 * qf->rcpt_alloc : 8;
        qf->rcpts = mem_realloc_array(qf->rcpts, qf->rcpt_alloc, sizeof(*qf->rcpts));
    }
    qf->rcpts[qf->nrcpt].address = mem_strdup(address);
    qf->rcpts[qf->nrcpt].orcpt = mem_strdup(orcpt ? orcpt : "");
    qf->rcpts[qf->nrcpt].notify = notify;
    qf->nrcpt++;
}

/* queue_del_rcpt - remove every recipient equal to address (case-insensitive); how many */
int queue_del_rcpt(struct queue_file *qf, const char *address)
{
    size_t i, j;
    int removed = 0;

    for (i = j = 0; i < qf->nrcpt; i++) {
        if (strcasecmp(qf->rcpts[i].address, address) == 0) {
            mem_free(qf->rcpts[i].address);
            mem_free(qf->rcpts[i].orcpt);
            removed++;
        } else {
            qf->rcpts[j++] = qf->rcpts[i];
        }
    }
    qf->nrcpt = j;
    return removed;
}

/* queue_rcpt_count - recipients so far */
size_t queue_rcpt_count(const struct queue_file *qf)
{
    return qf->nrcpt;
}

/* queue_set_hold - commit into hold/ with this reason */
void queue_set_hold(struct queue_file *qf, const char *reason)
{
    mem_free(qf->hold_reason);
    qf->hold_reason = mem_strdup(reason ? reason : "");
}

/* queue_flush_pending - write the unended line, keeping a final CR (an LF may follow) */
static void queue_flush_pending(struct queue_file *qf, int all)
{
    size_t n = qf->pending.len;

    if (!all && n > 0 && qf->pending.data[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    queue_file_put(qf, 'L', qf->pending.data, n);
    qf->size += n;
    memmove(qf->pending.data, qf->pending.data + n, qf->pending.len - n);
    buf_truncate(&qf->pending, qf->pending.len - n);
}

/* queue_write - content bytes; 0, or -1 after a write error (also reported at commit) */
int queue_write(struct queue_file *qf, const void *data, size_t len)
{
    const char *p = data;
    const char *end = p + len;

    while (p < end && qf->error == 0) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *stop = nl ? nl : end;

        buf_add(&qf->pending, p, (size_t) (stop - p));
        p = stop;
        if (nl) {
            size_t n = qf->pending.len;

            if (n > 0 && qf->pending.data[n - 1] == '\r')
                n--;
            queue_file_put(qf, 'N', qf->pending.data, n);
            qf->size += n + 1;
            buf_reset(&qf->pending);
            p++;
        } else if (qf->pending.len > QUEUE_LINE_PIECE) {
            /* A long line goes out in pieces; the last byte stays (maybe CR). */
            queue_file_put(qf, 'L', qf->pending.data, QUEUE_LINE_PIECE);
            qf->size += QUEUE_LINE_PIECE;
            memmove(qf->pending.data, qf->pending.data + QUEUE_LINE_PIECE,
                    qf->pending.len - QUEUE_LINE_PIECE);
            buf_truncate(&qf->pending, qf->pending.len - QUEUE_LINE_PIECE);
        }
    }
    return qf->error ? -1 : 0;
}

/* queue_content_reset - drop the content written so far */
int queue_content_reset(struct queue_file *qf)
{
    if (qf->error == 0 && (fflush(qf->fp) == EOF || ftruncate(qf->fd, qf->content_start) < 0 ||
                           fseeko(qf->fp, qf->content_start, SEEK_SET) < 0))
        queue_file_fail(qf);
    buf_reset(&qf->pending);
    qf->size = 0;
    return qf->error ? -1 : 0;
}

/* queue_content_fd - descriptor and range of the content so far (for queue_content_open) */
int queue_content_fd(struct queue_file *qf, off_t *start, off_t *end)
{
    queue_flush_pending(qf, 0);
    if (qf->error == 0 && fflush(qf->fp) == EOF)
        queue_file_fail(qf);
    if (qf->error)
        return -1;
    *start = qf->content_start;
    *end = ftello(qf->fp);
    return qf->fd;
}

/* queue_content_size - content bytes so far (LF line ends) */
size_t queue_content_size(const struct queue_file *qf)
{
    return qf->size + qf->pending.len;
}

/* queue_file_free - release memory (the file is already closed or removed) */
static void queue_file_free(struct queue_file *qf)
{
    size_t i;

    for (i = 0; i < qf->nparams; i++) {
        mem_free(qf->params[i].name);
        mem_free(qf->params[i].value);
    }
    for (i = 0; i < qf->nattrs; i++) {
        mem_free(qf->attrs[i].name);
        mem_free(qf->attrs[i].value);
    }
    for (i = 0; i < qf->nrcpt; i++) {
        mem_free(qf->rcpts[i].address);
        mem_free(qf->rcpts[i].orcpt);
    }
    mem_free(qf->params);
    mem_free(qf->attrs);
    mem_free(qf->rcpts);
    mem_free(qf->sender);
    mem_free(qf->hold_reason);
    mem_free(qf->queue_dir);
    buf_free(&qf->tmp_path);
    buf_free(&qf->pending);
    mem_free(qf);
}

/* queue_abort - forget the message: close and remove its file */
void queue_abort(struct queue_file *qf)
{
    if (qf->fp)
        fclose(qf->fp);
    if (qf->tmp_path.len && unlink(qf->tmp_path.data) < 0 && errno != ENOENT)
        msg_warn("%s: remove %s: %m", qf->id, qf->tmp_path.data);
    queue_file_free(qf);
}

/* queue_write_envelope - the records after the content */
static void queue_write_envelope(struct queue_file *qf)
{
    struct buf rec = BUF_INIT;
    size_t i;

    for (i = 0; i < qf->nattrs; i++) {
        buf_reset(&rec);
        buf_printf(&rec, "%s=%s", qf->attrs[i].name, qf->attrs[i].value);
        queue_file_put(qf, 'A', rec.data, rec.len);
    }
    queue_file_put(qf, 'S', qf->sender, strlen(qf->sender));
    for (i = 0; i < qf->nparams; i++) {
        buf_reset(&rec);
        buf_printf(&rec, "%s=%s", qf->params[i].name, qf->params[i].value);
        queue_file_put(qf, 'P', rec.data, rec.len);
    }
    for (i = 0; i < qf->nrcpt; i++) {
        buf_reset(&rec);
        buf_printf(&rec, "%d\t%s\t%s", qf->rcpts[i].notify, qf->rcpts[i].orcpt,
                   qf->rcpts[i].address);
        queue_file_put(qf, 'R', rec.data, rec.len);
    }
    if (qf->hold_reason)
        queue_file_put(qf, 'H', qf->hold_reason, strlen(qf->hold_reason));
    queue_file_put(qf, 'E', "", 0);
    buf_free(&rec);
}

/* queue_rename_noreplace - rename, never replacing an existing file */
static int queue_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* A file system without RENAME_NOREPLACE: link() refuses to replace too. */
    if (link(from, to) < 0)
        return -1;
    if (unlink(from) < 0)
        msg_warn("remove %s after linking it to %s: %m", from, to);
    return 0;
}

/*
 * queue_commit - make the message durable: 0 when it is on disk (file and
 * directory fsynced) under its id in incoming/ or hold/; -1 with err, and
 * the file removed, when not.  Frees qf either way.
 */
int queue_commit(struct queue_file *qf, struct buf *err)
{
    const char *queue = qf->hold_reason ? QUEUE_HOLD : QUEUE_INCOMING;
    struct buf final = BUF_INIT;
    struct buf dir = BUF_INIT;
    char c_data[QUEUE_C_LEN + 1];
    off_t env_off;
    FILE *fp = qf->fp;

    queue_flush_pending(qf, 1);
    env_off = ftello(fp);
    queue_file_put(qf, 'X', "", 0);
    queue_write_envelope(qf);
    if (qf->error == 0 && (fflush(fp) == EOF || ferror(fp)))
        queue_file_fail(qf);
    if (qf->error == 0) {
        snprintf(c_data, sizeof(c_data), QUEUE_C_FORMAT, (long long) env_off, qf->size, qf->nrcpt);
        if (pwrite(qf->fd, c_data, QUEUE_C_LEN, qf->c_offset) != QUEUE_C_LEN)
            queue_file_fail(qf);
    }
    if (qf->error == 0 && fsync(qf->fd) < 0)
        queue_file_fail(qf);
    qf->fp = NULL;
    if (fclose(fp) == EOF && qf->error == 0)
        queue_file_fail(qf);
    if (qf->error) {
        buf_printf(err, "%s: write queue file: %s", qf->id, strerror(qf->error));
        queue_abort(qf);
        return -1;
    }
    queue_path(&final, qf->queue_dir, queue, qf->id);
    if (queue_rename_noreplace(qf->tmp_path.data, final.data) < 0) {
        buf_printf(err, "%s: rename %s to %s: %s", qf->id, qf->tmp_path.data, final.data,
                   strerror(errno));
        buf_free(&final);
        queue_abort(qf);
        return -1;
    }
    buf_printf(&dir, "%s/%s", qf->queue_dir, queue);
    if (queue_fsync_dir(dir.data, err) < 0) {
        /* Not durable: take it back rather than acknowledge it. */
        if (unlink(final.data) < 0)
            msg_warn("%s: remove %s: %m", qf->id, final.data);
        buf_free(&final);
        buf_free(&dir);
        buf_reset(&qf->tmp_path);
        queue_abort(qf);
        return -1;
    }
    buf_free(&final);
    buf_free(&dir);
    buf_reset(&qf->tmp_path);
    queue_file_free(qf);
    return 0;
}
