/*
 * local_copy.c - the message as local delivery writes it: optionally a
 * From_ line, then Return-Path:, X-Original-To: and Delivered-To: (in
 * that order, as Postfix's mail_copy() writes them), then the content with
 * LF line ends, From_ quoting for mailboxes, a newline after a last line
 * that had none, and an empty line after an mbox message.
 *
 * Also the Delivered-To: loop check that local(8) makes before it
 * delivers: a message that already carries "Delivered-To: <address>" for
 * the address it is about to be delivered to is in a forwarding loop.
 *
 * Trust: the content is whatever a client sent; it is copied, never
 * interpreted, except for header names in the loop check.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/local_copy.h"
#include "mta-core/queue.h"
#include "mta-core/quote_addr.h"

#define LOCAL_SINK_BUF 65536 /* bytes buffered before a write(2) */

/* local_fd_write - buffered write to a descriptor */
static int local_fd_write(struct local_sink *sink, const char *data, size_t len)
{
    struct local_fd_sink *s = (struct local_fd_sink *) sink;

    buf_add(&s->buf, data, len);
    if (s->buf.len >= LOCAL_SINK_BUF)
        return local_fd_flush(s);
    return 0;
}

/* local_fd_sink_init - a buffered sink over fd */
void local_fd_sink_init(struct local_fd_sink *s, int fd)
{
    s->sink.write = local_fd_write;
    s->sink.ctx = s;
    s->fd = fd;
    buf_init(&s->buf);
}

/* local_fd_flush - write out what is buffered; -1 with errno */
int local_fd_flush(struct local_fd_sink *s)
{
    size_t off = 0;

    while (off < s->buf.len) {
        ssize_t n = write(s->fd, s->buf.data + off, s->buf.len - off);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t) n;
    }
    buf_reset(&s->buf);
    return 0;
}

/* local_fd_sink_free - release the buffer */
void local_fd_sink_free(struct local_fd_sink *s)
{
    buf_free(&s->buf);
}

/*
 * local_mbox_dsn - the enhanced status code for a mailbox write error, as
 * Postfix's mbox_dsn(): EAGAIN/ESTALE 4.2.0, ENOSPC 4.3.0, EDQUOT/EFBIG
 * 5.2.2 (mailbox full), anything else def.
 */
const char *local_mbox_dsn(int err, const char *def)
{
    switch (err) {
    case EAGAIN:
    case ESTALE:
        return "4.2.0";
    case ENOSPC:
        return "4.3.0";
    case EDQUOT:
    case EFBIG:
        return "5.2.2";
    default:
        return def;
    }
}

/* local_copy - write the message to sink; 0, or LOCAL_COPY_*_ERROR */
int local_copy(const struct local_request *req, const char *delivered, int flags,
               struct local_sink *sink, struct buf *why)
{
    const struct queue_msg *msg = req->msg;
    struct queue_content *qc;
    struct buf line = BUF_INIT, out = BUF_INIT, q = BUF_INIT;
    int eol = 1, rc, status = 0;

    if (flags & LOCAL_COPY_FROM) {
        time_t now = time(NULL);
        char date[64];
        struct tm tm;

        localtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
        buf_reset(&q);
        quote_addr(&q, msg->sender);
        buf_printf(&out, "From %s  %s\n", *msg->sender ? q.data : "MAILER-DAEMON", date);
    }
    if (flags & LOCAL_COPY_RETURN_PATH) {
        buf_reset(&q);
        quote_addr(&q, msg->sender);
        buf_printf(&out, "Return-Path: <%s>\n", *msg->sender ? q.data : "");
    }
    if ((flags & LOCAL_COPY_ORIG_RCPT) && req->orig_rcpt && *req->orig_rcpt) {
        buf_reset(&q);
        quote_addr(&q, req->orig_rcpt);
        buf_printf(&out, "X-Original-To: %s\n", q.data);
    }
    if ((flags & LOCAL_COPY_DELIVERED) && delivered) {
        buf_reset(&q);
        quote_addr(&q, delivered);
        buf_printf(&out, "Delivered-To: %s\n", q.data);
    }
    if (sink->write(sink, out.data, out.len) < 0)
        status = LOCAL_COPY_WRITE_ERROR;
    qc = queue_content_open(req->fd, msg->content_start, msg->content_end);
    while (status == 0 && (rc = queue_content_next(qc, &line, &eol, why)) > 0) {
        if ((flags & LOCAL_COPY_QUOTE) && strncmp(line.data, "From ", 5) == 0 &&
            sink->write(sink, ">", 1) < 0)
            status = LOCAL_COPY_WRITE_ERROR;
        else if (sink->write(sink, line.data, line.len) < 0 || sink->write(sink, "\n", 1) < 0)
            status = LOCAL_COPY_WRITE_ERROR;
    }
    if (status == 0 && rc < 0)
        status = LOCAL_COPY_READ_ERROR;
    (void) eol; /* a last line without newline got one anyway, as Postfix does */
    if (status == 0 && (flags & LOCAL_COPY_BLANK) && sink->write(sink, "\n", 1) < 0)
        status = LOCAL_COPY_WRITE_ERROR;
    queue_content_close(qc);
    buf_free(&line);
    buf_free(&out);
    buf_free(&q);
    return status;
}

/*
 * local_loop_check - 1 when a Delivered-To: header of the message names
 * addr (case-insensitive), 0 when none does.  Only the header is read.
 */
int local_loop_check(const struct local_request *req, const char *addr)
{
    struct queue_content *qc;
    struct buf line = BUF_INIT, err = BUF_INIT;
    int eol, found = 0;
    size_t alen = strlen(addr);

    qc = queue_content_open(req->fd, req->msg->content_start, req->msg->content_end);
    while (!found && queue_content_next(qc, &line, &eol, &err) > 0 && line.len > 0) {
        const char *p;

        if (strncasecmp(line.data, "Delivered-To:", 13) != 0)
            continue;
        p = line.data + 13;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, addr, alen) == 0) {
            const char *e = p + alen;

            while (*e == ' ' || *e == '\t')
                e++;
            found = *e == 0;
        }
    }
    queue_content_close(qc);
    buf_free(&line);
    buf_free(&err);
    return found;
}
