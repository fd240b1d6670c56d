/*
 * milter_msg.h - show the message being received (smtpd_msg.h) to milters,
 * and apply their end-of-message edits to it.
 *
 * The message is mta-core's one editable message, struct smtpd_msg: LF
 * line ends, header values as they follow the colon with folded lines
 * joined by "\n".  Milters get the headers without our own Received:
 * (as Postfix and Sendmail do), each value without its first space
 * unless they asked for SMFIP_HDR_LEADSPC, and the body in chunks of at
 * most 64 KB with CRLF line ends.
 *
 * A milter's edits are collected (struct milter_msg_edits, a replacement
 * body in an unnamed file in the spool directory) and applied in the order
 * they came only when its final reply lets the message through, so that a
 * milter that fails half-way leaves the message as it was.  Index
 * semantics are Postfix's (cleanup_milter.c): INSHEADER counts every
 * header, ours included, 0 being the top; CHGHEADER counts the headers of
 * that name the milters saw, 0 meaning 1, an empty value deleting, a
 * missing header being appended.  Everything from a milter is untrusted and
 * was validated by milter_proto_decode().
 */
#ifndef MAILSIFT_MILTER_MSG_H
#define MAILSIFT_MILTER_MSG_H

#include <stdint.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "mta-core/smtpd_msg.h"

/* The message, and which of its headers are ours. */
struct milter_msg_view {
    struct smtpd_msg *msg;
    size_t ours_first;    /* headers [ours_first, ours_first + nours) are ours */
    size_t nours;
    off_t body_limit;     /* the largest replacement body, 0: no limit */
};

/* One milter's end-of-message requests, waiting for its final reply. */
struct milter_msg_edit {
    int cmd;        /* SMFIR_* */
    uint32_t index;
    char *s1, *s2;  /* name or address; value or ESMTP arguments (s2 may be NULL) */
};

struct milter_msg_edits {
    struct milter_msg_edit *v;
    size_t n, cap;
    int body_fd;         /* the replacement body so far (LF line ends), -1 if none */
    off_t body_len;
    int body_cr;         /* the last chunk ended in CR */
    const char *error;   /* an edit could not be stored: the SMTP reply to give */
};

struct milter_msg_body_reader {
    off_t pos;           /* the next body byte to read */
};

int milter_msg_is_ours(const struct milter_msg_view *v, size_t i);
void milter_msg_header_value(const struct smtpd_header *h, int leadspc, struct buf *out);
int milter_msg_body_chunk(const struct milter_msg_view *v, struct milter_msg_body_reader *rd,
                          struct buf *chunk, struct buf *err);

void milter_msg_edits_init(struct milter_msg_edits *e);
void milter_msg_edits_clear(struct milter_msg_edits *e);
void milter_msg_edits_add(struct milter_msg_edits *e, int cmd, uint32_t index,
                          const char *s1, size_t len1, const char *s2, size_t len2);
int milter_msg_edits_body(struct milter_msg_edits *e, const struct milter_msg_view *v,
                          const char *data, size_t len);
int milter_msg_edits_apply(struct milter_msg_view *v, struct milter_msg_edits *e, int leadspc,
                           const char *log_id, const char *milter);

#endif
