/*
 * smtpd_msg.h - the message being received: envelope, headers and body,
 * editable until it is handed to the queue.
 *
 * One per SMTP transaction (MAIL FROM to end of data).  The SMTP session
 * fills it as commands and content arrive; hooks (the built-in policy,
 * milters) read it at every stage and may edit it at end of message; only
 * after the last hook has answered is it written to the queue, so the
 * queue gets the edited message and a 250 reply means exactly that.
 *
 * Text conventions, the same everywhere inside mta-core:
 *  - addresses are stored without angle brackets, "" for the null sender;
 *  - content uses Unix line ends: each CRLF from the wire is one LF (the
 *    session refuses bare CR and bare LF, so nothing is lost);
 *  - a header is a name and a value; the value is everything after the
 *    colon, leading white space included, folded lines joined by "\n"
 *    followed by their leading white space, without the final newline.
 *    Writing "name:value\n" gives back the header as it came in.
 *
 * The body lives in memory while small and in an unnamed file in the
 * spool directory (O_TMPFILE: nothing to clean up after a crash) beyond
 * SMTPD_MSG_MEM_LIMIT bytes.
 *
 * Trusts: the caller to respect the line-end convention; nothing else.
 */
#ifndef MAILSIFT_SMTPD_MSG_H
#define MAILSIFT_SMTPD_MSG_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"

#define SMTPD_MSG_MEM_LIMIT (256 * 1024) /* body bytes kept in memory */

struct smtpd_rcpt {
    char *addr; /* as given in RCPT TO, without <> */
    char *args; /* its ESMTP parameters as given ("NOTIFY=NEVER"), "" if none */
};

struct smtpd_header {
    char *name;  /* "Subject" */
    char *value; /* " hello\n\tworld" (see above) */
};

struct smtpd_msg {
    char *sender;      /* MAIL FROM address, "" for <> */
    char *sender_args; /* its ESMTP parameters as given, "" if none */
    struct smtpd_rcpt *rcpts;
    size_t nrcpt;
    size_t rcpt_alloc;
    struct smtpd_header *headers;
    size_t nheader;
    size_t header_alloc;
    size_t header_bytes; /* sum of "name:value\n" lengths */
    char *queue_id;      /* set by the session once the queue gave one */
    char *hold_reason;   /* non-NULL: put the message on hold (quarantine) */
    int smtputf8;        /* MAIL FROM ... SMTPUTF8 */
    int body_8bit;       /* BODY=8BITMIME */
    /* Private to smtpd_msg.c: the body. */
    char *spool_dir;
    struct buf body_mem;
    int body_fd;      /* -1 while the body is in memory */
    off_t body_len;   /* bytes of body, wherever they are */
};

struct smtpd_msg *smtpd_msg_new(const char *spool_dir);
void smtpd_msg_free(struct smtpd_msg *msg);

/* Envelope. */
void smtpd_msg_set_sender(struct smtpd_msg *msg, const char *addr, const char *args);
void smtpd_msg_add_rcpt(struct smtpd_msg *msg, const char *addr, const char *args);
int smtpd_msg_del_rcpt(struct smtpd_msg *msg, const char *addr);

/*
 * Headers, in message order; index 0 is the top (our Received: header
 * until a hook inserts above it).  A pointer from smtpd_msg_find_header()
 * or into msg->headers is valid until the next header edit.
 */
void smtpd_msg_add_header(struct smtpd_msg *msg, const char *name, const char *value);
void smtpd_msg_insert_header(struct smtpd_msg *msg, size_t index, const char *name,
                             const char *value);
int smtpd_msg_change_header(struct smtpd_msg *msg, const char *name, size_t index,
                            const char *value);
const struct smtpd_header *smtpd_msg_find_header(const struct smtpd_msg *msg, const char *name,
                                                 size_t index);

/* Body. */
int smtpd_msg_body_append(struct smtpd_msg *msg, const char *data, size_t len, struct buf *err);
int smtpd_msg_body_reset(struct smtpd_msg *msg, struct buf *err);
ssize_t smtpd_msg_body_read(const struct smtpd_msg *msg, off_t offset, char *data, size_t len,
                            struct buf *err);

/* Quarantine: the queue puts the message on hold with this reason. */
void smtpd_msg_hold(struct smtpd_msg *msg, const char *reason);

/* The whole message as the queue stores it: headers, empty line, body. */
typedef int (*smtpd_msg_out_fn)(void *ctx, const char *data, size_t len, struct buf *err);
int smtpd_msg_write(const struct smtpd_msg *msg, smtpd_msg_out_fn out, void *ctx, struct buf *err);
off_t smtpd_msg_size(const struct smtpd_msg *msg);

#endif
