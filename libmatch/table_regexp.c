/*
 * table_regexp.c - Postfix regexp: tables (regexp_table(5)) on POSIX
 * regcomp(3)/regexec(3), as Postfix uses them.
 *
 * The dialect table_re.c needs: REG_EXTENDED | REG_ICASE by default, flags
 * i (REG_ICASE), x (REG_EXTENDED: off gives basic syntax) and m
 * (REG_NEWLINE) each toggle; flags end at white space or at a '!' that
 * starts the old second pattern ("/a/!/b/ result": a and not b).  POSIX
 * matching is leftmost-longest, so $n may differ from the same pattern in
 * a pcre: table; that is regexp:'s meaning, kept on purpose.
 *
 * Postfix compiles with REG_NOSUB when a rule's result has no $n and asks
 * regexec for no more groups than the result uses; we do the same.  Keys
 * are matched with REG_STARTEND, all keylen bytes (from a NUL-terminated
 * copy: regexec implementations and sanitizers look for the NUL).  regexec has no match
 * limit: a regexp: table's time per key is the C library's affair (glibc
 * has no catastrophic backtracking for patterns without back-references).
 * glibc's regexec is thread-safe (it locks the pattern while matching).
 *
 * regcomp has no memory limit, and glibc copies a repeated expression
 * once per repetition ("a{100}" is a hundred a's, "(a{100}){100}" ten
 * thousand, "a+++...+" doubles per '+'), and spends memory and time in
 * proportion to those parts times the optional ones among them
 * ("(a*){1000}" 80 MB, "(a?){5000}" 2 GB), so a short line can take
 * gigabytes and minutes.  Before regcomp we estimate both from the
 * pattern and refuse one beyond REGEXP_PARTS_MAX or REGEXP_COST_MAX: a
 * difference from Postfix, which tries and runs out of memory.  Patterns
 * people write for mail ("[0-9]{1,3}", ".{0,200}") are far below.
 */
#include <regex.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/table_re.h"
#include "libmatch/table_type.h"

#define REGEXP_ERRTEXT 256
#define REGEXP_PARTS_MAX 100000UL /* parts regcomp may build for one pattern (~200 bytes each) */
#define REGEXP_COST_MAX 1000000UL  /* parts x optional parts (about 10-80 bytes each) */

/* regexp_option - one flag letter after the pattern */
static int regexp_option(int ch, int *options)
{
    switch (ch) {
    case 'i':
        *options ^= REG_ICASE;
        return TABLE_RE_OPT_OK;
    case 'm':
        *options ^= REG_NEWLINE;
        return TABLE_RE_OPT_OK;
    case 'x':
        *options ^= REG_EXTENDED;
        return TABLE_RE_OPT_OK;
    default:
        return TABLE_RE_OPT_UNKNOWN;
    }
}

/* What regexp_cost keeps per open group: parts, and optional parts. */
struct regexp_frame {
    unsigned long size;      /* parts so far */
    unsigned long opt;       /* of which optional ('*', '?', {m,n}'s extra copies) */
    unsigned long last_size; /* the last atom or group: what a repetition copies */
    unsigned long last_opt;
    unsigned long required;  /* units of this alternative that cannot match empty */
    int last_required;       /* the last unit is one of them */
    int empty_alt;           /* an earlier alternative can match empty */
};

#define REGEXP_BIG (REGEXP_COST_MAX + 1UL)

/* regexp_add - a + b, saturating above every limit */
static unsigned long regexp_add(unsigned long a, unsigned long b)
{
    return a + b > REGEXP_BIG ? REGEXP_BIG : a + b;
}

/* regexp_mul - a * b, saturating above every limit */
static unsigned long regexp_mul(unsigned long a, unsigned long b)
{
    return b != 0 && a > REGEXP_BIG / b ? REGEXP_BIG : a * b;
}

/* regexp_atom - a part (or a closed group) of the given size */
static void regexp_atom(struct regexp_frame *f, unsigned long size, unsigned long opt, int required)
{
    f->size = regexp_add(f->size, size);
    f->opt = regexp_add(f->opt, opt);
    f->last_size = size;
    f->last_opt = opt;
    f->last_required = required;
    f->required += (unsigned long) required;
}

/* regexp_optional - the last unit may now match empty */
static void regexp_optional(struct regexp_frame *f)
{
    if (f->last_required) {
        f->required--;
        f->last_required = 0;
    }
}

/* regexp_alternative - '|' */
static void regexp_alternative(struct regexp_frame *f)
{
    if (f->required == 0)
        f->empty_alt = 1;
    f->required = 0;
    f->last_size = f->last_opt = 0;
    f->last_required = 0;
}

