/*
 * milter_msg.h - the message as milters see it and edit it.
 *
 * The envelope (sender, recipients), the header section split into
 * headers, and the body as a byte range of a file.  Milters' edits at end
 * of message are collected per milter (struct milter_msg_edits) and applied
 * here, in order, only when that milter's final reply lets the message
 * through, so the next milter in the chain sees the edited message, as in
 * Postfix.  milter_msg_write() then produces the message to queue.
 *
 * Header values are kept as they follow the colon, continuation lines
 * joined by "\n" (the form Sendmail and Postfix hand to milters); the
 * stored form's line ends (CRLF or LF, detected when loading) come back on
 * output.  Everything from a milter is untrusted and was validated by
 * milter_proto_decode(); the index semantics are Postfix's cleanup_milter.c.
 */
#ifndef MAILSIFT_MILTER_MSG_H
#define MAILSIFT_MILTER_MSG_H

#include <stdint.h>
#include <sys/types.h>

#include "libmatch/buf.h"

/* The most header-section bytes we split into headers; the rest stays body. */
#define MILTER_MSG_HEADERS_LIMIT (4 * 1024 * 1024)

struct milter_hdr {
    char *name;       /* as written, up to the colon (trailing blanks kept) */
    struct buf value; /* after the colon, continuation lines joined by "\n" */
    int ours;         /* prepended by this MTA: hidden from milters */
};

struct milter_rcpt {
    char *addr; /* without <> */
    char *args; /* ESMTP arguments, or NULL */
};

/* What milters changed, for the caller and the log. */
#define MILTER_MSG_CHANGED_HEADERS 1
#define MILTER_MSG_CHANGED_SENDER 2
#define MILTER_MSG_CHANGED_RCPTS 4
#define MILTER_MSG_CHANGED_BODY 8

struct milter_msg {
    char *sender;            /* without <>, "" for the null sender */
    char *sender_args;       /* or NULL */
    struct milter_rcpt *rcpt;
    size_t nrcpt, rcpt_cap;
    struct milter_hdr *hdr;
    size_t nhdr, hdr_cap;
    int blank_line;          /* an empty line separates headers and body */
    int crlf;                /* stored line ends are CRLF (else LF) */
    int body_fd;             /* body: [body_off, body_off + body_len) of body_fd */
    off_t body_off, body_len;
    int body_ours;           /* body_fd is a replacement we made: close it */
    off_t body_limit;        /* largest replacement body, 0 = no limit */
    char *tmpdir;            /* where replacement bodies are made */
    int changed;             /* MILTER_MSG_CHANGED_* */
};

/* One milter's end-of-message requests, waiting for its final reply. */
struct milter_msg_edit {
    int cmd;        /* SMFIR_* */
    uint32_t index;
    char *s1, *s2;  /* name/address, value/arguments (s2 may be NULL) */
};

struct milter_msg_edits {
    struct milter_msg_edit *v;
    size_t n, cap;
    int body_fd;        /* replacement body so far, -1 if none */
    off_t body_len;
    int body_cr;        /* the last chunk ended in CR */
    int body_closed;    /* other requests followed the body */
    const char *error;  /* an edit failed here: the SMTP reply to give */
};

struct milter_msg_body_reader {
    off_t pos;         /* next byte to read, relative to body_off */
    int last_cr;       /* the byte before pos was CR */
};

void milter_msg_init(struct milter_msg *m);
void milter_msg_free(struct milter_msg *m);
int milter_msg_load(struct milter_msg *m, int fd, off_t offset, off_t end, struct buf *err);
void milter_msg_set_sender(struct milter_msg *m, const char *addr, const char *args);
void milter_msg_add_rcpt(struct milter_msg *m, const char *addr, const char *args);
void milter_msg_hide(struct milter_msg *m, size_t n);
void milter_msg_header_value(const struct milter_hdr *h, int leadspc, struct buf *out);
void milter_msg_header_label(const struct milter_hdr *h, struct buf *out);
int milter_msg_body_chunk(const struct milter_msg *m, struct milter_msg_body_reader *rd,
                          struct buf *chunk, struct buf *err);
int milter_msg_write(const struct milter_msg *m,
                     int (*out)(void *ctx, const char *data, size_t len), void *ctx,
                     struct buf *err);

void milter_msg_edits_init(struct milter_msg_edits *e);
void milter_msg_edits_clear(struct milter_msg_edits *e);
void milter_msg_edits_add(struct milter_msg_edits *e, int cmd, uint32_t index,
                          const char *s1, size_t len1, const char *s2, size_t len2);
int milter_msg_edits_body(struct milter_msg_edits *e, const struct milter_msg *m,
                          const char *data, size_t len);
void milter_msg_edits_apply(struct milter_msg *m, struct milter_msg_edits *e, int leadspc,
                            const char *log_id, const char *milter);

#endif
