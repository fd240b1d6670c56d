/*
 * 451-alias-expand.c - recipient expansion as Postfix's cleanup (virtual)
 * and local (aliases) would do it: fan-out, |command, /file, :include:,
 * \user, self-reference, loops, user+ext, virtual catch-all with
 * Sendmail's %1/%2/%3, virtual alias domains, duplicates removed, relayed
 * addresses, bad lines warned about and skipped, reload on change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "mta-core/alias_expand.h"
#include "t/lib/tap.h"

static const struct config_param params[] = {
    {"mydestination", "example.org, localhost"},
    {"myorigin", "example.org"},
    {"recipient_delimiter", "+"},
    {"home_base", ""},
    {"default_privs", "nobody"},
    {"allow_mail_to_commands", "alias, forward"},
    {"allow_mail_to_files", "alias, forward"},
    {"propagate_unmatched_extensions", "canonical, virtual"},
    {"alias_maps", ""},
    {"virtual_alias_maps", ""},
    {NULL, NULL},
};

static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    if (fp == NULL)
        bail("create %s: %s", path, strerror(errno));
    fputs(text, fp);
    fclose(fp);
}

/* expand - "kind:target[!dsn]" items joined by spaces */
static void expand(struct alias_ctx *ctx, const char *rcpt, struct buf *out)
{
    struct alias_list list = {0};
    struct buf err = BUF_INIT;
    size_t i;

    buf_reset(out);
    if (alias_expand(ctx, rcpt, &list, &err) < 0) {
        buf_printf(out, "TEMPFAIL: %s", err.data);
    } else {
        for (i = 0; i < list.n; i++) {
            if (i)
                buf_addch(out, ' ');
            buf_printf(out, "%s:%s", list.v[i].kind, list.v[i].target);
            if (list.v[i].dsn)
                buf_printf(out, "!%s", list.v[i].dsn);
        }
    }
    alias_list_free(&list);
    buf_free(&err);
}

