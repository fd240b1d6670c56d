/*
 * 400-smtpd-content.c - the DATA/BDAT content parser: end of data only at
 * CRLF.CRLF, dot-unstuffing, bare LF and bare CR flagged (the SMTP
 * smuggling variants "\n.\n", "\r.\n", "\n.\r\n" do not end a message),
 * headers split and unfolded, body chunks, header_size_limit.
 * Every case is fed whole, byte by byte, and in 7-byte pieces: the
 * transcript of events must be the same.
 */
#include <stdio.h>
#include <string.h>

#include "libmatch/buf.h"
#include "mta-core/smtpd_content.h"
#include "t/lib/tap.h"

/* Run the parser; the transcript is H[name|value] E B[body] END, with body chunks merged. */
static void run(const char *in, size_t len, enum smtpd_content_mode mode, size_t piece,
                size_t hdr_limit, struct buf *out, size_t *taken_total)
{
    struct smtpd_content c;
    enum smtpd_content_event ev = SMTPD_CONTENT_NONE;
    size_t off = 0;
    int in_body = 0, ended = 0;

    smtpd_content_init(&c, mode, hdr_limit);
    buf_reset(out);
    while (!ended) {
        size_t n = len - off < piece ? len - off : piece;
        size_t took = 0;

        /* As the session does: after an event, feed again, even with nothing new. */
        if (n == 0 && ev == SMTPD_CONTENT_NONE) {
            if (mode == SMTPD_CONTENT_DATA)
                break;
            ev = smtpd_content_finish(&c);
        } else {
            took = smtpd_content_feed(&c, in + off, n, &ev);
        }
        off += took;
        if (ev != SMTPD_CONTENT_BODY && ev != SMTPD_CONTENT_NONE && in_body) {
            buf_addstr(out, "]");
            in_body = 0;
        }
        switch (ev) {
        case SMTPD_CONTENT_HEADER:
            buf_printf(out, "H[%s|%s]", c.name.data, c.value.data);
            break;
        case SMTPD_CONTENT_EOH:
            buf_addstr(out, "E");
            break;
        case SMTPD_CONTENT_BODY:
            if (!in_body)
                buf_addstr(out, "B[");
            in_body = 1;
            buf_add(out, c.body.data, c.body.len);
            break;
        case SMTPD_CONTENT_END:
            buf_addstr(out, "END");
            ended = 1;
            break;
        case SMTPD_CONTENT_NONE:
            break;
        }
        /* An event with bytes left: the caller feeds the rest, as the session does. */
    }
    if (!ended)
        buf_addstr(out, "(no end)");
    /* What a bad message reported before its fault was found depends on the pieces. */
    if (c.bad && strstr(out->data, "END")) {
        struct buf tail = BUF_INIT;

        buf_setstr(&tail, strstr(out->data, "END"));
        buf_set(out, tail.data, tail.len);
        buf_free(&tail);
    }
    buf_printf(out, " bad=%d trunc=%d size=%llu", c.bad, c.truncated, c.size);
    *taken_total = off;
    smtpd_content_free(&c);
}

static void check(const char *name, const char *in, enum smtpd_content_mode mode, size_t hdr_limit,
                  const char *want, size_t want_taken)
{
    static const size_t pieces[] = { (size_t) -1, 1, 7 };
    struct buf out = BUF_INIT;
    size_t len = strlen(in), taken, i;

    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        run(in, len, mode, pieces[i] == (size_t) -1 ? len : pieces[i], hdr_limit, &out, &taken);
        is_string(out.data, want, "%s (%s)", name,
                  i == 0 ? "whole" : i == 1 ? "byte by byte" : "7-byte pieces");
        is_int(taken, want_taken, "%s: bytes taken (%s)", name, i == 0 ? "whole" : i == 1 ? "bytes" : "7");
    }
    buf_free(&out);
}

