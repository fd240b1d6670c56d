/*
 * 011-config.c - main.cf-style configuration: logical lines, comments,
 * $name expansion in all its forms, -o overrides, unknown names and bad
 * lines reported with file and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/lline.h"
#include "t/lib/tap.h"

static const struct config_param known[] = {
    { "myhostname", "host.$mydomain" },
    { "mydomain", "localdomain" },
    { "header_checks", "" },
    { "mime_header_checks", "$header_checks" },
    { "timeout", "30" },
    { "lifetime", "5d" },
    { "enabled", "yes" },
    { "greeting", "${mydomain?domain $mydomain}${nothing:none set}" },
    { "loop", "$loop" },
    { "nothing", "" },
    { NULL, NULL },
};

static char *write_file(const char *text)
{
    static char path[64];
    FILE *fp;

    snprintf(path, sizeof(path), "/tmp/mailsift-011.%ld", (long) getpid());
    fp = fopen(path, "w");
    if (fp == NULL)
        bail("cannot write %s", path);
    fputs(text, fp);
    fclose(fp);
    return path;
}

int main(void)
{
    struct config *cfg = config_new(known);
    struct buf err = BUF_INIT, line = BUF_INIT, out = BUF_INIT;
    const char *path;
    long n;
    int b, lineno = 0, first = 0;
    FILE *fp;

    /* Logical lines exactly as Postfix's readllines(). */
    path = write_file("# comment\n\nfirst = a\n  b\n# inside\n   c\n  # indented comment\nsecond=x\n"
                      "  \nthird\n");
    fp = fopen(path, "r");
    ok(lline_read(fp, path, &line, &lineno, &first, NULL, NULL), "a logical line is read");
    is_string(line.data, "first = a  b   c", "continuations are appended as is, comments skipped");
    is_int(first, 3, "it starts on line 3");
    ok(lline_read(fp, path, &line, &lineno, &first, NULL, NULL), "the next logical line");
    is_string(line.data, "second=x", "a blank line between lines ends nothing");
    ok(lline_read(fp, path, &line, &lineno, &first, NULL, NULL), "the last line without newline");
    is_string(line.data, "third", "read up to end of file");
    is_int(first, 10, "on line 10");
    ok(!lline_read(fp, path, &line, &lineno, &first, NULL, NULL), "then end of input");
    fclose(fp);

    path = write_file("mydomain = example.com\n"
                      "header_checks = pcre:/etc/postfix/header_checks\n"
                      "timeout = 45\n"
                      "bad line here\n"
                      "tiemout = 3\n");
    ok(config_load(cfg, path, &err) < 0, "a file with a bad line fails to load");
    ok(strstr(err.data, ", line 4: missing '='") != NULL, "the error names line 4: %s", err.data);
    is_string(config_get(cfg, "myhostname"), "host.example.com", "defaults expand later settings");
    is_string(config_get(cfg, "mime_header_checks"), "pcre:/etc/postfix/header_checks",
              "mime_header_checks defaults to $header_checks");
    ok(config_get_int(cfg, "timeout", 1, 100, &n, &err) == 0 && n == 45, "integers parse");
    buf_reset(&err);
    ok(config_check(cfg, &err) < 0, "an unknown parameter is an error");
    ok(strstr(err.data, "line 5: unknown parameter \"tiemout\"") != NULL, "naming file and line: %s", err.data);
    buf_reset(&err);
    ok(config_set(cfg, "timeout=200", &err) == 0, "-o overrides");
    ok(config_get_int(cfg, "timeout", 1, 100, &n, &err) < 0, "a value out of range is refused");
    ok(strstr(err.data, "timeout = 200") != NULL, "with the value named: %s", err.data);
    buf_reset(&err);
    ok(config_get_time(cfg, "lifetime", 's', &n, &err) == 0 && n == 5 * 86400, "time units: 5d");
    ok(config_get_time(cfg, "timeout", 'm', &n, &err) == 0 && n == 200 * 60, "a bare number takes the default unit");
    ok(config_get_bool(cfg, "enabled", &b, &err) == 0 && b == 1, "booleans parse");
    is_string(config_get(cfg, "greeting"), "domain example.comnone set", "${name?text} and ${name:text}");
    ok(config_expand(cfg, "$loop", &out, &err) < 0, "self-reference is an error, not a hang");
    buf_reset(&out);
    ok(config_expand(cfg, "a$$b ${mydomain} $(mydomain)", &out, &err) == 0, "$$ and both brace forms");
    is_string(out.data, "a$b example.com example.com", "expanded text");
    ok(config_get(cfg, "no_such") == NULL, "an unknown name reads as NULL");
    ok(config_set(cfg, "greeting=procsort -a \"$EXTENSION\" $mydomain", &err) == 0, "a value with shell variables");
    is_string(config_get_raw(cfg, "greeting"), "procsort -a \"$EXTENSION\" $mydomain",
              "config_get_raw leaves every $name alone");
    is_string(config_get(cfg, "greeting"), "procsort -a \"\" example.com", "config_get expands them");
    unlink(path);
    config_free(cfg);
    buf_free(&err);
    buf_free(&line);
    buf_free(&out);
    return done_testing();
}
