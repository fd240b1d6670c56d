/*
 * rc.h - a procmailrc file, read into recipes and assignments.
 *
 * The parser only finds where each thing begins and ends, with procmail's
 * lexical rules (rcx.c); the text of values, recipe heads, conditions and
 * actions is kept raw and expanded by the evaluator when it gets there, as
 * procmail does.  Problems (a junk line, a recipe without action, a
 * stray '}') become RC_ERROR items in place: procmail reports them only
 * when its reading gets that far, and so does procsort; --lint reports
 * them all.
 */
#ifndef PROCSORT_RC_H
#define PROCSORT_RC_H

#include <stddef.h>

#include "libmatch/buf.h"

/* Recipe flags, procmail's letters. */
#define RCF_LETTERS "HBDAahbfcwWiEer"
enum rc_flag {
    RCF_H, RCF_B, RCF_D, RCF_A, RCF_a, RCF_h, RCF_b, RCF_f, RCF_c, RCF_w, RCF_W, RCF_i,
    RCF_E, RCF_e, RCF_r, RCF_COUNT
};

#define RC_DEPTH_MAX 100 /* nested { } blocks in one file */

enum rc_kind {
    RC_ASSIGN,  /* NAME=value (value raw) */
    RC_UNSET,   /* NAME alone */
    RC_RECIPE,
    RC_ERROR,   /* text says what; logged when reached */
};

enum rc_action_kind {
    RCA_NONE,    /* incomplete recipe */
    RCA_FOLDER,  /* one or more folder names (raw words) */
    RCA_FORWARD, /* ! addresses (raw words) */
    RCA_PIPE,    /* | command (raw logical line) */
    RCA_BLOCK,   /* { items } */
};

struct rc_span {
    size_t start, end; /* bytes of the file's text */
};

struct rc_cond {
    int line;
    char *text; /* after '*' and blanks: the logical line, continuations kept */
};

struct rc_item {
    enum rc_kind kind;
    int line;
    char *name;             /* ASSIGN/UNSET: the variable; RECIPE: the capture variable or NULL */
    struct rc_span value;   /* ASSIGN: the raw value */
    char *text;             /* ERROR: the message */
    /* RECIPE */
    struct rc_span head;    /* after ':' up to the end of the line */
    int nrcond;             /* ":N" (old syntax), -1 when none */
    int default_flags[RCF_COUNT]; /* the flags as read without expansion (for lint and nrcond) */
    struct rc_cond *conds;
    size_t nconds;
    enum rc_action_kind action;
    int action_line;
    struct rc_span action_span; /* FOLDER/FORWARD: raw words */
    char *pipe;             /* PIPE: the raw logical line after '|' */
    struct rc_item *items;  /* BLOCK */
    size_t nitems;
    int block_closed;       /* BLOCK: a '}' was found */
};

struct rc_file {
    char *name;
    struct buf text;
    struct rc_item *items;
    size_t nitems;
};

struct rc_file *rc_parse(const char *name, const char *text, size_t len);
struct rc_file *rc_load(const char *path, struct buf *err);
void rc_free(struct rc_file *rc);
int rc_head_flags(const char *words, size_t len, int flags[RCF_COUNT], int *nrcond,
                  int *has_lock, struct buf *lock, struct buf *leftover);
void rc_lint(const struct rc_file *rc, struct buf *out, int *problems);

#endif
