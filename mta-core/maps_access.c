/*
 * maps_access.c - access(5) lookups and what their results mean.
 *
 * Keys, as Postfix's check_client_access, check_sender_access and
 * check_recipient_access look them up with the default
 * parent_domain_matches_subdomains (so "example.com" covers its
 * subdomains and ".example.com" keys are not consulted, as in Postfix):
 *   client     host.example.com, example.com, com; then 192.168.1.2,
 *              192.168.1, 192.168, 192 (IPv6: dropping ":part" from the
 *              right); a client without a verified name is looked up by
 *              address only
 *   address    user+ext@example.com, user@example.com, example.com and its
 *              parents, user+ext@, user@; the null sender as "<>"
 * and every key first with its Sendmail tag (Connect:, From:, To:), then
 * without, so that one table can be shared with a Sendmail access db.
 *
 * Results: Postfix's OK, REJECT [text], DEFER [text], DISCARD [text],
 * HOLD [text], DUNNO, WARN/INFO text, RELAY, 4NN text, 5NN text, all
 * digits (OK); Sendmail's ERROR:NNN text, ERROR:D.S.N:NNN text,
 * ERROR:"NNN text", QUARANTINE:reason.  Anything else is a configuration
 * error: 451 4.3.5 and a warning, as Postfix answers an unknown
 * restriction.
 *
 * Trusts: nothing in the keys; table results are the operator's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"

static const char *const maps_tags[] = { "Connect:", "From:", "To:" };

/* maps_try - one key, tagged then untagged; 1 found, 0 not, -1 error */
static int maps_try(const struct table *t, enum maps_access_kind kind, const char *key, size_t len,
                    struct buf *used, struct table_match *m, struct buf *err)
{
    int rc;

    buf_setstr(used, maps_tags[kind]);
    buf_add(used, key, len);
    if ((rc = table_lookup(t, used->data, used->len, m, err)) != 0)
        return rc;
    buf_set(used, key, len);
    return table_lookup(t, used->data, used->len, m, err);
}

/* maps_try_domain - a domain and its parent domains */
static int maps_try_domain(const struct table *t, enum maps_access_kind kind, const char *domain,
                           struct buf *used, struct table_match *m, struct buf *err)
{
    const char *d = domain;
    int rc;

    while (d && *d) {
        if ((rc = maps_try(t, kind, d, strlen(d), used, m, err)) != 0)
            return rc;
        d = strchr(d + 1, '.');
        if (d)
            d++;
    }
    return 0;
}

/* maps_try_client - name and parents, then the address and its prefixes */
static int maps_try_client(const struct table *t, const char *name, const char *addr,
                           struct buf *used, struct table_match *m, struct buf *err)
{
    struct buf prefix = BUF_INIT;
    int delim, rc = 0;

    if (name && *name && strcmp(name, "unknown") != 0
        && (rc = maps_try_domain(t, MAPS_ACCESS_CLIENT, name, used, m, err)) != 0)
        return rc;
    if (addr == NULL || *addr == 0)
        return 0;
    delim = strchr(addr, ':') ? ':' : '.';
    buf_setstr(&prefix, addr);
    for (;;) {
        char *cut;

        if ((rc = maps_try(t, MAPS_ACCESS_CLIENT, prefix.data, prefix.len, used, m, err)) != 0)
            break;
        if ((cut = strrchr(prefix.data, delim)) == NULL)
            break;
        buf_truncate(&prefix, (size_t) (cut - prefix.data));
        if (prefix.len == 0)
            break;
    }
    buf_free(&prefix);
    return rc;
}

/* maps_try_address - Postfix's user+ext@domain, user@domain, domain..., user+ext@, user@ */
static int maps_try_address(const struct table *t, enum maps_access_kind kind, const char *addr,
                            const char *delimiters, struct buf *used, struct table_match *m,
                            struct buf *err)
{
    const char *at = strrchr(addr, '@');
    size_t llen = at ? (size_t) (at - addr) : strlen(addr);
    size_t ulen = llen;
    struct buf key = BUF_INIT;
    int rc;

