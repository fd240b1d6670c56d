/*
 * table_re.h - the rule engine regexp: and pcre: tables share.
 *
 * Postfix's regexp_table(5) and pcre_table(5) have one syntax (rules,
 * if/endif, $n results) and differ only in the matcher and its flags: a
 * dialect below says how.  table_regexp.c and table_pcre.c are dialects.
 */
#ifndef MAILSIFT_TABLE_RE_H
#define MAILSIFT_TABLE_RE_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "libmatch/rx.h"
#include "libmatch/table.h"

/* What option() says about one flag letter. */
#define TABLE_RE_OPT_OK 0       /* toggled */
#define TABLE_RE_OPT_OBSOLETE 1 /* known but ignored, with a warning (pcre's X) */
#define TABLE_RE_OPT_UNKNOWN 2  /* a bad rule */

struct table_re_dialect {
    const char *type;     /* "pcre", in messages */
    int default_options;  /* before any flag letter */
    int bang_ends_flags;  /* regexp: "/a/!/b/": '!' ends the flags... */
    int second_pattern;   /* ...and starts a second pattern */
    int key_needs_nul;    /* exec reads key[len] (regexec does, whatever REG_STARTEND says) */
    int trailing_backslash_closes; /* regexp: a '\' ending the line closes the pattern */
    int (*option)(int ch, int *options);
    /* compile: NULL with the reason in err; captures: 0 when no $n is used;
     * table_flags: what table_open got (TABLE_NO_JIT) */
    void *(*compile)(const char *pattern, int options, int captures, int table_flags, struct buf *err);
    int (*ncap)(const void *re);
    /* exec: 1/0/-1 as rx_exec, span[0..nspan) filled on a match */
    int (*exec)(const void *re, const char *key, size_t len, struct rx_span *span,
                size_t nspan, struct buf *err);
    void (*free)(void *re);
};

void *table_re_open(const struct table_re_dialect *dialect, const char *name,
                    const char *text, size_t len, int flags, struct buf *err);
int table_re_lookup(const void *table, const char *key, size_t keylen,
                    struct table_match *match, struct buf *err);
void table_re_free(void *table);

#endif
