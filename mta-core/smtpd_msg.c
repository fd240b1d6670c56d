/*
 * smtpd_msg.c - the message being received: envelope, headers and body.
 *
 * See smtpd_msg.h for the text conventions.  Headers are kept in an array
 * (a message has tens of them; edits are rare and cheap enough); the body
 * is appended to memory and moved to an unnamed spool file once it grows
 * past SMTPD_MSG_MEM_LIMIT, so that a 10 MB message costs 256 KB of memory.
 *
 * Trusts: nothing in the text; sizes are the session's business (it stops
 * appending at message_size_limit and header_size_limit).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/smtpd_msg.h"

#define SMTPD_MSG_COPY_CHUNK 65536 /* bytes per read when copying the body out */

/* smtpd_msg_new - an empty transaction; the body may spill into spool_dir */
struct smtpd_msg *smtpd_msg_new(const char *spool_dir)
{
    struct smtpd_msg *msg = mem_zalloc(sizeof(*msg));

    msg->sender = mem_strdup("");
    msg->sender_args = mem_strdup("");
    msg->spool_dir = mem_strdup(spool_dir ? spool_dir : "/tmp");
    buf_init(&msg->body_mem);
    msg->body_fd = -1;
    return msg;
}

static void smtpd_msg_free_header(struct smtpd_header *h)
{
    mem_free(h->name);
    mem_free(h->value);
}

/* smtpd_msg_free - release everything, the spool file included */
void smtpd_msg_free(struct smtpd_msg *msg)
{
    size_t i;

    if (msg == NULL)
        return;
    for (i = 0; i < msg->nrcpt; i++) {
        mem_free(msg->rcpts[i].addr);
        mem_free(msg->rcpts[i].args);
    }
    mem_free(msg->rcpts);
    for (i = 0; i < msg->nheader; i++)
        smtpd_msg_free_header(&msg->headers[i]);
    mem_free(msg->headers);
    mem_free(msg->sender);
    mem_free(msg->sender_args);
    mem_free(msg->queue_id);
    mem_free(msg->hold_reason);
    mem_free(msg->spool_dir);
    buf_free(&msg->body_mem);
    if (msg->body_fd >= 0)
        close(msg->body_fd);
    mem_free(msg);
}

/* smtpd_msg_set_sender - the envelope sender (MAIL FROM, or a milter's CHGFROM) */
void smtpd_msg_set_sender(struct smtpd_msg *msg, const char *addr, const char *args)
{
    mem_free(msg->sender);
    mem_free(msg->sender_args);
    msg->sender = mem_strdup(addr);
    msg->sender_args = mem_strdup(args ? args : "");
}

/* smtpd_msg_add_rcpt - one more envelope recipient */
void smtpd_msg_add_rcpt(struct smtpd_msg *msg, const char *addr, const char *args)
{
    if (msg->nrcpt == msg->rcpt_alloc) {
        msg->rcpt_alloc = msg->rcpt_alloc ? 2 * msg->rcpt_alloc : 4;
        msg->rcpts = mem_realloc_array(msg->rcpts, msg->rcpt_alloc, sizeof(*msg->rcpts));
    }
    msg->rcpts[msg->nrcpt].addr = mem_strdup(addr);
    msg->rcpts[msg->nrcpt].args = mem_strdup(args ? args : "");
    msg->nrcpt++;
}

/*
 * smtpd_msg_del_rcpt - remove every recipient equal to addr (case does not
 * matter, as for the milter DELRCPT request); returns how many went.
 */
int smtpd_msg_del_rcpt(struct smtpd_msg *msg, const char *addr)
{
    size_t i, j;
    int gone = 0;

    for (i = j = 0; i < msg->nrcpt; i++) {
        if (strcasecmp(msg->rcpts[i].addr, addr) == 0) {
            mem_free(msg->rcpts[i].addr);
            mem_free(msg->rcpts[i].args);
            gone++;
        } else {
            msg->rcpts[j++] = msg->rcpts[i];
        }
    }
    msg->nrcpt = j;
    return gone;
}

static size_t smtpd_msg_header_len(const char *name, const char *value)
{
    return strlen(name) + 1 + strlen(value) + 1;
}

