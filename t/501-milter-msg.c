/*
 * 501-milter-msg.c - the message milters see and edit: loading (LF and
 * CRLF, folded headers, a header section without an empty line, a body
 * that starts with a non-header line), output byte for byte when nothing
 * changed, body chunks of at most 64 KB with CRLF line ends, and every
 * edit with Postfix's index semantics: INSHEADER counts every header, our
 * own Received: included; CHGHEADER counts the headers of that name the
 * milters saw, 0 means 1, an empty value deletes, a missing header is
 * appended; HDR_LEADSPC; recipients; sender; replacement bodies.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "mta-core/milter_msg.h"
#include "mta-core/milter_proto.h"
#include "t/lib/tap.h"

static char dir[] = "/tmp/mailsift-501.XXXXXX";
static int nfile;

/* message_fd - a file with text in it, open for reading */
static int message_fd(const char *text, size_t len)
{
    char path[128];
    int fd;

    snprintf(path, sizeof(path), "%s/m%d", dir, nfile++);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t) len)
        bail("cannot write %s", path);
    return fd;
}

static int to_buf(void *ctx, const char *data, size_t len)
{
    buf_add(ctx, data, len);
    return 0;
}

/* render - the message text as milter_msg_write gives it */
static const char *render(const struct milter_msg *m)
{
    static struct buf out = BUF_INIT;
    struct buf err = BUF_INIT;

    buf_reset(&out);
    if (milter_msg_write(m, to_buf, &out, &err) < 0)
        bail("write failed: %s", err.data);
    buf_free(&err);
    return out.data;
}

static void load(struct milter_msg *m, const char *text)
{
    struct buf err = BUF_INIT;

    milter_msg_init(m);
    if (milter_msg_load(m, message_fd(text, strlen(text)), 0, -1, &err) < 0)
        bail("load failed: %s", err.data);
    m->tmpdir = strdup(dir);
    buf_free(&err);
}

static void unload(struct milter_msg *m)
{
    close(m->body_fd >= 0 && !m->body_ours ? m->body_fd : -1);
    milter_msg_free(m);
}

static void edit(struct milter_msg_edits *e, int cmd, uint32_t index, const char *s1, const char *s2)
{
    milter_msg_edits_add(e, cmd, index, s1, strlen(s1), s2, s2 ? strlen(s2) : 0);
}

static const char base_msg[] =
    "Received: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n"
    "From: a@example.org\n"
    "Subject: first\n"
    "X-Tag: one\n"
    "x-tag: two\n"
    "Comments: folded\n"
    "\tsecond line\n"
    "\n"
    "body\n";

static void test_load(void)
{
    struct milter_msg m;
    struct buf v = BUF_INIT;

    load(&m, base_msg);
    is_int(m.nhdr, 6, "six headers");
    is_string(m.hdr[5].name, "Comments", "folded header name");
    is_string(m.hdr[5].value.data, " folded\n\tsecond line", "folded value joined by \\n");
    ok(m.blank_line && !m.crlf, "empty line seen, LF line ends");
    is_string(render(&m), base_msg, "written back byte for byte");
    milter_msg_header_value(&m.hdr[2], 0, &v);
    is_string(v.data, "first", "a milter sees the value without the first space");
    milter_msg_header_value(&m.hdr[2], 1, &v);
    is_string(v.data, " first", "with HDR_LEADSPC it sees the space");
    unload(&m);

    load(&m, "Subject: crlf\r\nX-A:  two spaces\r\n continued\r\n\r\nline1\r\nline2\r\n");
    ok(m.crlf, "CRLF detected");
    is_string(m.hdr[1].value.data, "  two spaces\n continued", "CRLF folds become \\n");
    is_string(render(&m), "Subject: crlf\r\nX-A:  two spaces\r\n continued\r\n\r\nline1\r\nline2\r\n",
              "CRLF message written back byte for byte");
    milter_msg_header_value(&m.hdr[1], 0, &v);
    is_string(v.data, " two spaces\n continued", "only one space is eaten");
    unload(&m);

    load(&m, "Subject: x\nthis is not a header\nmore\n");
    is_int(m.nhdr, 1, "a non-header line ends the headers");
    ok(!m.blank_line, "no empty line");
    is_int(m.body_len, 26, "the body starts at that line");
    is_string(render(&m), "Subject: x\nthis is not a header\nmore\n", "written back unchanged");
    unload(&m);

    load(&m, "Subject : spaced\nFrom mbox line\n");
    is_int(m.nhdr, 1, "a name with blanks before the colon is a header");
    milter_msg_header_label(&m.hdr[0], &v);
    is_string(v.data, "Subject", "its label has no blanks");
    is_string(render(&m), "Subject : spaced\nFrom mbox line\n", "written back unchanged");
    unload(&m);

    load(&m, "");
    is_int(m.nhdr + m.body_len, 0, "an empty message");
    unload(&m);

    load(&m, "Subject: no end of line");
    is_int(m.nhdr, 1, "a last header without a line end");
    is_string(render(&m), "Subject: no end of line\n", "gets one on output");
    unload(&m);
    buf_free(&v);
}

