/*
 * milter_msg.c - the message as milters see it, and their edits.
 *
 * Reading goes through smtpd_msg_body_read(), so a big body is never all
 * in memory; a replacement body is written to an unnamed file as it comes
 * and copied into the message only when the milter's final reply lets the
 * message through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_msg.h"
#include "mta-core/milter_proto.h"

#define READ_BLOCK 16384

/* milter_msg_is_ours - header i is one of ours (milters do not see it) */
int milter_msg_is_ours(const struct milter_msg_view *v, size_t i)
{
    return i >= v->ours_first && i < v->ours_first + v->nours;
}

/*
 * milter_msg_header_value - the value as a milter sees it: Sendmail eats
 * one space after the colon unless the milter asked for SMFIP_HDR_LEADSPC.
 */
void milter_msg_header_value(const struct smtpd_header *h, int leadspc, struct buf *out)
{
    const char *val = h->value;

    if (!leadspc && val[0] == ' ')
        val++;
    buf_setstr(out, val);
}

/*
 * milter_msg_body_chunk - the next piece of body for a milter, at most
 * MILTER_CHUNK_MAX bytes with CRLF line ends.  1: a chunk; 0: no more
 * body; -1: read error (err says why).
 */
int milter_msg_body_chunk(const struct milter_msg_view *v, struct milter_msg_body_reader *rd,
                          struct buf *chunk, struct buf *err)
{
    char block[READ_BLOCK];

    buf_reset(chunk);
    while (rd->pos < v->msg->body_len) {
        size_t want = (MILTER_CHUNK_MAX - chunk->len) / 2; /* each LF may become CRLF */
        ssize_t got, i;

        if (want == 0)
            break;
        if (want > sizeof(block))
            want = sizeof(block);
        got = smtpd_msg_body_read(v->msg, rd->pos, block, want, err);
        if (got <= 0) {
            if (got == 0)
                buf_addstr(err, "message body shorter than its length");
            return -1;
        }
        rd->pos += got;
        for (i = 0; i < got; i++) {
            if (block[i] == '\n')
                buf_addch(chunk, '\r');
            buf_addch(chunk, block[i]);
        }
    }
    return chunk->len > 0;
}

/* milter_msg_edits_init - no edits yet */
void milter_msg_edits_init(struct milter_msg_edits *e)
{
    memset(e, 0, sizeof(*e));
    e->body_fd = -1;
}

/* milter_msg_edits_clear - forget the edits, a replacement body too */
void milter_msg_edits_clear(struct milter_msg_edits *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        mem_free(e->v[i].s1);
        mem_free(e->v[i].s2);
    }
    mem_free(e->v);
    if (e->body_fd >= 0)
        close(e->body_fd);
    milter_msg_edits_init(e);
}

/* copy_value - a string from a packet, CRLF line breaks made "\n" */
static char *copy_value(const char *s, size_t len)
{
    struct buf b = BUF_INIT;
    size_t i;

    for (i = 0; i < len; i++)
        if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n'))
            buf_addch(&b, s[i]);
    return buf_detach(&b, NULL);
}

/* milter_msg_edits_add - remember one request (not a body chunk) */
void milter_msg_edits_add(struct milter_msg_edits *e, int cmd, uint32_t index,
                          const char *s1, size_t len1, const char *s2, size_t len2)
{
    struct milter_msg_edit *ed;

    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 8;
        e->v = mem_realloc_array(e->v, e->cap, sizeof(*e->v));
    }
    ed = &e->v[e->n++];
    ed->cmd = cmd;
    ed->index = index;
    ed->s1 = mem_strndup(s1, len1);
    ed->s2 = s2 ? copy_value(s2, len2) : NULL;
}