/* smtpd_msg_insert_header - a header at position index (0 = top; past the end = append) */
void smtpd_msg_insert_header(struct smtpd_msg *msg, size_t index, const char *name,
                             const char *value)
{
    if (index > msg->nheader)
        index = msg->nheader;
    if (msg->nheader == msg->header_alloc) {
        msg->header_alloc = msg->header_alloc ? 2 * msg->header_alloc : 16;
        msg->headers = mem_realloc_array(msg->headers, msg->header_alloc, sizeof(*msg->headers));
    }
    memmove(&msg->headers[index + 1], &msg->headers[index],
            (msg->nheader - index) * sizeof(*msg->headers));
    msg->headers[index].name = mem_strdup(name);
    msg->headers[index].value = mem_strdup(value);
    msg->nheader++;
    msg->header_bytes += smtpd_msg_header_len(name, value);
}

/* smtpd_msg_add_header - a header at the bottom */
void smtpd_msg_add_header(struct smtpd_msg *msg, const char *name, const char *value)
{
    smtpd_msg_insert_header(msg, msg->nheader, name, value);
}

/* smtpd_msg_header_slot - position of the index-th (1-based) header called name */
static ssize_t smtpd_msg_header_slot(const struct smtpd_msg *msg, const char *name, size_t index)
{
    size_t i, seen = 0;

    if (index == 0)
        index = 1;
    for (i = 0; i < msg->nheader; i++)
        if (strcasecmp(msg->headers[i].name, name) == 0 && ++seen == index)
            return (ssize_t) i;
    return -1;
}

/* smtpd_msg_find_header - the index-th (1-based; 0 counts as 1) header called name */
const struct smtpd_header *smtpd_msg_find_header(const struct smtpd_msg *msg, const char *name,
                                                 size_t index)
{
    ssize_t slot = smtpd_msg_header_slot(msg, name, index);

    return slot < 0 ? NULL : &msg->headers[slot];
}

/*
 * smtpd_msg_change_header - replace the value of the index-th (1-based; 0
 * counts as 1) header called name, or delete it when value is NULL or "".
 * Returns 1 when there was such a header, 0 when not (the caller decides
 * whether to add one: the milter protocol says to).
 */
int smtpd_msg_change_header(struct smtpd_msg *msg, const char *name, size_t index,
                            const char *value)
{
    ssize_t slot = smtpd_msg_header_slot(msg, name, index);
    struct smtpd_header *h;

    if (slot < 0)
        return 0;
    h = &msg->headers[slot];
    msg->header_bytes -= smtpd_msg_header_len(h->name, h->value);
    if (value == NULL || *value == 0) {
        smtpd_msg_free_header(h);
        memmove(h, h + 1, (msg->nheader - (size_t) slot - 1) * sizeof(*h));
        msg->nheader--;
        return 1;
    }
    mem_free(h->value);
    h->value = mem_strdup(value);
    msg->header_bytes += smtpd_msg_header_len(h->name, h->value);
    return 1;
}

/* smtpd_msg_spill - move the in-memory body into an unnamed spool file */
static int smtpd_msg_spill(struct smtpd_msg *msg, struct buf *err)
{
    const char *p = msg->body_mem.data;
    size_t left = msg->body_mem.len;
    int fd;

    fd = open(msg->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        /* A file system without O_TMPFILE: a named file, unlinked at once. */
        struct buf path = BUF_INIT;

        buf_printf(&path, "%s/.smtpd-spool.XXXXXX", msg->spool_dir);
        fd = mkostemp(path.data, O_CLOEXEC);
        if (fd >= 0)
            unlink(path.data);
        buf_free(&path);
    }
    if (fd < 0) {
        buf_printf(err, "create spool file in %s: %s", msg->spool_dir, strerror(errno));
        return -1;
    }
    while (left > 0) {
        ssize_t n = write(fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            buf_printf(err, "write spool file in %s: %s", msg->spool_dir,
                       n < 0 ? strerror(errno) : "short write");
            close(fd);
            return -1;
        }
        p += n;
        left -= (size_t) n;
    }
    msg->body_fd = fd;
    buf_free(&msg->body_mem);
    return 0;
}

