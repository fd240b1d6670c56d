/*
 * 301-procregex.c - procmail's regular expressions on PCRE2: every row of
 * t/data/procsort-lang/regex.tsv (flags, expression, subject with \n \t \\
 * escapes, whether real procmail 3.22 matched, what it put in MATCH, or
 * "unset") is matched the way a B ?? condition matches a body; plus the
 * translation of the special cases (^^ at either end, \< \>, classes).
 * The expected columns were produced by running each row through procmail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/procregex.h"
#include "t/lib/tap.h"

static void unescape(const char *in, struct buf *out)
{
    buf_reset(out);
    for (; *in; in++) {
        if (*in == '\\' && in[1]) {
            in++;
            buf_addch(out, *in == 'n' ? '\n' : *in == 't' ? '\t' : *in);
        } else {
            buf_addch(out, *in);
        }
    }
}

static void translate_is(const char *pat, const char *want)
{
    struct buf out = BUF_INIT, err = BUF_INIT;
    int split;

    procregex_translate(pat, strlen(pat), &out, &split, &err);
    is_string(out.data, want, "translation of %s", pat);
    buf_free(&out);
    buf_free(&err);
}

int main(int argc, char **argv)
{
    char line[4096];
    struct buf path = BUF_INIT;
    FILE *fp;
    struct buf subj = BUF_INIT, framed = BUF_INIT, err = BUF_INIT;
    int rows = 0;
    const char *slash;

    (void) argc;
    /* t/bin/301-procregex.t: the data is in ../data from the binary's directory */
    slash = strrchr(argv[0], '/');
    if (slash)
        buf_add(&path, argv[0], (size_t) (slash - argv[0]));
    else
        buf_addstr(&path, ".");
    buf_addstr(&path, "/../data/procsort-lang/regex.tsv");
    fp = fopen(path.data, "r");
    if (!fp)
        bail("cannot open %s", path.data);
    while (fgets(line, sizeof(line), fp)) {
        char *f[5], *p = line;
        int n = 0, want, got;
        struct procregex *re;
        size_t end, ms = 0, me = 0;

        line[strcspn(line, "\n")] = 0;
        while (n < 5) {
            f[n++] = p;
            p = strchr(p, '\t');
            if (!p)
                break;
            *p++ = 0;
        }
        if (n < 5)
            bail("%s: bad row %d", path.data, rows + 1);
        rows++;
        unescape(f[2], &subj);
        want = atoi(f[3]);
        buf_reset(&err);
        {
            struct buf pat = BUF_INIT;
            int nocase;

            buf_setstr(&pat, f[1]);
            nocase = procregex_specials(&pat);
            re = procregex_compile(pat.data, pat.len, (strcmp(f[0], "D") || nocase) ? PROCREGEX_CASELESS : 0, &err);
            buf_free(&pat);
        }
        if (!re) {
            ok(0, "row %d: %s compiles (%s)", rows, f[1], err.data);
            continue;
        }
        procregex_frame(&framed, subj.data, subj.len);
        got = procregex_exec(re, framed.data, framed.len, 0, &end, &ms, &me, &err);
        is_int(got, want, "row %d: %s%s on \"%s\"", rows, f[0][0] == 'D' ? "(D) " : "", f[1], f[2]);
        if (got == 1 && want == 1 && strcmp(f[4], "unset") != 0) {
            struct buf m = BUF_INIT;

            buf_add(&m, subj.data + ms, me - ms);
            is_string(m.data, f[4], "row %d: MATCH of %s", rows, f[1]);
            buf_free(&m);
        } else if (want == 1) {
            ok(procregex_has_split(re) == (strcmp(f[4], "unset") != 0), "row %d: \\/ seen or not", rows);
        }
        procregex_free(re);
    }
    fclose(fp);
    ok(rows >= 50, "the table has %d rows", rows);

    translate_is("^^a", "(?:\\A\\n)a");
    translate_is("a^^", "a(?:\\n\\z)");
    translate_is("(a^^|b)c", "(?:a(?:\\A\\n)|b)c");
    translate_is("a(b^^)", "a(?:b(?:\\n\\z))");
    translate_is("\\<w\\>", "[^a-zA-Z0-9_]w[^a-zA-Z0-9_]");
    translate_is("[^a-z]", "[^\\na-z]");
    translate_is("[z-a]", "[za]");
    translate_is("a{2}\\d", "a\\{2\\}d");
    translate_is("x*\\/y+", "(?:x)*?\\K(?:y)+");
    {
        struct buf out = BUF_INIT;
        int split;

        buf_reset(&err);
        ok(procregex_translate("a)b", 3, &out, &split, &err) < 0 && strstr(err.data, "unmatched"),
           "a stray ) is reported (%s)", err.data);
        buf_free(&out);
        buf_reset(&err);
        {
            struct buf deep = BUF_INIT;
            int i;

            for (i = 0; i < 1000; i++)
                buf_addch(&deep, '(');
            ok(procregex_translate(deep.data, deep.len, &out, &split, &err) < 0, "nesting is bounded: %s", err.data);
            buf_free(&deep);
        }
        buf_free(&out);
    }
    buf_free(&path);
    buf_free(&subj);
    buf_free(&framed);
    buf_free(&err);
    return done_testing();
}