/* open_tmp - an unnamed file for a replacement body */
static int open_tmp(const char *dir)
{
    struct buf path = BUF_INIT;
    int fd;

    if (dir == NULL || *dir == 0)
        dir = getenv("TMPDIR");
    if (dir == NULL || *dir == 0)
        dir = "/tmp";
#ifdef O_TMPFILE
    if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
        return fd;
#endif
    buf_printf(&path, "%s/milter-body.XXXXXX", dir);
    if ((fd = mkostemp(path.data, O_CLOEXEC)) >= 0)
        unlink(path.data);
    buf_free(&path);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/*
 * milter_msg_edits_body - append a SMFIR_REPLBODY chunk to the replacement
 * body, CRLF made LF (also across chunks).  -1, with e->error set to the
 * SMTP reply to give, when it cannot be kept: the message must then not be
 * accepted as edited.
 */
int milter_msg_edits_body(struct milter_msg_edits *e, const struct milter_msg_view *v,
                          const char *data, size_t len)
{
    struct buf out = BUF_INIT;
    size_t i;
    int ret = 0;

    if (e->error)
        return -1;
    if (e->body_fd < 0 && (e->body_fd = open_tmp(v->msg->spool_dir)) < 0) {
        msg_warn("cannot create a file for a replacement body in %s: %s",
                 v->msg->spool_dir ? v->msg->spool_dir : "$TMPDIR", strerror(errno));
        e->error = "451 4.3.0 Queue file write error";
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (e->body_cr) {
            e->body_cr = 0;
            if (data[i] == '\n') {
                buf_addch(&out, '\n');
                continue;
            }
            buf_addch(&out, '\r');
        }
        if (data[i] == '\r')
            e->body_cr = 1;
        else
            buf_addch(&out, data[i]);
    }
    if (v->body_limit > 0 && e->body_len + (off_t) out.len > v->body_limit) {
        msg_warn("replacement body is larger than %lld bytes", (long long) v->body_limit);
        e->error = "552 5.3.4 Message file too big";
        ret = -1;
    } else if (write_all(e->body_fd, out.data, out.len) < 0) {
        msg_warn("write replacement body: %s", strerror(errno));
        e->error = "451 4.3.0 Queue file write error";
        ret = -1;
    } else {
        e->body_len += (off_t) out.len;
    }
    buf_free(&out);
    return ret;
}

/* set_value - a header value as a milter gave it, with Sendmail's space */
static void set_value(struct buf *val, const char *value, int leadspc)
{
    buf_reset(val);
    if (!leadspc)
        buf_addch(val, ' ');
    buf_addstr(val, value);
}

/*
 * real_index - the 1-based index among all headers called name, ours
 * included (what smtpd_msg counts), of the index-th one milters saw; 0 if
 * there is none.
 */
static size_t real_index(const struct milter_msg_view *v, const char *name, uint32_t index)
{
    size_t i, all = 0;

    for (i = 0; i < v->msg->nheader; i++) {
        if (strcasecmp(v->msg->headers[i].name, name) != 0)
            continue;
        all++;
        if (!milter_msg_is_ours(v, i) && --index == 0)
            return all;
    }
    return 0;
}

/* position - where header number `real` (1-based, of that name) is */
static size_t position(const struct milter_msg_view *v, const char *name, size_t real)
{
    size_t i;

    for (i = 0; i < v->msg->nheader; i++)
        if (strcasecmp(v->msg->headers[i].name, name) == 0 && --real == 0)
            break;
    return i;
}

/* strip_addr - an address without blanks and enclosing <> */
static char *strip_addr(const char *addr)
{
    size_t len;

    addr += strspn(addr, " \t");
    len = strlen(addr);
    while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
        len--;
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
        addr++;
        len -= 2;
    }
    return mem_strndup(addr, len);
}

static int has_rcpt(const struct smtpd_msg *msg, const char *addr)
{
    size_t i;

    for (i = 0; i < msg->nrcpt; i++)
        if (strcasecmp(msg->rcpts[i].addr, addr) == 0)
            return 1;
    return 0;
}

/* replace_body - the message's body becomes the replacement */
static int replace_body(struct milter_msg_view *v, struct milter_msg_edits *e, struct buf *err)
{
    char block[READ_BLOCK];
    off_t pos = 0;

    if (e->body_cr && write_all(e->body_fd, "\r", 1) == 0)
        e->body_len++;
    if (smtpd_msg_body_reset(v->msg, err) < 0)
        return -1;
    while (pos < e->body_len) {
        ssize_t got = pread(e->body_fd, block, sizeof(block), pos);

        if (got <= 0) {
            buf_printf(err, "read replacement body: %s", got < 0 ? strerror(errno) : "short");
            return -1;
        }
        if (smtpd_msg_body_append(v->msg, block, (size_t) got, err) < 0)
            return -1;
        pos += got;
    }
    return 0;
}

