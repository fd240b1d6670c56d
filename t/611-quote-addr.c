/*
 * 611-quote-addr.c - quote_addr(), how mta-core writes an address in
 * MAIL FROM/RCPT TO and in Return-Path/X-Original-To/Delivered-To: a
 * dot-atom local part as it is; blanks, specials, control bytes, a dot
 * at either end or two in a row, quoted with '"' and '\' escaped; the
 * domain never touched; 8-bit bytes plain (SMTPUTF8); a local part
 * already in quotes left alone; empty addresses and addresses without a
 * domain handled.
 */
#include "libmatch/buf.h"
#include "mta-core/quote_addr.h"
#include "t/lib/tap.h"

static void check(const char *in, const char *want)
{
    struct buf out = BUF_INIT;

    buf_addstr(&out, "<");
    quote_addr(&out, in);
    is_string(out.data + 1, want, "quote_addr(%s)", in);
    buf_free(&out);
}

int main(void)
{
    check("alice@example.org", "alice@example.org");
    check("first.last+tag@example.org", "first.last+tag@example.org");
    check("!#$%&'*+-/=?^_`{|}~@example.org", "!#$%&'*+-/=?^_`{|}~@example.org");
    check("j\303\266rg@example.org", "j\303\266rg@example.org");
    check("", "");
    check("MAILER-DAEMON", "MAILER-DAEMON");
    check("a b@example.org", "\"a b\"@example.org");
    check("a\tb@example.org", "\"a\tb\"@example.org");
    check("a\x01" "b@example.org", "\"a\x01" "b\"@example.org");
    check("a\x7f@example.org", "\"a\x7f\"@example.org");
    check(".lead@example.org", "\".lead\"@example.org");
    check("trail.@example.org", "\"trail.\"@example.org");
    check("two..dots@example.org", "\"two..dots\"@example.org");
    check("a\"q@example.org", "\"a\\\"q\"@example.org");
    check("back\\slash@example.org", "\"back\\\\slash\"@example.org");
    check("a@b@example.org", "\"a@b\"@example.org");
    check("(c)<x>,;:[]@example.org", "\"(c)<x>,;:[]\"@example.org");
    check("\"already quoted\"@example.org", "\"already quoted\"@example.org");
    check("no domain here", "\"no domain here\"");
    check("x@weird domain", "x@weird domain");
    done_testing();
    return 0;
}
