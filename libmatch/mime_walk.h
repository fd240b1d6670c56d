/*
 * mime_walk.h - walk every MIME part of a message with GMime, as a mail
 * client would see it.
 *
 * The message is parsed from a file descriptor with GMime's persistent
 * stream mode: part contents stay in the file and are decoded only when a
 * caller asks (mime_walk_content), a chunk at a time, so memory does not
 * grow with the size of the message.
 *
 * For each part the walk reports its IMAP-style number, its kind, its
 * declared type, the depth of message/rfc822 nesting around it, every
 * distinct file name its headers give (Content-Disposition filename and
 * Content-Type name, RFC 2231 and RFC 2047 decoded, from every copy of
 * those headers), and what is malformed about it.  Malformed MIME is
 * reported, never fatal: the walk goes on as GMime recovers.
 *
 * What it trusts: nothing in the message.  g_mime_init() is called once,
 * thread-safely; walks in several threads at once are fine.
 */
#ifndef MAILSIFT_MIME_WALK_H
#define MAILSIFT_MIME_WALK_H

#include <stddef.h>

#include "libmatch/buf.h"

/* What can be wrong with a part (bits of mime_part.bad). */
#define MIME_BAD_BOUNDARY  (1u << 0)  /* multipart: no closing boundary, no boundary parameter, no parts */
#define MIME_BAD_BASE64    (1u << 1)  /* base64 body with stray characters, bad padding or a cut quantum */
#define MIME_BAD_ENCODING  (1u << 2)  /* unknown Content-Transfer-Encoding */
#define MIME_BAD_DUPLICATE (1u << 3)  /* a Content-* header or parameter given twice, same value */
#define MIME_BAD_CONFLICT  (1u << 4)  /* a Content-* header or parameter given twice, different values */
#define MIME_BAD_NAMES     (1u << 5)  /* the part's file names differ (Content-Type vs Content-Disposition, copies) */
#define MIME_BAD_HEADER    (1u << 6)  /* invalid header line, content type, parameter or RFC 2047 word */
#define MIME_BAD_TRUNCATED (1u << 7)  /* the message ends inside a part */
#define MIME_BAD_NESTING   (1u << 8)  /* nested deeper than the limit (the rest is not looked into) */
#define MIME_BAD_PARTS     (1u << 9)  /* more parts than the limit (the rest is not looked at) */
#define MIME_BAD_ALL       ((1u << 10) - 1)

/* Limits: the defaults when 0. */
#define MIME_WALK_PARTS_MAX 1000 /* parts looked at in one message */
#define MIME_WALK_DEPTH_MAX 10   /* message/rfc822 inside message/rfc822 */

struct mime_walk_limits {
    size_t parts_max;
    int depth_max;
    const char *prefix; /* walking the decoded content of part PREFIX: "2" makes "2.0", "2.1" */
    int depth;          /* ... which is at this message/rfc822 depth */
};

enum mime_kind {
    MIME_LEAF,      /* a part with content */
    MIME_MULTIPART, /* a container: only its header and structure */
    MIME_MESSAGE,   /* message/rfc822 (or news, global): the part itself; its contents follow */
};

struct mime_part {
    const char *section;     /* "1", "2.3"; "0" the top multipart's header; "3.0" the multipart inside message part 3 */
    enum mime_kind kind;
    int depth;               /* message/rfc822 levels around it; 0 in the outer message */
    const char *type;        /* declared "type/subtype", lower case; GMime's default when absent */
    const char *disposition; /* "attachment", "inline", ... lower case; "" when absent */
    const char *filename;    /* the name a client shows: Content-Disposition filename, else Content-Type name; "" */
    const char *const *names; /* every distinct decoded name from every copy of both headers */
    size_t nnames;
    unsigned bad;            /* MIME_BAD_* of the headers and structure (content: see mime_walk_content) */
    void *priv;              /* the walk's own */
};

/* Called for each part in message order; nonzero stops the walk with that value. */
typedef int (*mime_walk_fn)(const struct mime_part *part, void *ctx);

/* Called with decoded content, chunk by chunk; nonzero stops reading (returned by mime_walk_content). */
typedef int (*mime_sink_fn)(const char *data, size_t len, void *ctx);

int mime_walk_fd(int fd, const struct mime_walk_limits *limits, mime_walk_fn fn, void *ctx,
                 struct buf *err);
int mime_walk_content(const struct mime_part *part, mime_sink_fn sink, void *ctx, unsigned *bad,
                      struct buf *err);
const char *mime_bad_name(unsigned bit);
int mime_walk_tmpfd(struct buf *err);
void mime_walk_init(void);

#endif
