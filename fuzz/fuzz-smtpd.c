/*
 * fuzz-smtpd.c - libFuzzer target: what an SMTP client sends mta-core,
 * through the parsers that see it first.
 *
 * Input layout (the seeds in fuzz/corpus/smtpd/ stay readable):
 *   byte 0       'C': command lines, 'D': DATA content, 'B': BDAT content;
 *                anything else: content too, as DATA
 *   byte 1       the piece size for content (1..255; 0 means all at once)
 *   the rest     the bytes
 *
 * Commands: each line (split at '\n', a '\r' before it dropped) goes
 * through the verb, path, parameter, number, HELO and UTF-8 parsers.
 * Promises checked: an accepted path is at most SMTPD_PATH_MAX bytes, has
 * no control character, no space outside quotes and no angle bracket
 * outside quotes, and parses again to itself in brackets.
 *
 * Content: the parser is fed the bytes in pieces, as the session would;
 * then once more all at once.  Promises: never more taken than given;
 * the end comes at most once; header names are non-empty printable ASCII
 * without a colon, values have a newline only before white space; the
 * transcript (headers, end of headers, body, end, flags) is the same
 * whatever the pieces.  A broken promise aborts and libFuzzer keeps the
 * input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "mta-core/smtpd_content.h"
#include "mta-core/smtpd_parse.h"

#define FUZZ_MAX_LEN 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-smtpd", 0, 0);
    return 0;
}

/* check_path - the promises about an accepted address */
static void check_path(const struct smtpd_path *p, const char *kw)
{
    struct smtpd_path again;
    struct buf arg = BUF_INIT;
    int quoted = 0;
    size_t i;

    if (p->addr.len > SMTPD_PATH_MAX)
        abort();
    for (i = 0; i < p->addr.len; i++) {
        unsigned char c = (unsigned char) p->addr.data[i];

        if (c < ' ' || c == 0x7f)
            abort();
        if (c == '"' && (i == 0 || p->addr.data[i - 1] != '\\'))
            quoted = !quoted;
        if (!quoted && (c == ' ' || c == '<' || c == '>'))
            abort();
    }
    buf_printf(&arg, " %s<%s>", kw, p->addr.data);
    smtpd_path_init(&again);
    if (smtpd_parse_path(arg.data, kw, &again) != SMTPD_PARSE_OK || strcmp(again.addr.data, p->addr.data) != 0)
        abort();
    smtpd_path_free(&again);
    buf_free(&arg);
}

static void fuzz_line(const char *line, size_t len)
{
    struct smtpd_path p;
    unsigned long long n;
    const char *v;
    size_t i;

    smtpd_utf8_valid(line, len);
    if (memchr(line, 0, len))
        return;
    smtpd_parse_verb(line, len);
    smtpd_parse_helo(line);
    smtpd_parse_number(line, (unsigned long long) -1 / 2, &n);
    smtpd_path_init(&p);
    if (smtpd_parse_path(line, "FROM:", &p) == SMTPD_PARSE_OK) {
        check_path(&p, "FROM:");
        for (i = 0; i < p.nparam; i++)
            smtpd_parse_param(p.params[i], "SIZE", &v);
    }
    smtpd_path_free(&p);
    if (smtpd_parse_path(line, "TO:", &p) == SMTPD_PARSE_OK)
        check_path(&p, "TO:");
    smtpd_path_free(&p);
}

/* transcript - run the content parser over data in pieces of piece bytes (0: all at once) */
static void transcript(enum smtpd_content_mode mode, const uint8_t *data, size_t size, size_t piece,
                       struct buf *out)
{
    struct smtpd_content c;
    enum smtpd_content_event ev = SMTPD_CONTENT_NONE;
    size_t off = 0, ends = 0;

    smtpd_content_init(&c, mode, 200);
    for (;;) {
        size_t n = size - off, took = 0, i;

        if (piece && n > piece)
            n = piece;
        if (n == 0 && ev == SMTPD_CONTENT_NONE) {
            if (mode == SMTPD_CONTENT_DATA)
                break;
            ev = smtpd_content_finish(&c);
        } else {
            took = smtpd_content_feed(&c, (const char *) data + off, n, &ev);
            if (took > n)
                abort();
        }
        off += took;
        switch (ev) {
        case SMTPD_CONTENT_HEADER:
            if (c.name.len == 0 || memchr(c.name.data, ':', c.name.len))
                abort();
            for (i = 0; i < c.name.len; i++)
                if ((unsigned char) c.name.data[i] <= ' ' || (unsigned char) c.name.data[i] >= 0x7f)
                    abort();
            for (i = 0; i < c.value.len; i++)
                if (c.value.data[i] == '\n'
                    && (i + 1 >= c.value.len || (c.value.data[i + 1] != ' ' && c.value.data[i + 1] != '\t')))
                    abort();
            buf_printf(out, "H%zu:", c.name.len);
            buf_add(out, c.name.data, c.name.len);
            buf_printf(out, "%zu:", c.value.len);
            buf_add(out, c.value.data, c.value.len);
            break;
        case SMTPD_CONTENT_EOH:
            buf_addstr(out, "E");
            break;
        case SMTPD_CONTENT_BODY:
            buf_add(out, c.body.data, c.body.len); /* chunks joined: their sizes may differ */
            break;
        case SMTPD_CONTENT_END:
            ends++;
            break;
        case SMTPD_CONTENT_NONE:
            break;
        }
        if (ev == SMTPD_CONTENT_END)
            break;
    }
    if (ends > 1)
        abort();
    /* Truncation before the fault of a bad message depends on the pieces: keep it out of the tail. */
    buf_printf(out, "T%d|end=%zu bad=%d size=%llu taken=%zu", c.truncated, ends, c.bad, c.size, off);
    smtpd_content_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    enum smtpd_content_mode mode;
    size_t piece;

    if (size < 2 || size > FUZZ_MAX_LEN)
        return 0;
    if (data[0] == 'C') {
        const char *p = (const char *) data + 2, *end = (const char *) data + size;
        struct buf line = BUF_INIT;

        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t) (end - p));
            size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

            buf_set(&line, p, len && p[len - 1] == '\r' ? len - 1 : len);
            fuzz_line(line.data, line.len);
            p += len + (nl != NULL);
        }
        buf_free(&line);
        return 0;
    }
    mode = data[0] == 'B' ? SMTPD_CONTENT_BDAT : SMTPD_CONTENT_DATA;
    piece = data[1];
    transcript(mode, data + 2, size - 2, piece, &a);
    transcript(mode, data + 2, size - 2, 0, &b);
    /* A bad message's events before the fault was seen depend on the pieces; its end does not. */
    {
        /* The content may hold NUL bytes: search with lengths. */
        const char *ta = memrchr(a.data, '|', a.len), *tb = memrchr(b.data, '|', b.len);
        size_t la = a.len - (size_t) (ta - a.data), lb = b.len - (size_t) (tb - b.data);

        if (la != lb || memcmp(ta, tb, la) != 0)
            abort();
        if (memmem(ta, la, "bad=0", 5) && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0))
            abort();
    }
    buf_free(&a);
    buf_free(&b);
    return 0;
}
