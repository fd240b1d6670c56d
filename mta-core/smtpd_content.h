/*
 * smtpd_content.h - message content from DATA or BDAT, as a push parser.
 *
 * Two layers in one object.  The wire layer undoes the SMTP transfer
 * encoding: it finds the end of DATA (only CR LF . CR LF counts), removes
 * dot-stuffing, turns each CRLF into LF, and flags bare CR and bare LF
 * (after which the message can only be refused, see smtpd_session.c, and
 * its bytes are no longer kept).  The message layer splits what comes out
 * into headers (folded lines joined, bounded by header_size_limit) and
 * body chunks.
 *
 * The session pushes wire bytes with smtpd_content_feed(); the parser stops
 * as soon as it has something to report (a header, the end of headers, a
 * body chunk, the end) and says how many bytes it took, so that the session
 * can run the hooks for that event and feed the rest afterwards.
 *
 * Trusts: nothing in the bytes.  Memory: one header (header_size_limit)
 * plus one body chunk (SMTPD_CONTENT_CHUNK).
 */
#ifndef MAILSIFT_SMTPD_CONTENT_H
#define MAILSIFT_SMTPD_CONTENT_H

#include <stddef.h>

#include "libmatch/buf.h"

#define SMTPD_CONTENT_CHUNK 65536 /* body bytes per BODY event, at most */

#define SMTPD_CONTENT_BARE_LF 1 /* a line ended in LF without CR */
#define SMTPD_CONTENT_BARE_CR 2 /* a CR not followed by LF */

enum smtpd_content_mode {
    SMTPD_CONTENT_DATA, /* dot-stuffed, ends with CRLF.CRLF */
    SMTPD_CONTENT_BDAT, /* counted chunks, ends when the session says so */
};

enum smtpd_content_event {
    SMTPD_CONTENT_NONE,   /* all bytes taken, nothing to report yet */
    SMTPD_CONTENT_HEADER, /* name and value are set */
    SMTPD_CONTENT_EOH,    /* end of headers */
    SMTPD_CONTENT_BODY,   /* body holds the chunk */
    SMTPD_CONTENT_END,    /* the end of the message: nothing follows */
};

struct smtpd_content {
    enum smtpd_content_mode mode;
    int bad;                  /* SMTPD_CONTENT_BARE_LF | SMTPD_CONTENT_BARE_CR */
    int discard;              /* the session wants no more events, only END */
    unsigned long long size;  /* content bytes counted as on the wire (CRLF is 2) */
    int truncated;            /* a header was cut at header_size_limit */
    /* The event. */
    struct buf name;          /* HEADER: the name */
    struct buf value;         /* HEADER: the value, see smtpd_msg.h */
    struct buf body;          /* BODY: the chunk */
    /* Private. */
    int wire;                 /* wire layer state */
    int dot_after_lf;         /* the '.' being looked at began a line after a bare LF */
    int eod;                  /* the end has been seen (DATA) or declared (BDAT) */
    int part;                 /* message layer: in the headers, or in the body */
    int hstate;               /* header sub-state */
    int hpending;             /* hdr holds a complete-so-far header */
    int eoh_done;
    int last_lf;              /* the last decoded byte was LF (or nothing yet) */
    int body_reported;        /* body holds a chunk already reported */
    size_t hdr_limit;
    struct buf hdr;           /* the header being collected: "Name: value\n\tmore" */
    struct buf dec;           /* decoded bytes not yet parsed */
    size_t dec_pos;
};

void smtpd_content_init(struct smtpd_content *c, enum smtpd_content_mode mode, size_t hdr_limit);
void smtpd_content_free(struct smtpd_content *c);
size_t smtpd_content_feed(struct smtpd_content *c, const char *data, size_t len,
                          enum smtpd_content_event *ev);
enum smtpd_content_event smtpd_content_finish(struct smtpd_content *c);

#endif
