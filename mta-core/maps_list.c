/*
 * maps_list.c - Postfix match lists: mynetworks, mydestination,
 * relay_domains, smtpd_client_event_limit_exceptions.
 *
 * The value is a list of patterns separated by commas and/or white space,
 * tried in order; the first that matches decides, and a pattern written
 * "!pattern" decides "no".  A pattern is
 *   /file/name        more patterns, read from the file (as Postfix does)
 *   a.b.c.d/n, [v6]/n, v6/n, a.b.c.d, [v6]
 *                     a network or an address (network lists)
 *   type:table        a lookup of the name (and its parent domains with
 *                     MAPS_LIST_PARENT), then of the address: found
 *                     means match
 *   .example.com      any subdomain of example.com
 *   example.com       example.com itself (and its subdomains with
 *                     MAPS_LIST_PARENT, Postfix's
 *                     parent_domain_matches_subdomains)
 *
 * Trusts: the operator's text, but a bad network is an error naming it;
 * files are read with a nesting limit.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"

#define MAPS_LIST_DEPTH 10 /* nested /file patterns */

enum { PAT_NET, PAT_NAME, PAT_TABLE };

struct maps_pattern {
    int kind;
    int negate;
    struct maps_addr net; /* PAT_NET */
    int bits;
    char *name;           /* PAT_NAME: lower case */
    struct maps *maps;    /* PAT_TABLE */
};

struct maps_list {
    char *param;
    int flags;
    struct maps_pattern *pats;
    size_t count;
};

static int maps_list_add_text(struct maps_list *list, const char *text, int depth, struct buf *err);

/* maps_list_add_file - the patterns in a file, one or more per line, '#' comments */
static int maps_list_add_file(struct maps_list *list, const char *path, int depth, struct buf *err)
{
    FILE *fp;
    struct buf text = BUF_INIT;
    int ch, comment = 0, status;

    if (depth >= MAPS_LIST_DEPTH) {
        buf_printf(err, "%s: %s: files nested deeper than %d", list->param, path, MAPS_LIST_DEPTH);
        return -1;
    }
    if ((fp = fopen(path, "r")) == NULL) {
        buf_printf(err, "%s: open %s: %s", list->param, path, strerror(errno));
        return -1;
    }
    while ((ch = getc(fp)) != EOF) {
        if (ch == '#')
            comment = 1;
        else if (ch == '\n')
            comment = 0;
        if (!comment)
            buf_addch(&text, ch == '\n' ? ' ' : ch);
    }
    fclose(fp);
    status = maps_list_add_text(list, text.data, depth + 1, err);
    buf_free(&text);
    return status;
}

/* maps_list_add - one pattern */
static int maps_list_add(struct maps_list *list, const char *pat, int depth, struct buf *err)
{
    struct maps_pattern p;
    const char *why = NULL;
    int rc;

    memset(&p, 0, sizeof(p));
    if (*pat == '!') {
        p.negate = 1;
        pat++;
    }
    if (*pat == 0) {
        buf_printf(err, "%s: empty pattern after '!'", list->param);
        return -1;
    }
    if (*pat == '/') {
        if (p.negate) {
            buf_printf(err, "%s: \"!%s\": a file cannot be negated", list->param, pat);
            return -1;
        }
        return maps_list_add_file(list, pat, depth, err);
    }
    if ((list->flags & MAPS_LIST_NETS)
        && (rc = maps_block_parse(pat, &p.net, &p.bits, &why)) != 0) {
        if (rc < 0) {
            buf_printf(err, "%s: %s in \"%s\"", list->param, why, pat);
            return -1;
        }
        p.kind = PAT_NET;
    } else if (strchr(pat, ':')) {
        const char *colon = strchr(pat, ':');
        const char *q;

        for (q = pat; q < colon && isalpha((unsigned char) *q); q++)
            ;
        if (q != colon || q == pat) {
            buf_printf(err, "%s: bad pattern \"%s\"", list->param, pat);
            return -1;
        }
        if ((p.maps = maps_open(list->param, pat, err)) == NULL)
            return -1;
        p.kind = PAT_TABLE;
    } else {
        char *q;

        p.kind = PAT_NAME;
        p.name = mem_strdup(pat);
        for (q = p.name; *q; q++)
            *q = (char) tolower((unsigned char) *q);
    }
    list->pats = mem_realloc_array(list->pats, list->count + 1, sizeof(*list->pats));
    list->pats[list->count++] = p;
    return 0;
}

