/*
 * smtp_addr.c - next hop syntax, and the list of addresses to try for it.
 *
 * With MX records: sorted by preference, hosts of equal preference in
 * random order (load sharing, as RFC 5321 5.1 asks), every host's
 * addresses in turn, at most smtp_mx_address_limit in all.  When one of
 * the MX hosts is this host (myhostname), it and every host of the same
 * or a worse preference are dropped: a backup MX hands mail only to better
 * ones; with none left, the mail "loops back to myself" (5.4.6).  A null
 * MX (RFC 7505) means the domain takes no mail (5.1.10).  Without MX
 * records (NODATA), the domain's own addresses are used (implicit MX).
 * A name that does not exist is a permanent failure (5.4.4); a name
 * server that does not answer a temporary one (4.4.3).
 *
 * Trusts: the configuration (relayhost), and nothing in DNS answers.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/dns_lookup.h"
#include "mta-core/smtp_addr.h"

/* smtp_port_parse - a port number or a TCP service name ("smtp"); 0, or -1 */
int smtp_port_parse(const char *text, unsigned *port)
{
    struct servent *se;
    char *stop;
    long p;

    if (*text == 0)
        return -1;
    p = strtol(text, &stop, 10);
    if (*stop == 0) {
        if (p < 1 || p > 65535)
            return -1;
        *port = (unsigned) p;
        return 0;
    }
    if ((se = getservbyname(text, "tcp")) == NULL)
        return -1;
    *port = ntohs((unsigned short) se->s_port);
    return 0;
}

/* smtp_nexthop_parse - "[host]:port", "[host]", "host:port", "host" */
int smtp_nexthop_parse(const char *spec, unsigned default_port, struct smtp_nexthop *nh, struct buf *err)
{
    const char *host = spec, *end, *port = NULL;
    unsigned p = default_port;

    memset(nh, 0, sizeof(*nh));
    while (*host == ' ' || *host == '\t')
        host++;
    if (*host == '[') {
        host++;
        if ((end = strchr(host, ']')) == NULL) {
            buf_printf(err, "malformed next hop \"%s\": no closing ]", spec);
            return -1;
        }
        nh->no_mx = 1;
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != 0) {
            buf_printf(err, "malformed next hop \"%s\": text after ]", spec);
            return -1;
        }
    } else {
        end = strchr(host, ':');
        if (end)
            port = end + 1;
        else
            end = host + strlen(host);
    }
    if (end == host) {
        buf_printf(err, "malformed next hop \"%s\": no host", spec);
        return -1;
    }
    if (port && smtp_port_parse(port, &p) < 0) {
        buf_printf(err, "malformed next hop \"%s\": bad port", spec);
        return -1;
    }
    nh->host = mem_strndup(host, (size_t) (end - host));
    /* An IPv6 literal may be written [ipv6:...] as in a domain literal. */
    if (strncasecmp(nh->host, "ipv6:", 5) == 0)
        memmove(nh->host, nh->host + 5, strlen(nh->host + 5) + 1);
    nh->port = p;
    return 0;
}

/* smtp_nexthop_free - release a parsed next hop */
void smtp_nexthop_free(struct smtp_nexthop *nh)
{
    mem_free(nh->host);
    nh->host = NULL;
}

/* smtp_addr_free - release an address list */
void smtp_addr_free(struct smtp_addr *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        mem_free(list[i].host);
    mem_free(list);
}

/* smtp_addr_add - append one address with its port */
static void smtp_addr_add(struct smtp_addr **list, size_t *n, const char *host, const struct sockaddr *sa,
                          socklen_t salen, unsigned port, unsigned pref)
{
    struct smtp_addr *a;

    *list = mem_realloc_array(*list, *n + 1, sizeof(**list));
    a = &(*list)[(*n)++];
    memset(a, 0, sizeof(*a));
    a->host = mem_strdup(host);
    memcpy(&a->sa, sa, salen);
    a->salen = salen;
    a->pref = pref;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &a->sa;

        sin->sin_port = htons((unsigned short) port);
        inet_ntop(AF_INET, &sin->sin_addr, a->text, sizeof(a->text));
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &a->sa;

        sin6->sin6_port = htons((unsigned short) port);
        inet_ntop(AF_INET6, &sin6->sin6_addr, a->text, sizeof(a->text));
    }
}

