/*
 * smtp_addr.h - where mail for a next hop goes: relayhost syntax
 * ("[host]:port", "host:port", "host"), then the addresses to try, in
 * order: the domain's MX hosts by preference (equal preferences
 * shuffled), or the host itself when there is no MX record (implicit MX)
 * or when the name was given in brackets.  Postfix's smtp(8) rules and
 * wording, including null MX and mail that would loop back to us.
 *
 * Blocking (DNS): called in a delivery process.
 * Trusts: the configuration; DNS answers through dns_lookup.c.
 */
#ifndef MAILSIFT_SMTP_ADDR_H
#define MAILSIFT_SMTP_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "libmatch/buf.h"

#define SMTP_PORT 25

/* A next hop as configured or taken from a recipient's domain. */
struct smtp_nexthop {
    char *host;         /* without brackets */
    unsigned port;
    int no_mx;          /* [host]: no MX lookup */
};

/* One address to try. */
struct smtp_addr {
    char *host;                 /* the name, for logs ("host[addr]:port") */
    char text[INET6_ADDRSTRLEN];
    struct sockaddr_storage sa; /* with the port */
    socklen_t salen;
    unsigned pref;              /* MX preference (0 without MX) */
};

#define SMTP_LOOKUP_DNS (1 << 0)
#define SMTP_LOOKUP_NATIVE (1 << 1)

#define SMTP_ADDR_PREF_ANY 0
#define SMTP_ADDR_PREF_IPV4 1
#define SMTP_ADDR_PREF_IPV6 2

struct smtp_addr_conf {
    const char *myhostname;     /* an MX host by this name means "us" */
    int lookup;                 /* SMTP_LOOKUP_*: smtp_host_lookup */
    int families;               /* inet_protocols: 4, 6 or 0 for both */
    int preference;             /* smtp_address_preference */
    size_t address_limit;       /* smtp_mx_address_limit, 0: none */
};

int smtp_nexthop_parse(const char *spec, unsigned default_port, struct smtp_nexthop *nh, struct buf *err);
int smtp_port_parse(const char *text, unsigned *port);
void smtp_nexthop_free(struct smtp_nexthop *nh);
int smtp_addr_resolve(const struct smtp_addr_conf *conf, const struct smtp_nexthop *nh, struct smtp_addr **list,
                      size_t *n, char *dsn, size_t dsnlen, struct buf *why);
void smtp_addr_free(struct smtp_addr *list, size_t n);

/*
 * smtp_nexthop_parse() takes default_port (smtp_tcp_port) when the next
 * hop names none.  smtp_port_parse() reads a port number or service name.
 * smtp_addr_resolve() returns 0 with the addresses to try, or -1 with an
 * enhanced status code in dsn ("4.4.3": try again later, "5.4.4": give
 * up) and why in Postfix's words ("Host or domain name not found. Name
 * service error for name=example.invalid type=MX: Host not found").
 */

#endif
