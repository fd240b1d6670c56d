/*
 * smtpd_listen.c - smtpd_listen: the addresses mta-core accepts SMTP on.
 *
 *   smtpd_listen = 127.0.0.1:2525, [::1]:2525, mail.example.com:25, :25
 *
 * Entries are separated by commas and/or white space.  An IPv6 address is
 * written in brackets; a host name stands for all its addresses; an empty
 * host (":25") or "*" means every address, IPv4 and IPv6.  IPv6 sockets
 * are IPv6-only, so "[::]:25" and "0.0.0.0:25" can both be listed.  The
 * sockets are bound here, before privileges are dropped (port 25).
 *
 * Trusts: the configuration, but every entry is checked and a problem
 * names it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "mta-core/smtpd_server.h"

#define SMTPD_LISTEN_BACKLOG 128

/* smtpd_listen_bind - every address of host:port; 0 or -1 with err */
static int smtpd_listen_bind(const char *host, const char *port, const char *entry,
                             struct smtpd_listener **out, size_t *count, struct buf *err)
{
    struct addrinfo hints, *res, *ai;
    int rc, bound = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
        buf_printf(err, "smtpd_listen: \"%s\": %s", entry, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        char h[NI_MAXHOST], p[NI_MAXSERV];
        int fd, on = 1;

        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), p, sizeof(p),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            buf_printf(err, "smtpd_listen: \"%s\": socket: %s", entry, strerror(errno));
            freeaddrinfo(res);
            return -1;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SMTPD_LISTEN_BACKLOG) < 0) {
            buf_printf(err, "smtpd_listen: \"%s\": bind %s%s%s:%s: %s", entry,
                       ai->ai_family == AF_INET6 ? "[" : "", h, ai->ai_family == AF_INET6 ? "]" : "",
                       p, strerror(errno));
            close(fd);
            freeaddrinfo(res);
            return -1;
        }
        *out = mem_realloc_array(*out, *count + 1, sizeof(**out));
        (*out)[*count].fd = fd;
        (*out)[*count].name = mem_alloc(strlen(h) + strlen(p) + 4);
        sprintf((*out)[*count].name, "%s%s%s:%s", ai->ai_family == AF_INET6 ? "[" : "", h,
                ai->ai_family == AF_INET6 ? "]" : "", p);
        (*count)++;
        bound++;
    }
    freeaddrinfo(res);
    if (bound == 0) {
        buf_printf(err, "smtpd_listen: \"%s\": no IPv4 or IPv6 address", entry);
        return -1;
    }
    return 0;
}

/* smtpd_listen_entry - split "host:port" / "[v6]:port" / ":port" and bind it */
static int smtpd_listen_entry(const char *entry, struct smtpd_listener **out, size_t *count,
                              struct buf *err)
{
    struct buf host = BUF_INIT;
    const char *port;
    int rc;

    if (*entry == '[') {
        const char *close = strchr(entry, ']');

        if (close == NULL || close[1] != ':' || close[2] == 0) {
            buf_printf(err, "smtpd_listen: \"%s\": expected [address]:port", entry);
            return -1;
        }
        buf_set(&host, entry + 1, (size_t) (close - entry - 1));
        port = close + 2;
    } else {
        const char *colon = strrchr(entry, ':');

        if (colon == NULL || colon[1] == 0 || strchr(entry, ':') != colon) {
            buf_printf(err, "smtpd_listen: \"%s\": expected host:port (IPv6 in brackets)", entry);
            return -1;
        }
        buf_set(&host, entry, (size_t) (colon - entry));
        port = colon + 1;
    }
    if (strcmp(host.data, "*") == 0)
        buf_reset(&host);
    /* getaddrinfo takes 99999 for 34463: numeric ports are checked here. */
    if (strspn(port, "0123456789") == strlen(port)
        && (strlen(port) > 5 || atol(port) < 1 || atol(port) > 65535)) {
        buf_printf(err, "smtpd_listen: \"%s\": bad port", entry);
        buf_free(&host);
        return -1;
    }
    if (host.len == 0) {
        /* Every address: both families, each socket IPv6-only or IPv4. */
        rc = smtpd_listen_bind("0.0.0.0", port, entry, out, count, err);
        if (rc == 0)
            rc = smtpd_listen_bind("::", port, entry, out, count, err);
    } else {
        rc = smtpd_listen_bind(host.data, port, entry, out, count, err);
    }
    buf_free(&host);
    return rc;
}

/* smtpd_listen_open - bind every entry of smtpd_listen; 0, or -1 with err */
int smtpd_listen_open(const char *value, struct smtpd_listener **out, size_t *count, struct buf *err)
{
    const char *p = value;

    *out = NULL;
    *count = 0;
    while (*p) {
        size_t n;
        char *entry;
        int rc;

        p += strspn(p, ", \t\n");
        n = strcspn(p, ", \t\n");
        if (n == 0)
            break;
        entry = mem_strndup(p, n);
        rc = smtpd_listen_entry(entry, out, count, err);
        mem_free(entry);
        if (rc < 0)
            return -1;
        p += n;
    }
    if (*count == 0) {
        buf_addstr(err, "smtpd_listen: no address to listen on");
        return -1;
    }
    return 0;
}
