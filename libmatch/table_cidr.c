/*
 * table_cidr.c - Postfix cidr: tables (cidr_table(5)): network blocks in
 * file order, the first that contains the address answers.
 *
 *   192.168.0.0/16      REJECT
 *   10.1.2.3            OK                  (one address: /32)
 *   2001:db8::/32       OK                  ([2001:db8::]/32 also)
 *   !192.168.0.0/16     DUNNO               (Postfix 3.2: "not in this block")
 *
 * As in Postfix, a block with bits set beyond its prefix is an error
 * ("non-null host address bits"), and IPv4 rules never match IPv6 keys
 * nor the reverse (an IPv4-mapped key ::ffff:1.2.3.4 is an IPv6 key; the
 * SMTP server hands over client addresses in IPv4 form, as Postfix's
 * does).  Keys that are not addresses find nothing.  Postfix's if/endif
 * blocks are not supported (an error).
 *
 * Trusts: nothing in the text.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "libmatch/lline.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/table_type.h"

struct cidr_rule {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
    int negate;
    char *result;
    int line;
};

struct cidr_table {
    char *name;
    struct cidr_rule *rules;
    size_t count;
};

/*
 * cidr_parse_addr - "1.2.3.4", "2001:db8::1" or "[2001:db8::1]" into
 * family and bytes; 0 when it is not an address.
 */
static int cidr_parse_addr(const char *text, size_t len, int *family, unsigned char *addr)
{
    char tmp[INET6_ADDRSTRLEN + 2];

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
        text++, len -= 2;
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    memcpy(tmp, text, len);
    tmp[len] = 0;
    if (inet_pton(AF_INET, tmp, addr) == 1) {
        *family = AF_INET;
        return 1;
    }
    if (strchr(tmp, ':') && inet_pton(AF_INET6, tmp, addr) == 1) {
        *family = AF_INET6;
        return 1;
    }
    return 0;
}

/* cidr_in_block - does addr lie in the block of rule? */
static int cidr_in_block(const unsigned char *addr, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(addr, net, (size_t) full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((addr[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static void cidr_error(struct buf *err, const char *name, int line, const char *what, const char *text)
{
    if (err->len > 0 && err->data[err->len - 1] != '\n')
        buf_addch(err, '\n');
    buf_printf(err, "%s, line %d: %s in \"%s\"", name, line, what, text);
}

/* cidr_parse_rule - one "block result" line; NULL reason when it is good */
static const char *cidr_parse_rule(char *line, struct cidr_rule *r)
{
    char *p = line, *slash, *end;
    int max, i;

    if (*p == '!') {
        r->negate = 1;
        p++;
    }
    end = p + strcspn(p, " \t");
    if (*end == 0)
        return "no lookup result";
    *end++ = 0;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end == 0)
        return "no lookup result";
    if (strcmp(p, "if") == 0 || strcmp(p, "endif") == 0)
        return "if/endif is not supported";
    slash = strchr(p, '/');
    if (!cidr_parse_addr(p, slash ? (size_t) (slash - p) : strlen(p), &r->family, r->addr))
        return "bad network address";
    max = r->family == AF_INET ? 32 : 128;
    if (slash) {
        char *q;
        long bits = strtol(slash + 1, &q, 10);

        if (q == slash + 1 || *q || bits < 0 || bits > max)
            return "bad mask length";
        r->bits = (int) bits;
    } else {
        r->bits = max;
    }
    for (i = r->bits; i < max; i++)
        if (r->addr[i / 8] & (0x80 >> (i % 8)))
            return "non-null host address bits";
    r->result = mem_strdup(end);
    return NULL;
}

static void cidr_free(void *table)
{
    struct cidr_table *t = table;
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->count; i++)
        mem_free(t->rules[i].result);
    mem_free(t->rules);
    mem_free(t->name);
    mem_free(t);
}

static void *cidr_open(const char *name, const char *text, size_t len, int flags, struct buf *err)
{
    struct cidr_table *t = mem_zalloc(sizeof(*t));
    struct buf line = BUF_INIT;
    size_t alloc = 0;
    int lineno = 0, first = 0, bad = 0;
    FILE *fp = NULL;

    t->name = mem_strdup(name);
    if (len > 0 && (fp = fmemopen((void *) text, len, "r")) == NULL)
        msg_fatal("fmemopen: %m");
    while (fp && lline_read(fp, name, &line, &lineno, &first, NULL, NULL)) {
        struct cidr_rule r;
        const char *why;

        buf_trim(&line);
        memset(&r, 0, sizeof(r));
        r.line = first;
        if ((why = cidr_parse_rule(line.data, &r)) != NULL) {
            cidr_error(err, name, first, why, line.data);
            bad = 1;
            continue;
        }
        if (t->count == alloc) {
            alloc = alloc ? 2 * alloc : 32;
            t->rules = mem_realloc_array(t->rules, alloc, sizeof(*t->rules));
        }
        t->rules[t->count++] = r;
    }
    if (fp)
        fclose(fp);
    buf_free(&line);
    if (bad && !(flags & TABLE_LENIENT)) {
        cidr_free(t);
        return NULL;
    }
    return t;
}

static int cidr_lookup(const void *table, const char *key, size_t keylen, struct table_match *match,
                       struct buf *err)
{
    const struct cidr_table *t = table;
    unsigned char addr[16];
    int family;
    size_t i;

    (void) err;
    if (!cidr_parse_addr(key, keylen, &family, addr))
        return 0;
    for (i = 0; i < t->count; i++) {
        const struct cidr_rule *r = &t->rules[i];

        if (r->family != family)
            continue;
        if (cidr_in_block(addr, r->addr, r->bits) != r->negate) {
            buf_setstr(&match->result, r->result);
            match->file = t->name;
            match->line = r->line;
            return 1;
        }
    }
    return 0;
}

const struct table_type table_type_cidr = { "cidr", 1, cidr_open, cidr_lookup, cidr_free };
