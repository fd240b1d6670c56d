/*
 * milter_msg.c - load a message, show it to milters, apply their edits.
 *
 * Loading splits the header section into headers and remembers where the
 * body starts; the body itself is never read into memory.  Output writes
 * the (edited) headers and then copies the body, so a message that no
 * milter touched comes out byte for byte as it went in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/milter_msg.h"
#include "mta-core/milter_proto.h"

#define READ_BLOCK 16384

/* milter_msg_init - an empty message */
void milter_msg_init(struct milter_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->sender = mem_strdup("");
    m->body_fd = -1;
}

static void hdr_free(struct milter_hdr *h)
{
    mem_free(h->name);
    buf_free(&h->value);
}

/* milter_msg_free - release everything, close a replacement body */
void milter_msg_free(struct milter_msg *m)
{
    size_t i;

    mem_free(m->sender);
    mem_free(m->sender_args);
    for (i = 0; i < m->nrcpt; i++) {
        mem_free(m->rcpt[i].addr);
        mem_free(m->rcpt[i].args);
    }
    mem_free(m->rcpt);
    for (i = 0; i < m->nhdr; i++)
        hdr_free(&m->hdr[i]);
    mem_free(m->hdr);
    if (m->body_ours && m->body_fd >= 0)
        close(m->body_fd);
    mem_free(m->tmpdir);
    memset(m, 0, sizeof(*m));
    m->body_fd = -1;
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

/* milter_msg_set_sender - the envelope sender, with or without <> */
void milter_msg_set_sender(struct milter_msg *m, const char *addr, const char *args)
{
    mem_free(m->sender);
    mem_free(m->sender_args);
    m->sender = strip_addr(addr);
    m->sender_args = args && *args ? mem_strdup(args) : NULL;
}

static int rcpt_find(const struct milter_msg *m, const char *addr)
{
    size_t i;

    for (i = 0; i < m->nrcpt; i++)
        if (strcmp(m->rcpt[i].addr, addr) == 0)
            return (int) i;
    return -1;
}

/* milter_msg_add_rcpt - one more envelope recipient */
void milter_msg_add_rcpt(struct milter_msg *m, const char *addr, const char *args)
{
    if (m->nrcpt == m->rcpt_cap) {
        m->rcpt_cap = m->rcpt_cap ? 2 * m->rcpt_cap : 8;
        m->rcpt = mem_realloc_array(m->rcpt, m->rcpt_cap, sizeof(*m->rcpt));
    }
    m->rcpt[m->nrcpt].addr = strip_addr(addr);
    m->rcpt[m->nrcpt].args = args && *args ? mem_strdup(args) : NULL;
    m->nrcpt++;
}

/* hdr_insert - make room for a header at position pos */
static struct milter_hdr *hdr_insert(struct milter_msg *m, size_t pos)
{
    if (pos > m->nhdr)
        pos = m->nhdr;
    if (m->nhdr == m->hdr_cap) {
        m->hdr_cap = m->hdr_cap ? 2 * m->hdr_cap : 32;
        m->hdr = mem_realloc_array(m->hdr, m->hdr_cap, sizeof(*m->hdr));
    }
    memmove(&m->hdr[pos + 1], &m->hdr[pos], (m->nhdr - pos) * sizeof(*m->hdr));
    m->nhdr++;
    memset(&m->hdr[pos], 0, sizeof(m->hdr[pos]));
    buf_init(&m->hdr[pos].value);
    return &m->hdr[pos];
}

/* header_label_len - length of the header name at line, 0 if not a header */
static size_t header_label_len(const char *line, size_t len)
{
    size_t i = 0, label;

    while (i < len && (unsigned char) line[i] > 0x20 && (unsigned char) line[i] < 0x7f
           && line[i] != ':')
        i++;
    label = i;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return label > 0 && i < len && line[i] == ':' ? i : 0;
}

/*
 * milter_msg_load - split the message text in [offset, end) of fd (end -1:
 * to the end of the file) into headers and a body.  The first line that is
 * neither a header nor a continuation, or an empty line, ends the headers.
 */
int milter_msg_load(struct milter_msg *m, int fd, off_t offset, off_t end, struct buf *err)
{
    struct buf sec = BUF_INIT;
    size_t scan = 0, cur_start = 0;
    off_t pos = offset, body_start = -1;
    struct milter_hdr *cur = NULL;
    int first = 1;

    if (end < 0) {
        struct stat st;

        if (fstat(fd, &st) < 0) {
            buf_printf(err, "fstat message file: %s", strerror(errno));
            return -1;
        }
        end = st.st_size;
    }
    m->body_fd = fd;
    m->body_ours = 0;
    while (body_start < 0) {
        char *nl = memchr(sec.data + scan, '\n', sec.len - scan);
        size_t line_len, eol_len = 1;
        const char *line = sec.data + scan;

        if (nl == NULL) {
            ssize_t got = 0;

            if (sec.len >= MILTER_MSG_HEADERS_LIMIT) {
                msg_warn("message header section longer than %d bytes: the rest is body",
                         MILTER_MSG_HEADERS_LIMIT);
                if (cur != NULL) {
                    hdr_free(&m->hdr[--m->nhdr]);
                    scan = cur_start;
                }
                body_start = offset + (off_t) scan;
                break;
            }
            if (pos < end) {
                size_t want = end - pos < READ_BLOCK ? (size_t) (end - pos) : READ_BLOCK;

                buf_grow(&sec, want);
                got = pread(fd, sec.data + sec.len, want, pos);
                if (got < 0) {
                    buf_printf(err, "read message file: %s", strerror(errno));
                    buf_free(&sec);
                    return -1;
                }
                sec.len += (size_t) got;
                sec.data[sec.len] = 0;
                pos += got;
            }
            if (got > 0)
                continue;
            /* End of the message inside the headers: a last line without a line end. */
            if (scan == sec.len) {
                body_start = offset + (off_t) scan;
                break;
            }
            nl = sec.data + sec.len;
            eol_len = 0;
        }
        line_len = (size_t) (nl - line);
        if (eol_len && line_len > 0 && line[line_len - 1] == '\r') {
            line_len--;
            eol_len = 2;
        }
        if (first && eol_len)
            m->crlf = (eol_len == 2);
        first = 0;
        if (line_len == 0 && eol_len) {
            m->blank_line = 1;
            body_start = offset + (off_t) (scan + eol_len);
        } else if (cur != NULL && (line[0] == ' ' || line[0] == '\t')) {
            buf_addch(&cur->value, '\n');
            buf_add(&cur->value, line, line_len);
        } else {
            size_t label = header_label_len(line, line_len);

            if (label == 0) {
                body_start = offset + (off_t) scan;
                break;
            }
            cur = hdr_insert(m, m->nhdr);
            cur->name = mem_strndup(line, label);
            buf_add(&cur->value, line + label + 1, line_len - label - 1);
            cur_start = scan;
        }
        scan += line_len + eol_len;
    }
    buf_free(&sec);
    m->body_off = body_start;
    m->body_len = end - body_start;
    return 0;
}

/* milter_msg_hide - the first n headers are this MTA's own (Received:) */
void milter_msg_hide(struct milter_msg *m, size_t n)
{
    size_t i;

    for (i = 0; i < n && i < m->nhdr; i++)
        m->hdr[i].ours = 1;
}

/* milter_msg_header_label - the header name without blanks before the colon */
void milter_msg_header_label(const struct milter_hdr *h, struct buf *out)
{
    size_t len = strlen(h->name);

    while (len > 0 && (h->name[len - 1] == ' ' || h->name[len - 1] == '\t'))
        len--;
    buf_reset(out);
    buf_add(out, h->name, len);
}

/*
 * milter_msg_header_value - the value as a milter sees it: Sendmail eats
 * one space after the colon unless the milter asked for SMFIP_HDR_LEADSPC.
 */
void milter_msg_header_value(const struct milter_hdr *h, int leadspc, struct buf *out)
{
    const char *v = h->value.data;
    size_t len = h->value.len;

    if (!leadspc && len > 0 && v[0] == ' ') {
        v++;
        len--;
    }
    buf_reset(out);
    buf_add(out, v, len);
}

/*
 * milter_msg_body_chunk - the next piece of body for a milter, at most
 * MILTER_CHUNK_MAX bytes with CRLF line ends.  1: a chunk; 0: no more
 * body; -1: read error.
 */
int milter_msg_body_chunk(const struct milter_msg *m, struct milter_msg_body_reader *rd,
                          struct buf *chunk, struct buf *err)
{
    char block[READ_BLOCK];

    buf_reset(chunk);
    while (rd->pos < m->body_len) {
        size_t room = MILTER_CHUNK_MAX - chunk->len;
        size_t want = m->crlf ? room : room / 2; /* LF may become CRLF */
        ssize_t got, i;

        if (want == 0)
            break;
        if (want > sizeof(block))
            want = sizeof(block);
        if ((off_t) want > m->body_len - rd->pos)
            want = (size_t) (m->body_len - rd->pos);
        got = pread(m->body_fd, block, want, m->body_off + rd->pos);
        if (got <= 0) {
            buf_printf(err, "read message body: %s", got < 0 ? strerror(errno) : "file shrank");
            return -1;
        }
        rd->pos += got;
        if (m->crlf) {
            buf_add(chunk, block, (size_t) got);
            continue;
        }
        for (i = 0; i < got; i++) {
            if (block[i] == '\n' && !rd->last_cr)
                buf_addch(chunk, '\r');
            buf_addch(chunk, block[i]);
            rd->last_cr = (block[i] == '\r');
        }
    }
    return chunk->len > 0;
}

/* put_value - a header value with "\n" written as the stored line end */
static int put_value(const struct milter_msg *m, const struct buf *v,
                     int (*out)(void *, const char *, size_t), void *ctx)
{
    const char *eol = m->crlf ? "\r\n" : "\n";
    size_t i = 0, start = 0;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] == '\n') {
            if (out(ctx, v->data + start, i - start) < 0 || out(ctx, eol, strlen(eol)) < 0)
                return -1;
            start = i + 1;
        }
    }
    return out(ctx, v->data + start, v->len - start);
}