static void test_chunks(void)
{
    struct milter_msg m;
    struct milter_msg_body_reader rd;
    struct buf text = BUF_INIT, chunk = BUF_INIT, all = BUF_INIT, err = BUF_INIT;
    int i, n = 0, big = 0, bad = 0;

    buf_addstr(&text, "Subject: big\n\n");
    for (i = 0; i < 40000; i++)
        buf_printf(&text, "line %05d\n", i); /* 11 bytes, 12 with CRLF */
    load(&m, text.data);
    memset(&rd, 0, sizeof(rd));
    while (milter_msg_body_chunk(&m, &rd, &chunk, &err) > 0) {
        n++;
        if (chunk.len > MILTER_CHUNK_MAX)
            big++;
        buf_add(&all, chunk.data, chunk.len);
    }
    is_int(big, 0, "no chunk over 65535 bytes");
    ok(n >= 8, "a 480 KB body comes in %d chunks", n);
    is_int(all.len, 40000 * 12, "every LF became CRLF");
    for (i = 0; i + 1 < (int) all.len; i++)
        if (all.data[i] == '\n' && all.data[i - 1] != '\r')
            bad++;
    is_int(bad, 0, "no bare LF");
    ok(memcmp(all.data, "line 00000\r\nline 00001\r\n", 24) == 0, "content in order");
    unload(&m);

    load(&m, "Subject: crlf\r\n\r\nalready\r\ncrlf\r\n");
    memset(&rd, 0, sizeof(rd));
    ok(milter_msg_body_chunk(&m, &rd, &chunk, &err) == 1, "a CRLF body");
    is_string(chunk.data, "already\r\ncrlf\r\n", "is sent as it is");
    ok(milter_msg_body_chunk(&m, &rd, &chunk, &err) == 0, "then the end");
    unload(&m);
    buf_free(&text);
    buf_free(&chunk);
    buf_free(&all);
    buf_free(&err);
}

static void test_header_edits(void)
{
    struct milter_msg m;
    struct milter_msg_edits e;

    milter_msg_edits_init(&e);
    load(&m, base_msg);
    milter_msg_hide(&m, 1);
    edit(&e, SMFIR_INSHEADER, 0, "X-Top", "zero");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(m.hdr[0].name, "X-Top", "INSHEADER 0 goes above our own Received:");
    unload(&m);

    load(&m, base_msg);
    milter_msg_hide(&m, 1);
    edit(&e, SMFIR_INSHEADER, 1, "X-One", "one");
    edit(&e, SMFIR_INSHEADER, 99, "X-End", "end");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(m.hdr[0].name, "Received", "INSHEADER 1: Received stays first");
    is_string(m.hdr[1].name, "X-One", "INSHEADER 1 goes after the first header, ours counted");
    is_string(m.hdr[m.nhdr - 1].name, "X-End", "INSHEADER past the end appends");
    ok(m.changed & MILTER_MSG_CHANGED_HEADERS, "headers marked changed");
    unload(&m);

    load(&m, base_msg);
    milter_msg_hide(&m, 1);
    edit(&e, SMFIR_CHGHEADER, 0, "x-TAG", "ONE");
    edit(&e, SMFIR_CHGHEADER, 2, "X-Tag", "TWO");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m),
              "Received: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n"
              "From: a@example.org\nSubject: first\nx-TAG: ONE\nX-Tag: TWO\n"
              "Comments: folded\n\tsecond line\n\nbody\n",
              "CHGHEADER 0 is the first X-Tag, 2 the second, names match without case");
    unload(&m);

    load(&m, base_msg);
    milter_msg_hide(&m, 1);
    edit(&e, SMFIR_CHGHEADER, 1, "Received", "replaced");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Tag", "");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Tag", "");
    edit(&e, SMFIR_CHGHEADER, 1, "X-Missing", "");
    edit(&e, SMFIR_CHGHEADER, 3, "Subject", "appended");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m),
              "Received: from client by mx; Sat, 1 Jan 2022 00:00:00 +0000\n"
              "From: a@example.org\nSubject: first\n"
              "Comments: folded\n\tsecond line\nReceived: replaced\nSubject: appended\n\nbody\n",
              "our Received: is not a milter's first Received (appended instead); empty value "
              "deletes, twice deletes both; deleting a missing header does nothing; "
              "a missing index appends");
    unload(&m);

    load(&m, base_msg);
    edit(&e, SMFIR_ADDHEADER, 0, "X-Multi", "a\r\n\tb");
    edit(&e, SMFIR_ADDHEADER, 0, "X-Lead", " kept");
    milter_msg_edits_apply(&m, &e, 1, "T", "test");
    ok(strstr(render(&m), "X-Multi:a\n\tb\nX-Lead: kept\n\nbody\n") != NULL,
       "with HDR_LEADSPC values are taken as sent; CRLF folds follow the message's line ends");
    unload(&m);

    load(&m, "A: 1\r\n\r\nx\r\n");
    edit(&e, SMFIR_ADDHEADER, 0, "X-Multi", "a\n\tb");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m), "A: 1\r\nX-Multi: a\r\n\tb\r\n\r\nx\r\n",
              "in a CRLF message a new folded header gets CRLF, and one space");
    unload(&m);
    milter_msg_edits_clear(&e);
}

