/*
 * smtp_mime.c - 8-bit to 7-bit conversion for a next hop without 8BITMIME,
 * with Postfix's rules (see smtp_mime.h): a MIME state machine over lines.
 *
 * States: HEADER (a block of headers: the message's own, a multipart
 * part's, or a message/rfc822's) and BODY.  Each header block starts with
 * its defaults (text/plain, 7bit; message/rfc822 inside multipart/digest).
 * A logical header (a line and its continuation lines) is kept until it is
 * complete, then interpreted (Content-Type, Content-Transfer-Encoding) and
 * written; a Content-Transfer-Encoding that says 8bit or binary is
 * dropped and, at the end of the block, replaced with "7bit" for
 * containers or "quoted-printable" for leaves.  In BODY, "--boundary"
 * lines of any open multipart start a part ("--boundary--" closes it, and
 * everything nested in it); body lines of an 8-bit leaf are encoded
 * quoted-printable, with a soft line break after SMTP_MIME_QP_WIDTH bytes.
 *
 * As Postfix does, a primary header block that ends with a line that is
 * not a header gets the missing empty line before that line.
 *
 * Trusts: nothing (see smtp_mime.h for the limits).
 */
#include <string.h>
#include <strings.h>

#include "libmatch/buf.h"
#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "mta-core/smtp_mime.h"

enum smtp_mime_ctype { CT_TEXT, CT_MULTIPART, CT_MESSAGE, CT_OTHER };
enum smtp_mime_stype { ST_OTHER, ST_RFC822, ST_PARTIAL, ST_EXTERNAL, ST_GLOBAL };
enum smtp_mime_state { MS_HEADER, MS_BODY };

struct smtp_mime_bound {
    char *text;
    size_t len;
    int def_ctype;  /* the default type of its parts */
    int def_stype;
};

struct smtp_mime {
    smtp_mime_out_fn out;
    void *ctx;
    int state;
    int primary;            /* in the message's own header block */
    int ctype, stype;       /* of the part being described or read */
    int eightbit;           /* its Content-Transfer-Encoding is 8bit or binary */
    struct buf hdr;         /* the logical header being read, lines joined with '\n' */
    int have_hdr;
    int hdr_spilled;        /* it grew past the limit: its lines went out as they came */
    struct smtp_mime_bound *bounds; /* innermost last */
    size_t nbounds;
    struct buf qp;          /* a quoted-printable output line being built */
    size_t converted;
};

/* smtp_mime_new - a converter that writes through out(ctx, line, len) */
struct smtp_mime *smtp_mime_new(smtp_mime_out_fn out, void *ctx)
{
    struct smtp_mime *m = mem_zalloc(sizeof(*m));

    m->out = out;
    m->ctx = ctx;
    m->state = MS_HEADER;
    m->primary = 1;
    m->ctype = CT_TEXT;
    m->stype = ST_OTHER;
    buf_init(&m->hdr);
    buf_init(&m->qp);
    return m;
}

/* smtp_mime_free - release it */
void smtp_mime_free(struct smtp_mime *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nbounds; i++)
        mem_free(m->bounds[i].text);
    mem_free(m->bounds);
    buf_free(&m->hdr);
    buf_free(&m->qp);
    mem_free(m);
}

/* smtp_mime_converted - parts converted so far */
size_t smtp_mime_converted(const struct smtp_mime *m)
{
    return m->converted;
}

/*
 * smtp_mime_token - the next token of a MIME header value at *p (within
 * end): a word of non-tspecials, or a quoted string (unquoted into tok),
 * or one tspecial character; comments are skipped.  The token's kind: 'w'
 * word, 'q' quoted, the character itself, or 0 at the end.
 */
