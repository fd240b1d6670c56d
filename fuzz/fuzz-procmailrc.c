/*
 * fuzz-procmailrc.c - libFuzzer target: an rc file's bytes through
 * procsort's reader (rc_parse), then every recipe head through
 * rc_head_flags, every condition through procmail's regular expression
 * translation and PCRE2, and every stored span through rcx expansion with
 * an environment that looks variables up but runs nothing.
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks what must
 * hold for any input: every span the parser stored lies inside the text,
 * and reading a span again without expanding finds the same end.  The
 * expanding read (the evaluator's) may stop earlier: as in procmail's
 * readparse(), whether a later '#' starts a comment depends on what a
 * $VAR or `command` before it expanded to (":0 c`echo ' '`#x" has a
 * comment, ":0 c`true`#x" has not), which the parser cannot know; so it is
 * only held inside the span.  A broken promise aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "libmatch/procregex.h"
#include "procsort/rc.h"
#include "procsort/rcx.h"

#define FUZZ_MAX_LEN 16384 /* longer inputs say nothing new and run slowly */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-procmailrc", 0, 0);
    return 0;
}

static const char *fz_lookup(void *ctx, const char *name)
{
    (void) ctx;
    return name[0] == 'A' ? "a value with  blanks" : 0;
}

static void fz_special(void *ctx, int which, struct buf *out)
{
    (void) ctx;
    buf_addch(out, which);
}

static void fz_backquote(void *ctx, const char *cmd, struct buf *out)
{
    (void) ctx;
    buf_addstr(out, cmd);
}

static const struct rcx_env fz_env = { 0, fz_lookup, fz_special, fz_backquote, 0 };

static void fz_span(const struct rc_file *rc, struct rc_span span, int mode)
{
    struct rcsrc src;
    struct rcx_result res;

    if (span.start > span.end || span.end > rc->text.len)
        abort();
    src.data = rc->text.data + span.start;
    src.len = span.end - span.start;
    src.pos = 0;
    rcx_result_init(&res);
    rcx_parse(&src, mode, 0, &res);
    /* reading again finds exactly what the parser found, no more, no less */
    if (src.pos != src.len)
        abort();
    rcx_result_free(&res);
    src.pos = 0;
    rcx_result_init(&res);
    rcx_parse(&src, mode, &fz_env, &res);
    if (src.pos > src.len)
        abort();
    rcx_result_free(&res);
}

static void fz_items(const struct rc_file *rc, const struct rc_item *items, size_t n)
{
    struct buf lock = BUF_INIT, left = BUF_INIT, pat = BUF_INIT, err = BUF_INIT;
    size_t k, c;

    for (k = 0; k < n; k++) {
        const struct rc_item *it = &items[k];
        int flags[RCF_COUNT], nrcond, has_lock, split;

        if (it->kind == RC_ASSIGN)
            fz_span(rc, it->value, RCX_VALUE);
        if (it->kind != RC_RECIPE)
            continue;
        fz_span(rc, it->head, RCX_WORDS);
        {
            struct rcsrc src = { rc->text.data + it->head.start, it->head.end - it->head.start, 0 };
            struct rcx_result res;

            rcx_result_init(&res);
            rcx_parse(&src, RCX_WORDS, 0, &res);
            rc_head_flags(res.out.data, res.out.len, flags, &nrcond, &has_lock, &lock, &left);
            rcx_result_free(&res);
        }
        for (c = 0; c < it->nconds; c++) {
            struct procregex *re;

            buf_setstr(&pat, it->conds[c].text);
            procregex_specials(&pat);
            buf_reset(&err);
            procregex_translate(pat.data, pat.len, &lock, &split, &err);
            re = procregex_compile(pat.data, pat.len, PROCREGEX_CASELESS, &err);
            if (re) {
                struct buf framed = BUF_INIT;
                size_t end, ms, me;

                procregex_frame(&framed, "Subject: x\nTo: y\n\nbody\n", 23);
                procregex_exec(re, framed.data, framed.len, 0, &end, &ms, &me, &err);
                buf_free(&framed);
                procregex_free(re);
            }
        }
        if (it->action == RCA_FOLDER || it->action == RCA_FORWARD)
            fz_span(rc, it->action_span, RCX_WORDS);
        if (it->action == RCA_BLOCK)
            fz_items(rc, it->items, it->nitems);
    }
    buf_free(&lock);
    buf_free(&left);
    buf_free(&pat);
    buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rc_file *rc;

    if (size > FUZZ_MAX_LEN)
        return 0;
    rc = rc_parse("fuzz.rc", (const char *) data, size);
    fz_items(rc, rc->items, rc->nitems);
    rc_free(rc);
    return 0;
}
