/*
 * smtp_reply.h - the SMTP client's view of a server reply: lines collected
 * into one reply, its code, its enhanced status code, and the EHLO
 * keywords the client cares about.
 *
 * Pure functions over bytes from the network, so that they are easy to
 * test and to fuzz (fuzz/fuzz-smtp-reply.c).
 * Trusts: nothing; every limit is named and checked before it is passed.
 */
#ifndef MAILSIFT_SMTP_REPLY_H
#define MAILSIFT_SMTP_REPLY_H

#include <stddef.h>

#include "libmatch/buf.h"

#define SMTP_REPLY_LINE_MAX 2048  /* bytes kept of one reply line (longer ones are cut) */
#define SMTP_REPLY_LINES_MAX 100  /* lines in one reply */

/* One reply, possibly of several lines ("250-a" ... "250 z"). */
struct smtp_reply {
    int code;           /* the three digits of the last line, 0 before any */
    char dsn[16];       /* enhanced status code: the server's, or X.0.0 from the code */
    int has_dsn;        /* the server gave one */
    struct buf text;    /* every line as received (code included), joined with '\n',
                         * control and 8-bit bytes replaced by '?' */
    size_t nlines;
    int done;           /* the last line has arrived */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len, struct buf *err);
void smtp_reply_fake(struct smtp_reply *r, int code, const char *dsn, const char *text);
void smtp_reply_flat(const struct smtp_reply *r, struct buf *out);
const char *smtp_reply_message(const struct smtp_reply *r);

/*
 * smtp_reply_line() adds one line (its CRLF or LF removed): 1 when the
 * reply is complete, 0 when more lines follow, -1 with err when the line
 * is not a reply line or the reply has too many lines.
 *
 * smtp_reply_flat() is the text for logs and DSNs: the lines joined with
 * a space, as Postfix prints them.  smtp_reply_message() is the text of
 * the last line after its code and enhanced status code.
 */

/* What the server said in its EHLO reply. */
#define SMTP_EXT_PIPELINING (1 << 0)
#define SMTP_EXT_SIZE (1 << 1)
#define SMTP_EXT_8BITMIME (1 << 2)
#define SMTP_EXT_STARTTLS (1 << 3)
#define SMTP_EXT_DSN (1 << 4)
#define SMTP_EXT_SMTPUTF8 (1 << 5)
#define SMTP_EXT_ENHANCEDSTATUSCODES (1 << 6)

struct smtp_ehlo {
    int ext;                    /* SMTP_EXT_* */
    unsigned long long size;    /* SIZE limit, 0: none announced */
    struct buf name;            /* the first word of the reply: the server's name */
};

void smtp_ehlo_init(struct smtp_ehlo *e);
void smtp_ehlo_free(struct smtp_ehlo *e);
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *e);
void smtp_ehlo_names(int ext, struct buf *out);

#endif
