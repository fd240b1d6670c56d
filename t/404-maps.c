/*
 * 404-maps.c - mta-core's lookups: the order access_maps keys are tried in
 * (Sendmail tag first, then Postfix's address and client key forms), what
 * each access result means (Postfix and Sendmail forms), and match lists
 * (domains with and without parent matching, networks, exclusions, files,
 * tables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "mta-core/maps_lookup.h"
#include "t/lib/tap.h"

static char dir[4096];

static const char *write_file(const char *name, const char *text)
{
    static char path[4200];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
        bail("cannot write %s", path);
    return path;
}

/* find - "key=result" or "-" for a lookup */
static const char *find(struct maps *m, enum maps_access_kind kind, const char *name, const char *addr)
{
    static char out[512];
    struct buf key = BUF_INIT, err = BUF_INIT;
    struct table_match match;
    int rc;

    table_match_init(&match);
    rc = maps_access_find(m, kind, name, addr, "+", &key, &match, &err);
    snprintf(out, sizeof(out), "%s", rc > 0 ? key.data : "-");
    if (rc > 0) {
        strncat(out, "=", sizeof(out) - strlen(out) - 1);
        strncat(out, match.result.data, sizeof(out) - strlen(out) - 1);
    }
    table_match_free(&match);
    buf_free(&key);
    buf_free(&err);
    return out;
}

/* verdict - what maps_access_parse makes of a result */
static const char *verdict(const char *value)
{
    static const char *names[] = { "DUNNO", "OK", "RELAY", "REJECT", "DEFER", "DISCARD", "HOLD", "WARN", "BROKEN" };
    static char out[512];
    struct maps_verdict v;

    maps_verdict_init(&v);
    maps_access_parse(value, 554, 450, &v);
    snprintf(out, sizeof(out), "%s %d %s |%s|%s", names[v.action], v.code, v.dsn, v.text.data,
             v.sendmail ? "sendmail" : "");
    maps_verdict_free(&v);
    return out;
}

