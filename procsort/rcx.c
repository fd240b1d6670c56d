/*
 * rcx.c - procmailrc words (see rcx.h): a byte-at-a-time state machine
 * with the states of procmail's readparse():
 *
 *   RCX_NOTHING  nothing read yet
 *   RCX_BLANK    between words (a separator has been written)
 *   RCX_TEXT     inside an unquoted word
 *   RCX_DQ       inside "..."
 *   RCX_SQ       inside '...'
 *
 * ${name:-text} and friends: the text is read in any case (so that the
 * end of the word is found the same way); when it is not wanted it is
 * read "skipping" (no lookups, no commands) and cut off again at the
 * closing brace, and the variable's value is written in its place.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "procsort/rcx.h"

enum rcx_state {
    RCX_NOTHING = -1,
    RCX_BLANK = 0,
    RCX_TEXT = 1,
    RCX_DQ = 2,
    RCX_SQ = 3,
};

#define RCX_REGEX_SPECIALS "(|)*?+.^$[\\"

struct rcx_run {
    struct rcsrc *src;
    int mode;
    const struct rcx_env *env;
    struct rcx_result *res;
    enum rcx_state got;
    int bracelev, qbracelev;
    int skipping;              /* > 0: read but do not expand or run */
    int skip_active;           /* a ${...} whose text is being cut off */
    size_t skipback;           /* where the cut-off text started */
    int skip_bracelev;
    enum rcx_state skip_got;
    char *skip_value;          /* the value written at the closing brace */
};

/* rcsrc_skip_space - skip blanks; did we skip any? */
int rcsrc_skip_space(struct rcsrc *src)
{
    int any = 0;

    while (rcsrc_test(src, ' ') || rcsrc_test(src, '\t'))
        any = 1;
    return any;
}

/* rcsrc_skip_line - skip to past the end of the line */
void rcsrc_skip_line(struct rcsrc *src)
{
    int ch;

    while ((ch = rcsrc_get(src)) != RCSRC_EOF && ch != '\n')
        ;
}

/* rcsrc_get_line - the rest of the line, without its newline */
void rcsrc_get_line(struct rcsrc *src, struct buf *line)
{
    int ch;

    buf_reset(line);
    while ((ch = rcsrc_get(src)) != RCSRC_EOF && ch != '\n')
        buf_addch(line, ch);
}

/*
 * rcsrc_get_lline - a logical line: a line ending in a backslash goes on
 * on the next; the backslash and a newline are kept (a line that is only
 * a backslash leaves just the newline), as procmail's getlline().
 */
void rcsrc_get_lline(struct rcsrc *src, struct buf *line)
{
    struct buf seg = BUF_INIT;

    buf_reset(line);
    for (;;) {
        rcsrc_get_line(src, &seg);
        if (seg.len > 0 && seg.data[seg.len - 1] == '\\') {
            if (seg.len > 1)
                buf_add(line, seg.data, seg.len);
            buf_addch(line, '\n');
            if (src->pos >= src->len)
                break;
            continue;
        }
        buf_add(line, seg.data, seg.len);
        break;
    }
    buf_free(&seg);
}

/* rcx_result_init - an empty result */
void rcx_result_init(struct rcx_result *res)
{
    buf_init(&res->out);
    res->all_args = -1;
}

/* rcx_result_free - release a result */
void rcx_result_free(struct rcx_result *res)
{
    buf_free(&res->out);
}

/* rcx_has_meta - does the text contain any of the shell metacharacters? */
int rcx_has_meta(const char *text, const char *metas)
{
    return strpbrk(text, metas) != 0;
}

static void rcx_emit(struct rcx_run *run, int ch)
{
    buf_addch(&run->res->out, ch);
}

static void rcx_warn(struct rcx_run *run, const char *text)
{
    if (run->env && run->env->warn && !run->skipping)
        run->env->warn(run->env->ctx, text);
}