/*
 * regexp_repeat - the last atom becomes copies copies of itself, extra
 * of them optional, plus one part for the operator.
 */
static void regexp_repeat(struct regexp_frame *f, unsigned long copies, unsigned long extra)
{
    unsigned long size = regexp_add(regexp_mul(f->last_size, copies), 1);
    unsigned long opt = regexp_add(regexp_mul(f->last_opt, copies), extra);

    f->size = regexp_add(f->size - f->last_size, size);
    f->opt = regexp_add(f->opt - f->last_opt, opt);
    f->last_size = size;
    f->last_opt = opt;
}

/* regexp_bracket - the end of the bracket expression at p ("[...]") */
static const char *regexp_bracket(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
            char kind = p[1];

            for (p += 2; *p && !(p[0] == kind && p[1] == ']'); p++)
                /* void */;
            if (*p)
                p += 2;
        } else {
            p++;
        }
    }
    return *p ? p + 1 : p;
}

/* regexp_number - decimal digits at *pp, saturating */
static unsigned long regexp_number(const char **pp, int *seen)
{
    unsigned long n = 0;

    *seen = 0;
    while (**pp >= '0' && **pp <= '9') {
        n = regexp_add(regexp_mul(n, 10), (unsigned long) (*(*pp)++ - '0'));
        *seen = 1;
    }
    return n;
}

/* regexp_interval - "m}", "m,}", "m,n}" (or with "\}") applied to the last atom */
static void regexp_interval(struct regexp_frame *f, const char **pp)
{
    int seen;
    unsigned long m = regexp_number(pp, &seen);
    unsigned long n = m;

    if (**pp == ',') {
        (*pp)++;
        n = regexp_number(pp, &seen);
        if (!seen) {
            /* {m,}: m copies and a starred one */
            regexp_repeat(f, regexp_add(m, 1), 1);
            if (m == 0)
                regexp_optional(f);
            n = 0;
        }
    } else {
        seen = 1;
    }
    if (**pp == '\\')
        (*pp)++;
    if (**pp == '}')
        (*pp)++;
    if (seen) {
        regexp_repeat(f, n > m ? n : m > 0 ? m : 1, n > m ? n - m : 0);
        if (m == 0)
            regexp_optional(f);
    }
}

/* regexp_open_group, regexp_close_group - ( and ) */
static void regexp_open_group(struct regexp_frame *st, size_t *depth)
{
    (*depth)++;
    memset(&st[*depth], 0, sizeof(st[*depth]));
}

static void regexp_close_group(struct regexp_frame *st, size_t *depth)
{
    const struct regexp_frame *g = &st[*depth];
    int empty = g->required == 0 || g->empty_alt;

    /* A group that can match empty is one more optional part. */
    (*depth)--;
    regexp_atom(&st[*depth], regexp_add(g->size, 1), regexp_add(g->opt, (unsigned long) empty), !empty);
}

/*
 * regexp_cost - estimate what glibc's regcomp builds for pattern: parts
 * (atoms one, a group its contents, a repetition copies what it repeats:
 * "{m,n}" n times, '+' twice), and how many of them are optional ('*',
 * '?', the extra copies of "{m,n}", groups that can match empty).
 * glibc's memory grows with parts times optional parts (epsilon
 * closures), its time likewise.  Extended
 * or basic syntax, with GNU's \+ \? \| in basic.
 */
static void regexp_cost(const char *p, int extended, unsigned long *parts, unsigned long *opt)
{
    struct regexp_frame *st = mem_array(strlen(p) + 1, sizeof(*st));
    size_t depth = 0;

    memset(&st[0], 0, sizeof(st[0]));
    while (*p) {
        int c = (unsigned char) *p;

        if (c == '[') {
            p = regexp_bracket(p);
            regexp_atom(&st[depth], 1, 0, 1);
            continue;
        }
        p++;
        if (c == '\\' && *p) {
            int d = (unsigned char) *p++;

            if (extended)
                regexp_atom(&st[depth], 1, 0, 1);
            else if (d == '(')
                regexp_open_group(st, &depth);
            else if (d == ')' && depth > 0)
                regexp_close_group(st, &depth);
            else if (d == '{')
                regexp_interval(&st[depth], &p);
            else if (d == '+')
                regexp_repeat(&st[depth], 2, 1);
            else if (d == '?') {
                regexp_repeat(&st[depth], 1, 1);
                regexp_optional(&st[depth]);
            } else if (d == '|')
                regexp_alternative(&st[depth]);
            else
                regexp_atom(&st[depth], 1, 0, 1);
            continue;
        }
        if (c == '*') {
            regexp_repeat(&st[depth], 1, 1);
            regexp_optional(&st[depth]);
        } else if (!extended) {
            regexp_atom(&st[depth], 1, 0, 1);
        } else if (c == '(') {
            regexp_open_group(st, &depth);
        } else if (c == ')' && depth > 0) {
            regexp_close_group(st, &depth);
        } else if (c == '|') {
            regexp_alternative(&st[depth]);
        } else if (c == '+') {
            regexp_repeat(&st[depth], 2, 1);
        } else if (c == '?') {
            regexp_repeat(&st[depth], 1, 1);
            regexp_optional(&st[depth]);
        } else if (c == '{' && *p >= '0' && *p <= '9') {
            regexp_interval(&st[depth], &p);
        } else {
            regexp_atom(&st[depth], 1, 0, 1);
        }
    }
    /* Groups left open: regcomp refuses the pattern anyway. */
    while (depth > 0)
        regexp_close_group(st, &depth);
    *parts = st[0].size;
    *opt = st[0].opt;
    mem_free(st);
}