static int smtp_mime_token(const char **p, const char *end, struct buf *tok)
{
    static const char tspecials[] = "()<>@,;:\\\"/[]?=";
    const char *s = *p;
    int depth;

    buf_reset(tok);
    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
        if (s < end && *s == '(') {
            for (depth = 0; s < end; s++) {
                if (*s == '\\' && s + 1 < end)
                    s++;
                else if (*s == '(')
                    depth++;
                else if (*s == ')' && --depth == 0) {
                    s++;
                    break;
                }
            }
            continue;
        }
        break;
    }
    if (s >= end) {
        *p = s;
        return 0;
    }
    if (*s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (tok->len < SMTP_MIME_BOUNDARY_MAX + 1)
                buf_addch(tok, *s);
        }
        *p = s < end ? s + 1 : s;
        return 'q';
    }
    if (strchr(tspecials, *s)) {
        *p = s + 1;
        return *s;
    }
    while (s < end && !strchr(tspecials, *s) && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' &&
           (unsigned char) *s > 31) {
        if (tok->len < SMTP_MIME_BOUNDARY_MAX + 1)
            buf_addch(tok, *s);
        s++;
    }
    if (tok->len == 0) {
        /* A control character: skip it. */
        *p = s + 1;
        return smtp_mime_token(p, end, tok);
    }
    *p = s;
    return 'w';
}

/* smtp_mime_push - a multipart's boundary */
static void smtp_mime_push(struct smtp_mime *m, const struct buf *boundary, int digest)
{
    struct smtp_mime_bound *b;

    if (m->nbounds >= SMTP_MIME_DEPTH_MAX || boundary->len == 0 || boundary->len > SMTP_MIME_BOUNDARY_MAX)
        return; /* not followed: its lines pass as they are */
    m->bounds = mem_realloc_array(m->bounds, m->nbounds + 1, sizeof(*m->bounds));
    b = &m->bounds[m->nbounds++];
    /* Copied by length: a quoted boundary may hold any byte, NUL included. */
    b->text = mem_alloc(boundary->len + 1);
    memcpy(b->text, boundary->data, boundary->len);
    b->text[boundary->len] = 0;
    b->len = boundary->len;
    b->def_ctype = digest ? CT_MESSAGE : CT_TEXT;
    b->def_stype = digest ? ST_RFC822 : ST_OTHER;
}

/* smtp_mime_content_type - interpret a Content-Type value */
static void smtp_mime_content_type(struct smtp_mime *m, const char *v, const char *end)
{
    struct buf type = BUF_INIT, sub = BUF_INIT, name = BUF_INIT, val = BUF_INIT;
    int k, digest = 0;

    k = smtp_mime_token(&v, end, &type);
    if (k != 'w') {
        m->ctype = CT_OTHER;
        goto out;
    }
    if (smtp_mime_token(&v, end, &sub) == '/')
        smtp_mime_token(&v, end, &sub);
    else
        buf_reset(&sub);
    if (strcasecmp(type.data, "text") == 0) {
        m->ctype = CT_TEXT;
        m->stype = ST_OTHER;
    } else if (strcasecmp(type.data, "message") == 0) {
        m->ctype = CT_MESSAGE;
        m->stype = strcasecmp(sub.data, "rfc822") == 0          ? ST_RFC822
                   : strcasecmp(sub.data, "partial") == 0       ? ST_PARTIAL
                   : strcasecmp(sub.data, "external-body") == 0 ? ST_EXTERNAL
                   : strcasecmp(sub.data, "global") == 0        ? ST_GLOBAL
                                                                : ST_OTHER;
    } else if (strcasecmp(type.data, "multipart") == 0) {
        m->ctype = CT_MULTIPART;
        m->stype = ST_OTHER;
        digest = strcasecmp(sub.data, "digest") == 0;
        /* Parameters: every "boundary=value" (more than one is invalid, and all are followed). */
        for (;;) {
            while ((k = smtp_mime_token(&v, end, &name)) != 0 && k != ';')
                ;
            if (k == 0)
                break;
            if (smtp_mime_token(&v, end, &name) != 'w')
                continue;
            if (smtp_mime_token(&v, end, &val) != '=')
                continue;
            k = smtp_mime_token(&v, end, &val);
            if ((k == 'w' || k == 'q') && strcasecmp(name.data, "boundary") == 0)
                smtp_mime_push(m, &val, digest);
        }
    } else {
        m->ctype = CT_OTHER;
    }
out:
    buf_free(&type);
    buf_free(&sub);
    buf_free(&name);
    buf_free(&val);
}

