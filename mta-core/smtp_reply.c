/*
 * smtp_reply.c - server replies as the SMTP client reads them, and the EHLO
 * keywords in them.
 *
 * A reply is lines "NNN-text" ... "NNN text" (or a bare "NNN").  As Postfix
 * does, a line that is not a reply line is skipped (a broken server or a
 * middlebox), the code and enhanced status code are those of the last line,
 * and an enhanced status code whose class differs from the reply code's
 * first digit is ignored in favour of "X.0.0".  Everything kept is made
 * printable, for logs and bounces.
 *
 * Trusts: nothing.  Lines are cut at SMTP_REPLY_LINE_MAX by the reader
 * (smtp_conn.c) and again here; a reply stops at SMTP_REPLY_LINES_MAX lines;
 * the text kept stops growing at SMTP_REPLY_TEXT_MAX bytes.
 */
#include <stdio.h>
#include <string.h>

#include "mta-core/smtp_reply.h"

#define SMTP_REPLY_TEXT_MAX 4096 /* bytes of a multi-line reply kept for logs */

/* smtp_reply_init - an empty reply */
void smtp_reply_init(struct smtp_reply *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->text);
}

/* smtp_reply_reset - ready for the next reply */
void smtp_reply_reset(struct smtp_reply *r)
{
    r->code = 0;
    r->dsn[0] = 0;
    r->has_dsn = 0;
    r->nlines = 0;
    r->done = 0;
    buf_reset(&r->text);
}

/* smtp_reply_free - release the text */
void smtp_reply_free(struct smtp_reply *r)
{
    buf_free(&r->text);
}

/* smtp_reply_dsn_len - length of an enhanced status code at p ("5.1.1"), 0 if none */
static size_t smtp_reply_dsn_len(const char *p, size_t len)
{
    size_t i = 0, n;
    int part;

    if (len < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return 0;
    i = 2;
    for (part = 0; part < 2; part++) {
        for (n = 0; i < len && n < 4 && p[i] >= '0' && p[i] <= '9'; i++)
            n++;
        if (n < 1 || n > 3)
            return 0;
        if (part == 0) {
            if (i >= len || p[i] != '.')
                return 0;
            i++;
        }
    }
    /* The code ends at a space or at the end of the line. */
    if (i < len && p[i] != ' ' && p[i] != '\t')
        return 0;
    return i;
}

/* smtp_reply_keep - add one line to the text, printable, within the limit */
static void smtp_reply_keep(struct smtp_reply *r, const char *line, size_t len)
{
    size_t i;

    if (r->text.len >= SMTP_REPLY_TEXT_MAX)
        return;
    if (r->text.len)
        buf_addch(&r->text, '\n');
    for (i = 0; i < len && r->text.len < SMTP_REPLY_TEXT_MAX; i++) {
        unsigned char c = (unsigned char) line[i];

        buf_addch(&r->text, c >= 0x20 && c < 0x7f ? c : '?');
    }
}

/* smtp_reply_line - see smtp_reply.h */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len, struct buf *err)
{
    size_t digits = 0, dlen;
    const char *p;

    if (r->done)
        smtp_reply_reset(r);
    if (r->nlines >= SMTP_REPLY_LINES_MAX) {
        buf_printf(err, "reply longer than %d lines", SMTP_REPLY_LINES_MAX);
        return -1;
    }
    r->nlines++;
    if (len > SMTP_REPLY_LINE_MAX)
        len = SMTP_REPLY_LINE_MAX;
    while (digits < len && digits < 4 && line[digits] >= '0' && line[digits] <= '9')
        digits++;
    if (digits != 3 || (len > 3 && line[3] != '-' && line[3] != ' ')) {
        /* Not a reply line: skipped, as Postfix does, but it counts. */
        if (r->nlines >= SMTP_REPLY_LINES_MAX) {
            buf_printf(err, "malformed reply: %.*s", (int) (len > 60 ? 60 : len), line);
            return -1;
        }
        return 0;
    }
    smtp_reply_keep(r, line, len);
    if (len > 3 && line[3] == '-')
        return 0;
    /* The last line: its code and enhanced status code are the reply's. */
    r->done = 1;
    r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    r->has_dsn = 0;
    if (line[0] == '2' || line[0] == '4' || line[0] == '5') {
        for (p = line + 3; p < line + len && *p == ' '; p++)
            ;
        dlen = smtp_reply_dsn_len(p, (size_t) (line + len - p));
        if (dlen > 0 && dlen < sizeof(r->dsn) && p[0] == line[0]) {
            memcpy(r->dsn, p, dlen);
            r->dsn[dlen] = 0;
            r->has_dsn = 1;
        } else {
            r->dsn[0] = line[0];
            memcpy(r->dsn + 1, ".0.0", 5);
        }
    } else {
        memcpy(r->dsn, "5.5.0", 6); /* a protocol error */
    }
    return 1;
}

