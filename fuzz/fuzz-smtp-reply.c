/*
 * fuzz-smtp-reply.c - libFuzzer target for what the SMTP client reads from
 * the network and from messages: server replies and EHLO keywords
 * (smtp_reply.c), the 8-bit to 7-bit MIME conversion (smtp_mime.c) and
 * header address scanning (masq_addr.c).
 *
 * Input layout: byte 0 chooses (mod 3) replies, MIME or headers; the rest
 * is lines separated by '\n'.  Besides "no crash, no leak, no undefined
 * behaviour" it checks what must hold for any input: a complete 2xx, 4xx
 * or 5xx reply has an enhanced status code whose class matches the code
 * (any other code: 5.5.0); the flattened text
 * has no newline; a header rewritten with nothing to rewrite is unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/msg.h"
#include "mta-core/masq_addr.h"
#include "mta-core/smtp_mime.h"
#include "mta-core/smtp_reply.h"

#define FUZZ_MAX_LEN 65536

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc, (void) argv;
    msg_open("fuzz-smtp-reply", 0, 0);
    return 0;
}

static void sink(void *ctx, const char *line, size_t len)
{
    size_t *total = ctx;

    (void) line;
    *total += len + 1;
}

static void fuzz_replies(const char *p, size_t len)
{
    struct smtp_reply r;
    struct smtp_ehlo e;
    struct buf err = BUF_INIT, flat = BUF_INIT;
    const char *end = p + len;

    smtp_reply_init(&r);
    smtp_ehlo_init(&e);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t l = nl ? (size_t) (nl - p) : (size_t) (end - p);
        int rc;

        buf_reset(&err);
        rc = smtp_reply_line(&r, p, l, &err);
        if (rc < 0) {
            if (err.len == 0)
                abort();
            smtp_reply_reset(&r);
        } else if (rc == 1) {
            if (r.code < 0 || r.code > 999 || strchr(r.dsn, '.') == NULL)
                abort();
            /* A 2xx, 4xx or 5xx reply has a status code of its class (others: 5.5.0, a protocol error). */
            if ((r.code / 100 == 2 || r.code / 100 == 4 || r.code / 100 == 5) ? r.dsn[0] - '0' != r.code / 100
                                                                                : strcmp(r.dsn, "5.5.0") != 0)
                abort();
            buf_reset(&flat);
            smtp_reply_flat(&r, &flat);
            if (memchr(flat.data, '\n', flat.len))
                abort();
            (void) smtp_reply_message(&r);
            smtp_ehlo_parse(&r, &e);
        }
        p += l + (nl != NULL);
    }
    smtp_reply_free(&r);
    smtp_ehlo_free(&e);
    buf_free(&err);
    buf_free(&flat);
}

static void fuzz_mime(const char *p, size_t len)
{
    size_t total = 0;
    struct smtp_mime *m = smtp_mime_new(sink, &total);
    const char *end = p + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        size_t l = nl ? (size_t) (nl - p) : (size_t) (end - p);

        smtp_mime_line(m, p, l);
        p += l + (nl != NULL);
    }
    smtp_mime_end(m);
    smtp_mime_free(m);
}

static void add(void *ctx, const char *addr)
{
    size_t *n = ctx;

    if (*addr == 0)
        abort();
    (*n)++;
}

static void fuzz_headers(const char *p, size_t len)
{
    static char *domains[] = {(char *) "!keep.example", (char *) "example.com"};
    static char *exceptions[] = {(char *) "root"};
    struct masq mq, none;
    struct buf out = BUF_INIT, h = BUF_INIT;
    size_t n = 0;

    memset(&mq, 0, sizeof(mq));
    mq.domains = domains;
    mq.ndomains = 2;
    mq.exceptions = exceptions;
    mq.nexceptions = 1;
    mq.classes = MASQ_ENV_SENDER | MASQ_HDR_SENDER | MASQ_HDR_RCPT;
    mq.myorigin = (char *) "origin.example";
    buf_addstr(&h, "To: ");
    buf_add(&h, p, len);
    masq_header(&mq, 1, h.data, h.len, &out);
    masq_extract(h.data, h.len, add, &n);
    memset(&none, 0, sizeof(none));
    /* Nothing to do: the header comes back as it went in. */
    if (masq_header(&none, 0, h.data, h.len, &out) != 0 || out.len != h.len || memcmp(out.data, h.data, h.len))
        abort();
    buf_free(&out);
    buf_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_LEN)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_replies((const char *) data + 1, size - 1);
        break;
    case 1:
        fuzz_mime((const char *) data + 1, size - 1);
        break;
    default:
        fuzz_headers((const char *) data + 1, size - 1);
        break;
    }
    return 0;
}