/*
 * milter_msg_edits_apply - carry out one milter's requests in the order it
 * sent them, then forget them; one log line says what changed.  -1 when
 * the body could not be replaced (the message must not be accepted).
 */
int milter_msg_edits_apply(struct milter_msg_view *v, struct milter_msg_edits *e, int leadspc,
                           const char *log_id, const char *milter)
{
    struct smtpd_msg *msg = v->msg;
    struct buf what = BUF_INIT, val = BUF_INIT, err = BUF_INIT;
    size_t i, real, pos;
    char *addr;
    int n, ret = 0;

    for (i = 0; i < e->n; i++) {
        struct milter_msg_edit *ed = &e->v[i];
        uint32_t index = ed->index;

        if (what.len)
            buf_addstr(&what, ", ");
        switch (ed->cmd) {
        case SMFIR_ADDHEADER:
            set_value(&val, ed->s2, leadspc);
            smtpd_msg_add_header(msg, ed->s1, val.data);
            buf_printf(&what, "add header %s", ed->s1);
            break;
        case SMFIR_INSHEADER:
            pos = index > msg->nheader ? msg->nheader : index;
            set_value(&val, ed->s2, leadspc);
            smtpd_msg_insert_header(msg, pos, ed->s1, val.data);
            if (v->nours && pos <= v->ours_first)
                v->ours_first++;
            buf_printf(&what, "insert header %s at %lu", ed->s1, (unsigned long) index);
            break;
        case SMFIR_CHGHEADER:
            if (index == 0)
                index = 1;
            real = real_index(v, ed->s1, index);
            if (*ed->s2 == 0) {
                if (real) {
                    pos = position(v, ed->s1, real);
                    smtpd_msg_change_header(msg, ed->s1, real, NULL);
                    if (v->nours && pos < v->ours_first)
                        v->ours_first--;
                }
                buf_printf(&what, "delete header %s[%lu]%s", ed->s1, (unsigned long) index,
                           real ? "" : " (none)");
            } else if (real) {
                set_value(&val, ed->s2, leadspc);
                smtpd_msg_change_header(msg, ed->s1, real, val.data);
                /* Postfix writes the name as the milter spells it (same length: same name). */
                memcpy(msg->headers[position(v, ed->s1, real)].name, ed->s1, strlen(ed->s1));
                buf_printf(&what, "change header %s[%lu]", ed->s1, (unsigned long) index);
            } else {
                set_value(&val, ed->s2, leadspc);
                smtpd_msg_add_header(msg, ed->s1, val.data);
                buf_printf(&what, "change header %s[%lu] (appended)", ed->s1,
                           (unsigned long) index);
            }
            break;
        case SMFIR_CHGFROM:
            addr = strip_addr(ed->s1);
            smtpd_msg_set_sender(msg, addr, ed->s2 ? ed->s2 : "");
            buf_printf(&what, "change sender to <%s>", addr);
            mem_free(addr);
            break;
        case SMFIR_ADDRCPT:
        case SMFIR_ADDRCPT_PAR:
            addr = strip_addr(ed->s1);
            if (!has_rcpt(msg, addr)) {
                smtpd_msg_add_rcpt(msg, addr, ed->s2 ? ed->s2 : "");
                buf_printf(&what, "add recipient <%s>", addr);
            } else {
                buf_printf(&what, "add recipient <%s> (already there)", addr);
            }
            mem_free(addr);
            break;
        case SMFIR_DELRCPT:
            addr = strip_addr(ed->s1);
            n = smtpd_msg_del_rcpt(msg, addr);
            buf_printf(&what, "delete recipient <%s>%s", addr, n ? "" : " (none)");
            mem_free(addr);
            break;
        default:
            msg_panic("milter_msg_edits_apply: unexpected edit 0x%02x", ed->cmd);
        }
    }
    if (e->body_fd >= 0) {
        if (replace_body(v, e, &err) < 0) {
            msg_warn("%s: milter %s: cannot replace the body: %s", log_id, milter, err.data);
            ret = -1;
        }
        if (what.len)
            buf_addstr(&what, ", ");
        buf_printf(&what, "replace body (%lld bytes)", (long long) e->body_len);
    }
    if (what.len)
        msg_info("%s: milter %s: %s", log_id, milter, what.data);
    buf_free(&what);
    buf_free(&val);
    buf_free(&err);
    milter_msg_edits_clear(e);
    return ret;
}
