/*
 * 501-milter-msg.c - the message as milters see it and edit it (mta-core's
 * struct smtpd_msg): our own Received: hidden, values without the first
 * space unless HDR_LEADSPC, body chunks of at most 64 KB with CRLF line
 * ends; and every edit with Postfix's index semantics: INSHEADER counts
 * every header, ours included (0 = top); CHGHEADER counts the headers of
 * that name the milters saw, 0 means 1, an empty value deletes, a missing
 * header is appended; our header is tracked as inserts move it; recipients,
 * sender; replacement bodies (CRLF made LF across chunks, a size limit).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "mta-core/milter_msg.h"
#include "mta-core/milter_proto.h"
#include "mta-core/smtpd_msg.h"
#include "t/lib/tap.h"

static char dir[] = "/tmp/mailsift-501.XXXXXX";

static int to_buf(void *ctx, const char *data, size_t len, struct buf *err)
{
    (void) err;
    buf_add(ctx, data, len);
    return 0;
}

/* render - the message as the queue would get it */
static const char *render(const struct smtpd_msg *m)
{
    static struct buf out = BUF_INIT;
    struct buf err = BUF_INIT;

    buf_reset(&out);
    if (smtpd_msg_write(m, to_buf, &out, &err) < 0)
        bail("write failed: %s", err.data);
    buf_free(&err);
    return out.data;
}

/* message - Received (ours), From, Subject, X-Tag twice, a folded Comments */
static struct smtpd_msg *message(struct milter_msg_view *v, const char *body)
{
    struct smtpd_msg *m = smtpd_msg_new(dir);
    struct buf err = BUF_INIT;

    smtpd_msg_add_header(m, "Received", " from client by mx; Sat, 1 Jan 2022 00:00:00 +0000");
    smtpd_msg_add_header(m, "From", " a@example.org");
    smtpd_msg_add_header(m, "Subject", " first");
    smtpd_msg_add_header(m, "X-Tag", " one");
    smtpd_msg_add_header(m, "x-tag", " two");
    smtpd_msg_add_header(m, "Comments", " folded\n\tsecond line");
    if (smtpd_msg_body_append(m, body, strlen(body), &err) < 0)
        bail("body: %s", err.data);
    buf_free(&err);
    memset(v, 0, sizeof(*v));
    v->msg = m;
    v->nours = 1;
    return m;
}

static void edit(struct milter_msg_edits *e, int cmd, uint32_t index, const char *s1, const char *s2)
{
    milter_msg_edits_add(e, cmd, index, s1, strlen(s1), s2, s2 ? strlen(s2) : 0);
}

#define HEAD_AFTER_RECEIVED "From: a@example.org\nSubject: first\n"

static void test_view(void)
{
    struct milter_msg_view v;
    struct smtpd_msg *m = message(&v, "body\n");
    struct buf val = BUF_INIT;

    ok(milter_msg_is_ours(&v, 0) && !milter_msg_is_ours(&v, 1), "the first header is ours");
    milter_msg_header_value(&m->headers[2], 0, &val);
    is_string(val.data, "first", "a milter sees the value without the first space");
    milter_msg_header_value(&m->headers[2], 1, &val);
    is_string(val.data, " first", "with HDR_LEADSPC it sees the space");
    milter_msg_header_value(&m->headers[5], 0, &val);
    is_string(val.data, "folded\n\tsecond line", "folded lines joined by \\n");
    smtpd_msg_free(m);
    buf_free(&val);
}

