/*
 * mail.h - the message procsort is delivering, held in memory as procmail
 * holds it.
 *
 * The text is the message as it will be written to an mbox folder: the
 * From_ line (read or made up, see mail_read), the header, the empty line,
 * the body.  Offsets are recomputed by mail_parse() whenever the text
 * changes (a filter replaced the header or the body).  Trusts nothing in
 * the text: NUL bytes, CRLF, missing final newline are all kept as read.
 */
#ifndef PROCSORT_MAIL_H
#define PROCSORT_MAIL_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"

struct mail {
    struct buf text;  /* the whole message */
    size_t start;     /* one past the first byte that is not a leading newline (procmail realstart) */
    size_t body;      /* offset of the body: past the empty line after the header, or text.len */
    size_t escape;    /* mbox writers escape "\nFrom " in [start, body) and in [escape, text.len) */
    int berkeley;     /* -Y: Content-Length is ignored (and left alone) */
};

/* How the From_ line is made when the message is read (procmail -f, -r, -d). */
struct mail_from {
    const char *sender;  /* -f/-r value, NULL when none; "-" refreshes the date only */
    const char *invoker; /* the login name of whoever ran us */
    int privs;           /* 1 may set the sender; 0 may not (a ">From invoker" line
                          * records the attempt); -1 may not, and -o: ignore -f */
    int delivery;        /* -d mode: always make sure there is a From_ line */
    long now;            /* the time for a made-up From_ line (time(0), or fixed in tests) */
};

void mail_init(struct mail *mail);
void mail_free(struct mail *mail);
int mail_read(struct mail *mail, int fd, const struct mail_from *from, struct buf *err);
void mail_parse(struct mail *mail);
void mail_set_header(struct mail *mail, const char *data, size_t len);
void mail_set_body(struct mail *mail, const char *data, size_t len);
size_t mail_next_escape(const struct mail *mail, size_t after);
void mail_joined_header(const struct mail *mail, struct buf *out);

/*
 * mail_next_escape: the offset of the next byte past offset after before
 * which an mbox writer must insert '>' (the 'F' of a "From " line), or
 * text.len when there is none: start with after = 0, then pass the offset
 * just returned.  Procmail's rules: only lines inside the
 * header (not its first line) and lines of the body past what a
 * Content-Length header covers; the search in each part stops at a NUL.
 *
 * mail_joined_header: the header with every continuation line joined to
 * its field (the newline before it read as a space), as procmail matches
 * header conditions against it; same length as the header.
 */

/* The header includes the From_ line and the empty line that ends it. */
static inline const char *mail_header(const struct mail *mail, size_t *len)
{
    *len = mail->body;
    return mail->text.data;
}

static inline const char *mail_body(const struct mail *mail, size_t *len)
{
    *len = mail->text.len - mail->body;
    return mail->text.data + mail->body;
}

#endif