/* smtp_mime_encoding - interpret a Content-Transfer-Encoding value */
static void smtp_mime_encoding(struct smtp_mime *m, const char *v, const char *end)
{
    struct buf tok = BUF_INIT;

    if (smtp_mime_token(&v, end, &tok) == 'w') {
        if (strcasecmp(tok.data, "8bit") == 0 || strcasecmp(tok.data, "binary") == 0)
            m->eightbit = 1;
        else if (strcasecmp(tok.data, "7bit") == 0 || strcasecmp(tok.data, "quoted-printable") == 0 ||
                 strcasecmp(tok.data, "base64") == 0)
            m->eightbit = 0;
        /* anything else leaves what we knew */
    }
    buf_free(&tok);
}

/* smtp_mime_emit_lines - write a logical header's physical lines */
static void smtp_mime_emit_lines(struct smtp_mime *m, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    for (;;) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));

        m->out(m->ctx, p, nl ? (size_t) (nl - p) : (size_t) (end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

/* smtp_mime_flush_header - the logical header is complete: interpret it and write it (or not) */
static void smtp_mime_flush_header(struct smtp_mime *m)
{
    const char *h = m->hdr.data, *end = m->hdr.data + m->hdr.len, *colon;
    size_t nlen;
    int cte = 0;

    if (!m->have_hdr)
        return;
    m->have_hdr = 0;
    if (m->hdr_spilled) {
        m->hdr_spilled = 0;
        buf_reset(&m->hdr);
        return;
    }
    colon = memchr(h, ':', m->hdr.len);
    if (colon) {
        for (nlen = (size_t) (colon - h); nlen > 0 && (h[nlen - 1] == ' ' || h[nlen - 1] == '\t'); nlen--)
            ;
        if (nlen == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
            smtp_mime_content_type(m, colon + 1, end);
        } else if (nlen == 25 && strncasecmp(h, "Content-Transfer-Encoding", 25) == 0) {
            smtp_mime_encoding(m, colon + 1, end);
            cte = 1;
        }
    }
    /* An 8-bit encoding header is replaced at the end of the block. */
    if (!(cte && m->eightbit))
        smtp_mime_emit_lines(m, m->hdr.data, m->hdr.len);
    buf_reset(&m->hdr);
}

/* smtp_mime_qp_flush - write the quoted-printable line built so far */
static void smtp_mime_qp_flush(struct smtp_mime *m)
{
    m->out(m->ctx, m->qp.data, m->qp.len);
    buf_reset(&m->qp);
}

/* smtp_mime_qp_line - one body line of an 8-bit leaf, quoted-printable */
static void smtp_mime_qp_line(struct smtp_mime *m, const char *line, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    buf_reset(&m->qp);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) line[i];

        if (m->qp.len > SMTP_MIME_QP_WIDTH) {
            buf_addch(&m->qp, '=');
            smtp_mime_qp_flush(m);
        }
        if ((c < 32 && c != '\t') || c == '=' || c > 126) {
            buf_addch(&m->qp, '=');
            buf_addch(&m->qp, hex[c >> 4]);
            buf_addch(&m->qp, hex[c & 0xf]);
        } else {
            buf_addch(&m->qp, (char) c);
        }
    }
    /* Trailing white space would be lost in transit: encode it. */
    if (m->qp.len > 0 && (m->qp.data[m->qp.len - 1] == ' ' || m->qp.data[m->qp.len - 1] == '\t')) {
        char c = m->qp.data[m->qp.len - 1];

        buf_truncate(&m->qp, m->qp.len - 1);
        buf_addch(&m->qp, '=');
        buf_addch(&m->qp, hex[(unsigned char) c >> 4]);
        buf_addch(&m->qp, hex[c & 0xf]);
    }
    smtp_mime_qp_flush(m);
}

/* smtp_mime_new_block - a header block starts, with these defaults */
static void smtp_mime_new_block(struct smtp_mime *m, int ctype, int stype)
{
    m->state = MS_HEADER;
    m->primary = 0;
    m->ctype = ctype;
    m->stype = stype;
    m->eightbit = 0;
}

