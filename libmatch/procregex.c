/*
 * procregex.c - translate procmail's regular expressions to PCRE2 syntax
 * and match them on framed subjects (see procregex.h for the dialect).
 *
 * The translator is a recursive-descent parser over procmail's grammar:
 *
 *   alternation := sequence ('|' sequence)*      (empty sequences allowed)
 *   sequence    := (atom postfix?)*               postfix: one of * + ?
 *   atom        := '(' alternation ')' | class | '.' | '^^' | '^' | '$'
 *                | '\' char | char
 *
 * It knows, for each atom, whether only the end of the expression can
 * follow it: that is what makes ^^ anchor at the end rather than at the
 * start, as in procmail's compiler.  Every output atom is wrapped so that
 * a postfix operator applies to exactly it.  Trusts nothing in the
 * pattern; nesting depth is limited by PROCREGEX_DEPTH_MAX.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/procregex.h"
#include "libmatch/rx.h"

#define PROCREGEX_DEPTH_MAX 200 /* nested groups; deeper is refused */

/* procmail's special expressions (config.h), expanded before compiling. */
static const struct {
    const char *key;
    const char *subst;
} pr_specials[] = {
    { "^FROM_DAEMON",
      "(^(Mailing-List:|Precedence:.*(junk|bulk|list)|To: Multiple recipients of |"
      "(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@a-z0-9])?("
      "Post(ma?(st(e?r)?|n)|office)|(send)?Mail(er)?|daemon|m(mdf|ajordomo)|n?uucp|"
      "LIST(SERV|proc)|NETSERV|o(wner|ps)|r(e(quest|sponse)|oot)|b(ounce|bs\\.smtp)|"
      "echo|mirror|s(erv(ices?|er)|mtp(error)?|ystem)|"
      "A(dmin(istrator)?|MMGR|utoanswer)"
      ")(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t ][^<)]*(\\(.*\\).*)?)?$([^>]|$)))" },
    { "^TO_",
      "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?)-To):(.*[^-a-zA-Z0-9_.])?)" },
    { "^TO",
      "(^((Original-)?(Resent-)?(To|Cc|Bcc)|(X-Envelope|Apparently(-Resent)?)-To):(.*[^a-zA-Z])?)" },
    { "^FROM_MAILER",
      "(^(((Resent-)?(From|Sender)|X-Envelope-From):|>?From )([^>]*[^(.%@a-z0-9])?("
      "Post(ma(st(er)?|n)|office)|(send)?Mail(er)?|daemon|mmdf|n?uucp|ops|"
      "r(esponse|oot)|(bbs\\.)?smtp(error)?|s(erv(ices?|er)|ystem)|A(dmin(istrator)?|"
      "MMGR)"
      ")(([^).!:a-z0-9][-_a-z0-9]*)?[%@>\t ][^<)]*(\\(.*\\).*)?)?$([^>]|$))" },
};

#define PR_NSPECIALS (sizeof(pr_specials) / sizeof(pr_specials[0]))

struct procregex {
    struct rx *rx;
    int has_split;
};

struct pr_parse {
    const unsigned char *p;   /* next pattern byte */
    const unsigned char *end; /* end of the pattern */
    struct buf *out;
    int lazy;       /* quantifiers lazy (left of \/, or no \/ at all) */
    int depth;
    int failed;
    struct buf *err;
};

static void pr_alternation(struct pr_parse *ps, int at_end);

/* One literal byte in PCRE2 syntax, outside a class. */
static void pr_literal(struct buf *out, unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')
        buf_addch(out, ch);
    else if (ch < 0x20 || ch >= 0x7f)
        buf_printf(out, "\\x{%02x}", ch);
    else {
        buf_addch(out, '\\');
        buf_addch(out, ch);
    }
}

/* One byte inside a PCRE2 class. */
static void pr_class_char(struct buf *out, unsigned char ch)
{
    if (ch < 0x20 || ch >= 0x7f)
        buf_printf(out, "\\x{%02x}", ch);
    else if (strchr("\\]^-[", ch))
        buf_printf(out, "\\%c", ch);
    else
        buf_addch(out, ch);
}

/*
 * [...]: after '[' (and '^'), a ']' or '-' is literal; a range a-z is
 * inclusive (a reversed one is just its two ends, as procmail's loop
 * does); backslash is an ordinary byte; the class ends at ']' or at the
 * end of the pattern.  [^...] never matches a newline.
 */
static void pr_class(struct pr_parse *ps)
{
    int negated = 0;
    unsigned int prev = 0;
    int have_prev = 0;

    ps->p++; /* '[' */
    if (ps->p < ps->end && *ps->p == '^') {
        negated = 1;
        ps->p++;
    }
    buf_addstr(ps->out, negated ? "[^\\n" : "[");
    if (ps->p < ps->end && (*ps->p == ']' || *ps->p == '-')) {
        prev = *ps->p++;
        have_prev = 1;
        pr_class_char(ps->out, (unsigned char) prev);
    }
    while (ps->p < ps->end && *ps->p != ']') {
        unsigned char ch = *ps->p;

        if (ch == '-' && have_prev && ps->p + 1 < ps->end && ps->p[1] != ']') {
            unsigned char hi = ps->p[1];

            ps->p += 2;
            if (hi > prev) {
                buf_addch(ps->out, '-');
                pr_class_char(ps->out, hi);
            } else {
                pr_class_char(ps->out, hi);
            }
            prev = hi;
            continue;
        }
        pr_class_char(ps->out, ch);
        prev = ch;
        have_prev = 1;
        ps->p++;
    }
    if (ps->p < ps->end)
        ps->p++; /* ']' */
    buf_addch(ps->out, ']');
}

