/*
 * 602-masq.c - masquerading and myorigin completion (masq_addr.c):
 * Postfix's rules for masquerade_domains (order matters, "!" excludes,
 * the domain itself is left alone), masquerade_exceptions, the classes,
 * header addresses found in display names, comments, quoted strings,
 * groups and folded lines without disturbing anything else, bare names
 * completed, and the addresses sendmail -t extracts.
 */
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "mta-core/masq_addr.h"
#include "mta-core/params.h"
#include "t/lib/tap.h"

static struct buf extracted = BUF_INIT;

static void add(void *ctx, const char *addr)
{
    (void) ctx;
    if (extracted.len)
        buf_addch(&extracted, '|');
    buf_addstr(&extracted, addr);
}

/* init - a masquerading setup from parameter assignments */
static void init(struct masq *mq, const char *domains, const char *exceptions, const char *classes)
{
    struct config *cfg = config_new(mta_params);
    struct buf err = BUF_INIT, a = BUF_INIT;

    buf_printf(&a, "masquerade_domains=%s", domains);
    config_set(cfg, a.data, &err);
    buf_reset(&a);
    buf_printf(&a, "masquerade_exceptions=%s", exceptions);
    config_set(cfg, a.data, &err);
    if (classes) {
        buf_reset(&a);
        buf_printf(&a, "masquerade_classes=%s", classes);
        config_set(cfg, a.data, &err);
    }
    config_set(cfg, "myorigin=origin.test", &err);
    if (masq_init(mq, cfg, &err) < 0)
        bail("masq_init: %s", err.data);
    config_free(cfg);
    buf_free(&err);
    buf_free(&a);
}

static const char *addr(const struct masq *mq, const char *in)
{
    static struct buf out = BUF_INIT;

    masq_address(mq, in, &out);
    return out.data;
}

static const char *hdr(const struct masq *mq, int complete, const char *in)
{
    static struct buf out = BUF_INIT;

    masq_header(mq, complete, in, strlen(in), &out);
    return out.data;
}

