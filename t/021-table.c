/*
 * 021-table.c - libmatch tables, syntax element by syntax element, for
 * both regexp: and pcre: (what each rule answers, and the line it names),
 * every kind of bad line (golden messages in t/data/tables/bad/NAME.strict
 * and NAME.lenient), spec lists (order, separators, inline tables, types
 * that do not exist, files that cannot be read), types a program registers,
 * a lookup that hits the PCRE2 match limit, and lookups from many threads.
 * t/022-table-postmap.t checks the same syntax against postmap itself.
 */
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "libmatch/rx.h"
#include "libmatch/table.h"
#include "libmatch/table_type.h"
#include "t/lib/tap.h"

static char top[4096]; /* the source tree, from argv[0] */

/*
 * lookup - open text as a table of type (strictly: it must load without a
 * word), look key up; "result@line", "(not found)" or "(error: ...)".
 */
static const char *lookup_n(const char *type, const char *text, const char *key, size_t keylen)
{
    static char out[1024];
    struct buf err = BUF_INIT;
    struct table_match m;
    struct table *t = table_open_text(type, "T", text, strlen(text), 0, &err);
    int rc;

    if (t == NULL) {
        snprintf(out, sizeof(out), "(load: %s)", err.data);
        buf_free(&err);
        return out;
    }
    if (err.len)
        diag("loaded with: %s", err.data);
    table_match_init(&m);
    rc = table_lookup(t, key, keylen, &m, &err);
    if (rc > 0)
        snprintf(out, sizeof(out), "%s@%d", m.result.data, m.line);
    else if (rc == 0)
        snprintf(out, sizeof(out), "(not found)");
    else
        snprintf(out, sizeof(out), "(error: %s)", err.data);
    table_match_free(&m);
    table_free(t);
    buf_free(&err);
    return out;
}

static const char *lookup(const char *type, const char *text, const char *key)
{
    return lookup_n(type, text, key, strlen(key));
}

/* both - the same table and key in regexp: and pcre: */
static void both(const char *text, const char *key, const char *want, const char *desc)
{
    is_string(lookup("regexp", text, key), want, "regexp: %s", desc);
    is_string(lookup("pcre", text, key), want, "pcre: %s", desc);
}

static void test_rules(void)
{
    const char *basic = "# comment\n"
                        "\n"
                        "   \n"
                        "  # indented comment\n"
                        "/^a/ first\n"
                        "/^ab/ never: a wins\n"
                        "/b$/ ends in b\n";

    both(basic, "abc", "first@5", "first match wins, comments and blank lines counted");
    both(basic, "xab", "ends in b@7", "later rule");
    both(basic, "xyz", "(not found)", "no rule applies");
    both(basic, "", "(not found)", "empty key");
    both("/^$/ empty key\n", "", "empty key@1", "a rule for the empty key");
    both("/^(.*)$/ got [$1]\n", "MiXeD Case", "got [MiXeD Case]@1", "keys are matched and captured as given");

    /* continuation lines */
    both("/^a$/\n  550 first\n# comment\n\n\tsecond\n/^b/ b\n", "a", "550 first\tsecond@1",
         "continuation lines join, starting line reported");
    both("/^split\n pattern$/ sp\n", "split pattern", "sp@1", "a pattern continued on the next line");
    both("/^a$/   result with   spaces  \t \n", "a", "result with   spaces@1", "result trimmed at both ends only");
    both("/^a$/ r\r\n/^b$/ s\r\n", "b", "s@2", "CRLF: the CR is trailing white space");

    /* case */
    both("/^abc$/ r\n", "ABC", "r@1", "case-insensitive by default");
    both("/^abc$/i r\n", "ABC", "(not found)", "i toggles to case-sensitive");
    both("/^abc$/ii r\n", "ABC", "r@1", "ii toggles back");

    /* negation */
    both("!/@/ no at\n", "user", "no at@1", "!/pattern/ answers when it does not match");
    both("!/@/ no at\n", "u@x", "(not found)", "!/pattern/ is silent when it matches");
    both("!!/@/ at\n", "u@x", "at@1", "!! negates twice");
    both("! ! /@/ at\n", "u@x", "at@1", "blanks between the !s");
    both("!/@/ cost $$5\n", "u", "cost $5@1", "$$ is fine in a negated rule");

    /* delimiters */
    both("%^a/b$% slash inside\n", "a/b", "slash inside@1", "% as delimiter");
    both("#^a# not a rule\n", "a", "(not found)", "# can't be one: the line is a comment");
    both("|^a\\|b$| escaped\n", "a|b", "escaped@1", "an escaped delimiter is part of the pattern");
    both("~^x~ tilde\n", "xy", "tilde@1", "~ as delimiter");

    /* results */
    both("/^(a+)(b*)(c)?$/ [$1][${2}][$(3)]\n", "aa", "[aa][][]@1", "empty and unset groups give nothing");
    both("/^(x)|(y)$/ [$1][$2]\n", "y", "[][y]@1", "alternation: the other branch is unset");
    both("/^(p)$/ $$$1 $${1} $$$$\n", "p", "$p ${1} $$@1", "$$ is a dollar");
    both("/^(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)$/ ${10} $10 ${1}0\n", "12345678910", "10 10 10@1",
         "two-digit groups");
    both("/^(q)$/ ${1}x$(1)y\n", "q", "qxqy@1", "${n} and $(n) end before letters");
    both("/^(a)(b)$/ $2$1\n", "ab", "ba@1", "groups in any order");

    /* if/endif */
    const char *ifs = "if /@example\\.com$/\n"
                      "/^info@/ info\n"
                      "if !/^(admin|root)@/\n"
                      "/./ other user\n"
                      "endif\n"
                      "/^admin@/ admin\n"
                      "ENDIF\n"
                      "If/^x/\n"
                      "EndIf\n"
                      "/^root@/ root elsewhere\n";

    both(ifs, "info@example.com", "info@2", "inside if");
    both(ifs, "bob@example.com", "other user@4", "nested if !");
    both(ifs, "admin@example.com", "admin@6", "after the nested endif");
    both(ifs, "root@example.com", "root elsewhere@10", "if ! not taken inside a taken if");
    both(ifs, "xyz", "(not found)", "if taken, nothing in it applies, nothing after it does");
    both(ifs, "root@example.org", "root elsewhere@10", "if not taken: on after its endif");
}

