/*
 * table_re.c - Postfix regular-expression tables: the rules, if/endif and
 * $n results that regexp_table(5) and pcre_table(5) share, over a dialect
 * (table_re.h) that supplies the matcher.
 *
 * Read as Postfix's dict_regexp.c and dict_pcre.c read them:
 *
 *   - logical lines (lline_read), trailing white space removed;
 *   - "if" / "endif" (any case, not followed by a letter or digit) open and
 *     close blocks; a line that starts with a letter or digit and is
 *     neither is an unrecognized request; anything else is a rule;
 *   - a pattern: any number of '!' (each one negates) and blanks, then a
 *     delimiter (any byte), the pattern up to the next unescaped delimiter,
 *     then flag letters up to white space (regexp: or a '!', which starts
 *     regexp's second pattern, "/a/!/b/": a and not b);
 *   - the result: the rest of the line; "$n", "${n}", "$(n)" are capture
 *     groups n >= 1 (empty or unset groups give nothing), "$$" is a '$';
 *     every other '$' use is bad syntax.  A $n beyond the pattern's groups,
 *     or in a negated rule, is an error when the table loads;
 *   - no result text: the empty string (Postfix warns and does the same).
 *
 * Problems Postfix warns about are ours too, with the line a rule starts
 * on, as "NAME, line N: problem"; with TABLE_LENIENT we then do what
 * Postfix does (skip the rule, or keep it where Postfix keeps it) and add
 * ": what we did"; without it, any problem makes the table fail to load.
 *
 * One difference: a match that hits a limit (rx.h) makes the lookup fail
 * (-1, a temporary error for the caller), where Postfix logs a warning
 * and treats the rule as not matching.
 *
 * Trusts: nothing in the table text; a logical line is at most
 * TABLE_LINE_MAX bytes.  Keys are matched as given: all keylen bytes,
 * without case folding.  The loaded table is never written again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "libmatch/lline.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/table_re.h"

#define TABLE_LINE_MAX (1024 * 1024) /* bytes in one logical line */
#define RE_SPANS_ON_STACK 10          /* $0..$9 without an allocation */
#define RE_KEY_ON_STACK 256           /* NUL-terminated key copies this short */

enum re_op { RE_MATCH, RE_IF, RE_ENDIF };

#define RE_NO_ENDIF ((size_t) -1)

/* One part of a result: literal text (group 0) or capture group n. */
struct re_piece {
    int group;
    size_t off; /* literal: text[off .. off+len) */
    size_t len;
};

struct re_rule {
    enum re_op op;
    int line;       /* where the rule starts */
    void *re;       /* the pattern (MATCH, IF) */
    int match;      /* 1: act when it matches; 0: when it does not ('!') */
    void *re2;      /* regexp's second pattern, or NULL */
    int match2;
    char *text;     /* the literal parts of the result ($$ done) */
    struct re_piece *piece;
    size_t npiece;
    int max_sub;    /* highest $n in the result */
    size_t endif;   /* IF: index of its ENDIF, or RE_NO_ENDIF */
};

struct re_table {
    const struct table_re_dialect *dialect;
    char *name;
    struct re_rule *rule;
    size_t nrule;
    int max_sub; /* over all rules: spans a lookup needs */
};

/* What loading needs to hand around. */
struct re_load {
    const struct table_re_dialect *dialect;
    const char *name;
    int lenient;
    int flags; /* table_open's */
    struct buf *err;
    int problems;
};

/* A pattern as written, before compiling. */
struct re_pat {
    char *text;
    int options;
    int match;
};

