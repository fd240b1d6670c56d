/*
 * masq_addr.c - masquerading and myorigin completion of envelope and header
 * addresses (see masq_addr.h).
 *
 * Masquerading follows Postfix's cleanup_masquerade_external(): a local
 * part listed in masquerade_exceptions is never changed; otherwise the
 * first entry of masquerade_domains that is the address's domain stops
 * the walk (no change), and the first that is a parent domain replaces
 * the domain with itself, unless it is written "!domain", which stops the
 * walk without a change.  Domains compare without regard to case.
 *
 * The header scanner walks an address list once: quoted strings,
 * comments and domain literals are skipped as units; ',' and ';' end an
 * address, ':' ends a group's name; an address in angle brackets is what
 * is inside them, otherwise the address is the segment without its
 * comments and surrounding blanks.
 *
 * Trusts: the configuration; header text is untrusted and only read.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "mta-core/masq_addr.h"

/* masq_list - split a list value ("a, b c") into lower-case words */
static void masq_list(const char *value, char ***words, size_t *n)
{
    const char *p = value ? value : "";

    *words = NULL;
    *n = 0;
    while (*p) {
        size_t len;
        char *w;

        p += strspn(p, ", \t\r\n");
        len = strcspn(p, ", \t\r\n");
        if (len == 0)
            break;
        w = mem_strndup(p, len);
        for (size_t i = 0; i < len; i++)
            w[i] = (char) tolower((unsigned char) w[i]);
        *words = mem_realloc_array(*words, *n + 1, sizeof(**words));
        (*words)[(*n)++] = w;
        p += len;
    }
}

static void masq_words_free(char **words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(words[i]);
    mem_free(words);
}

/* masq_init - read masquerade_domains, masquerade_exceptions, masquerade_classes, myorigin */
int masq_init(struct masq *mq, struct config *cfg, struct buf *err)
{
    static const struct {
        const char *name;
        int flag;
    } classes[] = {
        {"envelope_sender", MASQ_ENV_SENDER},
        {"envelope_recipient", MASQ_ENV_RCPT},
        {"header_sender", MASQ_HDR_SENDER},
        {"header_recipient", MASQ_HDR_RCPT},
    };
    char **words;
    size_t n, i, k;

    memset(mq, 0, sizeof(*mq));
    masq_list(config_get(cfg, "masquerade_domains"), &mq->domains, &mq->ndomains);
    masq_list(config_get(cfg, "masquerade_exceptions"), &mq->exceptions, &mq->nexceptions);
    masq_list(config_get(cfg, "masquerade_classes"), &words, &n);
    for (i = 0; i < n; i++) {
        for (k = 0; k < sizeof(classes) / sizeof(classes[0]); k++)
            if (strcmp(words[i], classes[k].name) == 0)
                break;
        if (k == sizeof(classes) / sizeof(classes[0])) {
            buf_printf(err, "masquerade_classes: unknown class \"%s\"", words[i]);
            masq_words_free(words, n);
            masq_free(mq);
            return -1;
        }
        mq->classes |= classes[k].flag;
    }
    masq_words_free(words, n);
    mq->myorigin = mem_strdup(config_get(cfg, "myorigin") ? config_get(cfg, "myorigin") : "");
    return 0;
}

/* masq_free - release what masq_init() read */
void masq_free(struct masq *mq)
{
    masq_words_free(mq->domains, mq->ndomains);
    masq_words_free(mq->exceptions, mq->nexceptions);
    mem_free(mq->myorigin);
    memset(mq, 0, sizeof(*mq));
}

/*
 * masq_domain - the masqueraded form of domain (len bytes, any case) for a
 * local part: the replacement domain, or NULL to leave it alone
 */
static const char *masq_domain(const struct masq *mq, const char *local, size_t llen, const char *domain,
                               size_t dlen)
{
    size_t i;

    for (i = 0; i < mq->nexceptions; i++)
        if (strlen(mq->exceptions[i]) == llen && strncasecmp(mq->exceptions[i], local, llen) == 0)
            return NULL;
    for (i = 0; i < mq->ndomains; i++) {
        const char *m = mq->domains[i];
        int truncate = 1;
        size_t mlen;

        while (*m == '!') {
            truncate = !truncate;
            m++;
        }
        mlen = strlen(m);
        if (mlen == 0)
            continue;
        if (mlen == dlen) {
            if (strncasecmp(m, domain, dlen) == 0)
                return NULL;
        } else if (mlen < dlen) {
            const char *parent = domain + dlen - mlen;

            if (parent[-1] == '.' && strncasecmp(m, parent, mlen) == 0)
                return truncate ? m : NULL;
        }
    }
    return NULL;
}

