/*
 * rc.c - read a procmailrc into items (see rc.h), following the order in
 * which procmail's mainloop() and conditions() read the file:
 *
 *   between items   blanks, empty lines and # comment lines are skipped
 *   ':'             a recipe: head words (flags, :lockfile), then condition
 *                   lines ('*'; or N lines after ":N"), comment and empty
 *                   lines among them, then one action
 *   '}'             ends the current block (a stray one is an error)
 *   NAME=value      an assignment; the value is one word (rcx RCX_VALUE),
 *                   so "A=b c" also unsets c, as in procmail
 *   NAME            unsets NAME
 *   anything else   "Skipped": the word, or the rest of the line
 *
 * Trusts nothing in the file: every span is bounded by its length, block
 * nesting by RC_DEPTH_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "procsort/rc.h"
#include "procsort/rcx.h"

#define RC_READ_CHUNK 65536

struct rc_parser {
    struct rc_file *rc;
    struct rcsrc src;
    int depth;
    size_t line_pos; /* rc_line_at's memory: the line number at line_pos */
    int line_no;
};

/* The line number of a byte offset; offsets mostly grow, so count on from the last. */
static int rc_line_at(struct rc_parser *ps, size_t pos)
{
    const char *p = ps->src.data;
    size_t i;

    if (pos < ps->line_pos) {
        ps->line_pos = 0;
        ps->line_no = 1;
    }
    for (i = ps->line_pos; i < pos && i < ps->src.len; i++)
        if (p[i] == '\n')
            ps->line_no++;
    ps->line_pos = i;
    return ps->line_no;
}

static struct rc_item *rc_add(struct rc_item **items, size_t *n, enum rc_kind kind, int line)
{
    struct rc_item *item;

    *items = mem_realloc_array(*items, *n + 1, sizeof(**items));
    item = &(*items)[(*n)++];
    memset(item, 0, sizeof(*item));
    item->kind = kind;
    item->line = line;
    item->nrcond = -1;
    return item;
}

static void rc_error(struct rc_item **items, size_t *n, int line, const char *fmt, const char *arg)
{
    struct rc_item *item = rc_add(items, n, RC_ERROR, line);
    struct buf msg = BUF_INIT;

    buf_printf(&msg, fmt, arg ? arg : "");
    item->text = buf_detach(&msg, 0);
}

static int rc_alpha(int ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int rc_alnum(int ch)
{
    return rc_alpha(ch) || (ch >= '0' && ch <= '9');
}

/*
 * procmail's gobenv(): an identifier followed by a blank, newline or '='.
 * Returns 1 with the name, 0 when what is there is not one (name then holds
 * the letters read, which are consumed).
 */
static int rc_identifier(struct rcsrc *src, struct buf *name)
{
    int ch;

    buf_reset(name);
    ch = rcsrc_get(src);
    if (ch != RCSRC_EOF && rc_alpha(ch)) {
        do
            buf_addch(name, ch);
        while ((ch = rcsrc_get(src)) != RCSRC_EOF && rc_alnum(ch));
    }
    rcsrc_unget(src, ch);
    return name->len > 0 && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '=');
}

/* rc_head_flags - nrcond, flags and lockfile from a recipe head's words */
int rc_head_flags(const char *words, size_t len, int flags[RCF_COUNT], int *nrcond,
                  int *has_lock, struct buf *lock, struct buf *leftover)
{
    const char *p = words, *end = words + len, *flag;
    char *num_end;
    long n;

    memset(flags, 0, sizeof(int) * RCF_COUNT);
    *has_lock = 0;
    buf_reset(lock);
    buf_reset(leftover);
    n = strtol(p, &num_end, 10);
    *nrcond = num_end == p ? -1 : (int) (n > 1000000 ? 1000000 : n < -1 ? -1 : n);
    p = num_end;
    while (p < end) {
        int ch = (unsigned char) *p;

        if (ch == ' ' || ch == '\t' || ch == 0) {
            p++;
            continue;
        }
        if (ch == ':') {
            *has_lock = 1;
            p++;
            if (p < end && *p) {
                buf_addstr(lock, p);
                p += strlen(p) + 1;
            } else if (p + 1 < end) {
                p++;
                buf_addstr(lock, p);
                p += strlen(p) + 1;
            }
            break;
        }
        flag = strchr(RCF_LETTERS, ch);
        if (!flag)
            break;
        flags[flag - RCF_LETTERS] = 1;
        p++;
    }
    /* Whatever is left is reported, words joined by blanks. */
    while (p < end) {
        size_t wl = strlen(p);

        if (leftover->len)
            buf_addch(leftover, ' ');
        buf_add(leftover, p, wl);
        p += wl + 1;
    }
    return 0;
}