static void test_envelope_edits(void)
{
    struct milter_msg m;
    struct milter_msg_edits e;

    milter_msg_edits_init(&e);
    load(&m, base_msg);
    milter_msg_set_sender(&m, "<a@example.org>", "SIZE=10");
    milter_msg_add_rcpt(&m, "<b@example.org>", NULL);
    milter_msg_add_rcpt(&m, "c@example.org", "NOTIFY=NEVER");
    milter_msg_add_rcpt(&m, "<d@example.org>", NULL);
    is_string(m.sender, "a@example.org", "sender without brackets");
    edit(&e, SMFIR_ADDRCPT, 0, "<new@example.org>", NULL);
    edit(&e, SMFIR_ADDRCPT, 0, "b@example.org", NULL);
    edit(&e, SMFIR_ADDRCPT_PAR, 0, "<par@example.org>", "NOTIFY=SUCCESS");
    edit(&e, SMFIR_DELRCPT, 0, "<c@example.org>", NULL);
    edit(&e, SMFIR_DELRCPT, 0, "<nobody@example.org>", NULL);
    edit(&e, SMFIR_CHGFROM, 0, "<bounce@example.org>", "RET=HDRS");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_int(m.nrcpt, 4, "4 recipients: one deleted, two added, a duplicate ignored");
    is_string(m.rcpt[0].addr, "b@example.org", "order kept");
    is_string(m.rcpt[1].addr, "d@example.org", "deleted one gone");
    is_string(m.rcpt[2].addr, "new@example.org", "added");
    is_string(m.rcpt[3].addr, "par@example.org", "added with parameters");
    is_string(m.rcpt[3].args, "NOTIFY=SUCCESS", "its parameters");
    is_string(m.sender, "bounce@example.org", "sender changed");
    is_string(m.sender_args, "RET=HDRS", "with its parameters");
    ok((m.changed & (MILTER_MSG_CHANGED_RCPTS | MILTER_MSG_CHANGED_SENDER))
           == (MILTER_MSG_CHANGED_RCPTS | MILTER_MSG_CHANGED_SENDER), "envelope marked changed");
    unload(&m);
    milter_msg_edits_clear(&e);
}

static void test_body_edits(void)
{
    struct milter_msg m;
    struct milter_msg_edits e;

    milter_msg_edits_init(&e);
    load(&m, "Subject: x\nthis is not a header\n");
    ok(milter_msg_edits_body(&e, &m, "new\r", 4) == 0, "a chunk ending in CR");
    ok(milter_msg_edits_body(&e, &m, "\nbody\r\n", 7) == 0, "the next one starting with LF");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m), "Subject: x\n\nnew\nbody\n",
              "replacement body in LF form, CRLF split across chunks, empty line added");
    ok(m.changed & MILTER_MSG_CHANGED_BODY, "body marked changed");
    ok(milter_msg_edits_body(&e, &m, "second\r\n", 8) == 0, "a second replacement");
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m), "Subject: x\n\nsecond\n", "replaces the first one");
    unload(&m);

    load(&m, "A: 1\r\n\r\nold\r\n");
    milter_msg_edits_body(&e, &m, "bare\rCR\r\n", 9);
    milter_msg_edits_apply(&m, &e, 0, "T", "test");
    is_string(render(&m), "A: 1\r\n\r\nbare\rCR\r\n", "CRLF message: body kept as CRLF, bare CR kept");
    unload(&m);

    load(&m, "A: 1\n\nold\n");
    m.body_limit = 10;
    ok(milter_msg_edits_body(&e, &m, "0123456789abc", 13) < 0, "a replacement over the limit");
    is_string(e.error, "552 5.3.4 Message file too big", "gives 552");
    ok(milter_msg_edits_body(&e, &m, "x", 1) < 0, "and further chunks are refused");
    milter_msg_edits_clear(&e);
    is_string(render(&m), "A: 1\n\nold\n", "the message is untouched");
    unload(&m);
}

int main(void)
{
    char cmd[128];

    if (mkdtemp(dir) == NULL)
        bail("mkdtemp failed");
    test_load();
    test_chunks();
    test_header_edits();
    test_envelope_edits();
    test_body_edits();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
