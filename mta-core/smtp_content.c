/*
 * smtp_content.c - the message on its way out after DATA, read line by
 * line from the queue file through three stages:
 *
 *   1. the primary header block, when masquerading rewrites header
 *      addresses: each logical header is collected, rewritten
 *      (masq_header) and passed on line by line;
 *   2. the 8-bit to 7-bit conversion (smtp_mime.c), only for a next hop
 *      without 8BITMIME;
 *   3. the wire: lines longer than smtp_line_length_limit broken with
 *      CRLF SPACE (as Postfix does), a leading dot doubled, CRLF, and
 *      writes in SMTP_CONN_OUT_MAX chunks, each write within
 *      smtp_data_xfer_timeout.
 *
 * Also smtp_content_scan(): does the message count as 8-bit (a
 * Content-Transfer-Encoding of 8bit or binary anywhere the MIME parser
 * looks, as Postfix's cleanup decides), and does its header need
 * SMTPUTF8 (non-ASCII bytes).
 *
 * Trusts: the queue file's framing (queue_content_next checks it); the
 * bytes of the message are untrusted and only copied or converted.
 */
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/header.h"
#include "mta-core/masq_addr.h"
#include "mta-core/queue.h"
#include "mta-core/smtp_conn.h"
#include "mta-core/smtp_mime.h"
#include "mta-core/smtp_proto.h"

struct smtp_out {
    struct smtp_conn *conn;
    const struct smtp_conf *conf;
    long timeout;
    int io;                 /* the first SMTP_IO_* failure, or SMTP_IO_OK */
    struct smtp_mime *mime; /* stage 2, or NULL */
    /* stage 1 */
    int in_header;          /* still in the primary header block */
    int masq_headers;       /* rewriting header addresses */
    struct buf hdr;         /* the logical header being collected */
    int have_hdr;
    struct buf rewritten;
};

/* smtp_out_wire - stage 3: one line onto the connection */
static void smtp_out_wire(void *ctx, const char *line, size_t len)
{
    struct smtp_out *o = ctx;
    size_t limit = o->conf->line_limit, left = len, room;
    const char *p = line;

    if (o->io != SMTP_IO_OK)
        return;
    if (left > 0 && *p == '.')
        smtp_conn_put(o->conn, ".", 1);
    room = limit;
    while (limit > 0 && left > room) {
        smtp_conn_put(o->conn, p, room);
        smtp_conn_put(o->conn, "\r\n ", 3);
        p += room;
        left -= room;
        room = limit - 1;
    }
    smtp_conn_put(o->conn, p, left);
    smtp_conn_put(o->conn, "\r\n", 2);
    if (o->conn->out.len >= SMTP_CONN_OUT_MAX)
        o->io = smtp_conn_flush(o->conn, o->timeout);
}

/* smtp_out_next - from stage 1 to stage 2 or 3 */
static void smtp_out_next(struct smtp_out *o, const char *line, size_t len)
{
    if (o->mime)
        smtp_mime_line(o->mime, line, len);
    else
        smtp_out_wire(o, line, len);
}

