/*
 * 600-smtp-reply.c - the SMTP client's reply parser (smtp_reply.c): single
 * and multi-line replies, enhanced status codes (taken, refused when their
 * class differs from the reply's, derived when absent), garbage lines
 * skipped as Postfix skips them, the line limit, text made printable,
 * EHLO keywords (SIZE with and without a number, SIZE=, unknown words),
 * and relayhost syntax (smtp_addr.c).
 */
#include <string.h>

#include "libmatch/buf.h"
#include "mta-core/smtp_addr.h"
#include "mta-core/smtp_reply.h"
#include "t/lib/tap.h"

/* feed - every line of text (separated by \n); the last smtp_reply_line() result */
static int feed(struct smtp_reply *r, const char *text, struct buf *err)
{
    int rc = 0;

    smtp_reply_reset(r);
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t) (nl - text) : strlen(text);

        rc = smtp_reply_line(r, text, len, err);
        if (rc != 0)
            return rc;
        text += len + (nl != NULL);
    }
    return rc;
}

int main(void)
{
    struct smtp_reply r;
    struct smtp_ehlo e;
    struct smtp_nexthop nh;
    struct buf err = BUF_INIT, flat = BUF_INIT;
    char longline[5000];
    int i;

    smtp_reply_init(&r);
    smtp_ehlo_init(&e);

    is_int(feed(&r, "250 2.1.0 Ok", &err), 1, "one line is a whole reply");
    is_int(r.code, 250, "its code");
    is_string(r.dsn, "2.1.0", "its enhanced status code");
    ok(r.has_dsn, "given by the server");
    is_string(smtp_reply_message(&r), "Ok", "the message after the codes");

    is_int(feed(&r, "550-5.1.1 first\n550-5.1.1 second\n550 5.1.1 third", &err), 1, "a multi-line reply ends at NNN SP");
    is_int(r.nlines, 3, "three lines");
    smtp_reply_flat(&r, &flat);
    is_string(flat.data, "550-5.1.1 first 550-5.1.1 second 550 5.1.1 third", "flattened as Postfix logs it");
    is_int(feed(&r, "250-first", &err), 0, "a dash line wants more");

    is_int(feed(&r, "451 4.3.0", &err), 1, "a code with nothing after it");
    is_string(r.dsn, "4.3.0", "still has its status code");
    is_int(feed(&r, "550 Mailbox unavailable", &err), 1, "no enhanced code");
    is_string(r.dsn, "5.0.0", "one is derived from the reply code");
    ok(!r.has_dsn, "and marked as ours");
    is_int(feed(&r, "550 4.1.1 wrong class", &err), 1, "a class that contradicts the code");
    is_string(r.dsn, "5.0.0", "is not believed");
    is_int(feed(&r, "250 2.0.0Ok", &err), 1, "a status code not followed by a blank");
    is_string(r.dsn, "2.0.0", "is not one");
    is_int(feed(&r, "250 2.1234.0 x", &err), 1, "four digits in a field");
    is_string(r.dsn, "2.0.0", "are not a status code");
    is_int(feed(&r, "354 End data", &err), 1, "354");
    is_int(r.code, 354, "its code");
    is_int(feed(&r, "220", &err), 1, "a bare code is a reply");
    is_int(r.code, 220, "220");

    is_int(feed(&r, "garbage\n250 ok", &err), 1, "a line that is not a reply is skipped");
    is_int(r.code, 250, "the real reply follows");
    is_string(r.text.data, "250 ok", "and only it is kept");
    is_int(feed(&r, "25 short", &err), 0, "two digits are not a reply line");

    is_int(feed(&r, "250 caf\xc3\xa9\tnul", &err), 1, "8-bit and control bytes");
    is_string(r.text.data, "250 caf???nul", "are made printable");

    buf_reset(&err);
    smtp_reply_reset(&r);
    for (i = 0; i <= SMTP_REPLY_LINES_MAX; i++)
        if (smtp_reply_line(&r, "250-x", 5, &err) != 0)
            break;
    is_int(i, SMTP_REPLY_LINES_MAX, "the line limit stops an endless reply");
    ok(strstr(err.data, "lines") != NULL, "with a reason: %s", err.data);

    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = 0;
    memcpy(longline, "250 ", 4);
    buf_reset(&err);
    smtp_reply_reset(&r);
    is_int(smtp_reply_line(&r, longline, strlen(longline), &err), 1, "a line over the limit");
    ok(r.text.len <= SMTP_REPLY_LINE_MAX, "is cut at SMTP_REPLY_LINE_MAX");

    smtp_reply_fake(&r, 421, "4.4.2", "local");
    is_int(r.code, 421, "a made-up reply");
    is_string(r.dsn, "4.4.2", "with our status code");

    /* EHLO */
    feed(&r, "250-mx.example.org greets you\n250-PIPELINING\n250-SIZE 10240000\n250-8BITMIME\n"
             "250-STARTTLS\n250-DSN\n250-XFOO bar\n250 SMTPUTF8", &err);
    smtp_ehlo_parse(&r, &e);
    is_string(e.name.data, "mx.example.org", "the server's name");
    ok(e.ext & SMTP_EXT_PIPELINING, "PIPELINING");
    ok(e.ext & SMTP_EXT_8BITMIME, "8BITMIME");
    ok(e.ext & SMTP_EXT_STARTTLS, "STARTTLS");
    ok(e.ext & SMTP_EXT_DSN, "DSN");
    ok(e.ext & SMTP_EXT_SMTPUTF8, "SMTPUTF8");
    ok(e.ext & SMTP_EXT_SIZE, "SIZE");
    ok(e.size == 10240000ULL, "its limit");
    ok(!(e.ext & SMTP_EXT_ENHANCEDSTATUSCODES), "what is not there is not set");
    feed(&r, "250-x\n250-size=5000\n250 pipelining", &err);
    smtp_ehlo_parse(&r, &e);
    ok((e.ext & SMTP_EXT_SIZE) && e.size == 5000, "SIZE=n, any case");
    ok(e.ext & SMTP_EXT_PIPELINING, "keywords in lower case");
    feed(&r, "250-x\n250 SIZE", &err);
    smtp_ehlo_parse(&r, &e);
    ok((e.ext & SMTP_EXT_SIZE) && e.size == 0, "SIZE without a number: no limit");
    feed(&r, "250-x\n250 SIZE 99999999999999999999999", &err);
    smtp_ehlo_parse(&r, &e);
    ok(e.size == 0, "a limit we cannot read counts as none");
    feed(&r, "250 x", &err);
    smtp_ehlo_parse(&r, &e);
    is_int(e.ext, 0, "a one-line EHLO reply offers nothing");

    /* relayhost syntax */
    ok(smtp_nexthop_parse("[mail.example.org]:2525", 25, &nh, &err) == 0 && nh.no_mx && nh.port == 2525 &&
           strcmp(nh.host, "mail.example.org") == 0,
       "[host]:port: no MX lookup, that port");
    smtp_nexthop_free(&nh);
    ok(smtp_nexthop_parse("example.org", 25, &nh, &err) == 0 && !nh.no_mx && nh.port == 25, "host: MX lookup, port 25");
    smtp_nexthop_free(&nh);
    ok(smtp_nexthop_parse("example.org:submission", 25, &nh, &err) == 0 && nh.port == 587, "a service name");
    smtp_nexthop_free(&nh);
    ok(smtp_nexthop_parse("[ipv6:::1]", 25, &nh, &err) == 0 && strcmp(nh.host, "::1") == 0, "[ipv6:...]");
    smtp_nexthop_free(&nh);
    buf_reset(&err);
    ok(smtp_nexthop_parse("[unclosed", 25, &nh, &err) < 0, "an unclosed bracket is an error: %s", err.data);
    buf_reset(&err);
    ok(smtp_nexthop_parse("host:99999", 25, &nh, &err) < 0, "a port out of range: %s", err.data);
    buf_reset(&err);
    ok(smtp_nexthop_parse(":25", 25, &nh, &err) < 0, "no host: %s", err.data);

    smtp_reply_free(&r);
    smtp_ehlo_free(&e);
    buf_free(&err);
    buf_free(&flat);
    return done_testing();
}
