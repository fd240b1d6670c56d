/*
 * smtp_mime.h - 8-bit to 7-bit conversion of a message on its way to a
 * server that does not announce 8BITMIME, as Postfix's smtp(8) does it
 * (mime_state with MIME_OPT_DOWNGRADE): only MIME parts that declare
 * Content-Transfer-Encoding 8bit or binary change; their body becomes
 * quoted-printable and their header says so; a multipart or message/rfc822
 * container that declared 8bit is relabelled 7bit and its parts are
 * converted one by one.  Every other byte goes out as it came, so
 * signatures over untouched parts stay valid.  Mail without MIME headers
 * is sent unchanged, as Postfix sends it.
 *
 * A line filter: lines in (without their terminator), lines out through a
 * callback.  It keeps only the header being read and the stack of
 * multipart boundaries, both bounded.
 *
 * Trusts: nothing; headers and boundaries longer than their limits are
 * passed through without being interpreted, nesting deeper than
 * SMTP_MIME_DEPTH_MAX is not followed (its lines pass unchanged).
 */
#ifndef MAILSIFT_SMTP_MIME_H
#define MAILSIFT_SMTP_MIME_H

#include <stddef.h>

#define SMTP_MIME_HEADER_MAX 102400 /* bytes of one logical header that are interpreted */
#define SMTP_MIME_BOUNDARY_MAX 256  /* bytes of a boundary (RFC 2046 allows 70) */
#define SMTP_MIME_DEPTH_MAX 100     /* nested multiparts (Postfix mime_nesting_limit) */
#define SMTP_MIME_QP_WIDTH 72       /* a soft line break follows after this many bytes */

typedef void (*smtp_mime_out_fn)(void *ctx, const char *line, size_t len);

struct smtp_mime;

struct smtp_mime *smtp_mime_new(smtp_mime_out_fn out, void *ctx);
void smtp_mime_line(struct smtp_mime *m, const char *line, size_t len);
void smtp_mime_end(struct smtp_mime *m);
size_t smtp_mime_converted(const struct smtp_mime *m);
void smtp_mime_free(struct smtp_mime *m);

/*
 * smtp_mime_end() flushes a header still being read.
 * smtp_mime_converted() counts the parts that were converted.
 */

#endif
