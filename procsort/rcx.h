/*
 * rcx.h - procmailrc words: quoting, $-substitution and backquotes, as
 * procmail's readparse() reads them.
 *
 * One function both finds where a word list ends (the parser calls it
 * with no environment: nothing is expanded, nothing runs) and expands it
 * (the evaluator calls it on the same text with an environment).  The
 * rules are procmail's, a subset of sh(1): '...', "...", \ escapes, \ at
 * the end of a line joins lines, # at the start of a word starts a
 * comment, $name ${name} ${name:-text} ${name:+text} ${name-text}
 * ${name+text} $\name (regex-quoted, never split) $1..$9 $# $$ $? $= $_ $-
 * and "$@", `command` (its output, trailing newlines dropped).  Unquoted
 * substitutions are split on blanks and newlines into words.
 *
 * Trusts nothing in the text; the environment's callbacks run commands.
 */
#ifndef PROCSORT_RCX_H
#define PROCSORT_RCX_H

#include <stddef.h>

#include "libmatch/buf.h"

/* A stream of rc text (one file, or one stored span of it). */
struct rcsrc {
    const char *data;
    size_t len;
    size_t pos;
};

#define RCSRC_EOF (-1)

static inline int rcsrc_get(struct rcsrc *src)
{
    return src->pos < src->len ? (unsigned char) src->data[src->pos++] : RCSRC_EOF;
}

static inline void rcsrc_unget(struct rcsrc *src, int ch)
{
    if (ch != RCSRC_EOF)
        src->pos--;
}

static inline int rcsrc_test(struct rcsrc *src, int ch)
{
    int got = rcsrc_get(src);

    if (got == ch)
        return 1;
    rcsrc_unget(src, got);
    return 0;
}

int rcsrc_skip_space(struct rcsrc *src);
void rcsrc_skip_line(struct rcsrc *src);
void rcsrc_get_line(struct rcsrc *src, struct buf *line);
void rcsrc_get_lline(struct rcsrc *src, struct buf *line);

/* How words are separated in the result. */
#define RCX_WORDS 0  /* sh-like: words end at blanks, each ends with a NUL */
#define RCX_VALUE 1  /* an assignment's value: one word, ends at the first unquoted blank */
#define RCX_LINE 2   /* blanks kept as single spaces, no splitting (conditions) */

/* What expansion needs from the evaluator; NULL means scan only. */
struct rcx_env {
    void *ctx;
    const char *(*lookup)(void *ctx, const char *name);        /* NULL when unset; "1".."9" too */
    void (*special)(void *ctx, int which, struct buf *out);     /* $$ $? $# $= $_ $- */
    void (*backquote)(void *ctx, const char *cmd, struct buf *out); /* run, append stdout */
    void (*warn)(void *ctx, const char *text);                  /* a problem, for the log */
};

struct rcx_result {
    struct buf out;  /* the words, each followed by a NUL (RCX_WORDS), or the text */
    long all_args;   /* offset in out of an empty word that was "$@", or -1 */
};

void rcx_result_init(struct rcx_result *res);
void rcx_result_free(struct rcx_result *res);
void rcx_parse(struct rcsrc *src, int mode, const struct rcx_env *env, struct rcx_result *res);
int rcx_has_meta(const char *text, const char *metas);

#endif
