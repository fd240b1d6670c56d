/*
 * mime_state.h - a one-pass MIME structure state machine, line at a time,
 * with Postfix's rules.
 *
 * Postfix's cleanup(8) decides for every line of a message whether it is a
 * primary header, a MIME header (after a multipart boundary), a nested
 * header (at the start of an attached message/rfc822) or body text, and
 * header_checks, mime_header_checks, nested_header_checks and body_checks
 * follow that decision.  This module makes the same decisions from the
 * same input, so that a program built on it gives Postfix's verdicts:
 *
 *   - input comes as records, as Postfix's smtpd(8) stores them: one line
 *     (MIME_REC_NORM) or a piece of a long line (MIME_REC_CONT: more of the
 *     same line follows); mime_state_write() makes records from raw bytes
 *     with smtpd's rules (pieces of line_length_limit bytes, CR LF or LF
 *     line ends, trailing CRs removed) and mime_state_close() ends the input;
 *   - a header is delivered whole (continuation lines joined with "\n",
 *     pieces of a long line joined as they are, "Name :" normalized to
 *     "Name:"), cut off at header_size_limit, once the next record shows it
 *     is complete;
 *   - Content-Type and Content-Transfer-Encoding are read from primary,
 *     multipart and nested headers; multipart boundaries (cut at
 *     mime_boundary_length_limit) are stacked up to mime_nesting_limit;
 *     "--boundary" at the start of a line (not of a continued piece) closes
 *     inner parts; message/rfc822 and message/global bodies start with
 *     nested headers; multipart/digest parts default to message/rfc822;
 *   - a line that is neither a header nor empty ends a header block; at the
 *     end of the primary headers an empty body line is made up first, as
 *     Postfix does;
 *   - body records carry their offset in the current body segment (each
 *     line counts its length plus one), for body_checks_size_limit.
 *
 * Memory is bounded by header_size_limit plus a line, and the boundary
 * stack by mime_nesting_limit boundaries: the message itself is never kept.
 *
 * What it trusts: nothing in the input.  The callbacks are the caller's.
 */
#ifndef MAILSIFT_MIME_STATE_H
#define MAILSIFT_MIME_STATE_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "libmatch/header.h"

/* Record types (mime_state_update). */
#define MIME_REC_NORM 1 /* a whole line, or the last piece of one */
#define MIME_REC_CONT 2 /* a piece of a long line; the line goes on */
#define MIME_REC_END  3 /* end of input */

/* Header classes (the header callback). */
#define MIME_HDR_PRIMARY   1 /* the message's own headers */
#define MIME_HDR_MULTIPART 2 /* headers after a multipart boundary */
#define MIME_HDR_NESTED    3 /* headers of an attached message */

/* Options (mime_state_new). */
#define MIME_OPT_DISABLE_MIME             0x01 /* everything after the primary headers is body */
#define MIME_OPT_REPORT_TRUNC_HEADER      0x02
#define MIME_OPT_REPORT_8BIT_IN_HEADER    0x04
#define MIME_OPT_REPORT_8BIT_IN_7BIT_BODY 0x08
#define MIME_OPT_REPORT_ENCODING_DOMAIN   0x10
#define MIME_OPT_REPORT_NESTING           0x20

/* Errors (bits of the mime_state_update result), most serious first. */
#define MIME_ERR_NESTING           0x01 /* deeper than mime_nesting_limit */
#define MIME_ERR_TRUNC_HEADER      0x02 /* a header longer than header_size_limit */
#define MIME_ERR_8BIT_IN_HEADER    0x04
#define MIME_ERR_8BIT_IN_7BIT_BODY 0x08
#define MIME_ERR_ENCODING_DOMAIN   0x10 /* message/ or multipart/ with an encoding */

/* Limits, with Postfix's parameter names; 0 fields get Postfix's defaults. */
struct mime_limits {
    size_t line_length_limit;          /* 2048: record pieces (mime_state_write) */
    size_t header_size_limit;          /* 102400 */
    size_t mime_boundary_length_limit; /* 2048 */
    int mime_nesting_limit;            /* 100 */
};

#define MIME_DEF_LINE_LENGTH_LIMIT 2048
#define MIME_DEF_HEADER_SIZE_LIMIT 102400
#define MIME_DEF_BOUNDARY_LIMIT    2048
#define MIME_DEF_NESTING_LIMIT     100

struct mime_callbacks {
    /*
     * header - one whole header.  info is NULL for a header without a
     * special meaning.  The callback may change text (it is reset after).
     */
    void (*header)(void *ctx, int header_class, const struct header_info *info,
                   struct buf *text, off_t offset);
    void (*head_end)(void *ctx); /* after the last primary header */
    void (*body)(void *ctx, int rec_type, const char *text, size_t len, off_t offset);
    void (*body_end)(void *ctx); /* at the end of input */
    void (*error)(void *ctx, int err, const char *text, size_t len); /* once per kind */
};

struct mime_state;

struct mime_state *mime_state_new(int options, const struct mime_limits *limits,
                                  const struct mime_callbacks *cb, void *ctx);
void mime_state_free(struct mime_state *ms);
int mime_state_update(struct mime_state *ms, int rec_type, const char *text, size_t len);
int mime_state_write(struct mime_state *ms, const char *data, size_t len);
int mime_state_close(struct mime_state *ms);
int mime_state_status(const struct mime_state *ms);
int mime_state_depth(const struct mime_state *ms);
const char *mime_state_error_text(int errors, const char **dsn);

#endif
