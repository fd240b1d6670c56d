/*
 * 100-mime-state.c - libmatch/mime_state: which line is a primary header,
 * a MIME header, a nested header or body, as Postfix's cleanup(8) decides.
 *
 * Each case is t/data/milterd/mime/NAME.in (a message; an optional first
 * line "#mime: key=value ..." sets limits and options) and NAME.out (the
 * transcript of callbacks: "MAIN|MULT|NEST\t|header", "HEADER END",
 * "BODY N|C offset\t|text", "BODY END", "ERROR name").  Every case is fed
 * whole, byte by byte and in odd-sized chunks: all three transcripts must
 * equal the .out file.  MIME_REGEN=1 rewrites the .out files instead (for
 * a new case; review the result by hand before committing it).
 *
 * Then the limits: a 1 MB header stays at header_size_limit plus one
 * piece, 10,000 nested multiparts stop at mime_nesting_limit, and the
 * header tokenizer splits Content-Type values as Postfix does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/header.h"
#include "libmatch/mime_state.h"
#include "t/lib/tap.h"

static void show(struct buf *out, const char *text, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        if (c == '\n')
            buf_addstr(out, "\\n");
        else if (c == '\\')
            buf_addstr(out, "\\\\");
        else if (c < 32 || c > 126)
            buf_printf(out, "\\x%02x", c);
        else
            buf_addch(out, c);
    }
}

static void cb_header(void *ctx, int cls, const struct header_info *info, struct buf *text, off_t off)
{
    struct buf *out = ctx;

    (void) off;
    buf_addstr(out, cls == MIME_HDR_PRIMARY ? "MAIN" : cls == MIME_HDR_MULTIPART ? "MULT" : "NEST");
    if (info && (info->flags & HEADER_FLAG_MIME))
        buf_addstr(out, "+mime");
    buf_addstr(out, "\t|");
    show(out, text->data, text->len);
    buf_addch(out, '\n');
}

static void cb_head_end(void *ctx)
{
    buf_addstr(ctx, "HEADER END\n");
}

static void cb_body(void *ctx, int type, const char *text, size_t len, off_t off)
{
    struct buf *out = ctx;

    buf_printf(out, "BODY %c %ld\t|", type == MIME_REC_CONT ? 'C' : 'N', (long) off);
    show(out, text, len);
    buf_addch(out, '\n');
}

static void cb_body_end(void *ctx)
{
    buf_addstr(ctx, "BODY END\n");
}

static void cb_error(void *ctx, int err, const char *text, size_t len)
{
    (void) text;
    (void) len;
    buf_printf(ctx, "ERROR %s\n", mime_state_error_text(err, NULL));
}

static const struct mime_callbacks cbs = {cb_header, cb_head_end, cb_body, cb_body_end, cb_error};

/* parse "#mime: line=10 header=30 bound=5 nesting=2 opts=disable,trunc,..." */
static size_t parse_opts(const char *data, size_t len, struct mime_limits *lim, int *opts)
{
    const char *end;
    char *line, *tok, *save;

    memset(lim, 0, sizeof(*lim));
    *opts = 0;
    if (len < 7 || strncmp(data, "#mime: ", 7) != 0)
        return 0;
    end = memchr(data, '\n', len);
    if (end == NULL)
        bail("bad #mime line");
    line = strndup(data + 7, (size_t) (end - data - 7));
    for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (!strncmp(tok, "line=", 5))
            lim->line_length_limit = strtoul(tok + 5, NULL, 10);
        else if (!strncmp(tok, "header=", 7))
            lim->header_size_limit = strtoul(tok + 7, NULL, 10);
        else if (!strncmp(tok, "bound=", 6))
            lim->mime_boundary_length_limit = strtoul(tok + 6, NULL, 10);
        else if (!strncmp(tok, "nesting=", 8))
            lim->mime_nesting_limit = atoi(tok + 8);
        else if (!strncmp(tok, "opts=", 5)) {
            if (strstr(tok, "disable"))
                *opts |= MIME_OPT_DISABLE_MIME;
            if (strstr(tok, "trunc"))
                *opts |= MIME_OPT_REPORT_TRUNC_HEADER;
            if (strstr(tok, "8bithdr"))
                *opts |= MIME_OPT_REPORT_8BIT_IN_HEADER;
            if (strstr(tok, "8bitbody"))
                *opts |= MIME_OPT_REPORT_8BIT_IN_7BIT_BODY;
            if (strstr(tok, "domain"))
                *opts |= MIME_OPT_REPORT_ENCODING_DOMAIN;
            if (strstr(tok, "nesting"))
                *opts |= MIME_OPT_REPORT_NESTING;
        } else
            bail("bad #mime option %s", tok);
    }
    free(line);
    return (size_t) (end - data) + 1;
}