int main(void)
{
    check("simple message", "Subject: hi\r\nFrom: a@b\r\n\r\nbody line\r\n.\r\n",
          SMTPD_CONTENT_DATA, 1000,
          "H[Subject| hi]H[From| a@b]EB[body line\n]END bad=0 trunc=0 size=37", 40);
    check("dot-stuffing undone", "X: y\r\n\r\n..dot\r\n...\r\n.x\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "H[X| y]EB[.dot\n..\nx\n]END bad=0 trunc=0 size=21", 27);
    check("folded header kept with its line breaks", "Subject: a\r\n b\r\n\tc\r\n\r\nx\r\n.\r\n",
          SMTPD_CONTENT_DATA, 1000, "H[Subject| a\n b\n\tc]EB[x\n]END bad=0 trunc=0 size=25", 28);
    check("first line not a header: all body", "hello world\r\nSubject: no\r\n.\r\n",
          SMTPD_CONTENT_DATA, 1000, "EB[hello world\nSubject: no\n]END bad=0 trunc=0 size=26", 29);
    check("white space before the colon", "Subject : x\r\n\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "H[Subject| x]EEND bad=0 trunc=0 size=15", 18);
    check("8-bit header name is body", "Sub\xc3\xa9: x\r\n\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "EB[Sub\xc3\xa9: x\n\n]END bad=0 trunc=0 size=12", 15);
    check("empty message", ".\r\n", SMTPD_CONTENT_DATA, 1000, "EEND bad=0 trunc=0 size=0", 3);
    check("a dot inside a line is text", "a: b\r\n\r\nx.\r\n.y\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "H[a| b]EB[x.\ny\n]END bad=0 trunc=0 size=15", 19);
    check("what follows the end is not taken", "a: b\r\n\r\nx\r\n.\r\nQUIT\r\n", SMTPD_CONTENT_DATA,
          1000, "H[a| b]EB[x\n]END bad=0 trunc=0 size=11", 14);
    check("8-bit body kept", "a: b\r\n\r\n\xe2\x82\xac 10\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "H[a| b]EB[\xe2\x82\xac 10\n]END bad=0 trunc=0 size=16", 19);

    /* SMTP smuggling: none of these may end the message. */
    check("smuggling \\n.\\n", "a: b\r\n\r\nx\n.\nMAIL FROM:<e@vil>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n",
          SMTPD_CONTENT_DATA, 1000, "END bad=1 trunc=0 size=42", 46);
    check("smuggling \\r.\\n", "a: b\r\n\r\nx\r.\nMAIL FROM:<e@vil>\r\n.\r\n", SMTPD_CONTENT_DATA,
          1000, "END bad=3 trunc=0 size=31", 34);
    check("smuggling \\r\\n.\\n", "a: b\r\n\r\nx\r\n.\nMAIL FROM:<e@vil>\r\n.\r\n", SMTPD_CONTENT_DATA,
          1000, "END bad=1 trunc=0 size=30", 35);
    check("smuggling \\n.\\r\\n", "a: b\r\n\r\nx\n.\r\nMAIL FROM:<e@vil>\r\n.\r\n", SMTPD_CONTENT_DATA,
          1000, "END bad=1 trunc=0 size=30", 35);
    check("smuggling \\r.\\r\\n", "a: b\r\n\r\nx\r.\r\nMAIL FROM:<e@vil>\r\n.\r\n", SMTPD_CONTENT_DATA,
          1000, "END bad=2 trunc=0 size=31", 35);
    check("bare CR in a header", "a: b\rc\r\n\r\n.\r\n", SMTPD_CONTENT_DATA, 1000,
          "END bad=2 trunc=0 size=9", 13);

    check("header_size_limit cuts a header", "Subject: 0123456789012345678901234567890\r\n\r\nb\r\n.\r\n",
          SMTPD_CONTENT_DATA, 20, "H[Subject| 01234567890]EB[b\n]END bad=0 trunc=1 size=47", 50);
    check("a name as long as header_size_limit, then a colon: body", "abcdefghij: x\r\n.\r\n",
          SMTPD_CONTENT_DATA, 10, "EB[abcdefghij: x\n]END bad=0 trunc=0 size=15", 18);
    check("a long line without colon is body", "abcdefghijklmnopqrstuvwxyz\r\n.\r\n",
          SMTPD_CONTENT_DATA, 10, "EB[abcdefghijklmnopqrstuvwxyz\n]END bad=0 trunc=0 size=28", 31);

    check("BDAT: no dots, final newline added", "Subject: x\r\n\r\n.body", SMTPD_CONTENT_BDAT, 1000,
          "H[Subject| x]EB[.body\n]END bad=0 trunc=0 size=21", 19);
    check("BDAT: headers only, no newline", "Subject: x", SMTPD_CONTENT_BDAT, 1000,
          "H[Subject| x]EEND bad=0 trunc=0 size=10", 10);
    check("BDAT: bare LF", "Subject: x\n\r\nbody\r\n", SMTPD_CONTENT_BDAT, 1000,
          "END bad=1 trunc=0 size=20", 19);
    check("BDAT: ends in a lone CR", "Subject: x\r\n\r\nbody\r", SMTPD_CONTENT_BDAT, 1000,
          "END bad=2 trunc=0 size=18", 19);
    return done_testing();
}
