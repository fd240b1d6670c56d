/*
 * masq_addr.h - address masquerading and myorigin completion, as Postfix's
 * masquerade_domains, masquerade_exceptions, masquerade_classes and
 * myorigin (append_at_myorigin) do them.
 *
 *   masquerade_domains = !mail.example.com, example.com
 *       user@host.example.com  ->  user@example.com
 *       user@mail.example.com  stays (excluded with "!")
 *   masquerade_exceptions = root, mailer-daemon
 *       root@host.example.com  stays
 *   bare "alice"  ->  alice@$myorigin
 *
 * Addresses in headers are found with an RFC 5322 address-list scanner
 * that leaves every other byte where it was (display names, comments,
 * quoting, folding): only the domain of an address changes, or
 * "@myorigin" is inserted after a bare local part.
 *
 * Trusts: the configuration; header text is untrusted (bounded by the
 * caller's header size limit, scanned once, never quadratic).
 */
#ifndef MAILSIFT_MASQ_ADDR_H
#define MAILSIFT_MASQ_ADDR_H

#include <stddef.h>

#include "libmatch/buf.h"

struct config;

/* masquerade_classes */
#define MASQ_ENV_SENDER (1 << 0)
#define MASQ_ENV_RCPT (1 << 1)
#define MASQ_HDR_SENDER (1 << 2)
#define MASQ_HDR_RCPT (1 << 3)

struct masq {
    char **domains;     /* masquerade_domains, lower case, "!" kept */
    size_t ndomains;
    char **exceptions;  /* masquerade_exceptions, lower case */
    size_t nexceptions;
    int classes;        /* MASQ_* */
    char *myorigin;
};

int masq_init(struct masq *mq, struct config *cfg, struct buf *err);
void masq_free(struct masq *mq);
int masq_address(const struct masq *mq, const char *addr, struct buf *out);
int masq_complete(const char *myorigin, const char *addr, struct buf *out);
int masq_header_class(const char *header, size_t len);
int masq_header(const struct masq *mq, int complete, const char *header, size_t len, struct buf *out);
void masq_extract(const char *header, size_t len, void (*fn)(void *ctx, const char *addr), void *ctx);

/*
 * masq_address() writes addr masqueraded (or as it was) to out and
 * returns 1 when it changed.  masq_complete() does the same for myorigin
 * completion of a bare name.  masq_header_class() says whether a header
 * (its text from the name on) carries sender addresses (MASQ_HDR_SENDER:
 * From, Sender, Reply-To, Resent-From, Resent-Sender, Errors-To,
 * Return-Receipt-To), recipient addresses (MASQ_HDR_RCPT: To, Cc, Bcc,
 * Resent-To, Resent-Cc, Resent-Bcc, Apparently-To) or neither (0).
 * masq_header() rewrites the addresses of one logical header (its
 * physical lines joined with '\n') into out: masquerading when its class
 * is in masquerade_classes, and myorigin completion when complete is set;
 * 1 when something changed, 0 when out is a copy.  masq_extract() calls
 * fn with each address of an address-list header (blanks and comments
 * removed), for sendmail -t.
 */

#endif