static void rc_items(struct rc_parser *ps, struct rc_item **items, size_t *n, int in_block, int *closed);

/* Conditions and action of a recipe whose ':' has been read. */
static void rc_recipe(struct rc_parser *ps, struct rc_item **items, size_t *n)
{
    struct rcsrc *src = &ps->src;
    struct rcx_result words;
    struct buf lock = BUF_INIT, leftover = BUF_INIT, name = BUF_INIT, line = BUF_INIT;
    struct rc_item *item;
    int has_lock, left, skipped_empty, ch;
    size_t start, idx;

    rcx_result_init(&words);
again:
    idx = *n;
    item = rc_add(items, n, RC_RECIPE, rc_line_at(ps, src->pos));
    item->head.start = src->pos;
    rcx_parse(src, RCX_WORDS, 0, &words);
    item->head.end = src->pos;
    rc_head_flags(words.out.data, words.out.len, item->default_flags, &item->nrcond, &has_lock, &lock, &leftover);
    /* ":N": N condition lines of the old kind (no '*'); plain ":" means
     * one, or none with A, a, E or e; ":0" none. */
    if (item->nrcond >= 0)
        left = item->nrcond;
    else
        left = item->default_flags[RCF_A] || item->default_flags[RCF_a] || item->default_flags[RCF_E]
            || item->default_flags[RCF_e] ? 0 : 1;
    skipped_empty = 0;
    for (;;) {
        rcsrc_skip_space(src);
        if (src->pos >= src->len)
            break; /* the end of the file ends the conditions, whatever ":N" said */
        --left;
        if (!rcsrc_test(src, '*')) {
            if (left < 0) {
                if (rcsrc_test(src, '#')) {
                    rcsrc_skip_line(src);
                    continue;
                }
                if (rcsrc_test(src, '\n')) {
                    skipped_empty = 1;
                    continue;
                }
                if (skipped_empty && rcsrc_test(src, ':')) {
                    item = &(*items)[idx];
                    item->kind = RC_ERROR;
                    item->text = mem_strdup("Missing action");
                    goto again;
                }
                break;
            }
        }
        rcsrc_skip_space(src);
        item->conds = mem_realloc_array(item->conds, item->nconds + 1, sizeof(*item->conds));
        item->conds[item->nconds].line = rc_line_at(ps, src->pos);
        rcsrc_get_lline(src, &line);
        item->conds[item->nconds].text = mem_strdup(line.data);
        item->nconds++;
    }
    rcsrc_skip_space(src);
    item->action_line = rc_line_at(ps, src->pos);
    start = src->pos;
    ch = rcsrc_get(src);
    if (ch == RCSRC_EOF) {
        item->action = RCA_NONE;
        goto done;
    }
    rcsrc_unget(src, ch);
    if (rc_identifier(src, &name)) {
        rcsrc_skip_space(src);
        if (rcsrc_test(src, '=')) {
            rcsrc_skip_space(src);
            ch = rcsrc_get(src);
            rcsrc_unget(src, ch);
            if (ch == '|' || ch == '!')
                item->name = mem_strdup(name.data);
        }
    }
    if (!item->name)
        src->pos = start;
    if (rcsrc_test(src, '!')) {
        item->action = RCA_FORWARD;
        item->action_span.start = src->pos;
        rcx_parse(src, RCX_WORDS, 0, &words);
        item->action_span.end = src->pos;
    } else if (rcsrc_test(src, '|')) {
        item->action = RCA_PIPE;
        rcsrc_get_lline(src, &line);
        item->pipe = mem_strdup(line.data);
    } else if (src->pos + 1 < src->len && src->data[src->pos] == '{'
               && strchr(" \t\n", src->data[src->pos + 1])) {
        int closed = 0;

        src->pos += 2;
        item->action = RCA_BLOCK;
        if (ps->depth >= RC_DEPTH_MAX) {
            rc_error(items, n, item->action_line, "Blocks nested more than %s deep; rest of file ignored", "100");
            src->pos = src->len;
            goto done;
        }
        ps->depth++;
        {
            struct rc_item *children = 0;
            size_t nchildren = 0;

            rc_items(ps, &children, &nchildren, 1, &closed);
            item = &(*items)[idx];
            item->items = children;
            item->nitems = nchildren;
            item->block_closed = closed;
        }
        ps->depth--;
    } else {
        item->action = RCA_FOLDER;
        item->action_span.start = src->pos;
        rcx_parse(src, RCX_WORDS, 0, &words);
        item->action_span.end = src->pos;
    }
done:
    rcx_result_free(&words);
    buf_free(&lock);
    buf_free(&leftover);
    buf_free(&name);
    buf_free(&line);
}

