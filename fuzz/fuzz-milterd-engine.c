/*
 * fuzz-milterd-engine.c - libFuzzer target for milterd's policy engine.
 *
 * The input is a message.  It is taken apart as an MTA hands it to a milter
 * (as "milterd -t" does) and run through the engine twice under a fixed
 * policy whose tables fire often (header and MIME header edits, body line
 * edits, BCC, HOLD): once with the body in one chunk, once in chunks of a
 * size the first byte chooses.  Both runs must give the same verdict, the
 * same edits and the same rewritten body, since a milter's body chunks
 * fall anywhere; every edit must be well formed.  The spool is kept small
 * (512 bytes) so that rewritten bodies go through a temporary file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "libmatch/mime_state.h"
#include "libmatch/msg.h"
#include "milterd/engine.h"
#include "milterd/policy.h"

static struct policy *fuzz_policy;

static const char fuzz_header_checks[] =
    "/^Subject: (.{0,20})/ REPLACE Subject: [fuzz] $1\n"
    "/^X-Drop/ IGNORE\n"
    "/^X-Mark: (.*)/ PREPEND X-Marked: $1\n"
    "/^X-Rename: (.*)/ REPLACE X-Renamed: $1\n"
    "/^X-Hold/ HOLD fuzz hold\n"
    "/^X-Bcc/ BCC copy@example.com\n"
    "/^X-Reject/ REJECT fuzz reject\n"
    "/^X-Redirect/ REDIRECT other@example.com\n"
    "/^X-Pass/ PASS\n";
static const char fuzz_mime_checks[] =
    "/^Content-Description/ IGNORE\n"
    "/^Content-Type: application\\/(.*)/ REPLACE Content-Type: application/x-$1\n"
    "/^X-Part/ PREPEND X-Part-Seen: yes\n";
static const char fuzz_body_checks[] =
    "/^drop/ IGNORE\n"
    "/^secret(.*)/ REPLACE [removed]$1\n"
    "/^mark/ PREPEND [marked]\n"
    "/^evil/ DISCARD\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct buf err = BUF_INIT;

    (void) argc, (void) argv;
    msg_open("fuzz-milterd-engine", 0, 0); /* no logging */
    fuzz_policy = mem_zalloc(sizeof(*fuzz_policy));
    fuzz_policy->refs = 1; /* never released */
    fuzz_policy->tables[POLICY_HEADER] = table_open_text("pcre", "hc", fuzz_header_checks,
                                                         strlen(fuzz_header_checks), 0, &err);
    fuzz_policy->tables[POLICY_MIME] = table_open_text("pcre", "mhc", fuzz_mime_checks,
                                                       strlen(fuzz_mime_checks), 0, &err);
    fuzz_policy->tables[POLICY_NESTED] = fuzz_policy->tables[POLICY_HEADER];
    fuzz_policy->tables[POLICY_BODY] = table_open_text("pcre", "bc", fuzz_body_checks,
                                                       strlen(fuzz_body_checks), 0, &err);
    if (!fuzz_policy->tables[POLICY_HEADER] || !fuzz_policy->tables[POLICY_MIME]
        || !fuzz_policy->tables[POLICY_BODY])
        abort();
    fuzz_policy->limits.line_length_limit = 64;
    fuzz_policy->limits.header_size_limit = 300;
    fuzz_policy->limits.mime_boundary_length_limit = 30;
    fuzz_policy->limits.mime_nesting_limit = 6;
    fuzz_policy->mime_options = MIME_OPT_REPORT_NESTING;
    fuzz_policy->body_checks_size_limit = 2000;
    fuzz_policy->header_insert_offset = 1;
    fuzz_policy->temp_directory = mem_strdup("/tmp");
    fuzz_policy->spool_memory_limit = 512;
    buf_free(&err);
    return 0;
}

/* The MTA side: headers whole, then the body as chunks of "chunk" bytes. */
struct fuzz_mta {
    struct engine *engine;
    int first_body;
    size_t chunk;
    struct buf body; /* the body gathered, handed over in chunks at the end */
};