/* masq_address - see masq_addr.h */
int masq_address(const struct masq *mq, const char *addr, struct buf *out)
{
    const char *at = strrchr(addr, '@');
    const char *m;

    buf_reset(out);
    if (at == NULL || at[1] == 0 ||
        (m = masq_domain(mq, addr, (size_t) (at - addr), at + 1, strlen(at + 1))) == NULL) {
        buf_addstr(out, addr);
        return 0;
    }
    buf_add(out, addr, (size_t) (at - addr) + 1);
    buf_addstr(out, m);
    return 1;
}

/* masq_complete - see masq_addr.h */
int masq_complete(const char *myorigin, const char *addr, struct buf *out)
{
    buf_setstr(out, addr);
    if (*addr == 0 || strchr(addr, '@') || myorigin == NULL || *myorigin == 0)
        return 0;
    buf_addch(out, '@');
    buf_addstr(out, myorigin);
    return 1;
}

/* masq_header_class - see masq_addr.h */
int masq_header_class(const char *header, size_t len)
{
    static const struct {
        const char *name;
        int cls;
    } names[] = {
        {"From", MASQ_HDR_SENDER}, {"Sender", MASQ_HDR_SENDER}, {"Reply-To", MASQ_HDR_SENDER},
        {"Resent-From", MASQ_HDR_SENDER}, {"Resent-Sender", MASQ_HDR_SENDER}, {"Errors-To", MASQ_HDR_SENDER},
        {"Return-Receipt-To", MASQ_HDR_SENDER}, {"To", MASQ_HDR_RCPT}, {"Cc", MASQ_HDR_RCPT},
        {"Bcc", MASQ_HDR_RCPT}, {"Resent-To", MASQ_HDR_RCPT}, {"Resent-Cc", MASQ_HDR_RCPT},
        {"Resent-Bcc", MASQ_HDR_RCPT}, {"Apparently-To", MASQ_HDR_RCPT},
    };
    const char *colon = memchr(header, ':', len);
    size_t nlen, i;

    if (colon == NULL)
        return 0;
    for (nlen = (size_t) (colon - header); nlen > 0 && (header[nlen - 1] == ' ' || header[nlen - 1] == '\t'); nlen--)
        ;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == nlen && strncasecmp(names[i].name, header, nlen) == 0)
            return names[i].cls;
    return 0;
}

/* masq_skip_unit - at a quote, comment or domain literal: the position after it */
static size_t masq_skip_unit(const char *s, size_t i, size_t end)
{
    char close = s[i] == '"' ? '"' : ']';
    int depth = 0;

    if (s[i] == '(') {
        for (; i < end; i++) {
            if (s[i] == '\\' && i + 1 < end)
                i++;
            else if (s[i] == '(')
                depth++;
            else if (s[i] == ')' && --depth == 0)
                return i + 1;
        }
        return end;
    }
    for (i++; i < end; i++) {
        if (s[i] == '\\' && i + 1 < end)
            i++;
        else if (s[i] == close)
            return i + 1;
    }
    return end;
}

/* masq_is_blank - white space, including folding */
static int masq_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * masq_trim - shrink [*a, *b) past blanks and comments on both sides;
 * 1 when what is left contains blanks or comments between tokens
 */
static int masq_trim(const char *s, size_t *a, size_t *b)
{
    size_t i, last_end;
    int gap = 0, seen = 0, pending = 0;

    while (*a < *b) {
        if (masq_is_blank(s[*a]))
            (*a)++;
        else if (s[*a] == '(')
            *a = masq_skip_unit(s, *a, *b);
        else
            break;
    }
    last_end = *a;
    for (i = *a; i < *b;) {
        if (masq_is_blank(s[i])) {
            pending = seen;
            i++;
        } else if (s[i] == '(') {
            pending = seen;
            i = masq_skip_unit(s, i, *b);
        } else {
            if (pending)
                gap = 1;
            pending = 0;
            seen = 1;
            i = (s[i] == '"' || s[i] == '[') ? masq_skip_unit(s, i, *b) : i + 1;
            last_end = i;
        }
    }
    *b = last_end;
    return gap;
}

/* masq_rewrite_addr - one address at [a, b) of s: append its rewrite to out */
static int masq_rewrite_addr(const struct masq *mq, int masq_on, int complete, const char *s, size_t a, size_t b,
                             struct buf *out, size_t *copied)
{
    size_t i, at = (size_t) -1, dstart, dend;
    const char *m;

