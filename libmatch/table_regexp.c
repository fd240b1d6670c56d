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
 * are matched with REG_STARTEND, all keylen bytes.  regexec has no match
 * limit: a regexp: table's time per key is the C library's affair (glibc
 * has no catastrophic backtracking for patterns without back-references).
 * glibc's regexec is thread-safe (it locks the pattern while matching).
 */
#include <regex.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/table_re.h"
#include "libmatch/table_type.h"

#define REGEXP_ERRTEXT 256

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

static void *regexp_compile_pat(const char *pattern, int options, int captures, struct buf *err)
{
    regex_t *re = mem_alloc(sizeof(*re));
    int rc;

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