    if (*addr == 0)
        return maps_try(t, kind, "<>", 2, used, m, err);
    if (delimiters && *delimiters) {
        size_t i;

        for (i = 0; i < llen; i++)
            if (strchr(delimiters, addr[i])) {
                ulen = i;
                break;
            }
        /* "+ext@domain" has no user part: no extension to strip (Postfix). */
        if (ulen == 0)
            ulen = llen;
    }
    if ((rc = maps_try(t, kind, addr, strlen(addr), used, m, err)) != 0)
        goto done;
    if (ulen < llen && at) {
        buf_set(&key, addr, ulen);
        buf_addstr(&key, at);
        if ((rc = maps_try(t, kind, key.data, key.len, used, m, err)) != 0)
            goto done;
    }
    if (at && (rc = maps_try_domain(t, kind, at + 1, used, m, err)) != 0)
        goto done;
    buf_set(&key, addr, llen);
    buf_addch(&key, '@');
    if ((rc = maps_try(t, kind, key.data, key.len, used, m, err)) != 0)
        goto done;
    if (ulen < llen) {
        buf_set(&key, addr, ulen);
        buf_addch(&key, '@');
        rc = maps_try(t, kind, key.data, key.len, used, m, err);
    }
done:
    buf_free(&key);
    return rc;
}

/*
 * maps_access_find - look up a client (name, addr) or an address (name is
 * the address; addr unused) in the access maps.  1 and match (and key:
 * the key that matched) when found, 0 when not, -1 when a lookup failed.
 */
int maps_access_find(struct maps *maps, enum maps_access_kind kind, const char *name,
                     const char *addr, const char *delimiters, struct buf *key,
                     struct table_match *match, struct buf *err)
{
    const struct table *t = maps_table(maps);

    if (kind == MAPS_ACCESS_CLIENT)
        return maps_try_client(t, name, addr, key, match, err);
    return maps_try_address(t, kind, name, delimiters, key, match, err);
}

/* maps_verdict_init - an empty verdict */
void maps_verdict_init(struct maps_verdict *v)
{
    memset(v, 0, sizeof(*v));
    buf_init(&v->text);
}

/* maps_verdict_free - release the text */
void maps_verdict_free(struct maps_verdict *v)
{
    buf_free(&v->text);
}

/* maps_dsn_split - take "d.d.d " off the front of text into dsn when it is there */
static const char *maps_dsn_split(const char *text, char cls, char *dsn, size_t size)
{
    const char *p = text;
    size_t n;

    if ((*p == '4' || *p == '5') && p[1] == '.') {
        p += 2;
        n = strspn(p, "0123456789");
        if (n >= 1 && n <= 3 && p[n] == '.') {
            p += n + 1;
            n = strspn(p, "0123456789");
            if (n >= 1 && n <= 3 && (p[n] == ' ' || p[n] == 0 || p[n] == ':')) {
                p += n;
                if ((size_t) (p - text) < size) {
                    memcpy(dsn, text, (size_t) (p - text));
                    dsn[p - text] = 0;
                    dsn[0] = cls; /* the class follows the reply code */
                }
                while (*p == ' ' || *p == ':')
                    p++;
                return p;
            }
        }
    }
    snprintf(dsn, size, "%c.7.1", cls);
    return text;
}

/* maps_word - does value start with the action word (then end or white space)? */
static const char *maps_word(const char *value, const char *word)
{
    size_t n = strlen(word);

    if (strncasecmp(value, word, n) != 0 || (value[n] != 0 && value[n] != ' ' && value[n] != '\t'))
        return NULL;
    value += n;
    while (*value == ' ' || *value == '\t')
        value++;
    return value;
}

