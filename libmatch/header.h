/*
 * header.h - message header fields: labels, the names mail software knows,
 * and the RFC 822 token parser for structured values.
 *
 * These follow Postfix's rules (is_header, header_opts, header_token) so
 * that a line counts as a header, a header counts as a MIME header, and a
 * Content-Type value splits into tokens exactly where Postfix's cleanup(8)
 * would: milterd's verdicts depend on it.
 *
 * What it trusts: nothing.  Labels and values are untrusted bytes with a
 * length; the token parser reads a NUL-terminated value and stops at the
 * first NUL, as Postfix does.
 */
#ifndef MAILSIFT_HEADER_H
#define MAILSIFT_HEADER_H

#include <stddef.h>

#include "libmatch/buf.h"

/* Header fields with a meaning to mail software (header_lookup). */
enum header_type {
    HEADER_OTHER = 0,
    HEADER_APPARENTLY_TO,
    HEADER_BCC,
    HEADER_CC,
    HEADER_CONTENT_DESCRIPTION,
    HEADER_CONTENT_DISPOSITION,
    HEADER_CONTENT_ID,
    HEADER_CONTENT_LENGTH,
    HEADER_CONTENT_TRANSFER_ENCODING,
    HEADER_CONTENT_TYPE,
    HEADER_DATE,
    HEADER_DELIVERED_TO,
    HEADER_DISP_NOTIFICATION,
    HEADER_ERRORS_TO,
    HEADER_FROM,
    HEADER_MAIL_FOLLOWUP_TO,
    HEADER_MESSAGE_ID,
    HEADER_MIME_VERSION,
    HEADER_RECEIVED,
    HEADER_REPLY_TO,
    HEADER_RESENT_BCC,
    HEADER_RESENT_CC,
    HEADER_RESENT_DATE,
    HEADER_RESENT_FROM,
    HEADER_RESENT_MESSAGE_ID,
    HEADER_RESENT_REPLY_TO,
    HEADER_RESENT_SENDER,
    HEADER_RESENT_TO,
    HEADER_RETURN_PATH,
    HEADER_RETURN_RECEIPT_TO,
    HEADER_SENDER,
    HEADER_TO,
};

#define HEADER_FLAG_MIME   0x01 /* a MIME header: mime_header_checks, not header_checks */
#define HEADER_FLAG_SENDER 0x02 /* holds sender addresses */
#define HEADER_FLAG_RECIP  0x04 /* holds recipient addresses */
#define HEADER_FLAG_XRECIP 0x08 /* recipients that "sendmail -t" extracts */
#define HEADER_FLAG_RESENT 0x10 /* a Resent- header */

struct header_info {
    const char *name; /* canonical spelling, "Content-Type" */
    enum header_type type;
    int flags;
};

size_t header_label_len(const char *text, size_t len);
const struct header_info *header_lookup(const char *label, size_t len);
const struct header_info *header_lookup_line(const char *text, size_t len);

/* One token of a structured header value (header_token). */
#define HEADER_TOK_TOKEN   256 /* an atom (RFC 822 token) */
#define HEADER_TOK_QSTRING 257 /* a quoted string, quotes and escapes removed */
/* any other type: the special or control character itself */

struct header_tok {
    int type;
    size_t offset;     /* of the value in the caller's buffer */
    const char *value; /* NUL-terminated, valid until the buffer changes */
};

long header_token(struct header_tok *tok, size_t max, struct buf *store,
                  const char **ptr, const char *specials, int terminator);

#define HEADER_RFC822_SPECIALS  "()<>@,;:\\\".[]"
#define HEADER_RFC2045_TSPECIALS "()<>@,;:\\\"/[]?="

#endif
