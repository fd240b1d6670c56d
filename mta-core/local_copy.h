/*
 * local_copy.h - writing a queued message out for local delivery, with
 * the envelope headers Postfix's local(8) prepends (internal to local_*.c).
 */
#ifndef MAILSIFT_LOCAL_COPY_H
#define MAILSIFT_LOCAL_COPY_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "mta-core/local_deliver.h"

#define LOCAL_COPY_FROM 1        /* a "From sender  date" line first */
#define LOCAL_COPY_RETURN_PATH 2 /* Return-Path: <sender> */
#define LOCAL_COPY_ORIG_RCPT 4   /* X-Original-To: recipient */
#define LOCAL_COPY_DELIVERED 8   /* Delivered-To: address */
#define LOCAL_COPY_QUOTE 16      /* ">From " for body lines that start "From " */
#define LOCAL_COPY_BLANK 32      /* an empty line after the message */
#define LOCAL_COPY_MBOX (LOCAL_COPY_FROM | LOCAL_COPY_RETURN_PATH | LOCAL_COPY_ORIG_RCPT | \
                         LOCAL_COPY_DELIVERED | LOCAL_COPY_QUOTE | LOCAL_COPY_BLANK)
#define LOCAL_COPY_MAILDIR (LOCAL_COPY_RETURN_PATH | LOCAL_COPY_ORIG_RCPT | LOCAL_COPY_DELIVERED)
#define LOCAL_COPY_COMMAND (LOCAL_COPY_FROM | LOCAL_COPY_RETURN_PATH | LOCAL_COPY_ORIG_RCPT | \
                            LOCAL_COPY_DELIVERED)

/* Where the bytes go: write() returns 0, or -1 with errno set. */
struct local_sink {
    int (*write)(struct local_sink *sink, const char *data, size_t len);
    void *ctx;
};

#define LOCAL_COPY_WRITE_ERROR (-1) /* errno says why */
#define LOCAL_COPY_READ_ERROR (-2)  /* the queue file: why says */

int local_copy(const struct local_request *req, const char *delivered, int flags,
               struct local_sink *sink, struct buf *why);
int local_loop_check(const struct local_request *req, const char *addr);

/* A sink over a file descriptor, buffered; local_fd_flush() at the end. */
struct local_fd_sink {
    struct local_sink sink;
    int fd;
    struct buf buf;
};

void local_fd_sink_init(struct local_fd_sink *s, int fd);
int local_fd_flush(struct local_fd_sink *s);
void local_fd_sink_free(struct local_fd_sink *s);

const char *local_mbox_dsn(int err, const char *def);

#endif