static void test_chunks(void)
{
    struct milter_msg_view v;
    struct smtpd_msg *m;
    struct milter_msg_body_reader rd;
    struct buf text = BUF_INIT, chunk = BUF_INIT, all = BUF_INIT, err = BUF_INIT;
    int i, n = 0, big = 0, bad = 0;

    for (i = 0; i < 40000; i++)
        buf_printf(&text, "line %05d\n", i); /* 11 bytes, 12 with CRLF */
    m = message(&v, text.data);
    memset(&rd, 0, sizeof(rd));
    while (milter_msg_body_chunk(&v, &rd, &chunk, &err) > 0) {
        n++;
        if (chunk.len > MILTER_CHUNK_MAX)
            big++;
        buf_add(&all, chunk.data, chunk.len);
    }
    is_int(big, 0, "no chunk over 65535 bytes");
    ok(n >= 8, "a 440 KB body (spooled to a file) comes in %d chunks", n);
    is_int(all.len, 40000 * 12, "every LF became CRLF");
    for (i = 1; i < (int) all.len; i++)
        if (all.data[i] == '\n' && all.data[i - 1] != '\r')
            bad++;
    is_int(bad, 0, "no bare LF");
    ok(memcmp(all.data, "line 00000\r\nline 00001\r\n", 24) == 0, "content in order");
    ok(memcmp(all.data + all.len - 12, "line 39999\r\n", 12) == 0, "to the end");
    smtpd_msg_free(m);
    buf_free(&text);
    buf_free(&chunk);
    buf_free(&all);
    buf_free(&err);
}

static void test_header_edits(void)
{
    struct milter_msg_view v;
    struct milter_msg_edits e;
    struct smtpd_msg *m;

    milter_msg_edits_init(&e);
    m = message(&v, "body\n");
    edit(&e, SMFIR_INSHEADER, 0, "X-Top", "zero");
    edit(&e, SMFIR_INSHEADER, 1, "X-One", "one");
    edit(&e, SMFIR_INSHEADER, 99, "X-End", "end");
    ok(milter_msg_edits_apply(&v, &e, 0, "T", "test") == 0, "inserts applied");
    ok(strncmp(render(m), "X-Top: zero\nX-One: one\nReceived:", 32) == 0,
       "INSHEADER 0 goes above our Received:, 1 after what is now the first header");
    ok(strstr(render(m), "X-End: end\n\nbody\n") != NULL, "INSHEADER past the end appends");
    is_int(v.ours_first, 2, "our Received: is tracked as it moves down");

    edit(&e, SMFIR_CHGHEADER, 1, "Received", "replaced");
    edit(&e, SMFIR_CHGHEADER, 0, "X-TAG", "ONE");
    edit(&e, SMFIR_CHGHEADER, 2, "X-Tag", "TWO");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    is_string(render(m),
              "X-Top: zero\nX-One: one\n"
              "Received: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n" HEAD_AFTER_RECEIVED
              "X-TAG: ONE\nX-Tag: TWO\nComments: folded\n\tsecond line\nX-End: end\n"
              "Received: replaced\n\nbody\n",
              "our Received: is not a milter's first Received (that one is appended); "
              "CHGHEADER 0 is the first, names match without case");

    edit(&e, SMFIR_CHGHEADER, 1, "X-Tag", "");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Tag", "");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Missing", "");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Top", "");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    is_string(render(m),
              "X-One: one\nReceived: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n"
              HEAD_AFTER_RECEIVED "Comments: folded\n\tsecond line\nX-End: end\n"
              "Received: replaced\n\nbody\n",
              "an empty value deletes, twice deletes both, a missing one is no change");
    is_int(v.ours_first, 1, "deleting a header above ours moves it up");
    edit(&e, SMFIR_CHGHEADER, 1, "Received", "");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    ok(strstr(render(m), "Received: replaced") == NULL
           && strstr(render(m), "Received: from client") != NULL,
       "deleting Received[1] deletes the milter's first, not ours");
    smtpd_msg_free(m);

    m = message(&v, "body\n");
    edit(&e, SMFIR_ADDHEADER, 0, "X-Multi", "a\r\n\tb");
    edit(&e, SMFIR_ADDHEADER, 0, "X-Lead", " kept");
    milter_msg_edits_apply(&v, &e, 1, "T", "test");
    ok(strstr(render(m), "X-Multi:a\n\tb\nX-Lead: kept\n\nbody\n") != NULL,
       "with HDR_LEADSPC values are taken as sent; CRLF folds become LF");
    edit(&e, SMFIR_ADDHEADER, 0, "X-Space", "value");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    ok(strstr(render(m), "X-Space: value\n") != NULL, "without it, one space is put back");
    smtpd_msg_free(m);
    milter_msg_edits_clear(&e);
}