static void test_flags(void)
{
    /* pcre: m s x A E U X */
    is_string(lookup("pcre", "/^b$/m r\n", "a\nb\nc"), "r@1", "pcre m: ^ and $ at newlines");
    is_string(lookup("pcre", "/^b$/ r\n", "a\nb\nc"), "(not found)", "pcre: not without m");
    is_string(lookup("pcre", "/a.b/ r\n", "a\nb"), "r@1", "pcre: dot matches newline by default");
    is_string(lookup("pcre", "/a.b/s r\n", "a\nb"), "(not found)", "pcre s toggles it off");
    is_string(lookup("pcre", "/^a b$/x r\n", "ab"), "r@1", "pcre x: white space ignored");
    is_string(lookup("pcre", "/b/A r\n", "ab"), "(not found)", "pcre A: anchored");
    is_string(lookup("pcre", "/b/A r\n", "ba"), "r@1", "pcre A: at the start");
    is_string(lookup("pcre", "/a$/E r\n", "a\n"), "(not found)", "pcre E: $ only at the very end");
    is_string(lookup("pcre", "/a$/ r\n", "a\n"), "r@1", "pcre: $ before a final newline");
    is_string(lookup("pcre", "/^(a+)/U [$1]\n", "aaa"), "[a]@1", "pcre U: ungreedy");
    is_string(lookup("pcre", "/(x)/i [$1]\n", "x"), "[x]@1", "pcre: flags combine");
    is_string(lookup("pcre", "/a\\x00b/ nul\n", "a"), "(not found)", "pcre: \\x00 in a pattern");
    is_string(lookup_n("pcre", "/a\\x00b/ nul\n", "a\0b", 3), "nul@1", "the whole key is matched, NUL and all");

    /* regexp: x m */
    is_string(lookup("regexp", "/^(ab)+$/x r\n", "(ab)+"), "r@1", "regexp x: basic syntax");
    is_string(lookup("regexp", "/^a\\(b\\)c$/x [$1]\n", "abc"), "[b]@1", "regexp x: basic groups");
    is_string(lookup("regexp", "/^b$/m r\n", "a\nb\nc"), "r@1", "regexp m: REG_NEWLINE");
    is_string(lookup("regexp", "/a.b/ r\n", "a\nb"), "r@1", "regexp: . matches newline without m");
    is_string(lookup("regexp", "/a.b/m r\n", "a\nb"), "(not found)", "regexp m: . does not");
    is_string(lookup("regexp", "/^(a|ab)(c|bcd)(d*)$/ [$1][$2][$3]\n", "abcd"), "[a][bcd][]@1",
              "regexp: POSIX matching");
    is_string(lookup("regexp", "/(a*)+$/ [$1]\n", "aaa"), "[aaa]@1", "regexp: leftmost-longest group");
    is_string(lookup("pcre", "/(a*)+$/ [$1]\n", "aaa"), "[]@1", "pcre: the same pattern, Perl's group");

    /* regexp's second pattern and trailing backslash */
    is_string(lookup("regexp", "/^u/!/@ex$/ r\n", "u@ex"), "(not found)", "regexp /a/!/b/: a and not b");
    is_string(lookup("regexp", "/^u/!/@ex$/ r\n", "u@ey"), "r@1", "regexp /a/!/b/: a without b");
    is_string(lookup("regexp", "/^(u)/i!!/x/i $1\n", "ux"), "u@1", "regexp /a/!!/b/: both");
    is_string(lookup("regexp", "/^(x)/\n $1\n", "x"), "x@1", "regexp: result on a continuation line");
}

