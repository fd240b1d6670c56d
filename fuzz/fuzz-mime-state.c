/*
 * fuzz-mime-state.c - libFuzzer target for libmatch/mime_state.
 *
 * The first two bytes choose the options and how the rest is cut into
 * chunks; the rest is the message.  Small limits (a 40-byte line, a
 * 200-byte header, nesting 5, 20-byte boundaries) put every limit in reach.
 * Checked for every input:
 *   - no header is longer than header_size_limit plus one line piece, no
 *     body record longer than a line piece, header classes and record
 *     types are valid, and the end of input is reported exactly once;
 *   - the callbacks are the same whether the message arrives whole, byte
 *     by byte or in the chosen chunks (a digest of every callback is
 *     compared), since a milter's body chunks fall anywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/mime_state.h"

#define FUZZ_LINE   40
#define FUZZ_HEADER 200

struct fuzz_run {
    uint64_t digest;
    int ends;
    int head_ends;
};

static void fuzz_mix(struct fuzz_run *run, const void *data, size_t len, unsigned tag)
{
    const unsigned char *p = data;
    size_t i;

    run->digest ^= tag;
    run->digest *= 1099511628211ULL;
    for (i = 0; i < len; i++) {
        run->digest ^= p[i];
        run->digest *= 1099511628211ULL;
    }
}

static void fuzz_header(void *ctx, int cls, const struct header_info *info, struct buf *text, off_t off)
{
    struct fuzz_run *run = ctx;

    if (cls < MIME_HDR_PRIMARY || cls > MIME_HDR_NESTED || text->len > FUZZ_HEADER + FUZZ_LINE
        || text->len == 0 || text->data[text->len] != 0)
        abort();
    fuzz_mix(run, text->data, text->len, (unsigned) cls * 16 + (info ? (unsigned) info->type : 0));
    fuzz_mix(run, &off, sizeof(off), 1);
}

static void fuzz_head_end(void *ctx)
{
    struct fuzz_run *run = ctx;

    if (run->head_ends++)
        abort();
    fuzz_mix(run, "E", 1, 2);
}

static void fuzz_body(void *ctx, int type, const char *text, size_t len, off_t off)
{
    struct fuzz_run *run = ctx;

    if ((type != MIME_REC_NORM && type != MIME_REC_CONT) || len > FUZZ_LINE || off < 0)
        abort();
    fuzz_mix(run, text, len, (unsigned) type + 3);
    fuzz_mix(run, &off, sizeof(off), 4);
}

static void fuzz_body_end(void *ctx)
{
    struct fuzz_run *run = ctx;

    run->ends++;
    fuzz_mix(run, "Z", 1, 5);
}

static void fuzz_error(void *ctx, int err, const char *text, size_t len)
{
    (void) text, (void) len;
    fuzz_mix(ctx, &err, sizeof(err), 6);
}

static const struct mime_callbacks fuzz_cb = {
    fuzz_header, fuzz_head_end, fuzz_body, fuzz_body_end, fuzz_error,
};

/* fuzz_run - the digest of one pass over the message in chunks of "chunk" bytes */
static uint64_t fuzz_run(int options, const uint8_t *data, size_t size, size_t chunk)
{
    struct mime_limits limits = {FUZZ_LINE, FUZZ_HEADER, 20, 5};
    struct fuzz_run run = {14695981039346656037ULL, 0, 0};
    struct mime_state *ms = mime_state_new(options, &limits, &fuzz_cb, &run);
    size_t off;

    for (off = 0; off < size; off += chunk)
        mime_state_write(ms, (const char *) data + off, size - off < chunk ? size - off : chunk);
    mime_state_close(ms);
    mime_state_close(ms); /* a second close changes nothing */
    if (mime_state_depth(ms) > limits.mime_nesting_limit + 2)
        abort();
    fuzz_mix(&run, &(int){mime_state_status(ms)}, sizeof(int), 7);
    mime_state_free(ms);
    if (run.ends != 1 || run.head_ends > 1)
        abort();
    return run.digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int options;
    size_t chunk;
    uint64_t whole;

    if (size < 2)
        return 0;
    options = data[0] & (MIME_OPT_DISABLE_MIME | MIME_OPT_REPORT_TRUNC_HEADER | MIME_OPT_REPORT_8BIT_IN_HEADER
                         | MIME_OPT_REPORT_8BIT_IN_7BIT_BODY | MIME_OPT_REPORT_ENCODING_DOMAIN
                         | MIME_OPT_REPORT_NESTING);
    chunk = (size_t) data[1] % 61 + 1;
    data += 2;
    size -= 2;
    whole = fuzz_run(options, data, size, size ? size : 1);
    if (fuzz_run(options, data, size, chunk) != whole || fuzz_run(options, data, size, 1) != whole)
        abort(); /* chunking changed what the machine saw */
    return 0;
}
