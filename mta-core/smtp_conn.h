/*
 * smtp_conn.h - one SMTP client connection: connect with a time limit,
 * read reply lines, buffer and flush commands and message data, and turn
 * on TLS (STARTTLS) with OpenSSL.
 *
 * Blocking with time limits: the socket is non-blocking and every wait is
 * a poll() of at most the given number of seconds, so a server that stops
 * talking costs a bounded time.  Used in a delivery process only.
 *
 * Trusts: nothing from the server; a reply line longer than
 * SMTP_REPLY_LINE_MAX is cut there and the rest of it skipped.
 */
#ifndef MAILSIFT_SMTP_CONN_H
#define MAILSIFT_SMTP_CONN_H

#include <stddef.h>
#include <sys/socket.h>

#include "libmatch/buf.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

#define SMTP_CONN_OUT_MAX 65536 /* bytes buffered before a write */

/* What an I/O call returns. */
#define SMTP_IO_OK 0
#define SMTP_IO_LOST (-1)    /* the connection broke or the server closed it */
#define SMTP_IO_TIMEOUT (-2) /* the time limit passed */

struct smtp_conn {
    int fd;
    SSL *ssl;
    struct buf in;      /* bytes read and not yet taken */
    size_t in_pos;
    struct buf out;     /* bytes to write */
    struct buf tls_info; /* "TLSv1.3 with cipher X" once TLS is on */
};

int smtp_conn_connect(struct smtp_conn *c, const struct sockaddr *sa, socklen_t salen, long timeout,
                      struct buf *err);
int smtp_conn_read_line(struct smtp_conn *c, struct buf *line, long timeout);
void smtp_conn_put(struct smtp_conn *c, const void *data, size_t len);
void smtp_conn_puts(struct smtp_conn *c, const char *text);
int smtp_conn_flush(struct smtp_conn *c, long timeout);
int smtp_conn_starttls(struct smtp_conn *c, SSL_CTX *ctx, const char *servername, long timeout, struct buf *err);
void smtp_conn_close(struct smtp_conn *c);

/*
 * smtp_conn_connect() returns SMTP_IO_OK, or an SMTP_IO_* failure with err
 * saying why ("Connection refused"); the connection is then closed.
 * smtp_conn_read_line() returns one line without its CRLF (a bare LF
 * ends a line too).  smtp_conn_put() only buffers: the caller flushes
 * (before it waits for a reply, and when out.len reaches SMTP_CONN_OUT_MAX).
 * smtp_conn_starttls() runs the TLS handshake on the connection;
 * SMTP_IO_OK, or a failure with err (OpenSSL's reason).
 */

#endif