/* Is only the end of a sequence ahead (the next byte ends it)? */
static int pr_seq_ends(const struct pr_parse *ps)
{
    return ps->p >= ps->end || *ps->p == '|' || *ps->p == ')';
}

/* One atom; at_end says whether nothing but the expression's end may follow. */
static void pr_atom(struct pr_parse *ps, int at_end)
{
    unsigned char ch = *ps->p;

    switch (ch) {
    case '(':
        ps->p++;
        if (++ps->depth > PROCREGEX_DEPTH_MAX) {
            if (!ps->failed)
                buf_printf(ps->err, "groups nested more than %d deep", PROCREGEX_DEPTH_MAX);
            ps->failed = 1;
            ps->p = ps->end;
            return;
        }
        buf_addstr(ps->out, "(?:");
        pr_alternation(ps, at_end);
        buf_addch(ps->out, ')');
        ps->depth--;
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
        } else if (!ps->failed) {
            /* procmail calls this an "Invalid regexp" and runs it as if closed */
            buf_addstr(ps->err, "unclosed '('");
            ps->failed = 1;
        }
        return;
    case '[':
        pr_class(ps);
        return;
    case '.':
        ps->p++;
        buf_addstr(ps->out, "[^\\n]");
        return;
    case '^':
        if (ps->p + 1 < ps->end && ps->p[1] == '^') {
            ps->p += 2;
            buf_addstr(ps->out, at_end ? "(?:\\n\\z)" : "(?:\\A\\n)");
            return;
        }
        /* ^ and $ both match a newline */
        __attribute__((fallthrough));
    case '$':
        ps->p++;
        buf_addstr(ps->out, "\\n");
        return;
    case '\\':
        ps->p++;
        if (ps->p >= ps->end) {
            buf_addstr(ps->out, "\\\\");
            return;
        }
        ch = *ps->p++;
        if (ch == '<' || ch == '>') {
            buf_addstr(ps->out, "[^a-zA-Z0-9_]");
            return;
        }
        pr_literal(ps->out, ch);
        return;
    default:
        ps->p++;
        pr_literal(ps->out, ch);
        return;
    }
}

/* Past the class that starts at p ('['), with the same rules as pr_class. */
static const unsigned char *pr_skip_class(const unsigned char *p, const unsigned char *end)
{
    p++;
    if (p < end && *p == '^')
        p++;
    if (p < end && (*p == ']' || *p == '-'))
        p++;
    while (p < end && *p != ']')
        p++;
    return p < end ? p + 1 : p;
}

/* Past the atom that starts at p (a whole group for '('). */
static const unsigned char *pr_skip_atom(const unsigned char *p, const unsigned char *end)
{
    int depth = 0;

    do {
        switch (*p) {
        case '(':
            depth++;
            p++;
            break;
        case ')':
            depth--;
            p++;
            break;
        case '[':
            p = pr_skip_class(p, end);
            break;
        case '\\':
            p = p + 2 <= end ? p + 2 : end;
            break;
        case '^':
            p += p + 1 < end && p[1] == '^' ? 2 : 1;
            break;
        default:
            p++;
            break;
        }
    } while (depth > 0 && p < end);
    return p;
}

static void pr_sequence(struct pr_parse *ps, int at_end)
{
    while (!pr_seq_ends(ps)) {
        const unsigned char *next;
        size_t mark;
        int last;

        /* \/ splits the expression: quantifiers become greedy past it. */
        if (*ps->p == '\\' && ps->p + 1 < ps->end && ps->p[1] == '/') {
            ps->p += 2;
            buf_addstr(ps->out, "\\K");
            ps->lazy = 0;
            continue;
        }
        /* Is this atom the last of its sequence (so ^^ in it anchors at the end)? */
        next = pr_skip_atom(ps->p, ps->end);
        if (next < ps->end && (*next == '*' || *next == '+' || *next == '?'))
            next++;
        last = next >= ps->end || *next == '|' || *next == ')';
        mark = ps->out->len;
        pr_atom(ps, last && at_end);
        if (ps->p < ps->end && (*ps->p == '*' || *ps->p == '+' || *ps->p == '?')) {
            struct buf atom = BUF_INIT;

            buf_add(&atom, ps->out->data + mark, ps->out->len - mark);
            buf_truncate(ps->out, mark);
            buf_addstr(ps->out, "(?:");
            buf_add(ps->out, atom.data, atom.len);
            buf_addch(ps->out, ')');
            buf_addch(ps->out, *ps->p);
            if (ps->lazy)
                buf_addch(ps->out, '?');
            buf_free(&atom);
            ps->p++;
        }
    }
}