/* smtp_out_lines - pass the physical lines of a logical header on */
static void smtp_out_lines(struct smtp_out *o, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    for (;;) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));

        smtp_out_next(o, p, nl ? (size_t) (nl - p) : (size_t) (end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

/* smtp_out_flush_header - stage 1: a logical header is complete */
static void smtp_out_flush_header(struct smtp_out *o)
{
    if (!o->have_hdr)
        return;
    o->have_hdr = 0;
    if (masq_header(&o->conf->masq, 0, o->hdr.data, o->hdr.len, &o->rewritten))
        smtp_out_lines(o, o->rewritten.data, o->rewritten.len);
    else
        smtp_out_lines(o, o->hdr.data, o->hdr.len);
    buf_reset(&o->hdr);
}

/* smtp_out_line - stage 1: one content line */
static void smtp_out_line(struct smtp_out *o, const char *line, size_t len)
{
    if (!o->in_header || !o->masq_headers) {
        smtp_out_next(o, line, len);
        return;
    }
    if (o->have_hdr && len > 0 && (line[0] == ' ' || line[0] == '\t') &&
        o->hdr.len + 1 + len <= SMTP_MIME_HEADER_MAX) {
        buf_addch(&o->hdr, '\n');
        buf_add(&o->hdr, line, len);
        return;
    }
    smtp_out_flush_header(o);
    if (header_label_len(line, len) && len <= SMTP_MIME_HEADER_MAX) {
        buf_set(&o->hdr, line, len);
        o->have_hdr = 1;
        return;
    }
    if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        /* A continuation past the size limit: as it came. */
        smtp_out_next(o, line, len);
        return;
    }
    o->in_header = 0;
    smtp_out_next(o, line, len);
}

/* smtp_content_send - see smtp_proto.h */
int smtp_content_send(struct smtp_conn *c, const struct smtp_conf *conf, const struct smtp_msg *msg, int downgrade,
                      long timeout, struct buf *err)
{
    struct smtp_out o;
    struct queue_content *qc = queue_content_open(msg->fd, msg->content_start, msg->content_end);
    struct buf line = BUF_INIT;
    int eol, rc, result;

    memset(&o, 0, sizeof(o));
    o.conn = c;
    o.conf = conf;
    o.timeout = timeout;
    o.io = SMTP_IO_OK;
    o.in_header = 1;
    o.masq_headers = conf->masq.ndomains > 0 && (conf->masq.classes & (MASQ_HDR_SENDER | MASQ_HDR_RCPT));
    buf_init(&o.hdr);
    buf_init(&o.rewritten);
    if (downgrade)
        o.mime = smtp_mime_new(smtp_out_wire, &o);
    while (o.io == SMTP_IO_OK && (rc = queue_content_next(qc, &line, &eol, err)) > 0)
        smtp_out_line(&o, line.data, line.len);
    if (o.io == SMTP_IO_OK && rc < 0) {
        result = 1;
    } else {
        if (o.in_header)
            smtp_out_flush_header(&o);
        if (o.mime)
            smtp_mime_end(o.mime);
        if (o.io == SMTP_IO_OK) {
            smtp_conn_put(c, ".\r\n", 3);
            o.io = smtp_conn_flush(c, timeout);
        }
        result = o.io;
    }
    queue_content_close(qc);
    smtp_mime_free(o.mime);
    buf_free(&o.hdr);
    buf_free(&o.rewritten);
    buf_free(&line);
    return result;
}

/* smtp_scan_out - the converter's output during a scan goes nowhere */
static void smtp_scan_out(void *ctx, const char *line, size_t len)
{
    (void) ctx;
    (void) line;
    (void) len;
}

/* smtp_content_scan - see smtp_proto.h */
int smtp_content_scan(const struct smtp_msg *msg, int *eightbit_cte, int *utf8_headers, struct buf *err)
{
    struct queue_content *qc = queue_content_open(msg->fd, msg->content_start, msg->content_end);
    struct smtp_mime *mime = smtp_mime_new(smtp_scan_out, NULL);
    struct buf line = BUF_INIT;
    int eol, rc, in_header = 1;
    size_t i;

    *eightbit_cte = 0;
    *utf8_headers = 0;
    while ((rc = queue_content_next(qc, &line, &eol, err)) > 0) {
        if (in_header) {
            if (line.len == 0 || (!header_label_len(line.data, line.len) && line.data[0] != ' ' && line.data[0] != '\t'))
                in_header = 0;
            for (i = 0; in_header && i < line.len; i++)
                if ((unsigned char) line.data[i] & 0x80)
                    *utf8_headers = 1;
        }
        smtp_mime_line(mime, line.data, line.len);
    }
    smtp_mime_end(mime);
    *eightbit_cte = smtp_mime_converted(mime) > 0;
    smtp_mime_free(mime);
    queue_content_close(qc);
    buf_free(&line);
    return rc < 0 ? -1 : 0;
}
