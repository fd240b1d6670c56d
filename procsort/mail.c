/*
 * mail.c - read the message into memory and find its parts, as procmail
 * does (from.c's From_ line rules, mailfold.c's readmail()).
 *
 * Reading: the whole of standard input is kept, NUL bytes, CRLF and all.
 * In -d mode or with -f, leading empty lines are dropped and a From_ line
 * is made sure of: the one read is kept (or replaced by -f's, or gets a new
 * date with -f -), else "From SENDER  DATE" is made up.
 *
 * Parsing: the header ends at the first empty line (a NUL byte before it
 * ends the search, as procmail's strchr() does: the whole message is then
 * header).  Unless -Y, a Content-Length: field is rewritten to the real
 * body length in the room it has (procmail fills the old value with 9s
 * and writes the new number right-aligned when it fits), and mbox writers
 * do not escape "From " lines in the part of the body it covers.
 *
 * Trusts nothing in the message; the only limit is memory.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "procsort/mail.h"

#define MAIL_READ_CHUNK 65536        /* bytes asked of read(2) at a time */
#define MAIL_CLEN_PLACES_MAX 26      /* digits procmail writes into Content-Length at most */
#define MAIL_TSTAMP_LEN 25           /* strlen("Sat Nov 21 19:53:36 2026\n") */

static const char mail_clen[] = "Content-Length:";

/* mail_init - an empty message */
void mail_init(struct mail *mail)
{
    memset(mail, 0, sizeof(*mail));
    buf_init(&mail->text);
}

/* mail_free - release the text */
void mail_free(struct mail *mail)
{
    buf_free(&mail->text);
}

/* The date as procmail appends it to a From_ line: two blanks, ctime(3). */
static void mail_add_date(struct buf *out, long now)
{
    time_t t = (time_t) now;
    char tbuf[64];

    buf_addstr(out, "  ");
    if (!ctime_r(&t, tbuf))
        strcpy(tbuf, "Thu Jan  1 00:00:00 1970\n");
    buf_addstr(out, tbuf);
}

/*
 * Where the date starts on an existing From_ line (for -f -): after the
 * address, at the blanks before the "hh:mm:ss" stamp; line points past
 * "From ", end past the line's newline.  Mirrors procmail's findtstamp().
 */
static size_t mail_find_stamp(const char *line, const char *end)
{
    const char *start = line;
    int blank;

    end -= MAIL_TSTAMP_LEN;
    if (*start == ' ' && (++start >= end || (*start == ' ' && ++start >= end)))
        return (size_t) (start - 1 - line);
    while (*start == ' ' || *start == '\t')
        start++;
    start += strcspn(start, " \t\n");
    {
        const char *s = start;

        while (*s == ' ' || *s == '\t')
            s++;
        if (s >= end)
            return (size_t) (start - line);
    }
    while (!(end[13] == ':' && end[16] == ':') && --end > start)
        ;
    blank = 0;
    while (end-- > start) {
        if (*end == ' ' || *end == '\t') {
            blank = 1;
            continue;
        }
        if (!blank)
            continue;
        break;
    }
    return (size_t) (end + 1 - line);
}

/* mail_read - read a message from fd and give it the From_ line procmail would */
int mail_read(struct mail *mail, int fd, const struct mail_from *from, struct buf *err)
{
    struct buf raw = BUF_INIT;
    struct buf *out = &mail->text;
    const char *sender = from->sender, *fwhom;
    size_t pos, eol;
    ssize_t n;
    int privs = from->privs, stamp, alert, has_from;

    for (;;) {
        buf_grow(&raw, MAIL_READ_CHUNK);
        n = read(fd, raw.data + raw.len, MAIL_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf_printf(err, "error reading the message: %s", strerror(errno));
            buf_free(&raw);
            return -1;
        }
        if (n == 0)
            break;
        raw.len += (size_t) n;
        raw.data[raw.len] = 0;
    }
    buf_reset(out);
    if (!from->delivery && !sender) {
        buf_add(out, raw.data, raw.len);
        buf_free(&raw);
        mail_parse(mail);
        return 0;
    }
    stamp = sender && strcmp(sender, "-") == 0;
    fwhom = from->invoker;
    if (sender && !stamp) {
        if (privs != 1 && strcmp(sender, from->invoker) == 0)
            privs = 1;
        else if (privs == -1)
            sender = 0;
        if (sender)
            fwhom = sender;
    }
    alert = privs <= 0;
    for (pos = 0; pos < raw.len && raw.data[pos] == '\n'; pos++)
        ;
    has_from = raw.len - pos >= 5 && memcmp(raw.data + pos, "From ", 5) == 0;
    eol = pos;
    if (has_from) {
        const char *nl = memchr(raw.data + pos, '\n', raw.len - pos);

        eol = nl ? (size_t) (nl - raw.data) + 1 : raw.len;
        if (from->delivery && privs < 0) {
            has_from = 0; /* a bogus From_ is dropped, a new one made */
        } else if (stamp) {
            buf_add(out, raw.data + pos, 5 + mail_find_stamp(raw.data + pos + 5, raw.data + eol));
            mail_add_date(out, from->now);
        } else if (!sender) {
            buf_add(out, raw.data + pos, eol - pos);
        } else {
            buf_addstr(out, "From ");
            buf_addstr(out, fwhom);
            mail_add_date(out, from->now);
        }
    }
    if (!has_from) {
        if (!sender || stamp)
            alert = 0;
        buf_addstr(out, "From ");
        buf_addstr(out, fwhom);
        mail_add_date(out, from->now);
    }
    if (alert) {
        buf_addstr(out, ">From ");
        buf_addstr(out, from->invoker);
        mail_add_date(out, from->now);
    }
    buf_add(out, raw.data + eol, raw.len - eol);
    buf_free(&raw);
    mail_parse(mail);
    return 0;
}

