/*
 * smtp_conn.c - the SMTP client's connection: a non-blocking socket
 * driven with poll() and a time limit per wait, plain or through OpenSSL.
 *
 * Every wait is at most the caller's number of seconds; progress (bytes
 * moving) starts a new wait, as Postfix's smtp_*_timeout work.  Writes
 * are buffered until the caller flushes, so that pipelined commands leave
 * in one packet.
 *
 * Trusts: nothing from the peer (see smtp_conn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/msg.h"
#include "mta-core/smtp_conn.h"
#include "mta-core/smtp_reply.h"

/* smtp_conn_wait - poll for events; SMTP_IO_OK, SMTP_IO_TIMEOUT or SMTP_IO_LOST */
static int smtp_conn_wait(int fd, short events, long timeout)
{
    struct pollfd p = {fd, events, 0};
    struct timespec start, now;
    long left = timeout * 1000;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        rc = poll(&p, 1, left > 0 ? (int) (left > 2000000000L ? 2000000000L : left) : 0);
        if (rc > 0)
            return (p.revents & (events | POLLHUP | POLLERR)) ? SMTP_IO_OK : SMTP_IO_LOST;
        if (rc == 0)
            return SMTP_IO_TIMEOUT;
        if (errno != EINTR)
            return SMTP_IO_LOST;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout * 1000 - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0)
            return SMTP_IO_TIMEOUT;
    }
}

/* smtp_conn_connect - see smtp_conn.h */
int smtp_conn_connect(struct smtp_conn *c, const struct sockaddr *sa, socklen_t salen, long timeout,
                      struct buf *err)
{
    int soerr = 0, rc;
    socklen_t len = sizeof(soerr);

    memset(c, 0, sizeof(*c));
    buf_init(&c->in);
    buf_init(&c->out);
    buf_init(&c->tls_info);
    c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        buf_printf(err, "%s", strerror(errno));
        return SMTP_IO_LOST;
    }
    if (connect(c->fd, sa, salen) < 0) {
        if (errno != EINPROGRESS) {
            buf_printf(err, "%s", strerror(errno));
            smtp_conn_close(c);
            return SMTP_IO_LOST;
        }
        rc = smtp_conn_wait(c->fd, POLLOUT, timeout);
        if (rc == SMTP_IO_TIMEOUT) {
            buf_printf(err, "%s", strerror(ETIMEDOUT));
            smtp_conn_close(c);
            return rc;
        }
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr) {
            buf_printf(err, "%s", strerror(soerr));
            smtp_conn_close(c);
            return SMTP_IO_LOST;
        }
    }
    return SMTP_IO_OK;
}

/* smtp_conn_ssl_wait - after an OpenSSL call failed: wait as it asks; SMTP_IO_* */
static int smtp_conn_ssl_wait(struct smtp_conn *c, int ret, long timeout)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return smtp_conn_wait(c->fd, POLLIN, timeout);
    case SSL_ERROR_WANT_WRITE:
        return smtp_conn_wait(c->fd, POLLOUT, timeout);
    default:
        return SMTP_IO_LOST;
    }
}

/* smtp_conn_read_some - read what is there (waiting at most timeout); SMTP_IO_* */
static int smtp_conn_read_some(struct smtp_conn *c, long timeout)
{
    char chunk[4096];
    ssize_t n;
    int rc;

    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_read(c->ssl, chunk, sizeof(chunk));
            if (n > 0) {
                buf_add(&c->in, chunk, (size_t) n);
                return SMTP_IO_OK;
            }
            if ((rc = smtp_conn_ssl_wait(c, (int) n, timeout)) != SMTP_IO_OK)
                return rc;
            continue;
        }
        n = read(c->fd, chunk, sizeof(chunk));
        if (n > 0) {
            buf_add(&c->in, chunk, (size_t) n);
            return SMTP_IO_OK;
        }
        if (n == 0)
            return SMTP_IO_LOST;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return SMTP_IO_LOST;
        if ((rc = smtp_conn_wait(c->fd, POLLIN, timeout)) != SMTP_IO_OK)
            return rc;
    }
}