static void test_envelope_edits(void)
{
    struct milter_msg_view v;
    struct milter_msg_edits e;
    struct smtpd_msg *m = message(&v, "body\n");

    milter_msg_edits_init(&e);
    smtpd_msg_set_sender(m, "a@example.org", "SIZE=10");
    smtpd_msg_add_rcpt(m, "b@example.org", "");
    smtpd_msg_add_rcpt(m, "c@example.org", "NOTIFY=NEVER");
    smtpd_msg_add_rcpt(m, "d@example.org", "");
    edit(&e, SMFIR_ADDRCPT, 0, "<new@example.org>", NULL);
    edit(&e, SMFIR_ADDRCPT, 0, "B@example.org", NULL);
    edit(&e, SMFIR_ADDRCPT_PAR, 0, "<par@example.org>", "NOTIFY=SUCCESS");
    edit(&e, SMFIR_DELRCPT, 0, "<c@example.org>", NULL);
    edit(&e, SMFIR_DELRCPT, 0, "<nobody@example.org>", NULL);
    edit(&e, SMFIR_CHGFROM, 0, "<bounce@example.org>", "RET=HDRS");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    is_int(m->nrcpt, 4, "4 recipients: one deleted, two added, a duplicate ignored");
    is_string(m->rcpts[0].addr, "b@example.org", "order kept");
    is_string(m->rcpts[1].addr, "d@example.org", "the deleted one gone");
    is_string(m->rcpts[2].addr, "new@example.org", "added, without <>");
    is_string(m->rcpts[3].addr, "par@example.org", "added with parameters");
    is_string(m->rcpts[3].args, "NOTIFY=SUCCESS", "its parameters");
    is_string(m->sender, "bounce@example.org", "sender changed");
    is_string(m->sender_args, "RET=HDRS", "with its parameters");
    smtpd_msg_free(m);
    milter_msg_edits_clear(&e);
}

static void test_body_edits(void)
{
    struct milter_msg_view v;
    struct milter_msg_edits e;
    struct smtpd_msg *m = message(&v, "old body\n");
    struct buf big = BUF_INIT;
    int i;

    milter_msg_edits_init(&e);
    ok(milter_msg_edits_body(&e, &v, "new\r", 4) == 0, "a chunk ending in CR");
    ok(milter_msg_edits_body(&e, &v, "\nbody\r\n", 7) == 0, "the next one starting with LF");
    ok(milter_msg_edits_body(&e, &v, "bare\rCR\r\n", 9) == 0, "a bare CR");
    is_string(render(m), "Received: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n"
              HEAD_AFTER_RECEIVED "X-Tag: one\nx-tag: two\nComments: folded\n\tsecond line\n"
              "\nold body\n", "nothing changes before the final reply");
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    ok(strstr(render(m), "\n\nnew\nbody\nbare\rCR\n") != NULL,
       "then the body is replaced, LF line ends, CRLF split across chunks joined");

    for (i = 0; i < 30000; i++)
        buf_addstr(&big, "0123456789\r\n");
    milter_msg_edits_body(&e, &v, big.data, big.len);
    milter_msg_edits_apply(&v, &e, 0, "T", "test");
    is_int(m->body_len, 30000 * 11, "a 360 KB replacement, spooled");

    v.body_limit = 10;
    ok(milter_msg_edits_body(&e, &v, "0123456789abc", 13) < 0, "a replacement over the limit");
    is_string(e.error, "552 5.3.4 Message file too big", "gives 552");
    ok(milter_msg_edits_body(&e, &v, "x", 1) < 0, "and further chunks are refused");
    milter_msg_edits_clear(&e);
    is_int(m->body_len, 30000 * 11, "the message keeps its body");
    smtpd_msg_free(m);
    buf_free(&big);
}

int main(void)
{
    char cmd[128];

    if (mkdtemp(dir) == NULL)
        bail("mkdtemp failed");
    test_view();
    test_chunks();
    test_header_edits();
    test_envelope_edits();
    test_body_edits();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