static void fuzz_mta_header(void *ctx, int cls, const struct header_info *info, struct buf *text, off_t off)
{
    struct fuzz_mta *mta = ctx;
    size_t label = header_label_len(text->data, text->len);
    struct buf name = BUF_INIT;

    (void) cls, (void) info, (void) off;
    buf_set(&name, text->data, label);
    engine_header(mta->engine, name.data, text->data + label + 1);
    buf_free(&name);
}

static void fuzz_mta_head_end(void *ctx)
{
    engine_eoh(((struct fuzz_mta *) ctx)->engine);
}

static void fuzz_mta_body(void *ctx, int type, const char *text, size_t len, off_t off)
{
    struct fuzz_mta *mta = ctx;

    (void) off;
    if (mta->first_body) {
        mta->first_body = 0;
        return;
    }
    buf_add(&mta->body, text, len);
    if (type == MIME_REC_NORM)
        buf_add(&mta->body, "\r\n", 2);
}

static const struct mime_callbacks fuzz_mta_cb = {fuzz_mta_header, fuzz_mta_head_end, fuzz_mta_body, NULL, NULL};

/* fuzz_result - everything the MTA would get, as one string */
static void fuzz_result(const struct engine_result *r, struct buf *out)
{
    size_t i;
    char chunk[4096];
    ssize_t n;
    struct buf err = BUF_INIT;

    buf_printf(out, "%s %s %s %s|%s\n", engine_verdict_name(r->verdict), r->reply.code, r->reply.dsn,
               r->reply.text.data, r->hold_reason.data);
    for (i = 0; i < r->nedits; i++) {
        const struct engine_edit *e = &r->edits[i];

        if (e->name == NULL || (e->type == ENGINE_CHGHEADER && e->index < 1))
            abort();
        if ((e->type == ENGINE_INSHEADER || e->type == ENGINE_CHGHEADER)
            && (e->name[0] == 0 || header_label_len(e->name, strlen(e->name)) != 0))
            abort(); /* a header name is a label without the colon */
        buf_printf(out, "%d %zu %s:%s\n", (int) e->type, e->index, e->name, e->value ? e->value : "(null)");
    }
    if (r->body) {
        if (spool_rewind(r->body, &err) < 0)
            abort();
        buf_addstr(out, "body:\n");
        while ((n = spool_read(r->body, chunk, sizeof(chunk), &err)) > 0)
            buf_add(out, chunk, (size_t) n);
        if (n < 0)
            abort();
    }
    buf_free(&err);
}

static void fuzz_once(const uint8_t *data, size_t size, size_t chunk, struct buf *out)
{
    struct fuzz_mta mta = {NULL, 1, chunk, BUF_INIT};
    struct mime_state *ms;
    size_t off;

    mta.engine = engine_new(fuzz_policy, "fuzz[127.0.0.1]");
    engine_add_rcpt(mta.engine, "<rcpt@example.com>");
    ms = mime_state_new(MIME_OPT_DISABLE_MIME, &fuzz_policy->limits, &fuzz_mta_cb, &mta);
    mime_state_write(ms, (const char *) data, size);
    mime_state_close(ms);
    mime_state_free(ms);
    for (off = 0; off < mta.body.len; off += chunk)
        engine_body(mta.engine, mta.body.data + off, mta.body.len - off < chunk ? mta.body.len - off : chunk);
    engine_eom(mta.engine);
    fuzz_result(engine_result(mta.engine), out);
    engine_free(mta.engine);
    buf_free(&mta.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf whole = BUF_INIT, chunked = BUF_INIT;
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = (size_t) data[0] % 37 + 1;
    data++;
    size--;
    fuzz_once(data, size, size ? size : 1, &whole);
    fuzz_once(data, size, chunk, &chunked);
    if (whole.len != chunked.len || memcmp(whole.data, chunked.data, whole.len) != 0)
        abort(); /* the body's chunking changed the outcome */
    buf_free(&whole);
    buf_free(&chunked);
    return 0;
}