static int rcx_alnum(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static int rcx_expanding(const struct rcx_run *run)
{
    return run->env && !run->skipping;
}

/* The value of a name ("1".."9" for arguments), NULL when unset or skipping. */
static const char *rcx_lookup(struct rcx_run *run, const char *name)
{
    if (!rcx_expanding(run) || !run->env->lookup)
        return 0;
    return run->env->lookup(run->env->ctx, name);
}

/* Unquoted: split into words (RCX_WORDS) or copy (otherwise). */
static void rcx_split(struct rcx_run *run, const char *value, size_t len)
{
    size_t i;

    if (run->mode != RCX_WORDS) {
        buf_add(&run->res->out, value, len);
        if (run->got <= RCX_BLANK)
            run->got = RCX_TEXT;
        return;
    }
    for (i = 0; i < len; i++) {
        char ch = value[i];

        if (ch == ' ' || ch == '\t' || ch == '\n') {
            if (run->got > RCX_BLANK) {
                rcx_emit(run, 0);
                run->got = RCX_BLANK;
            }
            continue;
        }
        rcx_emit(run, ch);
        run->got = RCX_TEXT;
    }
}

/* Copied as is (quoted, or one of $$ $? $# $=). */
static void rcx_copy(struct rcx_run *run, const char *value, size_t len)
{
    buf_add(&run->res->out, value, len);
    if (run->got <= RCX_BLANK)
        run->got = RCX_TEXT;
}

static void rcx_insert(struct rcx_run *run, const char *value, size_t len)
{
    if (run->got != RCX_DQ)
        rcx_split(run, value, len);
    else
        rcx_copy(run, value, len);
}

/* `command`: read up to the closing backquote, then run it. */
static void rcx_backquote(struct rcx_run *run)
{
    struct buf cmd = BUF_INIT;
    struct buf output = BUF_INIT;
    int ch, closed_by_dq = 0;

    for (;;) {
        ch = rcsrc_get(run->src);
        if (ch == RCSRC_EOF || ch == '`')
            break;
        if (ch == '"' && run->got == RCX_DQ) {
            closed_by_dq = 1; /* a missing closing backquote */
            break;
        }
        if (ch == '\\') {
            ch = rcsrc_get(run->src);
            if (ch == RCSRC_EOF) {
                rcx_warn(run, "Unexpected EOL");
                break;
            }
            if (ch == '\n')
                continue;
            if (!((ch == '"' && run->got == RCX_DQ) || ch == '\\' || ch == '$' || ch == '`'))
                buf_addch(&cmd, '\\');
        }
        buf_addch(&cmd, ch);
    }
    if (rcx_expanding(run) && run->env->backquote)
        run->env->backquote(run->env->ctx, cmd.data, &output);
    while (output.len > 0 && output.data[output.len - 1] == '\n')
        buf_truncate(&output, output.len - 1);
    if (run->got != RCX_DQ) {
        rcx_split(run, output.data, output.len);
    } else {
        buf_add(&run->res->out, output.data, output.len);
        if (closed_by_dq)
            run->got = RCX_TEXT;
    }
    buf_free(&cmd);
    buf_free(&output);
}

/* ${name...}: returns 1 when a brace level was opened (text follows). */
static int rcx_brace(struct rcx_run *run)
{
    struct buf name = BUF_INIT;
    const char *value;
    int ch, want_alt;

    while ((ch = rcsrc_get(run->src)) != RCSRC_EOF && rcx_alnum(ch))
        buf_addch(&name, ch);
    if (name.len > 1 && name.data[0] >= '0' && name.data[0] <= '9')
        goto bad;
    value = rcx_lookup(run, name.data);
    switch (ch) {
    case '}':
        rcx_insert(run, value ? value : "", value ? strlen(value) : 0);
        buf_free(&name);
        return 0;
    case ':':
        ch = rcsrc_get(run->src);
        if (ch == '-')
            want_alt = !(value && *value);
        else if (ch == '+')
            want_alt = value && *value;
        else
            goto bad;
        break;
    case '+':
        want_alt = value != 0;
        break;
    case '-':
        want_alt = value == 0;
        break;
    default:
        goto bad;
    }
    if (!want_alt && !run->skipping && !run->skip_active) {
        run->skipping++;
        run->skip_active = 1;
        run->skipback = run->res->out.len;
        run->skip_bracelev = run->bracelev;
        run->skip_got = run->got;
        run->skip_value = value ? mem_strdup(value) : 0;
    }
    run->bracelev++;
    buf_free(&name);
    return 1;
bad:
    if (!run->skipping && run->env && run->env->warn) {
        struct buf msg = BUF_INIT;

        buf_printf(&msg, "Bad substitution of \"%s\"", name.data);
        run->env->warn(run->env->ctx, msg.data);
        buf_free(&msg);
    }
    buf_free(&name);
    return 0;
}

/* A backslash and the character after it (ch). */
static void rcx_quoted(struct rcx_run *run, int ch)
{
    switch (ch) {
    case '\n':
        return; /* joins lines */
    case '#':
        if (run->got > RCX_BLANK)
            goto both;
        /* fall through: an escaped comment at the start of a word */
        __attribute__((fallthrough));
    case ' ':
    case '\t':
    case '\'':
        if (run->got == RCX_DQ)
            goto both;
        goto plain;
    case '"':
    case '\\':
    case '$':
    case '`':
        goto plain;
    case '}':
        if ((run->got <= RCX_TEXT && run->bracelev) || (run->got == RCX_DQ && run->bracelev > run->qbracelev))
            goto plain;
        break;
    default:
        break;
    }
    if (run->got > RCX_TEXT) {
both:
        rcx_emit(run, '\\');
    }
plain:
    rcx_emit(run, ch);
    if (run->got <= RCX_BLANK)
        run->got = RCX_TEXT;
}

/* $ and what follows; returns the next character to handle, or 0. */
static int rcx_dollar(struct rcx_run *run)
{
    struct buf name = BUF_INIT;
    struct buf special = BUF_INIT;
    int ch = rcsrc_get(run->src), quoted = 0;
    const char *value;

    switch (ch) {
    case RCSRC_EOF:
        rcx_emit(run, '$');
        run->got = RCX_TEXT;
        return RCSRC_EOF;
    case '@':
        if (run->got != RCX_DQ)
            return '@'; /* procmail drops the $ of an unquoted $@ */
        if (rcx_expanding(run))
            run->res->all_args = (long) run->res->out.len;
        return 0;
    case '{':
        rcx_brace(run);
        return 0;
    case '$':
    case '?':
    case '#':
    case '=':
        if (rcx_expanding(run) && run->env->special)
            run->env->special(run->env->ctx, ch, &special);
        rcx_copy(run, special.data, special.len);
        buf_free(&special);
        return 0;
    case '_':
    case '-':
        if (rcx_expanding(run) && run->env->special)
            run->env->special(run->env->ctx, ch, &special);
        rcx_insert(run, special.data, special.len);
        buf_free(&special);
        return 0;
    default:
        break;
    }
    if (ch >= '0' && ch <= '9') {
        char num[2] = { (char) ch, 0 };

        value = rcx_lookup(run, num);
        rcx_insert(run, value ? value : "", value ? strlen(value) : 0);
        return 0;
    }
    if (ch == '\\') {
        quoted = 1;
        ch = rcsrc_get(run->src);
    }
    if (ch != RCSRC_EOF && rcx_alnum(ch)) {
        do
            buf_addch(&name, ch);
        while ((ch = rcsrc_get(run->src)) != RCSRC_EOF && rcx_alnum(ch));
        value = rcx_lookup(run, name.data);
        if (!value)
            value = "";
        buf_free(&name);
        if (!quoted) {
            rcx_insert(run, value, strlen(value));
            return ch == RCSRC_EOF ? 0 : ch;
        }
        /* $\name: quoted for regular expressions, never split */
        rcx_emit(run, '(');
        rcx_emit(run, ')');
        for (; *value; value++) {
            if (strchr(RCX_REGEX_SPECIALS, *value))
                rcx_emit(run, '\\');
            rcx_emit(run, *value);
        }
        if (run->got <= RCX_BLANK)
            run->got = RCX_TEXT;
        return ch == RCSRC_EOF ? 0 : ch;
    }
    buf_free(&name);
    rcx_emit(run, '$');
    if (run->got <= RCX_BLANK)
        run->got = RCX_TEXT;
    if (quoted) {
        if (ch == RCSRC_EOF)
            return RCSRC_EOF;
        rcx_quoted(run, ch);
        return 0;
    }
    return ch;
}

/* rcx_parse - read (and, with env, expand) words from src (see rcx.h) */
void rcx_parse(struct rcsrc *src, int mode, const struct rcx_env *env, struct rcx_result *res)
{
    struct rcx_run run;
    int ch, pending = 0;

    memset(&run, 0, sizeof(run));
    run.src = src;
    run.mode = mode;
    run.env = env;
    run.res = res;
    run.got = RCX_NOTHING;
    buf_reset(&res->out);
    res->all_args = -1;
    for (;;) {
        if (pending) {
            ch = pending;
            pending = 0;
        } else {
            ch = rcsrc_get(src);
        }
        switch (ch) {
        case RCSRC_EOF:
            if (mode < RCX_LINE && run.got > RCX_TEXT)
                rcx_warn(&run, "Unexpected EOF");
            goto ready;
        case '\\':
            if (run.got == RCX_SQ)
                break;
            ch = rcsrc_get(src);
            if (ch == RCSRC_EOF) {
                rcx_warn(&run, "Unexpected EOF");
                goto ready;
            }
            rcx_quoted(&run, ch);
            continue;
        case '`':
            if (run.got == RCX_SQ)
                break;
            rcx_backquote(&run);
            continue;
        case '"':
            if (run.got == RCX_DQ) {
                if (run.qbracelev < run.bracelev)
                    break;
                run.got = RCX_TEXT;
                continue;
            }
            if (run.got == RCX_SQ)
                break;
            run.qbracelev = run.bracelev;
            run.got = RCX_DQ;
            continue;
        case '\'':
            if (run.got == RCX_DQ)
                break;
            if (run.got == RCX_SQ) {
                run.got = RCX_TEXT;
                continue;
            }
            run.got = RCX_SQ;
            continue;
        case '}':
            if ((run.got <= RCX_TEXT && run.bracelev) || (run.got == RCX_DQ && run.bracelev > run.qbracelev)) {
                run.bracelev--;
                if (run.skip_active && run.bracelev == run.skip_bracelev) {
                    const char *value = run.skip_value ? run.skip_value : "";

                    run.skipping--;
                    run.skip_active = 0;
                    buf_truncate(&res->out, run.skipback);
                    run.got = run.skip_got;
                    rcx_insert(&run, value, strlen(value));
                    mem_free(run.skip_value);
                    run.skip_value = 0;
                }
                continue;
            }
            break;
        case '#':
            if (run.got > RCX_BLANK)
                break;
            rcsrc_skip_line(src);
            goto ready;
        case '$':
            if (run.got == RCX_SQ)
                break;
            pending = rcx_dollar(&run);
            if (pending == RCSRC_EOF)
                goto ready;
            continue;
        case ' ':
        case '\t':
            if (run.got == RCX_TEXT) {
                if (mode == RCX_VALUE)
                    goto ready;
                run.got = RCX_BLANK;
                rcx_emit(&run, mode == RCX_WORDS ? 0 : ' ');
                continue;
            }
            if (run.got <= RCX_BLANK)
                continue;
            break;
        case '\n':
            if (run.got <= RCX_TEXT)
                goto ready;
            break;
        default:
            break;
        }
        rcx_emit(&run, ch);
        if (run.got <= RCX_BLANK)
            run.got = RCX_TEXT;
    }
ready:
    if (run.got != RCX_BLANK || mode != RCX_WORDS)
        rcx_emit(&run, 0);
    /* Keep out.len counting the terminator of the last word for RCX_WORDS only. */
    if (mode != RCX_WORDS && res->out.len > 0)
        res->out.len--;
    mem_free(run.skip_value);
}
