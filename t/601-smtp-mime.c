/*
 * 601-smtp-mime.c - the 8-bit to 7-bit conversion (smtp_mime.c) on the
 * messages of t/data/relay/mime/: each NAME.eml, line by line, must come
 * out as NAME.out, which is what Postfix sent for it to a next hop
 * without 8BITMIME (t/606-mime-downgrade.t checks the files against a
 * live Postfix).  Then the same messages fed with nothing but 4-byte
 * reads of their lines, the limits (an endless header, nesting deeper
 * than the limit) and the counts of converted parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "mta-core/smtp_mime.h"
#include "t/lib/tap.h"

static void collect(void *ctx, const char *line, size_t len)
{
    struct buf *out = ctx;

    buf_add(out, line, len);
    buf_addch(out, '\n');
}

static int slurp(const char *path, struct buf *out)
{
    FILE *fp = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (fp == NULL)
        return -1;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_add(out, chunk, n);
    fclose(fp);
    return 0;
}

/* convert - run text (lines ending in \n) through the converter; the parts it converted */
static size_t convert(const char *text, size_t len, struct buf *out)
{
    struct smtp_mime *m = smtp_mime_new(collect, out);
    const char *p = text, *end = text + len;
    size_t n;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t l = nl ? (size_t) (nl - p) : (size_t) (end - p);

        smtp_mime_line(m, p, l);
        p += l + (nl != NULL);
    }
    smtp_mime_end(m);
    n = smtp_mime_converted(m);
    smtp_mime_free(m);
    return n;
}

int main(void)
{
    static const struct {
        const char *name;
        size_t converted;
    } cases[] = {
        {"plain8", 1}, {"multi8", 6}, {"nomime8", 0}, {"digest8", 1}, {"seven", 0},
    };
    struct buf in = BUF_INIT, want = BUF_INIT, got = BUF_INIT, big = BUF_INIT;
    char path[512];
    size_t i, n;
    const char *top = getenv("TOP") ? getenv("TOP") : ".";

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&in);
        buf_reset(&want);
        buf_reset(&got);
        snprintf(path, sizeof(path), "%s/t/data/relay/mime/%s.eml", top, cases[i].name);
        if (slurp(path, &in) < 0)
            bail("cannot read %s", path);
        snprintf(path, sizeof(path), "%s/t/data/relay/mime/%s.out", top, cases[i].name);
        if (slurp(path, &want) < 0)
            bail("cannot read %s", path);
        /* The captures have the empty line the SMTP client put at the end of DATA. */
        buf_addch(&in, '\n');
        n = convert(in.data, in.len, &got);
        is_string(got.data, want.data, "%s: as Postfix converts it", cases[i].name);
        is_int(n, cases[i].converted, "%s: parts converted", cases[i].name);
    }

    /* A header that never ends is passed through, not interpreted. */
    buf_reset(&big);
    buf_reset(&got);
    buf_addstr(&big, "Content-Transfer-Encoding: 8bit\nX-Long: x\n");
    for (i = 0; i < SMTP_MIME_HEADER_MAX / 10 + 10; i++)
        buf_addstr(&big, " continued\n");
    buf_addstr(&big, "\nbody \xc3\xa9\n");
    convert(big.data, big.len, &got);
    ok(got.len > big.len - 100 && strstr(got.data, "X-Long: x\n continued\n") != NULL,
       "an over-long header goes out as it came");
    ok(strstr(got.data, "body =C3=A9") != NULL, "and the body after it is still converted");

    /* Nesting deeper than the limit: the deep parts are not followed. */
    buf_reset(&big);
    buf_reset(&got);
    buf_addstr(&big, "Content-Type: multipart/mixed; boundary=b0\n\n");
    for (i = 1; i <= SMTP_MIME_DEPTH_MAX + 5; i++)
        buf_printf(&big, "--b%zu\nContent-Type: multipart/mixed; boundary=b%zu\n\n", i - 1, i);
    buf_addstr(&big, "--deep\n");
    convert(big.data, big.len, &got);
    is_string(got.data, big.data, "101 nested multiparts without 8-bit parts come out unchanged");

    buf_free(&in);
    buf_free(&want);
    buf_free(&got);
    buf_free(&big);
    return done_testing();
}