/* load_err - the problems loading text, strict or lenient */
static const char *load_err_n(const char *type, const char *text, size_t len, int flags, int *loaded)
{
    static char out[1024];
    struct buf err = BUF_INIT;
    struct table *t = table_open_text(type, "T", text, len, flags, &err);

    *loaded = t != NULL;
    snprintf(out, sizeof(out), "%s", err.data);
    table_free(t);
    buf_free(&err);
    return out;
}

static const char *load_err(const char *type, const char *text, int flags, int *loaded)
{
    return load_err_n(type, text, strlen(text), flags, loaded);
}

static void test_bad_lines(void)
{
    int loaded;

    is_string(load_err("pcre", "/a/ x\n/b\n/c/ y\n", 0, &loaded), "T, line 2: no closing regexp delimiter \"/\"",
              "strict: the bad line");
    ok(!loaded, "strict: the table does not load");
    is_string(load_err("pcre", "/a/ x\n/b\n/c/ y\n", TABLE_LENIENT, &loaded),
              "T, line 2: no closing regexp delimiter \"/\": skipping this rule", "lenient: what we did");
    ok(loaded, "lenient: the table loads");
    is_string(lookup("pcre", "/a\\\n", "a"), "(load: T, line 1: no closing regexp delimiter \"/\")",
              "pcre: a backslash at the end does not close");
    is_string(lookup("regexp", "/a\\\n", "a"), "(load: T, line 1: no replacement text)",
              "regexp: it closes (and then there is no result)");
    is_string(load_err("pcre", "/a/\n", TABLE_LENIENT, &loaded), "T, line 1: no replacement text: using empty string",
              "no result: lenient uses the empty string");
    {
        struct buf err = BUF_INIT;
        struct table_match m;
        struct table *t = table_open_text("pcre", "T", "/a/\n", 4, TABLE_LENIENT, &err);

        table_match_init(&m);
        is_int(table_lookup(t, "a", 1, &m, &err), 1, "the empty result is found...");
        is_int(m.result.len, 0, "...and empty");
        table_match_free(&m);
        table_free(t);
        buf_free(&err);
    }
    is_string(load_err_n("pcre", "/a/ b\n/b\0c/ d\n", 12, 0, &loaded),
              "T, line 2: text after null byte\nT, line 2: no closing regexp delimiter \"/\"",
              "a NUL byte in a line: the line ends there, as for Postfix");
    is_string(load_err_n("pcre", "/a/ b\n/b/ c\0d\n", 12, TABLE_LENIENT, &loaded),
              "T, line 2: text after null byte: ignoring the rest of the line", "lenient: the line ends there");
    is_string(load_err("pcre", "  /a/ b\n/c/ d\n", 0, &loaded), "T, line 1: logical line must not start with white space",
              "white space before the first rule");
    is_string(load_err("pcre", "if /a/\n/b/ c\nendif\nendif\n", 0, &loaded), "T, line 4: ENDIF without matching IF",
              "one endif too many");
    is_string(load_err("regexp", "if /a/\nif /b/\nendif\n", 0, &loaded), "T, line 1: IF has no matching ENDIF",
              "one endif too few: the outer if is named");
    is_string(load_err("pcre", "if /(/\n/a/ b\nendif\n", 0, &loaded),
              "T, line 1: error in regex at offset 1: missing closing parenthesis\nT, line 3: ENDIF without matching IF",
              "a bad if leaves its endif alone: every problem, one per line");
    is_string(lookup("regexp", "/^(a{100}){100}$/ r\n", "a"), "(not found)", "regexp: ten thousand parts load");
    is_string(lookup("regexp", "/^x.{0,200}[0-9]{1,3}$/ r\n", "x1"), "r@1", "regexp: everyday repetition loads");
    ok(strstr(lookup("regexp", "/a++++++++++++++++++++++++++++++++++++++++/ r\n", "a"),
              "T, line 1: regular expression too large once repetitions are expanded") != NULL,
       "regexp: a pattern glibc would expand to 2^40 parts is refused before regcomp");
    ok(strstr(lookup("regexp", "/(a?){5000}/ r\n", "a"), "too large") != NULL,
       "regexp: so is one whose optional parts would take gigabytes");
    ok(strstr(lookup("regexp", "/\\(a*\\)\\{2000\\}/x r\n", "a"), "too large") != NULL,
       "regexp: basic syntax is measured too");
    is_string(lookup("pcre", "/(a?){5000}/ r\n", "a"), "r@1", "pcre: PCRE2 has its own limits");
    {
        struct buf big = BUF_INIT;

        buf_addstr(&big, "/a/ ");
        while (big.len <= 1024 * 1024)
            buf_addstr(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        buf_addstr(&big, "\n/b/ c\n");
        is_string(load_err("pcre", big.data, TABLE_LENIENT, &loaded), "T, line 1: line longer than 1048576 bytes: skipping this line",
                  "a logical line over TABLE_LINE_MAX");
        buf_free(&big);
    }
}

/* golden - compare a bad table's messages with NAME.strict / NAME.lenient */
static void golden(const char *name)
{
    char path[8192];
    const char *type = strrchr(name, '.') + 1;
    int mode;

    for (mode = 0; mode < 2; mode++) {
        struct buf err = BUF_INIT;
        struct buf want = BUF_INIT;
        struct buf got = BUF_INIT;
        struct table *t;
        FILE *fp;
        char spec[8300];
        const char *p;
        int ch;

        snprintf(path, sizeof(path), "%s/t/data/tables/bad/%s.%s", top, name, mode ? "lenient" : "strict");
        if ((fp = fopen(path, "r")) == NULL)
            bail("open %s", path);
        while ((ch = getc(fp)) != EOF)
            buf_addch(&want, ch);
        fclose(fp);
        snprintf(path, sizeof(path), "%s/t/data/tables/bad/%s", top, name);
        snprintf(spec, sizeof(spec), "%s:%s", type, path);
        t = table_open(spec, mode ? TABLE_LENIENT : 0, &err);
        ok(mode ? t != NULL : t == NULL, "%s: %s", name, mode ? "lenient: loads" : "strict: does not load");
        /* FILE for the path, one message per line. */
        for (p = err.data; *p;) {
            if (strncmp(p, path, strlen(path)) == 0) {
                buf_addstr(&got, "FILE");
                p += strlen(path);
            } else {
                buf_addch(&got, *p++);
            }
        }
        buf_addch(&got, '\n');
        is_string(got.data, want.data, "%s: every bad line, as %s", name, mode ? "NAME.lenient" : "NAME.strict");
        table_free(t);
        buf_free(&err);
        buf_free(&want);
        buf_free(&got);
    }
}

static void test_golden(void)
{
    golden("b01-everything.pcre");
    golden("b02-everything.regexp");
    golden("b03-leading.pcre");
    golden("b04-leading.regexp");
    golden("b05-unclosed.regexp");
    golden("b06-second.regexp");
}

/* A type of our own, as mta-core will register them. */
static void *echo_open(const char *name, const char *text, size_t len, int flags, struct buf *err)
{
    (void) text, (void) len, (void) flags;
    if (strcmp(name, "fail") == 0) {
        buf_addstr(err, "echo: told to fail");
        return NULL;
    }
    return mem_strdup(name);
}

static int echo_lookup(const void *table, const char *key, size_t keylen,
                       struct table_match *match, struct buf *err)
{
    (void) err;
    if (keylen == 0)
        return 0;
    buf_set(&match->result, table, strlen(table));
    buf_addch(&match->result, ':');
    buf_add(&match->result, key, keylen);
    match->file = table;
    match->line = 0;
    return 1;
}

static const struct table_type echo_type = { "echo", 0, echo_open, echo_lookup, mem_free };

/* spec - the answer of a spec list for key, as lookup() gives it */
static const char *spec(const char *specs, int flags, const char *key)
{
    static char out[2048];
    struct buf err = BUF_INIT;
    struct table_match m;
    struct table *t = table_open(specs, flags, &err);
    int rc;

    if (t == NULL) {
        snprintf(out, sizeof(out), "(open: %s)", err.data);
        buf_free(&err);
        return out;
    }
    table_match_init(&m);
    rc = table_lookup(t, key, strlen(key), &m, &err);
    if (rc > 0)
        snprintf(out, sizeof(out), "%s@%s:%d", m.result.data, m.file, m.line);
    else
        snprintf(out, sizeof(out), rc == 0 ? "(not found)" : "(error: %s)", err.data);
    table_match_free(&m);
    table_free(t);
    buf_free(&err);
    return out;
}

static void test_specs(void)
{
    char a[8192];
    char b[8192];
    char specs[20000];
    char want[20000];
    struct buf err = BUF_INIT;
    struct table *t;

    snprintf(a, sizeof(a), "%s/t/data/tables/diff/p01-basic.pcre", top);
    snprintf(b, sizeof(b), "%s/t/data/tables/diff/r03-negation.regexp", top);
    snprintf(specs, sizeof(specs), " pcre:%s ,\tregexp:%s, ", a, b);
    snprintf(want, sizeof(want), "REJECT pharma@%s:3", a);
    is_string(spec(specs, 0, "Subject: viagra"), want, "two tables: the first answers");
    snprintf(want, sizeof(want), "no at sign@%s:2", b);
    is_string(spec(specs, 0, "nothing"), want, "two tables: the second answers when the first does not");
    t = table_open(specs, 0, &err);
    is_string(table_specs(t), specs, "table_specs gives the list back");
    table_free(t);

    is_string(spec("pcre:{ {/^a/ first}, { /^b/  second  } ,{/^(c)/ third $1}}", 0, "b"), "second@{ {/^a/ first}, { /^b/  second  } ,{/^(c)/ third $1}}:2",
              "inline table: one rule per braces, white space inside dropped");
    is_string(spec("regexp:{{/^(c)/ third $1}}", 0, "c"), "third c@{{/^(c)/ third $1}}:1", "inline regexp");
    is_string(spec("pcre:{}", 0, "x"), "(not found)", "an empty inline table");
    is_string(spec("pcre:{ {/a/ b}", 0, "x"), "(open: pcre:{ {/a/ b}: missing '}' in \"{ {/a/ b}\")", "inline: unbalanced");
    is_string(spec("pcre:{ /a/ b }", 0, "x"), "(open: pcre:{ /a/ b }: no '{' at start of text in \"/a/\")", "inline: rule without braces");
    is_string(spec("pcre:{ {/a/ b} }x", 0, "x"), "(open: pcre:{ {/a/ b} }x: syntax error after '}' in \"{ {/a/ b} }x\")",
              "inline: text after the braces");

    is_string(spec("nis:mail.aliases", 0, "x"), "(open: table \"nis:mail.aliases\": unsupported table type \"nis\")", "unknown type");
    is_string(spec("/etc/postfix/header_checks", 0, "x"),
              "(open: table \"/etc/postfix/header_checks\": expected type:name (pcre:/path, regexp:/path))", "no type");
    is_string(spec("pcre:", 0, "x"), "(open: table \"pcre:\": no table name after the type)", "no name");
    is_string(spec("pcre:/nonexistent/x", 0, "x"), "(open: open /nonexistent/x: No such file or directory)", "missing file");
    is_string(spec(" , ", 0, "x"), "(open: no table in \" , \")", "no spec at all");
    is_string(spec("pcre:/nonexistent/x nis:y", 0, "x"),
              "(open: open /nonexistent/x: No such file or directory\ntable \"nis:y\": unsupported table type \"nis\")",
              "every problem of a list, one per line");
    is_string(spec("pcre:/nonexistent/x", TABLE_LENIENT, "x"), "(open: open /nonexistent/x: No such file or directory)",
              "a missing file fails even when lenient");

    is_string(spec("echo:hello", 0, "x"), "(open: table \"echo:hello\": unsupported table type \"echo\")", "echo: not known yet");
    table_type_register(&echo_type);
    is_string(spec("echo:hello", 0, "x"), "hello:x@hello:0", "a registered type answers");
    is_string(spec("pcre:{{/^a$/ A}}, echo:two", 0, "a"), "A@{{/^a$/ A}}:1", "registered and built-in types mix");
    is_string(spec("pcre:{{/^a$/ A}}, echo:two", 0, "b"), "two:b@two:0", "in order");
    is_string(spec("echo:fail", 0, "b"), "(open: echo: told to fail)", "a type's own open error");
    t = table_open_text("echo", "n", "", 0, 0, &err);
    ok(t == NULL, "table_open_text refuses a type that reads no file");
    is_string(err.data, "table type \"echo\" does not read files", "and says so");
    buf_reset(&err);
    t = table_open_text("nis", "n", "", 0, 0, &err);
    is_string(err.data, "table type \"nis\" is not supported", "table_open_text: unknown type");
    buf_free(&err);
}

static void test_limit(int flags, const char *how)
{
    struct buf err = BUF_INIT;
    struct table_match m;
    const char *text = "/^x/ x\n/^(a+)+$/ catastrophic\n/./ any\n";
    struct table *t = table_open_text("pcre", "T", text, strlen(text), flags, &err);
    char key[64];

    memset(key, 'a', 40);
    key[40] = 'b';
    table_match_init(&m);
    is_int(table_lookup(t, key, 41, &m, &err), -1, "%s: a match limit makes the lookup fail (not: no match)", how);
    is_string(err.data, "T, line 2: match limit exceeded", "%s: err names the rule", how);
    buf_reset(&err);
    is_int(table_lookup(t, key, 40, &m, &err), 1, "%s: the same table still answers other keys", how);
    is_string(m.result.data, "catastrophic", "%s: with the rule that matches", how);
    table_match_free(&m);
    table_free(t);
    buf_free(&err);
}

/* Threads: one table, many lookups at once, all answers right. */
#define THREADS 8
#define ROUNDS 3000

static struct table *shared;

static void *thread_main(void *arg)
{
    long id = (long) arg;
    long bad = 0;
    struct buf err = BUF_INIT;
    struct buf want = BUF_INIT;
    struct table_match m;
    char key[64];
    int i;

    table_match_init(&m);
    for (i = 0; i < ROUNDS; i++) {
        int n = snprintf(key, sizeof(key), "user%ld-%d@%s.example", id, i, i % 2 ? "odd" : "even");
        int rc = table_lookup(shared, key, (size_t) n, &m, &err);

        buf_reset(&want);
        buf_printf(&want, "%s user%ld-%d", i % 2 ? "ODD" : "EVEN", id, i);
        if (rc != 1 || strcmp(m.result.data, want.data) != 0)
            bad++;
    }
    table_match_free(&m);
    buf_free(&err);
    buf_free(&want);
    rx_thread_cleanup();
    return (void *) bad;
}

static void test_threads(void)
{
    struct buf err = BUF_INIT;
    pthread_t tid[THREADS];
    long total = 0;
    long i;

    shared = table_open("pcre:{{/^([^@]+)@odd\\./ ODD $1}}, regexp:{{/^([^@]+)@even\\./ EVEN $1}}", 0, &err);
    ok(shared != NULL, "shared table loads (%s)", err.data);
    for (i = 0; i < THREADS; i++)
        pthread_create(&tid[i], NULL, thread_main, (void *) i);
    for (i = 0; i < THREADS; i++) {
        void *bad;

        pthread_join(tid[i], &bad);
        total += (long) bad;
    }
    is_int(total, 0, "%d threads x %d lookups in one table, every answer right", THREADS, ROUNDS);
    table_free(shared);
    buf_free(&err);
}

int main(int argc, char **argv)
{
    char *copy = mem_strdup(argc > 0 ? argv[0] : "t/bin/x");

    /* t/bin/021-table.t -> the tree two levels up */
    snprintf(top, sizeof(top), "%s/../..", dirname(copy));
    mem_free(copy);
    test_rules();
    test_flags();
    test_bad_lines();
    test_golden();
    test_specs();
    test_limit(0, "JIT");
    test_limit(TABLE_NO_JIT, "TABLE_NO_JIT");
    test_threads();
    rx_thread_cleanup();
    return done_testing();
}