/*
 * milter_msg_write - the message text, edited: headers, the empty line,
 * the body.  out() returns -1 on a write error (and says why itself).
 */
int milter_msg_write(const struct milter_msg *m,
                     int (*out)(void *ctx, const char *data, size_t len), void *ctx,
                     struct buf *err)
{
    const char *eol = m->crlf ? "\r\n" : "\n";
    char block[READ_BLOCK];
    off_t pos = 0;
    size_t i;

    for (i = 0; i < m->nhdr; i++) {
        if (out(ctx, m->hdr[i].name, strlen(m->hdr[i].name)) < 0 || out(ctx, ":", 1) < 0
            || put_value(m, &m->hdr[i].value, out, ctx) < 0 || out(ctx, eol, strlen(eol)) < 0)
            return -1;
    }
    if (m->blank_line && out(ctx, eol, strlen(eol)) < 0)
        return -1;
    while (pos < m->body_len) {
        size_t want = m->body_len - pos < (off_t) sizeof(block) ? (size_t) (m->body_len - pos)
                                                                 : sizeof(block);
        ssize_t got = pread(m->body_fd, block, want, m->body_off + pos);

        if (got <= 0) {
            buf_printf(err, "read message body: %s", got < 0 ? strerror(errno) : "file shrank");
            return -1;
        }
        if (out(ctx, block, (size_t) got) < 0)
            return -1;
        pos += got;
    }
    return 0;
}