static int match(struct maps_list *l, const char *name, const char *addr)
{
    struct buf err = BUF_INIT;
    int rc = maps_list_match(l, name, addr, &err);

    buf_free(&err);
    return rc;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct buf err = BUF_INIT, spec = BUF_INIT;
    struct maps *m;
    struct maps_list *l;

    snprintf(dir, sizeof(dir), "%s/mailsift-404.XXXXXX", tmp);
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp failed");

    buf_printf(&spec, "texthash:%s", write_file("access",
        "user+ext@d.example X1\nuser@d.example X2\nd.example X3\nexample X4\n"
        "user+ext@ X5\nuser@ X6\nFrom:tagged@d.example T1\ntagged@d.example U1\n"
        "<> NULL\n127.0.0 C1\nlocalhost C2\nConnect:127.0.0.9 C3\n2001:db8 C4\n"
        "To:tagged@d.example T2\n"));
    m = maps_open("access_maps", spec.data, &err);
    ok(m != NULL, "the table opens");
    is_string(find(m, MAPS_ACCESS_SENDER, "user+ext@d.example", NULL), "user+ext@d.example=X1", "full address first");
    is_string(find(m, MAPS_ACCESS_SENDER, "user+other@d.example", NULL), "user@d.example=X2", "then without the extension");
    is_string(find(m, MAPS_ACCESS_SENDER, "x@d.example", NULL), "d.example=X3", "then the domain");
    is_string(find(m, MAPS_ACCESS_SENDER, "x@a.b.d.example", NULL), "d.example=X3", "and its parents");
    is_string(find(m, MAPS_ACCESS_SENDER, "x@other.example", NULL), "example=X4", "up to the top");
    is_string(find(m, MAPS_ACCESS_SENDER, "user+ext@zzz.test", NULL), "user+ext@=X5", "then user+ext@");
    is_string(find(m, MAPS_ACCESS_SENDER, "user+q@zzz.test", NULL), "user@=X6", "then user@");
    is_string(find(m, MAPS_ACCESS_SENDER, "USER@ZZZ.TEST", NULL), "USER@=X6", "keys fold case");
    is_string(find(m, MAPS_ACCESS_SENDER, "nobody@zzz.test", NULL), "-", "nothing");
    is_string(find(m, MAPS_ACCESS_SENDER, "tagged@d.example", NULL), "From:tagged@d.example=T1", "the tagged key wins");
    is_string(find(m, MAPS_ACCESS_RCPT, "tagged@d.example", NULL), "To:tagged@d.example=T2", "To: for recipients");
    is_string(find(m, MAPS_ACCESS_SENDER, "", NULL), "<>=NULL", "the null sender is <>");
    is_string(find(m, MAPS_ACCESS_SENDER, "+ext@d.example", NULL), "d.example=X3", "no user part: no extension");
    is_string(find(m, MAPS_ACCESS_CLIENT, "localhost", "127.0.0.1"), "localhost=C2", "client name before address");
    is_string(find(m, MAPS_ACCESS_CLIENT, "unknown", "127.0.0.5"), "127.0.0=C1", "network prefix");
    is_string(find(m, MAPS_ACCESS_CLIENT, "unknown", "127.0.0.9"), "Connect:127.0.0.9=C3", "Connect: tag");
    is_string(find(m, MAPS_ACCESS_CLIENT, "unknown", "2001:db8::1"), "2001:db8=C4", "IPv6 prefix");
    is_string(find(m, MAPS_ACCESS_CLIENT, "host.localhost", "10.0.0.1"), "localhost=C2", "client name parents");
    maps_free(m);

    is_string(verdict("OK"), "OK 0  ||", "OK");
    is_string(verdict("12345"), "OK 0  ||", "all digits: OK");
    is_string(verdict("RELAY"), "RELAY 0  ||", "RELAY");
    is_string(verdict("REJECT"), "REJECT 554 5.7.1 ||", "REJECT");
    is_string(verdict("reject go away"), "REJECT 554 5.7.1 |go away|", "reject with text, any case");
    is_string(verdict("REJECT 4.7.2 odd"), "REJECT 554 5.7.2 |odd|", "a DSN in the text takes the reply's class");
    is_string(verdict("DEFER later"), "DEFER 450 4.7.1 |later|", "DEFER");
    is_string(verdict("521 5.7.0 no"), "REJECT 521 5.7.0 |no|", "5NN text");
    is_string(verdict("451 try later"), "DEFER 451 4.7.1 |try later|", "4NN text");
    is_string(verdict("550"), "OK 0  ||", "a bare code is all digits: OK, as in Postfix");
    is_string(verdict("ERROR:550 go"), "REJECT 550 5.7.1 |go|sendmail", "ERROR:NNN text");
    is_string(verdict("ERROR:5.7.26:550 dmarc"), "REJECT 550 5.7.26 |dmarc|sendmail", "ERROR:D.S.N:NNN text");
    is_string(verdict("ERROR:\"421 4.3.2 busy\""), "DEFER 421 4.3.2 |busy|sendmail", "ERROR:\"NNN D.S.N text\"");
    is_string(verdict("ERROR:xyz"), "BROKEN 0  ||", "ERROR: without a code");
    is_string(verdict("DISCARD"), "DISCARD 0  ||", "DISCARD");
    is_string(verdict("HOLD look"), "HOLD 0  |look|", "HOLD");
    is_string(verdict("QUARANTINE:suspect"), "HOLD 0  |suspect|", "QUARANTINE:");
    is_string(verdict("DUNNO"), "DUNNO 0  ||", "DUNNO");
    is_string(verdict("SKIP"), "DUNNO 0  ||", "SKIP (Sendmail)");
    is_string(verdict("WARN hmm"), "WARN 0  |hmm|", "WARN");
    is_string(verdict("OKAY"), "BROKEN 0  ||", "a word that only starts like an action");
    is_string(verdict("permit_mynetworks"), "BROKEN 0  ||", "a Postfix restriction is not understood");

    l = maps_list_open("mydestination", "example.com, .sub.example.org", MAPS_LIST_DOMAIN, &err);
    ok(l != NULL, "a domain list");
    ok(match(l, "example.com", NULL) == 1 && match(l, "EXAMPLE.COM", NULL) == 1, "exact, any case");
    ok(match(l, "a.example.com", NULL) == 0, "no parent matching without MAPS_LIST_PARENT");
    ok(match(l, "a.sub.example.org", NULL) == 1 && match(l, "sub.example.org", NULL) == 0, ".domain: subdomains only");
    maps_list_free(l);
    l = maps_list_open("relay_domains", "example.com", MAPS_LIST_DOMAIN | MAPS_LIST_PARENT, &err);
    ok(match(l, "a.b.example.com", NULL) == 1 && match(l, "badexample.com", NULL) == 0, "parent matching, by label");
    maps_list_free(l);

    buf_reset(&spec);
    buf_printf(&spec, "!192.0.2.7, 192.0.2.0/24 [2001:db8::]/32 %s", write_file("nets", "# a file\n198.51.100.0/24\n"));
    buf_printf(&spec, " cidr:%s .trusted.example !10.9.9.9 10.0.0.0/8", write_file("nets.cidr", "203.0.113.0/24 x\n"));
    l = maps_list_open("mynetworks", spec.data, MAPS_LIST_NETS | MAPS_LIST_PARENT, &err);
    ok(l != NULL, "a network list");
    ok(match(l, NULL, "192.0.2.1") == 1 && match(l, NULL, "192.0.2.7") == 0, "networks and an exclusion first");
    ok(match(l, NULL, "2001:db8::5") == 1 && match(l, NULL, "2001:db9::5") == 0, "IPv6 networks");
    ok(match(l, NULL, "198.51.100.9") == 1, "a /file pattern");
    ok(match(l, NULL, "203.0.113.9") == 1, "a cidr: table");
    ok(match(l, "mx.trusted.example", "192.0.2.200") == 1 && match(l, "unknown", "172.16.0.1") == 0, "a name pattern");
    ok(match(l, NULL, "10.9.9.9") == 0 && match(l, NULL, "10.1.1.1") == 1, "exclusion before a wider network");
    maps_list_free(l);
    buf_reset(&err);
    ok(maps_list_open("mynetworks", "192.0.2.1/24", MAPS_LIST_NETS, &err) == NULL, "host bits set: refused");
    is_string(err.data, "mynetworks: non-null host address bits in \"192.0.2.1/24\"", "and why");
    buf_reset(&err);
    ok(maps_list_open("mynetworks", "/nonexistent/file", MAPS_LIST_NETS, &err) == NULL, "a missing file: refused");

    buf_free(&err);
    buf_free(&spec);
    unlink(write_file("access", ""));
    unlink(write_file("nets", ""));
    unlink(write_file("nets.cidr", ""));
    rmdir(dir);
    return done_testing();
}
