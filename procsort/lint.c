/*
 * lint.c - procsort --lint (see lint.h).
 *
 * Reads the file with the same parser as a real run, so every syntax
 * error a run would log is reported here too, all at once, with its
 * line; then looks at each recipe: unknown flags, flags procmail ignores
 * or suppresses, regular expressions procmail would call invalid, blocks
 * left open, recipes without an action.  Nothing is expanded or run.
 */
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/procregex.h"
#include "procsort/lint.h"
#include "procsort/rc.h"
#include "procsort/rcx.h"

static void lint_say(FILE *out, const char *file, int line, const char *what, const char *arg, int *count)
{
    fprintf(out, "%s, line %d: ", file, line);
    fprintf(out, what, arg ? arg : "");
    fputc('\n', out);
    (*count)++;
}

/* The regular expression part of a condition, or NULL when it is not one. */
static const char *lint_regex_part(const char *text)
{
    const char *p = text;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '!') {
            p++;
            continue;
        }
        if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.') {
            const char *q = p;

            while ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' || *q == ',')
                q++;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '^' && ((q[1] >= '0' && q[1] <= '9') || q[1] == '-' || q[1] == '.' || q[1] == '+')) {
                q++;
                while ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' || *q == ',')
                    q++;
                p = q;
                continue;
            }
            return p;
        }
        if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            const char *q = p;

            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))
                q++;
            while (*q == ' ' || *q == '\t')
                q++;
            if (q[0] == '?' && q[1] == '?') {
                p = q + 2;
                continue;
            }
            return p;
        }
        if (*p == '$' || *p == '?' || *p == '<' || *p == '>')
            return 0;
        return p;
    }
}

static void lint_items(FILE *out, const struct rc_file *rc, const struct rc_item *items, size_t n, int *count)
{
    struct rcx_result words;
    struct buf lock = BUF_INIT, leftover = BUF_INIT, pat = BUF_INIT, err = BUF_INIT;
    size_t k, c;

    rcx_result_init(&words);
    for (k = 0; k < n; k++) {
        const struct rc_item *it = &items[k];
        int flags[RCF_COUNT], nrcond, has_lock, hs;
        struct rcsrc src;

        if (it->kind == RC_ERROR) {
            lint_say(out, rc->name, it->line, "%s", it->text, count);
            continue;
        }
        if (it->kind != RC_RECIPE)
            continue;
        src.data = rc->text.data + it->head.start;
        src.len = it->head.end - it->head.start;
        src.pos = 0;
        rcx_parse(&src, RCX_WORDS, 0, &words);
        rc_head_flags(words.out.data, words.out.len, flags, &nrcond, &has_lock, &lock, &leftover);
        if (leftover.len)
            lint_say(out, rc->name, it->line, "unknown flags, skipped: \"%s\"", leftover.data, count);
        if (flags[RCF_e] && flags[RCF_E])
            lint_say(out, rc->name, it->line, "conflicting flags E and e: E is suppressed%s", 0, count);
        if (flags[RCF_e] && flags[RCF_a])
            lint_say(out, rc->name, it->line, "conflicting flags a and e: a is suppressed%s", 0, count);
        for (c = 0; c < it->nconds; c++) {
            const char *re = lint_regex_part(it->conds[c].text);

            if (!re)
                continue;
            buf_reset(&err);
            if (procregex_translate(re, strlen(re), &pat, &hs, &err) != 0)
                lint_say(out, rc->name, it->conds[c].line, "invalid regular expression: %s", err.data, count);
        }
        switch (it->action) {
        case RCA_NONE:
            lint_say(out, rc->name, it->line, "incomplete recipe: no action%s", 0, count);
            break;
        case RCA_FOLDER:
            if (flags[RCF_f])
                lint_say(out, rc->name, it->line, "the f flag on a folder is ignored%s", 0, count);
            break;
        case RCA_BLOCK:
            if (flags[RCF_h] || flags[RCF_b] || flags[RCF_i] || flags[RCF_r])
                lint_say(out, rc->name, it->line, "flags h, b, i and r mean nothing on a block%s", 0, count);
            if (has_lock && !flags[RCF_c])
                lint_say(out, rc->name, it->line, "a lockfile on a block without c is ignored%s", 0, count);
            if (!it->block_closed)
                lint_say(out, rc->name, it->action_line, "block not closed: it runs to the end of the file%s", 0,
                         count);
            lint_items(out, rc, it->items, it->nitems, count);
            break;
        case RCA_PIPE:
        case RCA_FORWARD:
            if (flags[RCF_c] && (flags[RCF_f] || it->name))
                lint_say(out, rc->name, it->line, "the c flag on a filter or capture is ignored%s", 0, count);
            if ((flags[RCF_h] || flags[RCF_b]) && !(flags[RCF_h] && flags[RCF_b]) && !flags[RCF_c]
                && !flags[RCF_f] && !it->name)
                lint_say(out, rc->name, it->line,
                         "delivering only the %s without c: the rest of the message is lost", flags[RCF_h] ? "header" : "body",
                         count);
            break;
        }
    }
    rcx_result_free(&words);
    buf_free(&lock);
    buf_free(&leftover);
    buf_free(&pat);
    buf_free(&err);
}

/* lint_file - check one rc file; the number of problems, -1 when unreadable */
int lint_file(const char *path, FILE *out)
{
    struct buf err = BUF_INIT;
    struct rc_file *rc = rc_load(path, &err);
    int count = 0;

    if (!rc) {
        fprintf(out, "%s: cannot read: %s\n", path, err.data);
        buf_free(&err);
        return -1;
    }
    lint_items(out, rc, rc->items, rc->nitems, &count);
    rc_free(rc);
    buf_free(&err);
    return count;
}