/* milter_msg_edits_init - no edits yet */
void milter_msg_edits_init(struct milter_msg_edits *e)
{
    memset(e, 0, sizeof(*e));
    e->body_fd = -1;
}

/* milter_msg_edits_clear - forget the edits (a replacement body too) */
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

/* open_tmp - an anonymous file for a replacement body */
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
 * body, in the message's stored line-end form.  -1 (and e->error set) when
 * it cannot be stored: the message must then not be accepted as edited.
 */
int milter_msg_edits_body(struct milter_msg_edits *e, const struct milter_msg *m,
                          const char *data, size_t len)
{
    struct buf out = BUF_INIT;
    size_t i;
    int ret = 0;

    if (e->error)
        return -1;
    if (e->body_fd < 0 && (e->body_fd = open_tmp(m->tmpdir)) < 0) {
        msg_warn("cannot create a file for a replacement body in %s: %s",
                 m->tmpdir ? m->tmpdir : "$TMPDIR", strerror(errno));
        e->error = "451 4.3.0 Queue file write error";
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (e->body_cr) {
            e->body_cr = 0;
            if (data[i] == '\n') {
                buf_addstr(&out, m->crlf ? "\r\n" : "\n");
                continue;
            }
            buf_addch(&out, '\r');
        }
        if (data[i] == '\r')
            e->body_cr = 1;
        else
            buf_addch(&out, data[i]);
    }
    if (m->body_limit > 0 && e->body_len + (off_t) out.len > m->body_limit) {
        msg_warn("replacement body is larger than %lld bytes", (long long) m->body_limit);
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
static void set_value(struct buf *v, const char *value, int leadspc)
{
    buf_reset(v);
    if (!leadspc)
        buf_addch(v, ' ');
    buf_addstr(v, value);
}

/* find_header - the index-th (1-based) header called name, not ours; -1 if none */
static long find_header(const struct milter_msg *m, const char *name, uint32_t index)
{
    struct buf label = BUF_INIT;
    size_t i;
    long found = -1;

    for (i = 0; i < m->nhdr && found < 0; i++) {
        if (m->hdr[i].ours)
            continue;
        milter_msg_header_label(&m->hdr[i], &label);
        if (strcasecmp(label.data, name) == 0 && --index == 0)
            found = (long) i;
    }
    buf_free(&label);
    return found;
}

static void add_header_at(struct milter_msg *m, size_t pos, const char *name,
                          const char *value, int leadspc)
{
    struct milter_hdr *h = hdr_insert(m, pos);

    h->name = mem_strdup(name);
    set_value(&h->value, value, leadspc);
}

/*
 * milter_msg_edits_apply - carry out one milter's requests, in the order
 * it sent them, then forget them.  Index semantics as Postfix:
 * INSHEADER counts every header, ours included (0 = top); CHGHEADER counts
 * the headers of that name that milters saw (0 is taken as 1), an empty
 * value deletes, a missing header is appended; DELRCPT removes every
 * recipient equal to the address.  One log line says what changed.
 */
void milter_msg_edits_apply(struct milter_msg *m, struct milter_msg_edits *e, int leadspc,
                            const char *log_id, const char *milter)
{
    struct buf what = BUF_INIT;
    size_t i;

    for (i = 0; i < e->n; i++) {
        struct milter_msg_edit *ed = &e->v[i];
        uint32_t index = ed->index;
        long pos;
        int r;
        char *addr;

        if (what.len)
            buf_addstr(&what, ", ");
        switch (ed->cmd) {
        case SMFIR_ADDHEADER:
            add_header_at(m, m->nhdr, ed->s1, ed->s2, leadspc);
            buf_printf(&what, "add header %s", ed->s1);
            m->changed |= MILTER_MSG_CHANGED_HEADERS;
            break;
        case SMFIR_INSHEADER:
            add_header_at(m, index > m->nhdr ? m->nhdr : index, ed->s1, ed->s2, leadspc);
            buf_printf(&what, "insert header %s at %lu", ed->s1, (unsigned long) index);
            m->changed |= MILTER_MSG_CHANGED_HEADERS;
            break;
        case SMFIR_CHGHEADER:
            if (index == 0)
                index = 1;
            pos = find_header(m, ed->s1, index);
            if (*ed->s2 == 0) {
                if (pos >= 0) {
                    hdr_free(&m->hdr[pos]);
                    memmove(&m->hdr[pos], &m->hdr[pos + 1],
                            (m->nhdr - (size_t) pos - 1) * sizeof(*m->hdr));
                    m->nhdr--;
                    m->changed |= MILTER_MSG_CHANGED_HEADERS;
                }
                buf_printf(&what, "delete header %s[%lu]%s", ed->s1, (unsigned long) index,
                           pos < 0 ? " (none)" : "");
            } else if (pos >= 0) {
                mem_free(m->hdr[pos].name);
                m->hdr[pos].name = mem_strdup(ed->s1);
                set_value(&m->hdr[pos].value, ed->s2, leadspc);
                buf_printf(&what, "change header %s[%lu]", ed->s1, (unsigned long) index);
                m->changed |= MILTER_MSG_CHANGED_HEADERS;
            } else {
                add_header_at(m, m->nhdr, ed->s1, ed->s2, leadspc);
                buf_printf(&what, "change header %s[%lu] (appended)", ed->s1,
                           (unsigned long) index);
                m->changed |= MILTER_MSG_CHANGED_HEADERS;
            }
            break;
        case SMFIR_CHGFROM:
            milter_msg_set_sender(m, ed->s1, ed->s2);
            buf_printf(&what, "change sender to <%s>", m->sender);
            m->changed |= MILTER_MSG_CHANGED_SENDER;
            break;
        case SMFIR_ADDRCPT:
        case SMFIR_ADDRCPT_PAR:
            addr = strip_addr(ed->s1);
            if (rcpt_find(m, addr) < 0) {
                milter_msg_add_rcpt(m, addr, ed->s2);
                m->changed |= MILTER_MSG_CHANGED_RCPTS;
                buf_printf(&what, "add recipient <%s>", addr);
            } else {
                buf_printf(&what, "add recipient <%s> (already there)", addr);
            }
            mem_free(addr);
            break;
        case SMFIR_DELRCPT:
            addr = strip_addr(ed->s1);
            r = 0;
            while ((pos = rcpt_find(m, addr)) >= 0) {
                mem_free(m->rcpt[pos].addr);
                mem_free(m->rcpt[pos].args);
                memmove(&m->rcpt[pos], &m->rcpt[pos + 1],
                        (m->nrcpt - (size_t) pos - 1) * sizeof(*m->rcpt));
                m->nrcpt--;
                r++;
            }
            buf_printf(&what, "delete recipient <%s>%s", addr, r ? "" : " (none)");
            if (r)
                m->changed |= MILTER_MSG_CHANGED_RCPTS;
            mem_free(addr);
            break;
        default:
            msg_panic("milter_msg_edits_apply: unexpected edit 0x%02x", ed->cmd);
        }
    }
    if (e->body_fd >= 0) {
        if (e->body_cr && write_all(e->body_fd, "\r", 1) == 0)
            e->body_len++;
        if (m->body_ours && m->body_fd >= 0)
            close(m->body_fd);
        m->body_fd = e->body_fd;
        m->body_off = 0;
        m->body_len = e->body_len;
        m->body_ours = 1;
        m->blank_line = 1;
        e->body_fd = -1;
        m->changed |= MILTER_MSG_CHANGED_BODY;
        if (what.len)
            buf_addstr(&what, ", ");
        buf_printf(&what, "replace body (%lld bytes)", (long long) m->body_len);
    }
    if (what.len)
        msg_info("%s: milter %s: %s", log_id, milter, what.data);
    buf_free(&what);
    milter_msg_edits_clear(e);
}
