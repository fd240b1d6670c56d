/*
 * table_pcre.c - Postfix pcre: tables (pcre_table(5)) on PCRE2 via rx.h.
 *
 * The dialect table_re.c needs: flags i m s x A E U (each toggles; the
 * defaults are case-insensitive and dot-matches-newline, as in Postfix),
 * X accepted and ignored with a warning (PCRE2 has no PCRE_EXTRA: what it
 * asked for is always on), patterns JIT-compiled by rx.
 */
#include <string.h>

#include "libmatch/rx.h"
#include "libmatch/table_re.h"
#include "libmatch/table_type.h"

/* pcre_option - one flag letter after the pattern */
static int pcre_option(int ch, int *options)
{
    switch (ch) {
    case 'i':
        *options ^= RX_CASELESS;
        return TABLE_RE_OPT_OK;
    case 'm':
        *options ^= RX_MULTILINE;
        return TABLE_RE_OPT_OK;
    case 's':
        *options ^= RX_DOTALL;
        return TABLE_RE_OPT_OK;
    case 'x':
        *options ^= RX_EXTENDED;
        return TABLE_RE_OPT_OK;
    case 'A':
        *options ^= RX_ANCHORED;
        return TABLE_RE_OPT_OK;
    case 'E':
        *options ^= RX_DOLLAR_ENDONLY;
        return TABLE_RE_OPT_OK;
    case 'U':
        *options ^= RX_UNGREEDY;
        return TABLE_RE_OPT_OK;
    case 'X':
        return TABLE_RE_OPT_OBSOLETE;
    default:
        return TABLE_RE_OPT_UNKNOWN;
    }
}

static void *pcre_compile_pat(const char *pattern, int options, int captures, int table_flags,
                              struct buf *err)
{
    (void) captures; /* PCRE2 costs nothing extra for groups nobody uses */
    if (table_flags & TABLE_NO_JIT)
        options |= RX_NO_JIT;
    return rx_compile(pattern, strlen(pattern), options, err);
}

static int pcre_ncap(const void *re)
{
    return rx_capture_count(re);
}

static int pcre_exec_pat(const void *re, const char *key, size_t len, struct rx_span *span,
                         size_t nspan, struct buf *err)
{
    return rx_exec(re, key, len, 0, 0, span, nspan, err);
}

static void pcre_free_pat(void *re)
{
    rx_free(re);
}

static const struct table_re_dialect pcre_dialect = {
    .type = "pcre",
    .default_options = RX_CASELESS | RX_DOTALL,
    .bang_ends_flags = 0,
    .second_pattern = 0,
    .key_needs_nul = 0,
    .trailing_backslash_closes = 0,
    .option = pcre_option,
    .compile = pcre_compile_pat,
    .ncap = pcre_ncap,
    .exec = pcre_exec_pat,
    .free = pcre_free_pat,
};

static void *pcre_open(const char *name, const char *text, size_t len, int flags, struct buf *err)
{
    return table_re_open(&pcre_dialect, name, text, len, flags, err);
}

const struct table_type table_type_pcre = {
    .name = "pcre",
    .file_based = 1,
    .open = pcre_open,
    .lookup = table_re_lookup,
    .free = table_re_free,
};