/* maps_list_add_text - every pattern of a value */
static int maps_list_add_text(struct maps_list *list, const char *text, int depth, struct buf *err)
{
    const char *p = text;
    int status = 0;

    while (*p) {
        const char *start;
        char *pat;
        int nest = 0;

        while (*p && (isspace((unsigned char) *p) || *p == ','))
            p++;
        if (*p == 0)
            break;
        start = p;
        /* Braces group an inline table: "texthash:{ {a b}, {c d} }". */
        while (*p && (nest > 0 || !(isspace((unsigned char) *p) || *p == ','))) {
            if (*p == '{')
                nest++;
            else if (*p == '}' && nest > 0)
                nest--;
            p++;
        }
        pat = mem_strndup(start, (size_t) (p - start));
        if (maps_list_add(list, pat, depth, err) < 0) {
            status = -1;
            if (err->len && err->data[err->len - 1] != '\n')
                buf_addch(err, '\n');
        }
        mem_free(pat);
    }
    if (status < 0 && err->len && err->data[err->len - 1] == '\n')
        buf_truncate(err, err->len - 1);
    return status;
}

/* maps_list_open - a list from a parameter's value; NULL with err when a pattern is bad */
struct maps_list *maps_list_open(const char *param, const char *value, int flags, struct buf *err)
{
    struct maps_list *list = mem_zalloc(sizeof(*list));

    list->param = mem_strdup(param);
    list->flags = flags;
    if (maps_list_add_text(list, value, 0, err) < 0) {
        maps_list_free(list);
        return NULL;
    }
    return list;
}

/* maps_name_match - name against a domain pattern */
static int maps_name_match(const struct maps_list *list, const char *pat, const char *name)
{
    size_t plen = strlen(pat), nlen = strlen(name);

    if (*pat == '.')
        return nlen > plen && strcasecmp(name + nlen - plen, pat) == 0;
    if (strcasecmp(name, pat) == 0)
        return 1;
    return (list->flags & MAPS_LIST_PARENT) && nlen > plen && name[nlen - plen - 1] == '.'
           && strcasecmp(name + nlen - plen, pat) == 0;
}

/* maps_table_match - look up name (and parents), then addr; 1, 0 or -1 */
static int maps_table_match(const struct maps_list *list, struct maps *maps, const char *name,
                            const char *addr, struct buf *err)
{
    struct table_match m;
    const struct table *t = maps_table(maps);
    const char *key = name;
    int rc = 0;

    table_match_init(&m);
    while (key && *key && rc == 0) {
        rc = table_lookup(t, key, strlen(key), &m, err);
        if (!(list->flags & MAPS_LIST_PARENT))
            break;
        key = strchr(key + 1, '.');
        if (key)
            key++;
    }
    if (rc == 0 && addr && *addr)
        rc = table_lookup(t, addr, strlen(addr), &m, err);
    table_match_free(&m);
    return rc;
}

/*
 * maps_list_match - does the list match name (a domain, or a client's
 * host name: NULL or "unknown" for none) or addr (a client address, NULL
 * for domain lists)?  1 yes, 0 no, -1 when a table lookup failed.
 */
int maps_list_match(struct maps_list *list, const char *name, const char *addr, struct buf *err)
{
    struct maps_addr a;
    int have_addr = addr && maps_addr_parse(addr, strlen(addr), &a);
    size_t i;

    if (name && strcmp(name, "unknown") == 0 && (list->flags & MAPS_LIST_NETS))
        name = NULL;
    for (i = 0; i < list->count; i++) {
        struct maps_pattern *p = &list->pats[i];
        int hit = 0;

        switch (p->kind) {
        case PAT_NET:
            hit = have_addr && maps_addr_in_block(&a, &p->net, p->bits);
            break;
        case PAT_NAME:
            hit = name && maps_name_match(list, p->name, name);
            break;
        case PAT_TABLE:
            if ((hit = maps_table_match(list, p->maps, name, addr, err)) < 0)
                return -1;
            break;
        }
        if (hit)
            return !p->negate;
    }
    return 0;
}

/* maps_list_free - release a list and its tables */
void maps_list_free(struct maps_list *list)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < list->count; i++) {
        mem_free(list->pats[i].name);
        maps_free(list->pats[i].maps);
    }
    mem_free(list->pats);
    mem_free(list->param);
    mem_free(list);
}