static void rc_items(struct rc_parser *ps, struct rc_item **items, size_t *n, int in_block, int *closed)
{
    struct rcsrc *src = &ps->src;
    struct buf name = BUF_INIT, line = BUF_INIT;
    struct rc_item *item;
    int line_no;

    for (;;) {
        rcsrc_skip_space(src);
        if (rcsrc_test(src, '\n'))
            continue;
        if (rcsrc_test(src, '#')) {
            rcsrc_skip_line(src);
            continue;
        }
        if (src->pos >= src->len)
            break;
        line_no = rc_line_at(ps, src->pos);
        if (rcsrc_test(src, ':')) {
            rc_recipe(ps, items, n);
            continue;
        }
        if (rcsrc_test(src, '}')) {
            if (in_block) {
                *closed = 1;
                break;
            }
            rc_error(items, n, line_no, "Closing brace unexpected%s", 0);
            continue;
        }
        if (!rc_identifier(src, &name)) {
            if (name.len == 0) {
                rcsrc_get_line(src, &line);
                if (line.len)
                    rc_error(items, n, line_no, "Skipped \"%s\"", line.data);
            } else {
                rc_error(items, n, line_no, "Skipped \"%s\"", name.data);
            }
            continue;
        }
        rcsrc_skip_space(src);
        if (rcsrc_test(src, '=')) {
            struct rcx_result value;

            item = rc_add(items, n, RC_ASSIGN, line_no);
            item->name = mem_strdup(name.data);
            item->value.start = src->pos;
            rcx_result_init(&value);
            rcx_parse(src, RCX_VALUE, 0, &value);
            rcx_result_free(&value);
            item->value.end = src->pos;
        } else {
            item = rc_add(items, n, RC_UNSET, line_no);
            item->name = mem_strdup(name.data);
        }
    }
    buf_free(&name);
    buf_free(&line);
}

/* rc_parse - items from rc text; never fails (problems become RC_ERROR items) */
struct rc_file *rc_parse(const char *name, const char *text, size_t len)
{
    struct rc_parser ps;
    struct rc_file *rc = mem_zalloc(sizeof(*rc));
    int closed = 0;

    rc->name = mem_strdup(name);
    buf_init(&rc->text);
    buf_add(&rc->text, text, len);
    ps.rc = rc;
    ps.src.data = rc->text.data;
    ps.src.len = rc->text.len;
    ps.src.pos = 0;
    ps.depth = 0;
    ps.line_pos = 0;
    ps.line_no = 1;
    rc_items(&ps, &rc->items, &rc->nitems, 0, &closed);
    return rc;
}

/* rc_load - read and parse a file; NULL with err when it cannot be read */
struct rc_file *rc_load(const char *path, struct buf *err)
{
    struct buf text = BUF_INIT;
    struct rc_file *rc;
    ssize_t got;
    int fd;

    if ((fd = open(path, O_RDONLY | O_NOCTTY)) < 0) {
        buf_printf(err, "%s", strerror(errno));
        return 0;
    }
    for (;;) {
        buf_grow(&text, RC_READ_CHUNK);
        got = read(fd, text.data + text.len, RC_READ_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            buf_printf(err, "%s", strerror(errno));
            close(fd);
            buf_free(&text);
            return 0;
        }
        if (got == 0)
            break;
        text.len += (size_t) got;
        text.data[text.len] = 0;
    }
    close(fd);
    rc = rc_parse(path, text.data, text.len);
    buf_free(&text);
    return rc;
}

static void rc_free_items(struct rc_item *items, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        mem_free(items[i].name);
        mem_free(items[i].text);
        for (j = 0; j < items[i].nconds; j++)
            mem_free(items[i].conds[j].text);
        mem_free(items[i].conds);
        mem_free(items[i].pipe);
        rc_free_items(items[i].items, items[i].nitems);
    }
    mem_free(items);
}

/* rc_free - release a parsed file */
void rc_free(struct rc_file *rc)
{
    if (!rc)
        return;
    rc_free_items(rc->items, rc->nitems);
    buf_free(&rc->text);
    mem_free(rc->name);
    mem_free(rc);
}