/* smtp_conn_read_line - see smtp_conn.h */
int smtp_conn_read_line(struct smtp_conn *c, struct buf *line, long timeout)
{
    int skipping = 0, rc;

    buf_reset(line);
    for (;;) {
        const char *start = c->in.data + c->in_pos;
        size_t avail = c->in.len - c->in_pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t) (nl - start) : avail;

        if (!skipping) {
            size_t room = SMTP_REPLY_LINE_MAX - line->len;

            buf_add(line, start, take < room ? take : room);
            if (take >= room)
                skipping = 1; /* the rest of this line is not kept */
        }
        c->in_pos += nl ? take + 1 : take;
        if (c->in_pos == c->in.len) {
            buf_reset(&c->in);
            c->in_pos = 0;
        }
        if (nl) {
            if (line->len && line->data[line->len - 1] == '\r')
                buf_truncate(line, line->len - 1);
            return SMTP_IO_OK;
        }
        if ((rc = smtp_conn_read_some(c, timeout)) != SMTP_IO_OK)
            return rc;
    }
}

/* smtp_conn_write_now - write all of the output buffer; SMTP_IO_* */
static int smtp_conn_write_now(struct smtp_conn *c, long timeout)
{
    size_t done = 0;
    ssize_t n;
    int rc;

    while (done < c->out.len) {
        if (c->ssl) {
            ERR_clear_error();
            n = SSL_write(c->ssl, c->out.data + done, (int) (c->out.len - done > 1 << 30 ? 1 << 30 : c->out.len - done));
            if (n > 0) {
                done += (size_t) n;
                continue;
            }
            if ((rc = smtp_conn_ssl_wait(c, (int) n, timeout)) != SMTP_IO_OK)
                return rc;
            continue;
        }
        n = send(c->fd, c->out.data + done, c->out.len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return SMTP_IO_LOST;
        if ((rc = smtp_conn_wait(c->fd, POLLOUT, timeout)) != SMTP_IO_OK)
            return rc;
    }
    buf_reset(&c->out);
    return SMTP_IO_OK;
}

/* smtp_conn_put - buffer bytes to send */
void smtp_conn_put(struct smtp_conn *c, const void *data, size_t len)
{
    buf_add(&c->out, data, len);
}

/* smtp_conn_puts - buffer a string */
void smtp_conn_puts(struct smtp_conn *c, const char *text)
{
    buf_addstr(&c->out, text);
}

/* smtp_conn_flush - send what is buffered; SMTP_IO_* */
int smtp_conn_flush(struct smtp_conn *c, long timeout)
{
    if (c->fd < 0)
        return SMTP_IO_LOST;
    return smtp_conn_write_now(c, timeout);
}

/* smtp_conn_starttls - see smtp_conn.h */
int smtp_conn_starttls(struct smtp_conn *c, SSL_CTX *ctx, const char *servername, long timeout, struct buf *err)
{
    unsigned long e;
    int ret, rc;

    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        buf_printf(err, "cannot set up TLS");
        return SMTP_IO_LOST;
    }
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (servername && *servername)
        SSL_set_tlsext_host_name(c->ssl, servername);
    /* Bytes the server sent before the handshake would be an injection attack. */
    if (c->in.len > c->in_pos) {
        buf_printf(err, "server sent data after its STARTTLS reply");
        return SMTP_IO_LOST;
    }
    for (;;) {
        ERR_clear_error();
        ret = SSL_connect(c->ssl);
        if (ret == 1)
            break;
        rc = smtp_conn_ssl_wait(c, ret, timeout);
        if (rc != SMTP_IO_OK) {
            e = ERR_peek_error();
            if (rc == SMTP_IO_TIMEOUT)
                buf_printf(err, "timed out");
            else if (e)
                buf_printf(err, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "handshake failed");
            else
                buf_printf(err, "handshake failed: lost connection");
            return rc;
        }
    }
    buf_printf(&c->tls_info, "%s with cipher %s (%d/%d bits)", SSL_get_version(c->ssl),
               SSL_get_cipher_name(c->ssl), SSL_get_cipher_bits(c->ssl, &ret), ret);
    return SMTP_IO_OK;
}

/* smtp_conn_close - close and forget everything */
void smtp_conn_close(struct smtp_conn *c)
{
    if (c->ssl) {
        /* No close_notify wait: the session is over either way. */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->tls_info);
    c->in_pos = 0;
}
