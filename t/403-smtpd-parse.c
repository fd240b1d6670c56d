/*
 * 403-smtpd-parse.c - command line parsing: MAIL/RCPT paths (brackets,
 * null path, source routes, quoted local parts, address literals, what is
 * refused and why), ESMTP parameters, verbs, numbers, HELO arguments, and
 * UTF-8 validity (overlong forms, surrogates, truncation, NUL).
 */
#include <string.h>

#include "mta-core/smtpd_parse.h"
#include "t/lib/tap.h"

/* path - parse arg; "STATUS|addr|args|non_ascii" */
static const char *path(const char *arg, const char *kw)
{
    static char out[1024];
    struct smtpd_path p;
    static const char *names[] = { "OK", "SYNTAX", "ADDRESS", "PARAM" };
    enum smtpd_parse_status st;

    smtpd_path_init(&p);
    st = smtpd_parse_path(arg, kw, &p);
    snprintf(out, sizeof(out), "%s|%s|%s|%d|%zu", names[st], st == SMTPD_PARSE_OK ? p.addr.data : "",
             st == SMTPD_PARSE_OK ? p.args.data : "", p.non_ascii, p.nparam);
    smtpd_path_free(&p);
    return out;
}

int main(void)
{
    const char *v;
    unsigned long long n;
    char longaddr[700];

    is_string(path(" FROM:<a@example.org>", "FROM:"), "OK|a@example.org||0|0", "plain path");
    is_string(path(" from:<a@example.org>", "FROM:"), "OK|a@example.org||0|0", "keyword case does not matter");
    is_string(path(" FROM: <a@example.org>", "FROM:"), "OK|a@example.org||0|0", "space after the colon (Postfix allows)");
    is_string(path(" FROM:<>", "FROM:"), "OK|||0|0", "null path");
    is_string(path(" FROM:a@example.org", "FROM:"), "OK|a@example.org||0|0", "no brackets, one word");
    is_string(path(" FROM:<a@example.org> SIZE=100 BODY=8BITMIME", "FROM:"),
              "OK|a@example.org|SIZE=100 BODY=8BITMIME|0|2", "parameters");
    is_string(path(" TO:<@a.example,@b.example:u@c.example>", "TO:"), "OK|u@c.example||0|0", "source route dropped");
    is_string(path(" TO:<\"a b>c\"@example.org>", "TO:"), "OK|\"a b>c\"@example.org||0|0", "quoted local part with > inside");
    is_string(path(" TO:<u@[192.0.2.1]>", "TO:"), "OK|u@[192.0.2.1]||0|0", "address literal");
    is_string(path(" TO:<postmaster>", "TO:"), "OK|postmaster||0|0", "bare local part");
    is_string(path(" TO:<j\xc3\xb6rg@example.org>", "TO:"), "OK|j\xc3\xb6rg@example.org||1|0", "8-bit noted");
    is_string(path(" TO:<a@example.org>", "FROM:"), "SYNTAX|||0|0", "wrong keyword");
    is_string(path(" FROM:", "FROM:"), "SYNTAX|||0|0", "nothing after the keyword");
    is_string(path(" FROM:<a b@example.org>", "FROM:"), "ADDRESS|||0|0", "space inside");
    is_string(path(" FROM:<a@example.org", "FROM:"), "ADDRESS|||0|0", "no closing bracket");
    is_string(path(" FROM:<a@example.org>x", "FROM:"), "ADDRESS|||0|0", "text glued after the bracket");
    is_string(path(" FROM:<a..b@example.org>", "FROM:"), "ADDRESS|||0|0", "two dots");
    is_string(path(" FROM:<.a@example.org>", "FROM:"), "ADDRESS|||0|0", "leading dot");
    is_string(path(" FROM:<a@>", "FROM:"), "ADDRESS|||0|0", "empty domain");
    is_string(path(" FROM:<@example.org>", "FROM:"), "ADDRESS|||0|0", "route without mailbox");
    is_string(path(" FROM:<a@b@c>", "FROM:"), "ADDRESS|||0|0", "two @");
    is_string(path(" FROM:<a\x01@example.org>", "FROM:"), "ADDRESS|||0|0", "control character");
    is_string(path(" FROM:<\"a\x01\"@example.org>", "FROM:"), "ADDRESS|||0|0", "control character in quotes");
    is_string(path(" FROM:<a@[1.2.3.4>", "FROM:"), "ADDRESS|||0|0", "unclosed literal");
    is_string(path(" FROM:<a@example.org> =x", "FROM:"), "PARAM|||0|0", "parameter without a name");
    is_string(path(" FROM:<a@example.org> SIZE=", "FROM:"), "PARAM|||0|0", "parameter with an empty value");
    is_string(path(" FROM:<a@example.org> A B C D E F G H I J K L M N O P Q", "FROM:"), "PARAM|||0|16",
              "too many parameters");
    memset(longaddr, 'a', sizeof(longaddr));
    memcpy(longaddr, " FROM:<", 7);
    strcpy(longaddr + sizeof(longaddr) - 14, "@example.org>");
    is_string(path(longaddr, "FROM:"), "ADDRESS|||0|0", "longer than SMTPD_PATH_MAX");

    ok(smtpd_parse_param("SIZE=100", "size", &v) && strcmp(v, "100") == 0, "param name, any case, and value");
    ok(smtpd_parse_param("SMTPUTF8", "SMTPUTF8", &v) && v == NULL, "param without value");
    ok(!smtpd_parse_param("SIZEX=1", "SIZE", &v), "a longer name is another param");
    is_int(smtpd_parse_verb("EHLO x", 6), 4, "verb length");
    is_int(smtpd_parse_verb("1EHLO", 5), 0, "no verb");
    ok(smtpd_parse_number("18446744073709551615", (unsigned long long) -1, &n), "largest number");
    ok(!smtpd_parse_number("18446744073709551616", (unsigned long long) -1, &n), "overflow refused");
    ok(!smtpd_parse_number("12a", 1000, &n) && !smtpd_parse_number("", 1000, &n), "not a number");
    ok(!smtpd_parse_number("1001", 1000, &n), "over the maximum");
    ok(smtpd_parse_helo("client.example") && smtpd_parse_helo("[192.0.2.1]"), "HELO names");
    ok(!smtpd_parse_helo("") && !smtpd_parse_helo("a b") && !smtpd_parse_helo("a\tb"), "bad HELO arguments");

    ok(smtpd_utf8_valid("plain", 5), "ASCII");
    ok(smtpd_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14), "2, 3 and 4 byte forms");
    ok(!smtpd_utf8_valid("\xc0\xaf", 2), "overlong");
    ok(!smtpd_utf8_valid("\xe0\x80\xaf", 3), "overlong 3-byte");
    ok(!smtpd_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    ok(!smtpd_utf8_valid("\xf4\x90\x80\x80", 4), "beyond U+10FFFF");
    ok(!smtpd_utf8_valid("\xe2\x82", 2), "truncated");
    ok(!smtpd_utf8_valid("\xff", 1), "invalid byte");
    ok(!smtpd_utf8_valid("a\0b", 3), "NUL");
    ok(!smtpd_utf8_valid("\xc3\x28", 2), "bad continuation");
    return done_testing();
}
