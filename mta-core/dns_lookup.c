/*
 * dns_lookup.c - MX, A and AAAA questions through res_nquery(), with a
 * private resolver state per question (so that dns_set_server() can point
 * it somewhere else), answers parsed by ns_parserr().
 *
 * As Postfix's smtp does, names are asked as they are (no search list,
 * no default domain appended), and the status words are Postfix's: "Host
 * not found" for a name that does not exist, "Host not found, try again"
 * when no server answered.
 *
 * Trusts: nothing in an answer (see dns_lookup.h).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/dns_lookup.h"

static struct sockaddr_in dns_server; /* sin_family 0: /etc/resolv.conf */

/*
 * dns_set_server - send every question to hostport ("127.0.0.1:5353", an
 * IPv4 address and a port) instead of the system's servers; "" goes back
 * to them.  -1 with err for a malformed value.
 */
int dns_set_server(const char *hostport, struct buf *err)
{
    const char *colon;
    char host[INET_ADDRSTRLEN];
    char *end;
    long port = 53;

    memset(&dns_server, 0, sizeof(dns_server));
    if (hostport == NULL || *hostport == 0)
        return 0;
    colon = strrchr(hostport, ':');
    if (colon) {
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == 0 || *end || port < 1 || port > 65535) {
            buf_printf(err, "dns_server_address: bad port in \"%s\"", hostport);
            return -1;
        }
    }
    if ((size_t) (colon ? colon - hostport : (long) strlen(hostport)) >= sizeof(host)) {
        buf_printf(err, "dns_server_address: \"%s\" is not IPv4-address:port", hostport);
        return -1;
    }
    snprintf(host, sizeof(host), "%.*s", (int) (colon ? colon - hostport : (long) strlen(hostport)), hostport);
    if (inet_pton(AF_INET, host, &dns_server.sin_addr) != 1) {
        buf_printf(err, "dns_server_address: \"%s\" is not IPv4-address:port", hostport);
        memset(&dns_server, 0, sizeof(dns_server));
        return -1;
    }
    dns_server.sin_family = AF_INET;
    dns_server.sin_port = htons((unsigned short) port);
    return 0;
}

/* dns_status_text - a word for the log */
const char *dns_status_text(enum dns_status st)
{
    switch (st) {
    case DNS_OK:
        return "ok";
    case DNS_NODATA:
        return "no data";
    case DNS_NOTFOUND:
        return "Host not found";
    case DNS_RETRY:
        return "Host not found, try again";
    default:
        return "Name service error";
    }
}

/* dns_rr_free - what dns_lookup_*() returned */
void dns_rr_free(struct dns_rr *rrs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        mem_free(rrs[i].host);
    mem_free(rrs);
}