/* maps_sendmail_error - ERROR:NNN text, ERROR:D.S.N:NNN text, ERROR:"NNN text" */
static void maps_sendmail_error(const char *p, struct maps_verdict *v)
{
    char dsn[16] = "";
    size_t len;

    if (*p == '"') {
        p++;
        len = strlen(p);
        if (len && p[len - 1] == '"')
            len--;
    } else {
        len = strlen(p);
    }
    /* An optional D.S.N: before the code. */
    if ((p[0] == '4' || p[0] == '5') && p[1] == '.') {
        const char *colon = memchr(p, ':', len);

        if (colon && (size_t) (colon - p) < sizeof(dsn)) {
            memcpy(dsn, p, (size_t) (colon - p));
            dsn[colon - p] = 0;
            len -= (size_t) (colon + 1 - p);
            p = colon + 1;
        }
    }
    if (len < 3 || (p[0] != '4' && p[0] != '5') || !isdigit((unsigned char) p[1])
        || !isdigit((unsigned char) p[2]) || (len > 3 && p[3] != ' ')) {
        v->action = MAPS_BROKEN;
        return;
    }
    v->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    v->action = p[0] == '5' ? MAPS_REJECT : MAPS_DEFER;
    v->sendmail = 1;
    p += 3;
    len -= 3;
    while (len && *p == ' ')
        p++, len--;
    buf_set(&v->text, p, len);
    if (*dsn) {
        snprintf(v->dsn, sizeof(v->dsn), "%s", dsn);
        v->dsn[0] = (char) ('0' + v->code / 100);
    } else {
        const char *rest = maps_dsn_split(v->text.data, (char) ('0' + v->code / 100), v->dsn,
                                          sizeof(v->dsn));
        struct buf tmp = BUF_INIT;

        buf_setstr(&tmp, rest);
        buf_set(&v->text, tmp.data, tmp.len);
        buf_free(&tmp);
    }
    if (v->text.len == 0)
        buf_addstr(&v->text, v->code >= 500 ? "Access denied" : "Try again later");
}

/*
 * maps_access_parse - what an access map result says.  reject_code and
 * defer_code are access_map_reject_code and access_map_defer_code.
 */
void maps_access_parse(const char *value, int reject_code, int defer_code, struct maps_verdict *v)
{
    const char *rest;

    buf_reset(&v->text);
    v->code = 0;
    v->sendmail = 0;
    v->dsn[0] = 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, "ERROR:", 6) == 0) {
        maps_sendmail_error(value + 6, v);
        return;
    }
    if (strncasecmp(value, "QUARANTINE:", 11) == 0) {
        v->action = MAPS_HOLD;
        buf_setstr(&v->text, value + 11);
        return;
    }
    if ((rest = maps_word(value, "OK")) != NULL) {
        v->action = MAPS_OK;
        return;
    }
    if ((rest = maps_word(value, "RELAY")) != NULL) {
        v->action = MAPS_RELAY;
        return;
    }
    if ((rest = maps_word(value, "DUNNO")) != NULL || (rest = maps_word(value, "SKIP")) != NULL) {
        v->action = MAPS_DUNNO;
        return;
    }
    if ((rest = maps_word(value, "REJECT")) != NULL || (rest = maps_word(value, "DEFER")) != NULL) {
        int reject = toupper((unsigned char) *value) == 'R';

        v->action = reject ? MAPS_REJECT : MAPS_DEFER;
        v->code = reject ? reject_code : defer_code;
        rest = maps_dsn_split(rest, reject ? '5' : '4', v->dsn, sizeof(v->dsn));
        buf_setstr(&v->text, rest);
        return;
    }
    if ((rest = maps_word(value, "DISCARD")) != NULL) {
        v->action = MAPS_DISCARD;
        buf_setstr(&v->text, rest);
        return;
    }
    if ((rest = maps_word(value, "HOLD")) != NULL) {
        v->action = MAPS_HOLD;
        buf_setstr(&v->text, rest);
        return;
    }
    if ((rest = maps_word(value, "WARN")) != NULL || (rest = maps_word(value, "INFO")) != NULL) {
        v->action = MAPS_WARN;
        buf_setstr(&v->text, rest);
        return;
    }
    if (*value && strspn(value, "0123456789") == strlen(value)) {
        v->action = MAPS_OK; /* all digits: a time stamp from some POP-before-SMTP scheme */
        return;
    }
    if ((value[0] == '4' || value[0] == '5') && isdigit((unsigned char) value[1])
        && isdigit((unsigned char) value[2]) && (value[3] == ' ' || value[3] == '\t')) {
        rest = value + 3;
        while (*rest == ' ' || *rest == '\t')
            rest++;
        if (*rest) {
            v->code = atoi(value);
            v->action = value[0] == '5' ? MAPS_REJECT : MAPS_DEFER;
            rest = maps_dsn_split(rest, value[0], v->dsn, sizeof(v->dsn));
            buf_setstr(&v->text, rest);
            return;
        }
    }
    v->action = MAPS_BROKEN;
}
