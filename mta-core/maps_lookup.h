/*
 * maps_lookup.h - mta-core's lookup tables and match lists: tables that reload
 * themselves, Postfix match lists (mynetworks, mydestination, ...), and
 * access map lookups with Postfix's and Sendmail's key forms.
 *
 * All of this runs in the daemon's one event-loop thread.
 */
#ifndef MAILSIFT_MAPS_LOOKUP_H
#define MAILSIFT_MAPS_LOOKUP_H

#include <time.h>

#include "libmatch/buf.h"
#include "libmatch/table.h"

/*
 * maps_reload.c - a table spec list ("hash:/etc/access, cidr:/etc/nets")
 * opened leniently (bad lines are logged and skipped, as Postfix does) and
 * opened again when one of its files changes (checked at most once per
 * second, on use) or on maps_reload_all() (SIGHUP).  A reload that fails
 * keeps the previous table and logs why.
 */
struct maps;

struct maps *maps_open(const char *param, const char *specs, struct buf *err);
const struct table *maps_table(struct maps *maps);
const char *maps_param(const struct maps *maps);
int maps_reload(struct maps *maps, int force);
void maps_reload_all(void);
void maps_free(struct maps *maps);

/*
 * maps_list.c - Postfix match lists: patterns separated by commas or
 * white space, "!pattern" to exclude, "/file/name" for more patterns,
 * "type:table" to look up.  A domain list (mydestination, relay_domains)
 * matches a domain name; a network list (mynetworks) matches a client by
 * address (a.b.c.d, a.b.c.d/n, [v6], [v6]/n, v6/n) or by name.
 */
#define MAPS_LIST_DOMAIN 1 /* patterns are domains */
#define MAPS_LIST_NETS 2   /* patterns are networks, addresses or host names */
#define MAPS_LIST_PARENT 4 /* "example.com" matches its subdomains too */

struct maps_list;

struct maps_list *maps_list_open(const char *param, const char *value, int flags, struct buf *err);
int maps_list_match(struct maps_list *list, const char *name, const char *addr, struct buf *err);
void maps_list_free(struct maps_list *list);

/* maps_addr.c - IP addresses and blocks, for lists and per-client limits. */
struct maps_addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
};

int maps_addr_parse(const char *text, size_t len, struct maps_addr *addr);
int maps_block_parse(const char *text, struct maps_addr *net, int *bits, const char **why);
int maps_addr_in_block(const struct maps_addr *addr, const struct maps_addr *net, int bits);
void maps_addr_unmap(char *text);

/*
 * maps_access.c - access(5) lookups.  A client is looked up by name (the
 * name and its parent domains) and then by address (the address and its
 * shorter network prefixes: 1.2.3.4, 1.2.3, 1.2, 1).  An address
 * user+ext@domain is looked up as user+ext@domain, user@domain, domain and
 * its parent domains, user+ext@, user@ (Postfix's order).  Each key is
 * tried with the Sendmail tag first ("Connect:", "From:", "To:") and then
 * without.  The null sender is looked up as "<>".
 */
enum maps_access_kind {
    MAPS_ACCESS_CLIENT, /* tag Connect: */
    MAPS_ACCESS_SENDER, /* tag From: */
    MAPS_ACCESS_RCPT,   /* tag To: */
};

int maps_access_find(struct maps *maps, enum maps_access_kind kind, const char *name,
                     const char *addr, const char *delimiters, struct buf *key,
                     struct table_match *match, struct buf *err);

/* What an access map result means. */
enum maps_action {
    MAPS_DUNNO,   /* no decision: go on */
    MAPS_OK,      /* accept (OK, or all digits) */
    MAPS_RELAY,   /* accept, and allow relaying */
    MAPS_REJECT,  /* REJECT, 5NN, ERROR:5NN */
    MAPS_DEFER,   /* DEFER, 4NN, ERROR:4NN */
    MAPS_DISCARD, /* accept, then drop */
    MAPS_HOLD,    /* accept into the hold queue (HOLD, QUARANTINE:) */
    MAPS_WARN,    /* log the text, go on (WARN, INFO) */
    MAPS_BROKEN,  /* a result we do not understand: 451 4.3.5 and a warning */
};

struct maps_verdict {
    enum maps_action action;
    int code;          /* REJECT, DEFER: the SMTP code */
    char dsn[16];      /* REJECT, DEFER: "5.7.1" */
    struct buf text;   /* the text after the action word ("" when none) */
    int sendmail;      /* an ERROR: result: the text is the whole reply text */
};

void maps_verdict_init(struct maps_verdict *v);
void maps_verdict_free(struct maps_verdict *v);
void maps_access_parse(const char *value, int reject_code, int defer_code, struct maps_verdict *v);

#endif