int main(void)
{
    struct buf err = BUF_INIT, got = BUF_INIT, set = BUF_INIT;
    struct config *cfg;
    struct alias_ctx *ctx;
    struct alias_list list = {0};
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/mailsift-451-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    write_file("aliases",
               "# comment\n"
               "postmaster: root\n"
               "team: alice, bob,\n"
               "  carol@elsewhere.net\n"
               "pipe: \"|/usr/bin/logger -t mail, with comma\"\n"
               "tofile: /var/tmp/mail.log\n"
               "list: :include:%DIR%/list.inc\n"
               "self: self, alice\n"
               "loopa: loopb\n"
               "loopb: loopa\n"
               "back: \\alice\n"
               "Mixed: alice\n"
               "fan: team, alice\n"
               "noval:\n"
               "no colon here\n"
               "team: duplicate\n"
               "incself: :include:%DIR%/self.inc\n");
    /* Fix up the include paths. */
    {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "sed -i 's|%%DIR%%|%s|g' %s/aliases", dir, dir);
        if (system(cmd) != 0)
            bail("sed failed");
    }
    write_file("list.inc", "# members\ndave\n|/bin/cat\n/tmp/x\n");
    write_file("self.inc", ":include:/nonexistent/sub.inc\n");
    write_file("virtual",
               "virt.example        anything\n"
               "info@virt.example   alice@example.org, bob@remote.net\n"
               "sales@virt.example  sales@virt.example, dave\n"
               "@catch.example      %1@example.org\n"
               "@detail.example     inbox+%2@example.org\n"
               "@moved.example      @new.example\n"
               "joe@ext.example     joe@example.org\n"
               "alias1@virt.example team@example.org\n");

    cfg = config_new(params);
    buf_printf(&set, "alias_maps = hash:%s/aliases", dir);
    config_set(cfg, set.data, &err);
    buf_reset(&set);
    buf_printf(&set, "virtual_alias_maps = %s/virtual", dir);
    config_set(cfg, set.data, &err);
    buf_reset(&set);
    buf_printf(&set, "home_base = %s/home", dir);
    config_set(cfg, set.data, &err);
    ctx = alias_init(cfg, &err);
    ok(ctx != NULL, "alias_init: %s", err.data);
    if (ctx == NULL)
        bail("cannot go on");

    expand(ctx, "alice@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org", "a plain local user");
    expand(ctx, "<Alice@Example.ORG>", &got);
    is_string(got.data, "mailbox:alice@example.org", "brackets dropped, local address case folded");
    expand(ctx, "postmaster@example.org", &got);
    is_string(got.data, "mailbox:root@example.org", "alias to a user");
    expand(ctx, "team@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org mailbox:bob@example.org relay:carol@elsewhere.net",
              "fan-out over a continuation line, remote member relayed");
    expand(ctx, "pipe@example.org", &got);
    is_string(got.data, "command:/usr/bin/logger -t mail, with comma", "quoted |command keeps its comma");
    expand(ctx, "tofile@example.org", &got);
    is_string(got.data, "file:/var/tmp/mail.log", "/file");
    expand(ctx, "list@localhost", &got);
    is_string(got.data, "mailbox:dave@example.org mailbox:list@localhost!5.7.1",
              ":include: members; its |command and /file are restricted by default");
    expand(ctx, "self@example.org", &got);
    is_string(got.data, "mailbox:self@example.org mailbox:alice@example.org",
              "an alias naming itself delivers to its own mailbox");
    expand(ctx, "loopa@example.org", &got);
    is_string(got.data, "mailbox:loopa@example.org!5.4.6", "an alias loop bounces with 5.4.6");
    expand(ctx, "back@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org", "\\user goes straight to the mailbox");
    expand(ctx, "mixed@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org", "alias names are case-insensitive");
    expand(ctx, "fan@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org mailbox:bob@example.org relay:carol@elsewhere.net",
              "duplicates across nested aliases are delivered once");
    expand(ctx, "team+sports@example.org", &got);
    is_string(got.data, "mailbox:alice@example.org mailbox:bob@example.org relay:carol@elsewhere.net",
              "user+ext falls back to the alias of user");
    expand(ctx, "alice+news@example.org", &got);
    is_string(got.data, "mailbox:alice+news@example.org", "the mailbox keeps the extension");
    expand(ctx, "noval@example.org", &got);
    is_string(got.data, "mailbox:noval@example.org", "an entry without a value was skipped");
    expand(ctx, "incself@example.org", &got);
    is_string(got.data, "mailbox:incself@example.org!5.3.5", "a missing include file bounces (5.3.5)");
    expand(ctx, "someone@remote.net", &got);
    is_string(got.data, "relay:someone@remote.net", "a remote address is relayed");
    expand(ctx, "bad/name@example.org", &got);
    is_string(got.data, "mailbox:bad/name@example.org!5.1.3", "a user name with a slash is refused");

    /* virtual */
    expand(ctx, "info@virt.example", &got);
    is_string(got.data, "mailbox:alice@example.org relay:bob@remote.net", "virtual fan-out");
    expand(ctx, "sales@virt.example", &got);
    is_string(got.data, "mailbox:dave@example.org relay:sales@virt.example!5.1.1",
              "a virtual result equal to itself is not expanded again (and, in a virtual domain, unknown)");
    expand(ctx, "nobody@virt.example", &got);
    is_string(got.data, "relay:nobody@virt.example!5.1.1", "unknown address in a virtual alias domain: 5.1.1");
    expand(ctx, "whoever@catch.example", &got);
    is_string(got.data, "mailbox:whoever@example.org", "catch-all with %%1");
    expand(ctx, "whoever+tag@catch.example", &got);
    is_string(got.data, "mailbox:whoever@example.org", "%%1 is the user without the extension");
    expand(ctx, "x+tag@detail.example", &got);
    is_string(got.data, "mailbox:inbox+tag@example.org", "%%2 is the detail");
    expand(ctx, "pat@moved.example", &got);
    is_string(got.data, "relay:pat@new.example", "@otherdomain keeps the user");
    expand(ctx, "joe+foo@ext.example", &got);
    is_string(got.data, "mailbox:joe+foo@example.org", "unmatched extension propagated to the result");
    expand(ctx, "alias1@virt.example", &got);
    is_string(got.data, "mailbox:alice@example.org mailbox:bob@example.org relay:carol@elsewhere.net",
              "virtual then local aliases");

    /* One list for all recipients: no duplicates across them. */
    alias_expand(ctx, "alice@example.org", &list, &err);
    alias_expand(ctx, "team@example.org", &list, &err);
    is_int(list.n, 3, "alice once although two recipients reach her");
    alias_list_free(&list);

    /* Reload on change, and a table that cannot be read. */
    sleep(1);
    write_file("aliases", "postmaster: bob\n");
    buf_reset(&err);
    ok(alias_refresh(ctx, 0, &err) == 0, "refresh after a change: %s", err.data);
    expand(ctx, "postmaster@example.org", &got);
    is_string(got.data, "mailbox:bob@example.org", "the changed aliases file is used");
    {
        char p[512];

        snprintf(p, sizeof(p), "%s/aliases", dir);
        unlink(p);
    }
    buf_reset(&err);
    ok(alias_refresh(ctx, 0, &err) == 0, "a file that went away keeps its old contents");
    expand(ctx, "postmaster@example.org", &got);
    is_string(got.data, "mailbox:bob@example.org", "still the old contents");
    alias_free(ctx);

    /* A map that was never readable: lookups fail temporarily. */
    buf_reset(&err);
    ctx = alias_init(cfg, &err);
    ok(ctx != NULL, "alias_init with a missing file still works");
    expand(ctx, "postmaster@example.org", &got);
    ok(strncmp(got.data, "TEMPFAIL", 8) == 0, "and lookups defer: %s", got.data);
    expand(ctx, "someone@remote.net", &got);
    is_string(got.data, "relay:someone@remote.net", "remote addresses do not need the alias map");
    alias_free(ctx);

    /* Commands from include files are restricted by default. */
    write_file("aliases2", "list: :include:LIST\n");
    {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "sed -i 's|LIST|%s/list.inc|' %s/aliases2", dir, dir);
        if (system(cmd) != 0)
            bail("sed failed");
    }
    buf_reset(&set);
    buf_printf(&set, "alias_maps = %s/aliases2", dir);
    config_set(cfg, set.data, &err);
    buf_reset(&err);
    ctx = alias_init(cfg, &err);
    expand(ctx, "list@example.org", &got);
    is_string(got.data, "mailbox:dave@example.org mailbox:list@example.org!5.7.1",
              "|command and /file from :include: are restricted by default (5.7.1)");
    alias_free(ctx);
    config_set(cfg, "allow_mail_to_commands = alias, include", &err);
    config_set(cfg, "allow_mail_to_files = alias, include", &err);
    ctx = alias_init(cfg, &err);
    expand(ctx, "list@example.org", &got);
    is_string(got.data, "mailbox:dave@example.org command:/bin/cat file:/tmp/x",
              "and allowed with \"include\"");
    alias_free(ctx);

    config_free(cfg);
    {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            diag("could not remove %s", dir);
    }
    buf_free(&err);
    buf_free(&got);
    buf_free(&set);
    return done_testing();
}