/* run - feed data in chunks of the given size (0: all at once) */
static void run(const char *data, size_t len, size_t chunk, struct buf *out)
{
    struct mime_limits lim;
    struct mime_state *ms;
    int opts;
    size_t skip = parse_opts(data, len, &lim, &opts), off;

    data += skip;
    len -= skip;
    buf_reset(out);
    ms = mime_state_new(opts, &lim, &cbs, out);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (off = 0; off < len; off += chunk)
        mime_state_write(ms, data + off, len - off < chunk ? len - off : chunk);
    mime_state_close(ms);
    mime_state_free(ms);
}

static int read_file(const char *path, struct buf *b)
{
    FILE *fp = fopen(path, "rb");
    char tmp[8192];
    size_t n;

    buf_reset(b);
    if (fp == NULL)
        return -1;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        buf_add(b, tmp, n);
    fclose(fp);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void golden_cases(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    struct buf in = BUF_INIT, want = BUF_INIT, got = BUF_INIT, path = BUF_INIT;
    int regen = getenv("MIME_REGEN") != NULL;

    if (d == NULL)
        bail("opendir %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l > 3 && strcmp(de->d_name + l - 3, ".in") == 0) {
            names = realloc(names, (n + 1) * sizeof(*names));
            names[n++] = strndup(de->d_name, l - 3);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    ok(n >= 20, "at least 20 golden MIME cases (%zu)", n);
    for (i = 0; i < n; i++) {
        size_t chunks[] = {0, 1, 7};
        size_t c;

        buf_reset(&path);
        buf_printf(&path, "%s/%s.in", dir, names[i]);
        if (read_file(path.data, &in) < 0)
            bail("read %s", path.data);
        buf_reset(&path);
        buf_printf(&path, "%s/%s.out", dir, names[i]);
        if (regen) {
            FILE *fp = fopen(path.data, "w");

            run(in.data, in.len, 0, &got);
            fwrite(got.data, 1, got.len, fp);
            fclose(fp);
        }
        if (read_file(path.data, &want) < 0)
            bail("read %s", path.data);
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            run(in.data, in.len, chunks[c], &got);
            if (!is_string(got.data, want.data, "%s (chunks of %zu)", names[i], chunks[c]))
                break;
        }
        free(names[i]);
    }
    free(names);
    buf_free(&in);
    buf_free(&want);
    buf_free(&got);
    buf_free(&path);
}

/* Count what comes out, keeping nothing. */
struct counts {
    size_t headers, max_header, body, errors;
};

static void cnt_header(void *ctx, int cls, const struct header_info *info, struct buf *t, off_t o)
{
    struct counts *c = ctx;

    (void) cls, (void) info, (void) o;
    c->headers++;
    if (t->len > c->max_header)
        c->max_header = t->len;
}

static void cnt_body(void *ctx, int type, const char *t, size_t len, off_t o)
{
    (void) type, (void) t, (void) len, (void) o;
    ((struct counts *) ctx)->body++;
}

static void cnt_error(void *ctx, int err, const char *t, size_t len)
{
    (void) t, (void) len;
    ((struct counts *) ctx)->errors |= (size_t) err;
}

static void limits(void)
{
    static const struct mime_callbacks ccb = {cnt_header, NULL, cnt_body, NULL, cnt_error};
    struct counts c;
    struct mime_state *ms;
    struct buf b = BUF_INIT;
    size_t i;

    /* One header line of 1 MB: cut off at the limit plus at most one piece. */
    memset(&c, 0, sizeof(c));
    ms = mime_state_new(MIME_OPT_REPORT_TRUNC_HEADER, NULL, &ccb, &c);
    mime_state_write(ms, "Subject: ", 9);
    buf_grow(&b, 1 << 20);
    for (i = 0; i < (1 << 20); i++)
        buf_addch(&b, 'x');
    mime_state_write(ms, b.data, b.len);
    mime_state_write(ms, "\r\n\r\nbody\r\n", 10);
    mime_state_close(ms);
    mime_state_free(ms);
    is_int(c.headers, 1, "1 MB header: one header");
    ok(c.max_header >= MIME_DEF_HEADER_SIZE_LIMIT
           && c.max_header <= MIME_DEF_HEADER_SIZE_LIMIT + MIME_DEF_LINE_LENGTH_LIMIT,
       "1 MB header: cut at header_size_limit (%zu)", c.max_header);
    ok(c.errors & MIME_ERR_TRUNC_HEADER, "1 MB header: reported as truncated");

    /* 10,000 nested multiparts: the stack stops at the nesting limit. */
    memset(&c, 0, sizeof(c));
    ms = mime_state_new(MIME_OPT_REPORT_NESTING, NULL, &ccb, &c);
    buf_reset(&b);
    buf_addstr(&b, "Content-Type: multipart/mixed; boundary=b0-\n\n");
    for (i = 1; i <= 10000; i++)
        buf_printf(&b, "--b%zu-\nContent-Type: multipart/mixed; boundary=\"b%zu-\"\n\n", i - 1, i);
    mime_state_write(ms, b.data, b.len);
    ok(mime_state_depth(ms) <= MIME_DEF_NESTING_LIMIT + 2, "10,000 levels: depth stays bounded (%d)",
       mime_state_depth(ms));
    mime_state_close(ms);
    mime_state_free(ms);
    ok(c.errors & MIME_ERR_NESTING, "10,000 levels: nesting reported");
    /* The primary header and one per stacked level; deeper ones are body text. */
    is_int(c.headers, MIME_DEF_NESTING_LIMIT + 3, "10,000 levels: headers below the limit are body");
    buf_free(&b);
}

static void tokens(void)
{
    struct header_tok tok[3];
    struct buf store = BUF_INIT;
    const char *cp = " multipart/mixed (a (nested) comment); boundary=\"a\\\"b\n c\"; x=y;";
    long n;

    n = header_token(tok, 3, &store, &cp, HEADER_RFC2045_TSPECIALS, ';');
    is_int(n, 3, "type/subtype: three tokens");
    is_string(tok[0].value, "multipart", "token 1");
    is_int(tok[1].type, '/', "token 2 is the slash");
    is_string(tok[2].value, "mixed", "token 3 (the comment is skipped)");
    n = header_token(tok, 3, &store, &cp, HEADER_RFC2045_TSPECIALS, ';');
    is_int(n, 3, "boundary=...: three tokens");
    is_int(tok[2].type, HEADER_TOK_QSTRING, "quoted string");
    is_string(tok[2].value, "a\"b c", "quotes and escapes removed, white space before a fold dropped");
    n = header_token(tok, 3, &store, &cp, HEADER_RFC2045_TSPECIALS, ';');
    is_int(n, 3, "x=y");
    n = header_token(tok, 3, &store, &cp, HEADER_RFC2045_TSPECIALS, ';');
    is_int(n, -1, "nothing after the last ';'");
    is_int(header_label_len("Subject : x", 11), 7, "obsolete 'Subject :' is a header");
    is_int(header_label_len(" Subject: x", 11), 0, "leading space is no header");
    is_int(header_label_len("Sub ject: x", 11), 0, "space inside a label is no header");
    is_int(header_label_len("Subject x", 9), 0, "no colon, no header");
    is_int(header_label_len("X\x7f: x", 5), 0, "control character in a label");
    ok(header_lookup("content-TYPE", 12) != NULL, "names are case-insensitive");
    buf_free(&store);
}

int main(int argc, char **argv)
{
    const char *top = getenv("TOP");
    struct buf dir = BUF_INIT;

    (void) argc;
    if (top == NULL) {
        /* t/bin/100-mime-state.t: the source tree is two levels up. */
        char *slash = strrchr(argv[0], '/');

        buf_set(&dir, argv[0], slash ? (size_t) (slash - argv[0]) : 1);
        buf_addstr(&dir, "/../..");
    } else {
        buf_setstr(&dir, top);
    }
    buf_addstr(&dir, "/t/data/milterd/mime");
    golden_cases(dir.data);
    limits();
    tokens();
    buf_free(&dir);
    return done_testing();
}