/* smtpd_msg_body_append - more body bytes; -1 with err when the spool fails */
int smtpd_msg_body_append(struct smtpd_msg *msg, const char *data, size_t len, struct buf *err)
{
    if (msg->body_fd < 0) {
        if (msg->body_mem.len + len <= SMTPD_MSG_MEM_LIMIT) {
            buf_add(&msg->body_mem, data, len);
            msg->body_len += (off_t) len;
            return 0;
        }
        if (smtpd_msg_spill(msg, err) < 0)
            return -1;
    }
    while (len > 0) {
        ssize_t n = pwrite(msg->body_fd, data, len, msg->body_len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            buf_printf(err, "write spool file in %s: %s", msg->spool_dir,
                       n < 0 ? strerror(errno) : "short write");
            return -1;
        }
        data += n;
        len -= (size_t) n;
        msg->body_len += n;
    }
    return 0;
}

/* smtpd_msg_body_reset - empty the body (a milter's first REPLBODY chunk) */
int smtpd_msg_body_reset(struct smtpd_msg *msg, struct buf *err)
{
    buf_reset(&msg->body_mem);
    msg->body_len = 0;
    if (msg->body_fd >= 0 && ftruncate(msg->body_fd, 0) < 0) {
        buf_printf(err, "truncate spool file in %s: %s", msg->spool_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* smtpd_msg_body_read - up to len body bytes from offset; 0 at the end, -1 with err */
ssize_t smtpd_msg_body_read(const struct smtpd_msg *msg, off_t offset, char *data, size_t len,
                            struct buf *err)
{
    ssize_t n;

    if (offset >= msg->body_len)
        return 0;
    if ((off_t) len > msg->body_len - offset)
        len = (size_t) (msg->body_len - offset);
    if (msg->body_fd < 0) {
        memcpy(data, msg->body_mem.data + offset, len);
        return (ssize_t) len;
    }
    do
        n = pread(msg->body_fd, data, len, offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        buf_printf(err, "read spool file in %s: %s", msg->spool_dir, strerror(errno));
    return n;
}

/* smtpd_msg_hold - quarantine: the message goes to the hold queue with this reason */
void smtpd_msg_hold(struct smtpd_msg *msg, const char *reason)
{
    mem_free(msg->hold_reason);
    msg->hold_reason = mem_strdup(reason && *reason ? reason : "held");
}

/* smtpd_msg_size - bytes smtpd_msg_write() will produce */
off_t smtpd_msg_size(const struct smtpd_msg *msg)
{
    return (off_t) msg->header_bytes + 1 + msg->body_len;
}

/*
 * smtpd_msg_write - hand the message to out(), in pieces: each header as
 * "name:value\n", one empty line, then the body.  Returns 0, or -1 with
 * err set when out() or reading the spool fails.
 */
int smtpd_msg_write(const struct smtpd_msg *msg, smtpd_msg_out_fn out, void *ctx, struct buf *err)
{
    struct buf line = BUF_INIT;
    char *chunk;
    off_t off = 0;
    size_t i;
    int status = 0;

    for (i = 0; i < msg->nheader && status == 0; i++) {
        buf_reset(&line);
        buf_printf(&line, "%s:%s\n", msg->headers[i].name, msg->headers[i].value);
        status = out(ctx, line.data, line.len, err);
    }
    buf_free(&line);
    if (status == 0)
        status = out(ctx, "\n", 1, err);
    if (status < 0)
        return -1;
    if (msg->body_fd < 0)
        return msg->body_len ? out(ctx, msg->body_mem.data, msg->body_mem.len, err) : 0;
    chunk = mem_alloc(SMTPD_MSG_COPY_CHUNK);
    while (off < msg->body_len) {
        ssize_t n = smtpd_msg_body_read(msg, off, chunk, SMTPD_MSG_COPY_CHUNK, err);

        if (n <= 0) {
            if (n == 0)
                buf_printf(err, "spool file in %s: unexpected end", msg->spool_dir);
            status = -1;
            break;
        }
        if (out(ctx, chunk, (size_t) n, err) < 0) {
            status = -1;
            break;
        }
        off += n;
    }
    mem_free(chunk);
    return status;
}