/* Rewrite Content-Length: in place; returns how much of the body it covers. */
static size_t mail_fix_clen(struct mail *mail, size_t value)
{
    char *p = mail->text.data;
    size_t len = mail->text.len, end, places = 0, i, digits;
    long long cntlen;
    unsigned long long v;
    char num[MAIL_CLEN_PLACES_MAX + 2];

    for (end = value; end < len && p[end] != '\n' && p[end] != 0; end++) {
        if (places < MAIL_CLEN_PLACES_MAX) {
            p[end] = '9';
            places++;
        } else {
            p[end] = ' ';
        }
    }
    cntlen = (long long) (len - mail->body);
    if (len > 1 && p[len - 2] == '\n')
        cntlen--;
    if (cntlen < 0)
        cntlen = 0;
    v = (unsigned long long) cntlen;
    digits = 0;
    do
        digits++;
    while (v /= 10);
    if (digits <= places) {
        memset(num, ' ', places - digits);
        v = (unsigned long long) cntlen;
        for (i = places; i > places - digits; i--) {
            num[i - 1] = (char) ('0' + v % 10);
            v /= 10;
        }
        memcpy(p + value, num, places);
        return (size_t) cntlen;
    }
    if (places >= 19)
        return (size_t) -1 / 2;
    v = 0;
    for (i = 0; i < places; i++)
        v = v * 10 + 9;
    return (size_t) v;
}

/* mail_parse - find the header's end and the mbox escape bounds */
void mail_parse(struct mail *mail)
{
    const char *p = mail->text.data;
    size_t len = mail->text.len, i, k, clen_at = 0;
    int found = 0;

    i = 0;
    while (i < len && p[i++] == '\n')
        ;
    mail->start = i;
    mail->body = len;
    for (k = i; k < len && p[k]; k++) {
        if (p[k] != '\n')
            continue;
        if (k + 1 < len && p[k + 1] == '\n') {
            mail->body = k + 2;
            break;
        }
    }
    if (!mail->berkeley) {
        for (k = 0; k + sizeof(mail_clen) - 1 <= mail->body; k++) {
            if ((k == 0 || p[k - 1] == '\n')
                && strncasecmp(p + k, mail_clen, sizeof(mail_clen) - 1) == 0) {
                clen_at = k + sizeof(mail_clen) - 1;
                found = 1;
                break;
            }
        }
    }
    if (found) {
        size_t covered = mail_fix_clen(mail, clen_at);

        mail->escape = covered > len - mail->body ? len : mail->body + covered;
    } else {
        mail->escape = mail->body > 0 ? mail->body - 1 : 0;
    }
}

/* The 'F' of the next "\nFrom " wholly inside [lo, hi) past offset after; a NUL stops. */
static size_t mail_scan(const char *p, size_t lo, size_t hi, size_t after)
{
    size_t k;

    for (k = lo > after ? lo : after; k + 6 <= hi; k++) {
        if (p[k] == 0)
            return (size_t) -1;
        if (p[k] == '\n' && memcmp(p + k + 1, "From ", 5) == 0)
            return k + 1;
    }
    return (size_t) -1;
}

/* mail_next_escape - where the next '>' goes in an mbox copy (see mail.h) */
size_t mail_next_escape(const struct mail *mail, size_t after)
{
    const char *p = mail->text.data;
    size_t at;

    if (mail->start < mail->body) {
        at = mail_scan(p, mail->start, mail->body, after);
        if (at != (size_t) -1)
            return at;
    }
    if (mail->escape < mail->text.len) {
        at = mail_scan(p, mail->escape, mail->text.len, after);
        if (at != (size_t) -1)
            return at;
    }
    return mail->text.len;
}

/* mail_joined_header - the header with continuation lines joined (see mail.h) */
void mail_joined_header(const struct mail *mail, struct buf *out)
{
    size_t k;

    buf_set(out, mail->text.data, mail->body);
    for (k = mail->start; k + 1 < mail->body; k++) {
        if (out->data[k] == 0)
            break;
        if (out->data[k] == '\n' && (out->data[k + 1] == ' ' || out->data[k + 1] == '\t'))
            out->data[k] = ' ';
    }
}

/* mail_set_header - replace the header (a filter's output), keep the body */
void mail_set_header(struct mail *mail, const char *data, size_t len)
{
    struct buf text = BUF_INIT;

    buf_add(&text, data, len);
    buf_add(&text, mail->text.data + mail->body, mail->text.len - mail->body);
    buf_free(&mail->text);
    mail->text = text;
    mail_parse(mail);
}

/* mail_set_body - replace the body (a filter's output), keep the header */
void mail_set_body(struct mail *mail, const char *data, size_t len)
{
    buf_truncate(&mail->text, mail->body);
    buf_add(&mail->text, data, len);
    mail_parse(mail);
}