static void pr_alternation(struct pr_parse *ps, int at_end)
{
    for (;;) {
        pr_sequence(ps, at_end);
        if (ps->p < ps->end && *ps->p == '|') {
            ps->p++;
            buf_addch(ps->out, '|');
            continue;
        }
        return;
    }
}

/* procregex_translate - procmail syntax to PCRE2 syntax (see procregex.h) */
int procregex_translate(const char *pattern, size_t len, struct buf *out, int *has_split, struct buf *err)
{
    struct pr_parse ps;
    size_t i;

    *has_split = 0;
    for (i = 0; i + 1 < len; i++) {
        if (pattern[i] == '\\') {
            if (pattern[i + 1] == '/') {
                *has_split = 1;
                break;
            }
            i++;
        }
    }
    ps.p = (const unsigned char *) pattern;
    ps.end = ps.p + len;
    ps.out = out;
    ps.lazy = 1;
    ps.depth = 0;
    ps.failed = 0;
    ps.err = err;
    buf_reset(out);
    for (;;) {
        pr_alternation(&ps, 1);
        if (ps.p >= ps.end)
            break;
        /* A ')' with no '(': procmail stops compiling there ("Invalid regexp"). */
        if (!ps.failed)
            buf_printf(err, "unmatched ')' at offset %zu", (size_t) (ps.p - (const unsigned char *) pattern));
        ps.failed = 1;
        break;
    }
    return ps.failed ? -1 : 0;
}

/* procregex_compile - translate and compile; NULL only when PCRE2 refuses */
struct procregex *procregex_compile(const char *pattern, size_t len, int flags, struct buf *err)
{
    struct buf pcre = BUF_INIT;
    struct buf terr = BUF_INIT;
    struct procregex *re;
    struct rx *rx;
    int has_split;

    /* A malformed pattern still compiles to what procmail would run. */
    (void) procregex_translate(pattern, len, &pcre, &has_split, &terr);
    rx = rx_compile(pcre.data, pcre.len, (flags & PROCREGEX_CASELESS) ? RX_CASELESS : 0, err);
    buf_free(&pcre);
    if (!rx) {
        buf_free(&terr);
        return 0;
    }
    if (terr.len)
        buf_add(err, terr.data, terr.len);
    buf_free(&terr);
    re = mem_zalloc(sizeof(*re));
    re->rx = rx;
    re->has_split = has_split;
    return re;
}

/* procregex_free - release a compiled expression */
void procregex_free(struct procregex *re)
{
    if (!re)
        return;
    rx_free(re->rx);
    mem_free(re);
}

/* procregex_has_split - does the expression contain \/ (so sets MATCH)? */
int procregex_has_split(const struct procregex *re)
{
    return re->has_split;
}

/* procregex_frame - the subject with the imagined newlines made real */
void procregex_frame(struct buf *framed, const char *text, size_t len)
{
    buf_reset(framed);
    buf_grow(framed, len + 2);
    buf_addch(framed, '\n');
    buf_add(framed, text, len);
    buf_addch(framed, '\n');
}

/* procregex_exec - search a framed subject from text offset from */
int procregex_exec(const struct procregex *re, const char *framed, size_t framed_len, size_t from,
                   size_t *end, size_t *match_start, size_t *match_end, struct buf *err)
{
    struct rx_span span[1];
    size_t text_len = framed_len - 2, start;
    int n;

    if (from > text_len)
        return 0;
    /* The newline before the search start (real or imagined) is seen again. */
    start = from == 0 || framed[from] == '\n' ? from : from + 1;
    n = rx_exec(re->rx, framed, framed_len, start, 0, span, 1, err);
    if (n <= 0)
        return n;
#define PR_TEXT(o) ((o) == 0 ? 0 : (o) - 1 > text_len ? text_len : (o) - 1)
    *end = PR_TEXT(span[0].end);
    if (match_start)
        *match_start = PR_TEXT(span[0].start);
    if (match_end)
        *match_end = PR_TEXT(span[0].end);
#undef PR_TEXT
    return 1;
}

/* procregex_specials - expand ^TO_ and friends; 1 when ^FROM_DAEMON forces case folding */
int procregex_specials(struct buf *re)
{
    int nocase = 0;
    size_t k = 0, guard = 0;

    while (k < PR_NSPECIALS && guard++ < 1000) {
        const char *hit = strstr(re->data, pr_specials[k].key);

        if (hit && (hit == re->data || hit[-1] != '\\')) {
            struct buf out = BUF_INIT;
            size_t at = (size_t) (hit - re->data);

            buf_add(&out, re->data, at);
            buf_addstr(&out, pr_specials[k].subst);
            buf_addstr(&out, hit + strlen(pr_specials[k].key));
            buf_free(re);
            *re = out;
            if (k == 0)
                nocase = 1;
            k = 0;
            continue;
        }
        k++;
    }
    return nocase;
}