int main(void)
{
    struct masq mq;
    struct config *cfg;
    struct buf err = BUF_INIT, out = BUF_INIT;

    init(&mq, "!mail.example.com, example.com", "root, MAILER-DAEMON", NULL);
    is_string(addr(&mq, "alice@host.example.com"), "alice@example.com", "a subdomain becomes the domain");
    is_string(addr(&mq, "alice@a.b.example.com"), "alice@example.com", "at any depth");
    is_string(addr(&mq, "alice@HOST.Example.COM"), "alice@example.com", "in any case");
    is_string(addr(&mq, "alice@example.com"), "alice@example.com", "the domain itself stays");
    is_string(addr(&mq, "alice@mail.example.com"), "alice@mail.example.com", "!mail.example.com excludes it");
    is_string(addr(&mq, "alice@x.mail.example.com"), "alice@x.mail.example.com",
              "and its subdomains stop at it too (the first match wins)");
    is_string(addr(&mq, "alice@notexample.com"), "alice@notexample.com", "a suffix that is not a parent domain");
    is_string(addr(&mq, "alice@other.org"), "alice@other.org", "another domain");
    is_string(addr(&mq, "root@host.example.com"), "root@host.example.com", "masquerade_exceptions: root");
    is_string(addr(&mq, "mailer-daemon@host.example.com"), "mailer-daemon@host.example.com",
              "exceptions in any case");
    is_string(addr(&mq, "alice"), "alice", "a bare name is not masqueraded");
    is_string(addr(&mq, ""), "", "nor the null sender");
    masq_free(&mq);

    init(&mq, "example.com, !mail.example.com", "", NULL);
    is_string(addr(&mq, "alice@mail.example.com"), "alice@example.com",
              "order matters: example.com first wins over a later !mail.example.com (as in Postfix)");
    masq_free(&mq);

    init(&mq, "example.com", "", NULL);
    is_int(mq.classes, MASQ_ENV_SENDER | MASQ_HDR_SENDER | MASQ_HDR_RCPT, "Postfix's default classes");
    is_string(hdr(&mq, 0, "From: Alice Smith <alice@host.example.com>"), "From: Alice Smith <alice@example.com>",
              "From: with a display name");
    is_string(hdr(&mq, 0, "From: alice@host.example.com (Alice at host.example.com)"),
              "From: alice@example.com (Alice at host.example.com)", "the comment is left alone");
    is_string(hdr(&mq, 0, "From: \"bob@host.example.com\" <alice@host.example.com>"),
              "From: \"bob@host.example.com\" <alice@example.com>", "so is a quoted display name");
    is_string(hdr(&mq, 0, "To: a@h.example.com, \"B, C\" <b@x.org>,\n\tc@h.example.com (C)"),
              "To: a@example.com, \"B, C\" <b@x.org>,\n\tc@example.com (C)",
              "a folded list: each address, the folding kept");
    is_string(hdr(&mq, 0, "To: undisclosed-recipients:;"), "To: undisclosed-recipients:;", "an empty group");
    is_string(hdr(&mq, 0, "Cc: team: a@h.example.com, b@h.example.com;, c@h.example.com"),
              "Cc: team: a@example.com, b@example.com;, c@example.com", "a group and an address after it");
    is_string(hdr(&mq, 0, "Reply-To: <@relay.example.com:a@h.example.com>"), "Reply-To: <@relay.example.com:a@example.com>",
              "a source route stays, the address changes");
    is_string(hdr(&mq, 0, "Subject: mail from a@h.example.com"), "Subject: mail from a@h.example.com",
              "Subject: is not an address header");
    is_string(hdr(&mq, 0, "To: <>"), "To: <>", "an empty address");
    is_string(hdr(&mq, 0, "From: a@[192.0.2.1]"), "From: a@[192.0.2.1]", "a domain literal");
    masq_free(&mq);

    init(&mq, "example.com", "", "envelope_sender, header_sender");
    is_string(hdr(&mq, 0, "To: a@h.example.com"), "To: a@h.example.com", "without header_recipient: To: stays");
    is_string(hdr(&mq, 0, "Sender: a@h.example.com"), "Sender: a@example.com", "header_sender: Sender: changes");
    masq_free(&mq);

    /* myorigin completion (local submissions) */
    init(&mq, "", "", NULL);
    is_string(hdr(&mq, 1, "To: bob, carol@x.org"), "To: bob@origin.test, carol@x.org", "bare names get @myorigin");
    is_string(hdr(&mq, 1, "From: Bob Smith <bob>"), "From: Bob Smith <bob@origin.test>", "inside angle brackets too");
    is_string(hdr(&mq, 1, "Cc: bob (the builder)"), "Cc: bob@origin.test (the builder)", "before a comment");
    is_string(hdr(&mq, 1, "To: Bob Smith"), "To: Bob Smith", "a phrase is not an address");
    is_string(hdr(&mq, 1, "Subject: bob"), "Subject: bob", "only address headers");
    ok(masq_complete("origin.test", "root", &out) && strcmp(out.data, "root@origin.test") == 0,
       "an envelope address: root@origin.test");
    ok(!masq_complete("origin.test", "", &out) && out.len == 0, "the null sender stays null");
    masq_free(&mq);

    /* -t extraction */
    {
        const char *h = "To: a@x, \"B, C\" <b@y>, (comment) c@z, grp: d@w, e@v;, f";

        masq_extract(h, strlen(h), add, NULL);
    }
    is_string(extracted.data, "a@x|b@y|c@z|d@w|e@v|f", "addresses from a list with all of it");

    cfg = config_new(mta_params);
    config_set(cfg, "masquerade_classes=envelope_sender, nonsense", &err);
    ok(masq_init(&mq, cfg, &err) < 0 && strstr(err.data, "nonsense"), "an unknown class is an error: %s", err.data);
    config_free(cfg);
    buf_free(&err);
    buf_free(&out);
    return done_testing();
}