/* smtp_mime_body - one body line: boundaries, then the line itself */
static void smtp_mime_body(struct smtp_mime *m, const char *line, size_t len)
{
    size_t i;

    if (m->nbounds && len > 2 && line[0] == '-' && line[1] == '-') {
        for (i = m->nbounds; i-- > 0;) {
            struct smtp_mime_bound *b = &m->bounds[i];

            if (len >= 2 + b->len && memcmp(line + 2, b->text, b->len) == 0) {
                int ctype = b->def_ctype, stype = b->def_stype;
                size_t k;

                /* Everything nested deeper ends here. */
                for (k = i + 1; k < m->nbounds; k++)
                    mem_free(m->bounds[k].text);
                m->nbounds = i + 1;
                if (len >= 4 + b->len && line[2 + b->len] == '-' && line[3 + b->len] == '-') {
                    mem_free(b->text);
                    m->nbounds = i;
                    m->state = MS_BODY;
                    m->ctype = CT_OTHER;
                    m->stype = ST_OTHER;
                    m->eightbit = 0;
                } else {
                    smtp_mime_new_block(m, ctype, stype);
                }
                m->out(m->ctx, line, len);
                return;
            }
        }
    }
    if (m->eightbit)
        smtp_mime_qp_line(m, line, len);
    else
        m->out(m->ctx, line, len);
}

/* smtp_mime_end_block - the header block ends at this line (empty or not a header) */
static void smtp_mime_end_block(struct smtp_mime *m, const char *line, size_t len)
{
    static const char cte7[] = "Content-Transfer-Encoding: 7bit";
    static const char cteqp[] = "Content-Transfer-Encoding: quoted-printable";

    if (m->eightbit) {
        if ((m->ctype == CT_MESSAGE && m->stype != ST_GLOBAL) || m->ctype == CT_MULTIPART)
            m->out(m->ctx, cte7, sizeof(cte7) - 1);
        else
            m->out(m->ctx, cteqp, sizeof(cteqp) - 1);
        m->converted++;
    }
    if (len == 0) {
        if (m->ctype == CT_MESSAGE && (m->stype == ST_RFC822 || (m->stype == ST_GLOBAL && !m->eightbit))) {
            /* The empty line, then the nested message's own headers. */
            m->out(m->ctx, line, len);
            smtp_mime_new_block(m, CT_TEXT, ST_OTHER);
            return;
        }
        if (m->ctype == CT_MULTIPART) {
            /* The prolog before the first boundary is not converted. */
            m->state = MS_BODY;
            m->ctype = CT_OTHER;
            m->eightbit = 0;
            m->out(m->ctx, line, len);
            return;
        }
        m->state = MS_BODY;
        m->out(m->ctx, line, len);
        return;
    }
    /* Not a header, not empty: the body starts here (the primary block gets its empty line). */
    if (m->primary)
        m->out(m->ctx, "", 0);
    m->state = MS_BODY;
    smtp_mime_body(m, line, len);
}

/* smtp_mime_line - see smtp_mime.h */
void smtp_mime_line(struct smtp_mime *m, const char *line, size_t len)
{
    if (m->state == MS_BODY) {
        smtp_mime_body(m, line, len);
        return;
    }
    /* A continuation line of the header being read. */
    if (m->have_hdr && len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        if (m->hdr_spilled) {
            m->out(m->ctx, line, len);
        } else if (m->hdr.len + 1 + len > SMTP_MIME_HEADER_MAX) {
            /* Too long to interpret: out as it came. */
            smtp_mime_emit_lines(m, m->hdr.data, m->hdr.len);
            m->out(m->ctx, line, len);
            m->hdr_spilled = 1;
        } else {
            buf_addch(&m->hdr, '\n');
            buf_add(&m->hdr, line, len);
        }
        return;
    }
    smtp_mime_flush_header(m);
    if (header_label_len(line, len)) {
        m->have_hdr = 1;
        if (len > SMTP_MIME_HEADER_MAX) {
            m->out(m->ctx, line, len);
            m->hdr_spilled = 1;
        } else {
            buf_set(&m->hdr, line, len);
        }
        return;
    }
    smtp_mime_end_block(m, line, len);
}

/* smtp_mime_end - the content ends: a header still being read goes out */
void smtp_mime_end(struct smtp_mime *m)
{
    if (m->state == MS_HEADER)
        smtp_mime_flush_header(m);
}