static void *regexp_compile_pat(const char *pattern, int options, int captures, int table_flags,
                                struct buf *err)
{
    regex_t *re;
    unsigned long parts;
    unsigned long opt;
    int rc;

    (void) table_flags;
    regexp_cost(pattern, (options & REG_EXTENDED) != 0, &parts, &opt);
    if (parts > REGEXP_PARTS_MAX || regexp_mul(parts, opt) > REGEXP_COST_MAX) {
        buf_printf(err, "regular expression too large once repetitions are expanded"
                   " (%s%lu parts, %s%lu of them optional; the limits are %lu parts and %lu for their product)",
                   parts >= REGEXP_BIG ? "over " : "", parts, opt >= REGEXP_BIG ? "over " : "", opt,
                   (unsigned long) REGEXP_PARTS_MAX, (unsigned long) REGEXP_COST_MAX);
        return NULL;
    }
    re = mem_alloc(sizeof(*re));

    if ((rc = regcomp(re, pattern, options | (captures ? 0 : REG_NOSUB))) != 0) {
        char text[REGEXP_ERRTEXT];

        regerror(rc, re, text, sizeof(text));
        buf_addstr(err, text);
        mem_free(re);
        return NULL;
    }
    return re;
}

static int regexp_ncap(const void *re)
{
    return (int) ((const regex_t *) re)->re_nsub;
}

static int regexp_exec_pat(const void *re, const char *key, size_t len, struct rx_span *span,
                           size_t nspan, struct buf *err)
{
    regmatch_t small[10];
    regmatch_t *pm = nspan > 10 ? mem_array(nspan, sizeof(*pm)) : small;
    size_t i;
    int rc;

    pm[0].rm_so = 0;
    pm[0].rm_eo = (regoff_t) len;
    rc = regexec(re, key, nspan, pm, REG_STARTEND);
    if (rc == 0) {
        for (i = 0; i < nspan; i++) {
            if (pm[i].rm_so < 0) {
                span[i].start = RX_UNSET;
                span[i].end = RX_UNSET;
            } else {
                span[i].start = (size_t) pm[i].rm_so;
                span[i].end = (size_t) pm[i].rm_eo;
            }
        }
    } else if (rc != REG_NOMATCH) {
        char text[REGEXP_ERRTEXT];

        regerror(rc, re, text, sizeof(text));
        buf_addstr(err, text);
    }
    if (pm != small)
        mem_free(pm);
    return rc == 0 ? 1 : rc == REG_NOMATCH ? 0 : -1;
}

static void regexp_free_pat(void *re)
{
    regfree(re);
    mem_free(re);
}

static const struct table_re_dialect regexp_dialect = {
    .type = "regexp",
    .default_options = REG_EXTENDED | REG_ICASE,
    .bang_ends_flags = 1,
    .second_pattern = 1,
    .key_needs_nul = 1,
    .trailing_backslash_closes = 1,
    .option = regexp_option,
    .compile = regexp_compile_pat,
    .ncap = regexp_ncap,
    .exec = regexp_exec_pat,
    .free = regexp_free_pat,
};

static void *regexp_open(const char *name, const char *text, size_t len, int flags, struct buf *err)
{
    return table_re_open(&regexp_dialect, name, text, len, flags, err);
}

const struct table_type table_type_regexp = {
    .name = "regexp",
    .file_based = 1,
    .open = regexp_open,
    .lookup = table_re_lookup,
    .free = table_re_free,
};