/* Postfix's ISSPACE/ISALNUM: ASCII only, whatever the locale. */
static int re_isspace(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int re_isalnum(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/*
 * re_complain - one problem with line N.  action says what lenient
 * loading does about it (Postfix's choice).
 */
static void re_complain(struct re_load *ld, int line, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void re_complain(struct re_load *ld, int line, const char *action, const char *fmt, ...)
{
    va_list ap;

    if (ld->err->len > 0 && ld->err->data[ld->err->len - 1] != '\n')
        buf_addch(ld->err, '\n');
    buf_printf(ld->err, "%s, line %d: ", ld->name, line);
    va_start(ap, fmt);
    buf_vprintf(ld->err, fmt, ap);
    va_end(ap);
    if (ld->lenient)
        buf_printf(ld->err, ": %s", action);
    ld->problems++;
}

#define SKIP_RULE "skipping this rule"
#define SKIP_LINE "skipping this line"
#define KEEP_RULE "ignoring it"

/*
 * re_get_pattern - negations, delimiter, pattern and flags at *pp.  The
 * closing delimiter is overwritten with a NUL.  0 after a complaint.
 */
static int re_get_pattern(struct re_load *ld, int line, char **pp, struct re_pat *pat)
{
    const struct table_re_dialect *d = ld->dialect;
    char *p = *pp;
    char delim;

    pat->match = 1;
    for (;;) {
        if (*p == '!')
            pat->match = !pat->match;
        else if (!re_isspace((unsigned char) *p))
            break;
        p++;
    }
    if (*p == 0) {
        re_complain(ld, line, SKIP_RULE, "no regexp");
        return 0;
    }
    delim = *p++;
    pat->text = p;
    while (*p) {
        if (*p == '\\') {
            if (p[1] == 0) {
                /* pcre: the escape eats the end; regexp: the '\' closes. */
                if (!d->trailing_backslash_closes)
                    p++;
                break;
            }
            p++;
        } else if (*p == delim) {
            break;
        }
        p++;
    }
    if (*p == 0) {
        re_complain(ld, line, SKIP_RULE, "no closing regexp delimiter \"%c\"", delim);
        return 0;
    }
    *p++ = 0;
    pat->options = d->default_options;
    while (*p && !re_isspace((unsigned char) *p) && !(d->bang_ends_flags && *p == '!')) {
        switch (d->option((unsigned char) *p, &pat->options)) {
        case TABLE_RE_OPT_OK:
            break;
        case TABLE_RE_OPT_OBSOLETE:
            re_complain(ld, line, KEEP_RULE, "obsolete regexp option \"%c\"", *p);
            break;
        default:
            re_complain(ld, line, SKIP_RULE, "unknown regexp option \"%c\"", *p);
            return 0;
        }
        p++;
    }
    *pp = p;
    return 1;
}

/* re_add_piece - append a part to a rule's result */
static void re_add_piece(struct re_rule *r, int group, size_t off, size_t len)
{
    r->piece = mem_realloc_array(r->piece, r->npiece + 1, sizeof(*r->piece));
    r->piece[r->npiece].group = group;
    r->piece[r->npiece].off = off;
    r->piece[r->npiece].len = len;
    r->npiece++;
}

/*
 * re_parse_result - split result text into literal parts and $n groups,
 * as Postfix's mac_parse() and the dict's prescan do.  0 after a
 * complaint.
 */
static int re_parse_result(struct re_load *ld, int line, const char *vp, struct re_rule *r)
{
    struct buf lit = BUF_INIT;
    size_t lit_start = 0;
    const char *why = NULL;
    const char *name = NULL;
    size_t namelen = 0;

    while (*vp) {
        if (*vp != '$') {
            buf_addch(&lit, *vp++);
        } else if (vp[1] == '$') {
            buf_addch(&lit, '$');
            vp += 2;
        } else {
            const char *ep;
            size_t n = 0;
            size_t i;

            if (lit.len > lit_start)
                re_add_piece(r, 0, lit_start, lit.len - lit_start);
            lit_start = lit.len;
            vp++;
            if (*vp == '(' || *vp == '{') {
                char open = *vp;
                char close = open == '(' ? ')' : '}';
                int level = 1;

                vp++;
                for (ep = vp; level > 0; ep++) {
                    if (*ep == 0)
                        break;
                    if (*ep == open)
                        level++;
                    if (*ep == close)
                        level--;
                }
                if (level > 0) {
                    why = "truncated macro reference";
                    break;
                }
                name = vp;
                namelen = (size_t) (ep - vp - 1);
                vp = ep;
            } else {
                for (ep = vp; re_isalnum((unsigned char) *ep) || *ep == '_'; ep++)
                    /* void */;
                name = vp;
                namelen = (size_t) (ep - vp);
                vp = ep;
            }
            if (namelen == 0) {
                why = "empty macro name";
                break;
            }
            for (i = 0; i < namelen; i++) {
                if (name[i] < '0' || name[i] > '9') {
                    why = "non-numeric replacement index";
                    break;
                }
                if (n <= RX_MAX_CAPTURE)
                    n = n * 10 + (size_t) (name[i] - '0');
            }
            if (why)
                break;
            if (n < 1) {
                why = "out of range replacement index";
                break;
            }
            if (n > RX_MAX_CAPTURE)
                n = RX_MAX_CAPTURE + 1; /* beyond any pattern: caught later */
            re_add_piece(r, (int) n, 0, 0);
            if ((int) n > r->max_sub)
                r->max_sub = (int) n;
        }
    }
    if (why) {
        if (name && namelen)
            re_complain(ld, line, SKIP_RULE, "bad replacement syntax: %s \"%.*s\"", why,
                        (int) (namelen > 40 ? 40 : namelen), name);
        else
            re_complain(ld, line, SKIP_RULE, "bad replacement syntax: %s", why);
        buf_free(&lit);
        return 0;
    }
    if (lit.len > lit_start)
        re_add_piece(r, 0, lit_start, lit.len - lit_start);
    r->text = buf_detach(&lit, NULL);
    return 1;
}

/* re_compile - compile one pattern; NULL after a complaint */
static void *re_compile(struct re_load *ld, int line, const struct re_pat *pat, int captures)
{
    struct buf why = BUF_INIT;
    void *re = ld->dialect->compile(pat->text, pat->options, captures, ld->flags, &why);

    if (re == NULL)
        re_complain(ld, line, SKIP_RULE, "%s", why.data);
    buf_free(&why);
    return re;
}

/* re_rule_free - what one rule holds */
static void re_rule_free(const struct table_re_dialect *d, struct re_rule *r)
{
    if (r->re)
        d->free(r->re);
    if (r->re2)
        d->free(r->re2);
    mem_free(r->text);
    mem_free(r->piece);
    memset(r, 0, sizeof(*r));
}

/* re_parse_match - "/pattern/flags result"; 0 after a complaint */
static int re_parse_match(struct re_load *ld, int line, char *p, struct re_rule *r)
{
    const struct table_re_dialect *d = ld->dialect;
    struct re_pat first;
    struct re_pat second;
    int have_second = 0;

    r->op = RE_MATCH;
    if (!re_get_pattern(ld, line, &p, &first))
        return 0;
    if (d->second_pattern && *p == '!') {
        if (!re_get_pattern(ld, line, &p, &second))
            return 0;
        have_second = 1;
    }
    while (*p && re_isspace((unsigned char) *p))
        p++;
    if (*p == 0)
        re_complain(ld, line, "using empty string", "no replacement text");
    if (!re_parse_result(ld, line, p, r))
        return 0;
    if (r->max_sub > 0 && first.match == 0) {
        re_complain(ld, line, SKIP_RULE, "$number found in negative match replacement text");
        return 0;
    }
    if ((r->re = re_compile(ld, line, &first, r->max_sub > 0)) == NULL)
        return 0;
    r->match = first.match;
    if (r->max_sub > d->ncap(r->re)) {
        re_complain(ld, line, SKIP_RULE, "out of range replacement index \"%d\"", r->max_sub);
        return 0;
    }
    if (have_second) {
        if ((r->re2 = re_compile(ld, line, &second, 0)) == NULL)
            return 0;
        r->match2 = second.match;
    }
    return 1;
}

/* re_parse_if - "if /pattern/flags"; 0 after a complaint */
static int re_parse_if(struct re_load *ld, int line, char *p, struct re_rule *r)
{
    struct re_pat pat;

    r->op = RE_IF;
    r->endif = RE_NO_ENDIF;
    while (*p && re_isspace((unsigned char) *p))
        p++;
    if (!re_get_pattern(ld, line, &p, &pat))
        return 0;
    while (*p && re_isspace((unsigned char) *p))
        p++;
    if (*p)
        re_complain(ld, line, KEEP_RULE,
                    "extra text after IF statement: \"%.40s\" (do not prepend white space"
                    " to statements between IF and ENDIF)", p);
    if ((r->re = re_compile(ld, line, &pat, 1)) == NULL)
        return 0;
    r->match = pat.match;
    return 1;
}

/* re_parse_endif - "endif"; 0 after a complaint */
static int re_parse_endif(struct re_load *ld, int line, char *p, size_t nesting, struct re_rule *r)
{
    r->op = RE_ENDIF;
    if (nesting == 0) {
        re_complain(ld, line, SKIP_LINE, "ENDIF without matching IF");
        return 0;
    }
    while (*p && re_isspace((unsigned char) *p))
        p++;
    if (*p)
        re_complain(ld, line, KEEP_RULE, "extra text after ENDIF");
    return 1;
}

/* re_lline_complain - lline_read's problems, reported as the table's own */
static void re_lline_complain(void *context, int problem, int line, const char *text)
{
    struct re_load *ld = context;

    if (problem == LLINE_NUL_BYTE)
        re_complain(ld, line, "ignoring the rest of the line", "text after null byte");
    else
        re_complain(ld, line, SKIP_LINE, "%s", text);
}

/*
 * table_re_open - load a table from its text.  NULL on failure (any
 * problem without TABLE_LENIENT); problems are appended to err.
 */
void *table_re_open(const struct table_re_dialect *d, const char *name, const char *text,
                    size_t len, int flags, struct buf *err)
{
    struct re_load ld = { d, name, (flags & TABLE_LENIENT) != 0, flags, err, 0 };
    struct re_table *t = mem_zalloc(sizeof(*t));
    struct buf line = BUF_INIT;
    size_t *stack = NULL; /* indexes of the open IFs */
    size_t nesting = 0;
    int lineno = 0;
    int first_line = 0;
    FILE *fp = NULL;

    t->dialect = d;
    t->name = mem_strdup(name);
    if (len > 0 && (fp = fmemopen((void *) text, len, "r")) == NULL)
        msg_fatal("fmemopen: %m");
    while (fp && lline_read(fp, name, &line, &lineno, &first_line, re_lline_complain, &ld)) {
        struct re_rule r;
        char *p;
        size_t end;
        int ok;

        if (memchr(line.data, 0, line.len) != NULL)
            buf_truncate(&line, strlen(line.data)); /* lline_read complained */
        if (line.len > TABLE_LINE_MAX) {
            re_complain(&ld, first_line, SKIP_LINE, "line longer than %d bytes", TABLE_LINE_MAX);
            continue;
        }
        for (end = line.len; end > 0 && re_isspace((unsigned char) line.data[end - 1]); end--)
            /* void */;
        buf_truncate(&line, end);
        if (line.len == 0)
            continue;
        p = line.data;
        memset(&r, 0, sizeof(r));
        r.line = first_line;
        if (!re_isalnum((unsigned char) *p))
            ok = re_parse_match(&ld, first_line, p, &r);
        else if (strncasecmp(p, "IF", 2) == 0 && !re_isalnum((unsigned char) p[2]))
            ok = re_parse_if(&ld, first_line, p + 2, &r);
        else if (strncasecmp(p, "ENDIF", 5) == 0 && !re_isalnum((unsigned char) p[5]))
            ok = re_parse_endif(&ld, first_line, p + 5, nesting, &r);
        else {
            re_complain(&ld, first_line, SKIP_LINE, "unrecognized request");
            ok = 0;
        }
        if (!ok) {
            re_rule_free(d, &r);
            continue;
        }
        if (r.op == RE_IF) {
            stack = mem_realloc_array(stack, nesting + 1, sizeof(*stack));
            stack[nesting++] = t->nrule;
        } else if (r.op == RE_ENDIF) {
            t->rule[stack[--nesting]].endif = t->nrule;
        }
        if (r.max_sub > t->max_sub)
            t->max_sub = r.max_sub;
        t->rule = mem_realloc_array(t->rule, t->nrule + 1, sizeof(*t->rule));
        t->rule[t->nrule++] = r;
    }
    while (nesting > 0)
        re_complain(&ld, t->rule[stack[--nesting]].line, "rules after it apply only when it matches",
                    "IF has no matching ENDIF");
    if (fp)
        fclose(fp);
    mem_free(stack);
    buf_free(&line);
    if (ld.problems > 0 && !ld.lenient) {
        table_re_free(t);
        return NULL;
    }
    return t;
}

/* re_exec - one pattern against the key; -1 with "NAME, line N: why" */
static int re_exec(const struct re_table *t, const struct re_rule *r, const void *re,
                   const char *key, size_t keylen, struct rx_span *span, size_t nspan, struct buf *err)
{
    struct buf why = BUF_INIT;
    int rc = t->dialect->exec(re, key, keylen, span, nspan, &why);

    if (rc < 0) {
        if (err->len > 0 && err->data[err->len - 1] != '\n')
            buf_addch(err, '\n');
        buf_printf(err, "%s, line %d: %s", t->name, r->line, why.data);
    }
    buf_free(&why);
    return rc;
}

/* re_expand - the result of a matched rule into out */
static void re_expand(const struct re_rule *r, const char *key, const struct rx_span *span, struct buf *out)
{
    size_t i;

    buf_reset(out);
    for (i = 0; i < r->npiece; i++) {
        const struct re_piece *pc = &r->piece[i];

        if (pc->group == 0)
            buf_add(out, r->text + pc->off, pc->len);
        else if (span[pc->group].start != RX_UNSET && span[pc->group].end > span[pc->group].start)
            buf_add(out, key + span[pc->group].start, span[pc->group].end - span[pc->group].start);
    }
}

/* re_search - the rules in order; span has room for $0..$max_sub */
static int re_search(const struct re_table *t, const char *key, size_t keylen,
                     struct rx_span *span, struct table_match *match, struct buf *err)
{
    size_t i;
    int rc;

    for (i = 0; i < t->nrule; i++) {
        const struct re_rule *r = &t->rule[i];

        switch (r->op) {
        case RE_MATCH:
            rc = re_exec(t, r, r->re, key, keylen, span, r->max_sub > 0 ? (size_t) r->max_sub + 1 : 0, err);
            if (rc < 0)
                return -1;
            if (rc != r->match)
                continue;
            if (r->re2) {
                if ((rc = re_exec(t, r, r->re2, key, keylen, span, 0, err)) < 0)
                    return -1;
                if (rc != r->match2)
                    continue;
            }
            re_expand(r, key, span, &match->result);
            match->file = t->name;
            match->line = r->line;
            return 1;
        case RE_IF:
            if ((rc = re_exec(t, r, r->re, key, keylen, span, 0, err)) < 0)
                return -1;
            if (rc == r->match)
                continue;
            /* Not taken: on after the ENDIF; without one, nothing more. */
            if (r->endif == RE_NO_ENDIF)
                return 0;
            i = r->endif;
            continue;
        case RE_ENDIF:
            continue;
        }
    }
    return 0;
}

/* table_re_lookup - first rule that applies to key[0..keylen) */
int table_re_lookup(const void *table, const char *key, size_t keylen,
                    struct table_match *match, struct buf *err)
{
    const struct re_table *t = table;
    struct rx_span small[RE_SPANS_ON_STACK];
    struct rx_span *span = small;
    char key_small[RE_KEY_ON_STACK];
    char *key_copy = NULL;
    int rc;

    if ((size_t) t->max_sub + 1 > RE_SPANS_ON_STACK)
        span = mem_array((size_t) t->max_sub + 1, sizeof(*span));
    if (t->dialect->key_needs_nul) {
        key_copy = keylen < sizeof(key_small) ? key_small : mem_alloc(keylen + 1);
        memcpy(key_copy, key, keylen);
        key_copy[keylen] = 0;
        key = key_copy;
    }
    rc = re_search(t, key, keylen, span, match, err);
    if (span != small)
        mem_free(span);
    if (key_copy != NULL && key_copy != key_small)
        mem_free(key_copy);
    return rc;
}

/* table_re_free - free a table */
void table_re_free(void *table)
{
    struct re_table *t = table;
    size_t i;

    for (i = 0; i < t->nrule; i++)
        re_rule_free(t->dialect, &t->rule[i]);
    mem_free(t->rule);
    mem_free(t->name);
    mem_free(t);
}
