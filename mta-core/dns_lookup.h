/*
 * dns_lookup.h - the DNS questions the SMTP client asks: MX, A and AAAA,
 * through the system's stub resolver (res_nquery), answers parsed with
 * libresolv's ns_parserr().
 *
 * Blocking: called in a delivery process, never in the daemon's loop.
 *
 * For tests (and only there), dns_set_server() sends every question to
 * one server at address:port instead of those in /etc/resolv.conf
 * (mta-core.conf(5): dns_server_address), so that a test can answer MX
 * questions from a small responder on loopback and never touch the
 * network.
 *
 * Trusts: nothing in an answer: names are uncompressed with length
 * checks, and records of the wrong type, class or size are skipped.
 */
#ifndef MAILSIFT_DNS_LOOKUP_H
#define MAILSIFT_DNS_LOOKUP_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "libmatch/buf.h"

#define DNS_ANSWER_MAX 65536 /* bytes of one answer (TCP's limit) */
#define DNS_RR_MAX 100       /* records kept from one answer */

enum dns_status {
    DNS_OK,       /* records found */
    DNS_NODATA,   /* the name exists, without records of that type */
    DNS_NOTFOUND, /* the name does not exist (NXDOMAIN): permanent */
    DNS_RETRY,    /* no answer now (SERVFAIL, timeout, no server): temporary */
    DNS_FAIL,     /* a malformed answer or a refused question: permanent */
};

/* One MX record, or one address. */
struct dns_rr {
    char *host;                     /* MX: the exchange; A/AAAA: the name asked */
    unsigned pref;                  /* MX preference */
    struct sockaddr_storage addr;   /* A/AAAA, port 0 */
    socklen_t addrlen;
};

enum dns_status dns_lookup_mx(const char *name, struct dns_rr **rrs, size_t *n, struct buf *why);
enum dns_status dns_lookup_addr(const char *name, int family, struct dns_rr **rrs, size_t *n, struct buf *why);
void dns_rr_free(struct dns_rr *rrs, size_t n);
int dns_set_server(const char *hostport, struct buf *err);
const char *dns_status_text(enum dns_status st);

/*
 * dns_lookup_mx() and dns_lookup_addr() (family AF_INET for A, AF_INET6
 * for AAAA) return the records of name in *rrs (free with dns_rr_free),
 * or a status and why with Postfix's wording ("Host not found, try
 * again").  An MX record for "." (RFC 7505 null MX) comes back as a
 * record whose host is "".
 */

#endif