    if (masq_trim(s, &a, &b) || a >= b)
        return 0;
    for (i = a; i < b;) {
        if (s[i] == '"' || s[i] == '(' || s[i] == '[') {
            i = masq_skip_unit(s, i, b);
            continue;
        }
        if (s[i] == '@')
            at = i;
        i++;
    }
    if (at == (size_t) -1) {
        if (!complete || mq->myorigin == NULL || *mq->myorigin == 0)
            return 0;
        /* A bare local part: "@myorigin" after it. */
        buf_add(out, s + *copied, b - *copied);
        buf_addch(out, '@');
        buf_addstr(out, mq->myorigin);
        *copied = b;
        return 1;
    }
    if (!masq_on)
        return 0;
    dstart = at + 1;
    dend = b;
    masq_trim(s, &dstart, &dend);
    if (dstart >= dend)
        return 0;
    {
        /* The local part, without a source route ("@a,@b:user"). */
        size_t lstart = a;

        for (i = a; i < at; i++)
            if (s[i] == ':')
                lstart = i + 1;
        m = masq_domain(mq, s + lstart, at - lstart, s + dstart, dend - dstart);
    }
    if (m == NULL)
        return 0;
    buf_add(out, s + *copied, dstart - *copied);
    buf_addstr(out, m);
    *copied = dend;
    return 1;
}

/*
 * masq_walk - the addresses of an address-list header (after its name and
 * colon): fn(ctx, a, b) for each address span [a, b) of header, in order
 */
static void masq_walk(const char *header, size_t len, void (*fn)(void *ctx, size_t a, size_t b), void *ctx)
{
    const char *colon = memchr(header, ':', len);
    size_t i, seg, lt = (size_t) -1, gt = (size_t) -1;

    if (colon == NULL)
        return;
    seg = (size_t) (colon - header) + 1;
    for (i = seg; i <= len;) {
        char c = i < len ? header[i] : ',';

        if (i < len && (c == '"' || c == '(' || c == '[')) {
            i = masq_skip_unit(header, i, len);
            continue;
        }
        if (c == '<' && lt == (size_t) -1) {
            lt = i;
        } else if (c == '>' && lt != (size_t) -1 && gt == (size_t) -1) {
            gt = i;
        } else if (c == ':' && lt == (size_t) -1) {
            seg = i + 1; /* a group's name ends */
        } else if ((c == ',' || c == ';') && (lt == (size_t) -1 || gt != (size_t) -1)) {
            if (lt != (size_t) -1)
                fn(ctx, lt + 1, gt);
            else
                fn(ctx, seg, i);
            seg = i + 1;
            lt = gt = (size_t) -1;
        }
        i++;
    }
}

struct masq_rewrite_ctx {
    const struct masq *mq;
    int masq_on;
    int complete;
    const char *header;
    struct buf *out;
    size_t copied;
    int changed;
};

static void masq_rewrite_one(void *ctx, size_t a, size_t b)
{
    struct masq_rewrite_ctx *r = ctx;

    r->changed |= masq_rewrite_addr(r->mq, r->masq_on, r->complete, r->header, a, b, r->out, &r->copied);
}

/* masq_header - see masq_addr.h */
int masq_header(const struct masq *mq, int complete, const char *header, size_t len, struct buf *out)
{
    int cls = masq_header_class(header, len);
    struct masq_rewrite_ctx r;

    buf_reset(out);
    r.mq = mq;
    r.masq_on = cls && (mq->classes & cls) && mq->ndomains > 0;
    r.complete = complete;
    r.header = header;
    r.out = out;
    r.copied = 0;
    r.changed = 0;
    if (cls == 0 || (!r.masq_on && !complete)) {
        buf_add(out, header, len);
        return 0;
    }
    masq_walk(header, len, masq_rewrite_one, &r);
    buf_add(out, header + r.copied, len - r.copied);
    return r.changed;
}

struct masq_extract_ctx {
    const char *header;
    void (*fn)(void *ctx, const char *addr);
    void *ctx;
    struct buf addr;
};

static void masq_extract_one(void *ctx, size_t a, size_t b)
{
    struct masq_extract_ctx *x = ctx;
    const char *s = x->header;
    size_t i;

    masq_trim(s, &a, &b);
    buf_reset(&x->addr);
    /* The tokens without blanks and comments ("a . b @ c" is a.b@c). */
    for (i = a; i < b;) {
        if (masq_is_blank(s[i])) {
            i++;
        } else if (s[i] == '(') {
            i = masq_skip_unit(s, i, b);
        } else if (s[i] == '"' || s[i] == '[') {
            size_t e = masq_skip_unit(s, i, b);

            buf_add(&x->addr, s + i, e - i);
            i = e;
        } else {
            buf_addch(&x->addr, s[i++]);
        }
    }
    /* An address with a NUL byte in it is no address. */
    if (x->addr.len && memchr(x->addr.data, 0, x->addr.len) == NULL)
        x->fn(x->ctx, x->addr.data);
}

/* masq_extract - see masq_addr.h */
void masq_extract(const char *header, size_t len, void (*fn)(void *ctx, const char *addr), void *ctx)
{
    struct masq_extract_ctx x;

    x.header = header;
    x.fn = fn;
    x.ctx = ctx;
    buf_init(&x.addr);
    masq_walk(header, len, masq_extract_one, &x);
    buf_free(&x.addr);
}