/* smtp_reply_fake - a reply we make up ourselves (for a local problem) */
void smtp_reply_fake(struct smtp_reply *r, int code, const char *dsn, const char *text)
{
    smtp_reply_reset(r);
    r->code = code;
    snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
    r->has_dsn = 1;
    r->done = 1;
    r->nlines = 1;
    buf_setstr(&r->text, text);
}

/* smtp_reply_flat - the lines joined with spaces (Postfix's "said: ..." text) */
void smtp_reply_flat(const struct smtp_reply *r, struct buf *out)
{
    size_t i;

    for (i = 0; i < r->text.len; i++)
        buf_addch(out, r->text.data[i] == '\n' ? ' ' : r->text.data[i]);
}

/* smtp_reply_message - the text of the last line after the code and status code */
const char *smtp_reply_message(const struct smtp_reply *r)
{
    const char *last = strrchr(r->text.data, '\n');
    const char *p = last ? last + 1 : r->text.data;

    if (strlen(p) >= 3)
        p += 3;
    while (*p == ' ' || *p == '-')
        p++;
    if (r->has_dsn && strncmp(p, r->dsn, strlen(r->dsn)) == 0) {
        p += strlen(r->dsn);
        while (*p == ' ')
            p++;
    }
    return p;
}

/* smtp_ehlo_init - no extensions known */
void smtp_ehlo_init(struct smtp_ehlo *e)
{
    e->ext = 0;
    e->size = 0;
    buf_init(&e->name);
}

void smtp_ehlo_free(struct smtp_ehlo *e)
{
    buf_free(&e->name);
}

/* smtp_ehlo_word - the next blank-separated word of [*p, end) (also '=' after a keyword) */
static size_t smtp_ehlo_word(const char **p, const char *end, const char **word, int keyword)
{
    const char *s = *p;
    size_t n = 0;

    while (s < end && (*s == ' ' || *s == '\t' || (keyword && *s == '=')))
        s++;
    *word = s;
    while (s + n < end && s[n] != ' ' && s[n] != '\t' && !(keyword && s[n] == '='))
        n++;
    *p = s + n;
    return n;
}

/*
 * smtp_ehlo_parse - the extensions of an EHLO reply: the first line names
 * the server, each further line starts with a keyword (and, for SIZE, a
 * number; "SIZE=n" as some servers write it is accepted too).
 */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e)
{
    static const struct {
        const char *name;
        int ext;
    } known[] = {
        {"PIPELINING", SMTP_EXT_PIPELINING}, {"SIZE", SMTP_EXT_SIZE},
        {"8BITMIME", SMTP_EXT_8BITMIME}, {"STARTTLS", SMTP_EXT_STARTTLS},
        {"DSN", SMTP_EXT_DSN}, {"SMTPUTF8", SMTP_EXT_SMTPUTF8},
        {"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
    };
    const char *line = r->text.data, *end = r->text.data + r->text.len;
    size_t n = 0, i;

    e->ext = 0;
    e->size = 0;
    buf_reset(&e->name);
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t) (end - line));
        const char *p = line + 4, *word;
        size_t wlen;

        if (eol == NULL)
            eol = end;
        if (eol - line <= 4) {
            line = eol + 1;
            n++;
            continue;
        }
        wlen = smtp_ehlo_word(&p, eol, &word, n > 0);
        if (n == 0) {
            buf_set(&e->name, word, wlen);
        } else {
            for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
                if (wlen == strlen(known[i].name) && strncasecmp(word, known[i].name, wlen) == 0) {
                    e->ext |= known[i].ext;
                    break;
                }
            }
            if (wlen == 4 && strncasecmp(word, "SIZE", 4) == 0) {
                const char *num;
                size_t nlen = smtp_ehlo_word(&p, eol, &num, 1), k;
                unsigned long long v = 0;
                int ok = nlen > 0 && nlen <= 19;

                for (k = 0; ok && k < nlen; k++) {
                    if (num[k] < '0' || num[k] > '9')
                        ok = 0;
                    else
                        v = v * 10 + (unsigned long long) (num[k] - '0');
                }
                /* A limit we cannot read counts as none (as 0 does). */
                e->size = ok ? v : 0;
            }
        }
        n++;
        line = eol + 1;
    }
}

/* smtp_ehlo_names - the extensions as words, for the log */
void smtp_ehlo_names(int ext, struct buf *out)
{
    static const char *const names[] = {"PIPELINING", "SIZE", "8BITMIME", "STARTTLS", "DSN", "SMTPUTF8",
                                        "ENHANCEDSTATUSCODES"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ext & (1 << i)) {
            if (out->len)
                buf_addch(out, ' ');
            buf_addstr(out, names[i]);
        }
    }
}