/* smtp_addr_numeric - host is an address literal: add it; 1 when it was one */
static int smtp_addr_numeric(const char *host, unsigned port, struct smtp_addr **list, size_t *n)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        smtp_addr_add(list, n, host, (struct sockaddr *) &sin, sizeof(sin), port, 0);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        smtp_addr_add(list, n, host, (struct sockaddr *) &sin6, sizeof(sin6), port, 0);
        return 1;
    }
    return 0;
}

/* smtp_status_rank - which of two failures to report: temporary ones win (never lose mail) */
static enum dns_status smtp_worse(enum dns_status a, enum dns_status b)
{
    if (a == DNS_RETRY || b == DNS_RETRY)
        return DNS_RETRY;
    if (a == DNS_FAIL || b == DNS_FAIL)
        return DNS_FAIL;
    if (a == DNS_NOTFOUND || b == DNS_NOTFOUND)
        return DNS_NOTFOUND;
    return DNS_NODATA;
}

/*
 * smtp_addr_host - the addresses of one host name, in the configured
 * family order; DNS_OK when at least one was found, else the failure and why.
 */
static enum dns_status smtp_addr_host(const struct smtp_addr_conf *conf, const char *host, unsigned port,
                                      unsigned pref, struct smtp_addr **list, size_t *n, struct buf *why)
{
    enum dns_status worst = DNS_NODATA, st;
    size_t before = *n;
    int fam[2], nfam = 0, i;
    size_t k;

    if (smtp_addr_numeric(host, port, list, n)) {
        (*list)[*n - 1].pref = pref;
        return DNS_OK;
    }
    if (conf->families != 6)
        fam[nfam++] = AF_INET;
    if (conf->families != 4)
        fam[nfam++] = AF_INET6;
    if (nfam == 2 && (conf->preference == SMTP_ADDR_PREF_IPV6 ||
                      (conf->preference == SMTP_ADDR_PREF_ANY && arc4random_uniform(2)))) {
        fam[0] = AF_INET6;
        fam[1] = AF_INET;
    }
    if (conf->lookup & SMTP_LOOKUP_DNS) {
        for (i = 0; i < nfam; i++) {
            struct dns_rr *rrs;
            size_t nrr;

            buf_reset(why);
            st = dns_lookup_addr(host, fam[i], &rrs, &nrr, why);
            if (st == DNS_OK) {
                for (k = 0; k < nrr; k++)
                    smtp_addr_add(list, n, host, (struct sockaddr *) &rrs[k].addr, rrs[k].addrlen, port, pref);
                dns_rr_free(rrs, nrr);
            } else {
                worst = smtp_worse(worst, st);
            }
        }
        if (*n > before)
            return DNS_OK;
        if (worst == DNS_NODATA && nfam > 0) {
            buf_reset(why);
            buf_printf(why, "Name service error for name=%s type=%s: Host found but no data record of requested type",
                       host, fam[nfam - 1] == AF_INET6 ? "AAAA" : "A");
        }
    }
    if (conf->lookup & SMTP_LOOKUP_NATIVE) {
        struct addrinfo hints, *res, *ai;
        int rc;

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = conf->families == 4 ? AF_INET : conf->families == 6 ? AF_INET6 : AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc == 0) {
            for (ai = res; ai; ai = ai->ai_next)
                if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
                    smtp_addr_add(list, n, host, ai->ai_addr, ai->ai_addrlen, port, pref);
            freeaddrinfo(res);
            if (*n > before)
                return DNS_OK;
        }
        buf_reset(why);
        buf_printf(why, "Name service error for name=%s type=A: %s", host,
                   rc == EAI_AGAIN ? "Host not found, try again" : "Host not found");
        worst = rc == EAI_AGAIN ? DNS_RETRY : DNS_NOTFOUND;
    }
    return worst;
}