/* dns_valid_host - a host name we are willing to connect to (letters, digits, '-', '_', dots) */
static int dns_valid_host(const char *name)
{
    size_t label = 0;
    const char *p;

    if (*name == 0 || strlen(name) > 253)
        return 0;
    for (p = name; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                   *p == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* dns_type_name - for messages */
static const char *dns_type_name(int type)
{
    return type == ns_t_mx ? "MX" : type == ns_t_a ? "A" : type == ns_t_aaaa ? "AAAA" : "?";
}

/*
 * dns_query - ask one question; the answer's length in *len, or a status
 * other than DNS_OK with why.
 */
static enum dns_status dns_query(const char *name, int type, unsigned char *answer, int *len, struct buf *why)
{
    struct __res_state st;
    enum dns_status rc;

    memset(&st, 0, sizeof(st));
    if (res_ninit(&st) < 0) {
        buf_printf(why, "Name service error for name=%s type=%s: cannot initialize the resolver", name,
                   dns_type_name(type));
        return DNS_RETRY;
    }
    st.options &= ~(unsigned long) (RES_DEFNAMES | RES_DNSRCH);
    if (dns_server.sin_family == AF_INET) {
        st.nsaddr_list[0] = dns_server;
        st.nscount = 1;
        st.retrans = 2;
        st.retry = 2;
    }
    *len = res_nquery(&st, name, ns_c_in, type, answer, DNS_ANSWER_MAX);
    if (*len >= 0) {
        res_nclose(&st);
        return DNS_OK;
    }
    switch (st.res_h_errno) {
    case HOST_NOT_FOUND:
        rc = DNS_NOTFOUND;
        break;
    case NO_DATA:
        rc = DNS_NODATA;
        break;
    case NO_RECOVERY:
        rc = DNS_FAIL;
        break;
    default:
        rc = DNS_RETRY;
        break;
    }
    res_nclose(&st);
    buf_printf(why, "Name service error for name=%s type=%s: %s", name, dns_type_name(type), dns_status_text(rc));
    return rc;
}

/* dns_lookup - records of one type, MX or addresses */
static enum dns_status dns_lookup(const char *name, int type, struct dns_rr **rrs, size_t *n, struct buf *why)
{
    unsigned char *answer = mem_alloc(DNS_ANSWER_MAX);
    enum dns_status rc;
    ns_msg msg;
    ns_rr rr;
    int len, i, count;
    char host[NS_MAXDNAME];

    *rrs = NULL;
    *n = 0;
    rc = dns_query(name, type, answer, &len, why);
    if (rc != DNS_OK) {
        mem_free(answer);
        return rc;
    }
    if (ns_initparse(answer, len, &msg) < 0) {
        buf_printf(why, "Name service error for name=%s type=%s: malformed reply", name, dns_type_name(type));
        mem_free(answer);
        return DNS_FAIL;
    }
    count = ns_msg_count(msg, ns_s_an);
    for (i = 0; i < count && *n < DNS_RR_MAX; i++) {
        struct dns_rr *r;

        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
            buf_printf(why, "Name service error for name=%s type=%s: malformed reply", name, dns_type_name(type));
            dns_rr_free(*rrs, *n);
            *rrs = NULL;
            *n = 0;
            mem_free(answer);
            return DNS_FAIL;
        }
        if (ns_rr_class(rr) != ns_c_in || (int) ns_rr_type(rr) != type)
            continue; /* a CNAME on the way, or something we did not ask for */
        *rrs = mem_realloc_array(*rrs, *n + 1, sizeof(**rrs));
        r = &(*rrs)[*n];
        memset(r, 0, sizeof(*r));
        if (type == ns_t_mx) {
            if (ns_rr_rdlen(rr) < 3 ||
                ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host, sizeof(host)) < 0) {
                msg_warn("malformed MX record for %s: skipped", name);
                continue;
            }
            r->pref = ns_get16(ns_rr_rdata(rr));
            if (strcmp(host, ".") == 0)
                host[0] = 0;
            else if (!dns_valid_host(host)) {
                msg_warn("malformed domain name in resource data of MX record for %s: skipped", name);
                continue;
            }
            r->host = mem_strdup(host);
        } else if (type == ns_t_a) {
            struct sockaddr_in *sin = (struct sockaddr_in *) &r->addr;

            if (ns_rr_rdlen(rr) != 4)
                continue;
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, ns_rr_rdata(rr), 4);
            r->addrlen = sizeof(*sin);
            r->host = mem_strdup(name);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &r->addr;

            if (ns_rr_rdlen(rr) != 16)
                continue;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, ns_rr_rdata(rr), 16);
            r->addrlen = sizeof(*sin6);
            r->host = mem_strdup(name);
        }
        (*n)++;
    }
    mem_free(answer);
    if (*n == 0) {
        buf_printf(why, "Name service error for name=%s type=%s: %s", name, dns_type_name(type),
                   dns_status_text(DNS_NODATA));
        mem_free(*rrs);
        *rrs = NULL;
        return DNS_NODATA;
    }
    return DNS_OK;
}

/* dns_lookup_mx - see dns_lookup.h */
enum dns_status dns_lookup_mx(const char *name, struct dns_rr **rrs, size_t *n, struct buf *why)
{
    return dns_lookup(name, ns_t_mx, rrs, n, why);
}

/* dns_lookup_addr - see dns_lookup.h */
enum dns_status dns_lookup_addr(const char *name, int family, struct dns_rr **rrs, size_t *n, struct buf *why)
{
    return dns_lookup(name, family == AF_INET6 ? ns_t_aaaa : ns_t_a, rrs, n, why);
}