/* smtp_mx_cmp - by preference */
static int smtp_mx_cmp(const void *a, const void *b)
{
    const struct dns_rr *x = a, *y = b;

    return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* smtp_mx_shuffle - random order among equal preferences */
static void smtp_mx_shuffle(struct dns_rr *rrs, size_t n)
{
    size_t lo = 0, hi, i;

    while (lo < n) {
        for (hi = lo + 1; hi < n && rrs[hi].pref == rrs[lo].pref; hi++)
            ;
        for (i = hi - 1; i > lo; i--) {
            size_t j = lo + arc4random_uniform((unsigned) (i - lo + 1));
            struct dns_rr t = rrs[i];

            rrs[i] = rrs[j];
            rrs[j] = t;
        }
        lo = hi;
    }
}

/* smtp_fail - fill in a failure from a DNS status */
static int smtp_fail(enum dns_status st, char *dsn, size_t dsnlen, struct buf *why, const char *text)
{
    struct buf tmp = BUF_INIT;

    buf_printf(&tmp, "Host or domain name not found. %s", text);
    buf_setstr(why, tmp.data);
    buf_free(&tmp);
    snprintf(dsn, dsnlen, "%s", st == DNS_NOTFOUND || st == DNS_NODATA ? "5.4.4" : "4.4.3");
    return -1;
}

/* smtp_addr_resolve - see smtp_addr.h */
int smtp_addr_resolve(const struct smtp_addr_conf *conf, const struct smtp_nexthop *nh, struct smtp_addr **list,
                      size_t *n, char *dsn, size_t dsnlen, struct buf *why)
{
    struct buf text = BUF_INIT;
    enum dns_status st, worst = DNS_NODATA;
    struct dns_rr *mx = NULL;
    size_t nmx = 0, nuse, i;
    int rc = 0;

    *list = NULL;
    *n = 0;
    buf_reset(why);
    if (nh->no_mx || !(conf->lookup & SMTP_LOOKUP_DNS)) {
        st = smtp_addr_host(conf, nh->host, nh->port, 0, list, n, &text);
        if (st != DNS_OK)
            rc = smtp_fail(st, dsn, dsnlen, why, text.data);
        goto out;
    }
    st = dns_lookup_mx(nh->host, &mx, &nmx, &text);
    if (st == DNS_NODATA) {
        /* No MX: the domain's own addresses (implicit MX, RFC 5321 5.1). */
        buf_reset(&text);
        st = smtp_addr_host(conf, nh->host, nh->port, 0, list, n, &text);
        if (st != DNS_OK)
            rc = smtp_fail(st, dsn, dsnlen, why, text.data);
        goto out;
    }
    if (st != DNS_OK) {
        rc = smtp_fail(st, dsn, dsnlen, why, text.data);
        goto out;
    }
    if (nmx == 1 && mx[0].host[0] == 0) {
        buf_printf(why, "Domain %s does not accept mail (nullMX)", nh->host);
        snprintf(dsn, dsnlen, "5.1.10");
        rc = -1;
        goto out;
    }
    qsort(mx, nmx, sizeof(*mx), smtp_mx_cmp);
    smtp_mx_shuffle(mx, nmx);
    nuse = nmx;
    /* A backup MX hands mail only to better MX hosts than itself. */
    for (i = 0; i < nmx; i++) {
        if (conf->myhostname && strcasecmp(mx[i].host, conf->myhostname) == 0) {
            unsigned mine = mx[i].pref;
            size_t k = 0;

            while (k < nmx && mx[k].pref < mine)
                k++;
            if (k == 0) {
                buf_printf(why, "mail for %s loops back to myself", nh->host);
                snprintf(dsn, dsnlen, "5.4.6");
                rc = -1;
                goto out;
            }
            nuse = k;
            break;
        }
    }
    for (i = 0; i < nuse; i++) {
        if (mx[i].host[0] == 0)
            continue; /* a null MX among others: not a host */
        buf_reset(&text);
        st = smtp_addr_host(conf, mx[i].host, nh->port, mx[i].pref, list, n, &text);
        if (st != DNS_OK) {
            worst = smtp_worse(worst, st);
            buf_setstr(why, text.data);
        }
        if (conf->address_limit && *n >= conf->address_limit)
            break;
    }
    if (*n == 0) {
        buf_setstr(&text, why->len ? why->data : "no usable MX host");
        rc = smtp_fail(worst, dsn, dsnlen, why, text.data);
    }
out:
    dns_rr_free(mx, nmx);
    if (rc == 0 && conf->address_limit && *n > conf->address_limit) {
        for (i = conf->address_limit; i < *n; i++)
            mem_free((*list)[i].host);
        *n = conf->address_limit;
    }
    if (rc < 0) {
        smtp_addr_free(*list, *n);
        *list = NULL;
        *n = 0;
    }
    buf_free(&text);
    return rc;
}
