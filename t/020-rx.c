/*
 * 020-rx.c - the PCRE2 wrapper: every compile flag, captures (set, unset,
 * beyond the pattern), capture counts, named groups, start offsets and
 * match flags, NUL bytes, compile errors with offsets, the match limit
 * (a catastrophic pattern returns -1 instead of hanging) with and without
 * JIT, and several threads matching the same patterns at once.  The
 * first-byte filter and JIT on demand (rx.c): anchored patterns of every
 * kind of first item give the same answers interpreted, JIT-compiled at
 * once and JIT-compiled once hot, and a pattern becomes JIT code after
 * RX_JIT_AFTER calls into PCRE2 (filtered calls do not count).
 */
#include <pthread.h>
#include <string.h>

#include "libmatch/buf.h"
#include "libmatch/rx.h"
#include "t/lib/tap.h"

/* matches - 1/0/-1 from rx_exec for a NUL-terminated pattern and subject */
static int matches(const char *pat, int flags, const char *subject)
{
    struct buf err = BUF_INIT;
    struct rx *rx = rx_compile(pat, strlen(pat), flags, &err);
    struct rx_span span[1];
    int rc;

    if (rx == NULL) {
        diag("compile %s: %s", pat, err.data);
        buf_free(&err);
        return -2;
    }
    rc = rx_exec(rx, subject, strlen(subject), 0, 0, span, 1, &err);
    rx_free(rx);
    buf_free(&err);
    return rc;
}

/* group - the text of group n after matching, "(unset)" or "(nomatch)" */
static const char *group(const char *pat, int flags, const char *subject, int n)
{
    static char out[256];
    struct buf err = BUF_INIT;
    struct rx *rx = rx_compile(pat, strlen(pat), flags, &err);
    struct rx_span span[10];

    if (rx == NULL)
        snprintf(out, sizeof(out), "(error: %s)", err.data);
    else if (rx_exec(rx, subject, strlen(subject), 0, 0, span, 10, &err) != 1)
        snprintf(out, sizeof(out), "(nomatch)");
    else if (span[n].start == RX_UNSET)
        snprintf(out, sizeof(out), "(unset)");
    else
        snprintf(out, sizeof(out), "%.*s", (int) (span[n].end - span[n].start), subject + span[n].start);
    rx_free(rx);
    buf_free(&err);
    return out;
}

static void test_flags(void)
{
    is_int(matches("abc", 0, "xABCx"), 0, "case-sensitive by default");
    is_int(matches("abc", RX_CASELESS, "xABCx"), 1, "RX_CASELESS");
    is_int(matches("^b", 0, "a\nb"), 0, "^ only at the start by default");
    is_int(matches("^b", RX_MULTILINE, "a\nb"), 1, "RX_MULTILINE: ^ after a newline");
    is_int(matches("a.b", 0, "a\nb"), 0, ". does not match newline by default");
    is_int(matches("a.b", RX_DOTALL, "a\nb"), 1, "RX_DOTALL");
    is_int(matches("a b # comment", 0, "ab"), 0, "white space is literal by default");
    is_int(matches("a b # comment", RX_EXTENDED, "ab"), 1, "RX_EXTENDED");
    is_int(matches("b", 0, "ab"), 1, "unanchored by default");
    is_int(matches("b", RX_ANCHORED, "ab"), 0, "RX_ANCHORED");
    is_int(matches("a$", 0, "a\n"), 1, "$ before a final newline by default");
    is_int(matches("a$", RX_DOLLAR_ENDONLY, "a\n"), 0, "RX_DOLLAR_ENDONLY");
    is_string(group("(a+)", 0, "aaa", 1), "aaa", "greedy by default");
    is_string(group("(a+)", RX_UNGREEDY, "aaa", 1), "a", "RX_UNGREEDY");
    is_string(group("(a+?)", RX_UNGREEDY, "aaa", 1), "aaa", "RX_UNGREEDY: ? makes greedy");
    is_int(matches("\\q", RX_EXTRA, "q"), -2, "RX_EXTRA: unknown escape is an error (PCRE2 always)");
    is_int(matches("a.c", RX_LITERAL, "abc"), 0, "RX_LITERAL: . is a dot");
    is_int(matches("a.c", RX_LITERAL, "a.c"), 1, "RX_LITERAL matches the text");
    is_string(group("(a)(?<n>b)", RX_NO_AUTO_CAPTURE, "ab", 1), "b", "RX_NO_AUTO_CAPTURE: only named groups count");
    is_int(matches("\xc3\xa9", RX_UTF, "caf\xc3\xa9"), 1, "RX_UTF matches UTF-8");
    is_int(matches("x", RX_UTF, "\xff"), -1, "RX_UTF: bad UTF-8 in the subject is an error");
    is_int(matches("x", 0, "\xff" "x"), 1, "without RX_UTF any bytes are fine");
}

static void test_captures(void)
{
    struct buf err = BUF_INIT;
    struct rx *rx;
    struct rx_span span[6];
    const char *s = "foo=bar";

    rx = rx_compile("(\\w+)=(\\w+)|(x)(y)", 18, 0, &err);
    ok(rx != NULL, "alternation compiles");
    is_int(rx_capture_count(rx), 4, "capture count counts every group");
    is_int(rx_exec(rx, s, strlen(s), 0, 0, span, 6, &err), 1, "it matches");
    is_int(span[0].start, 0, "$0 start");
    is_int(span[0].end, 7, "$0 end");
    is_int(span[2].start, 4, "$2 start");
    ok(span[3].start == RX_UNSET && span[3].end == RX_UNSET, "group 3 (other branch) is unset");
    ok(span[4].start == RX_UNSET, "group 4 (other branch) is unset");
    ok(span[5].start == RX_UNSET, "a span beyond the pattern's groups is unset");
    is_int(rx_exec(rx, s, strlen(s), 0, 0, span, 1, &err), 1, "only $0 asked for");
    rx_free(rx);

    is_string(group("(a)|(b)", 0, "b", 1), "(unset)", "unset group before a set one");
    is_string(group("(a)|(b)", 0, "b", 2), "b", "set group after an unset one");
    is_string(group("a(b*)c", 0, "ac", 1), "", "an empty capture is set but empty");

    rx = rx_compile("(?<user>[^@]+)@(?<dom>.+)", 25, 0, &err);
    is_int(rx_group_number(rx, "dom"), 2, "named group number");
    is_int(rx_group_number(rx, "nope"), -1, "unknown name is -1");
    rx_free(rx);

    is_int(rx_capture_count(rx = rx_compile("abc", 3, 0, &err)), 0, "no groups: count 0");
    rx_free(rx);
    buf_free(&err);
}

static void test_subjects(void)
{
    struct buf err = BUF_INIT;
    struct rx *rx = rx_compile("a\0b", 3, 0, &err);
    struct rx_span span[1];

    ok(rx != NULL, "a pattern with a NUL byte compiles");
    is_int(rx_exec(rx, "xa\0b", 4, 0, 0, span, 1, &err), 1, "and matches a subject with a NUL byte");
    is_int(span[0].start, 1, "at the right offset");
    is_int(rx_exec(rx, "xa\0b", 2, 0, 0, span, 1, &err), 0, "the length bounds the subject");
    rx_free(rx);

    rx = rx_compile("^a", 2, 0, &err);
    is_int(rx_exec(rx, "aXa", 3, 2, 0, span, 1, &err), 0, "^ does not match at a start offset");
    is_int(rx_exec(rx, "aXa", 3, 0, RX_NOTBOL, span, 1, &err), 0, "RX_NOTBOL");
    rx_free(rx);
    rx = rx_compile("a", 1, 0, &err);
    is_int(rx_exec(rx, "aXa", 3, 1, 0, span, 1, &err), 1, "start offset: finds the later a");
    is_int(span[0].start, 2, "offsets are from the subject start");
    rx_free(rx);
    rx = rx_compile("a$", 2, 0, &err);
    is_int(rx_exec(rx, "a", 1, 0, RX_NOTEOL, span, 1, &err), 0, "RX_NOTEOL");
    rx_free(rx);
    rx = rx_compile("x*", 2, 0, &err);
    is_int(rx_exec(rx, "ab", 2, 0, RX_NOTEMPTY, span, 1, &err), 0, "RX_NOTEMPTY");
    is_int(rx_exec(rx, "abx", 3, 0, RX_NOTEMPTY_ATSTART, span, 1, &err), 1, "RX_NOTEMPTY_ATSTART");
    rx_free(rx);
    buf_free(&err);
}

static void test_errors(void)
{
    struct buf err = BUF_INIT;

    ok(rx_compile("a(b", 3, 0, &err) == NULL, "unbalanced parenthesis fails");
    is_string(err.data, "error in regex at offset 3: missing closing parenthesis",
              "the error names the offset and the reason");
    buf_reset(&err);
    ok(rx_compile("[z-a]", 5, 0, &err) == NULL, "bad range fails");
    ok(strstr(err.data, "offset 3") != NULL, "at offset 3 (%s)", err.data);
    buf_free(&err);
}

static void test_limits(int flags, const char *how)
{
    struct buf err = BUF_INIT;
    struct rx *rx = rx_compile("^(a+)+$", 7, flags, &err);
    char subject[64];
    struct rx_span span[2];

    memset(subject, 'a', 40);
    subject[40] = 'b';
    is_int(rx_jit_enabled(rx), !(flags & RX_NO_JIT), "%s: JIT %s", how, flags & RX_NO_JIT ? "off" : "on");
    is_int(rx_exec(rx, subject, 41, 0, 0, span, 2, &err), -1, "%s: catastrophic backtracking stops at the limit", how);
    ok(strstr(err.data, "limit") != NULL, "%s: the error says so (%s)", how, err.data);
    is_int(rx_exec(rx, subject, 40, 0, 0, span, 2, &err), 1, "%s: the same pattern still matches a good subject", how);
    rx_free(rx);
    buf_free(&err);
}

/* One anchored pattern against one subject, as the filter must not change. */
struct filter_case {
    const char *pat;
    int flags;
    const char *subject;
    size_t start;
    int want;
};

static const struct filter_case filter_cases[] = {
    { "^abc", RX_CASELESS, "ABCd", 0, 1 },
    { "^abc", 0, "Abc", 0, 0 },
    { "^abc", 0, "abc", 0, 1 },
    { "^abc", 0, "ab", 0, 0 },                 /* shorter than the minimum */
    { "^(?i)abc", 0, "ABC", 0, 1 },            /* option setting: no filter */
    { "^(From|Reply-To|Sender):", RX_CASELESS, "reply-to: x", 0, 1 },
    { "^(From|Reply-To|Sender):", RX_CASELESS, "Subject: x", 0, 0 },
    { "^(From|Reply-To):", 0, "reply-to: x", 0, 0 },
    { "^a{2}", 0, "aa", 0, 1 },
    { "^a{2}", 0, "ba", 0, 0 },
    { "^(?:ab|c)d", 0, "cd", 0, 1 },           /* "(?" after "^": no filter */
    { "^\\d+x", 0, "12x", 0, 1 },
    { "^\\d+x", 0, "a12x", 0, 0 },
    { "^[xy]z", 0, "yz", 0, 1 },
    { "^[xy]z", 0, "zz", 0, 0 },
    { "^.b", RX_DOTALL, "\nb", 0, 1 },
    { "^.b", 0, "\nb", 0, 0 },
    { "^\\Kab", 0, "ab", 0, 1 },
    { "^(?=a)\\w", 0, "ab", 0, 1 },
    { "^ a # c", RX_EXTENDED, "a", 0, 1 },      /* white space of /x: no filter */
    { "^(a|)b", 0, "b", 0, 1 },                /* a group that can be empty */
    { "^(a|b)?c", 0, "c", 0, 1 },
    { "^x|^y", 0, "y", 0, 1 },
    { "^x|y", 0, "zy", 0, 1 },                 /* not anchored at all */
    { "\xc3\xa9t\xc3\xa9", RX_UTF | RX_CASELESS | RX_ANCHORED, "\xc3\x89T\xc3\x89", 0, 1 },
    { "^\xc3\xa9t\xc3\xa9", RX_UTF | RX_CASELESS, "\xc3\x89T\xc3\x89", 0, 1 },
    { "^\xc3\xa9", RX_UTF, "\xc3\x89", 0, 0 },
    { "b", RX_ANCHORED, "ab", 1, 1 },          /* anchored at the start offset */
    { "b", RX_ANCHORED, "ab", 0, 0 },
    { "^b", 0, "ab", 1, 0 },                   /* '^' is not at offset 1 */
    { "^b", RX_MULTILINE, "a\nb", 2, 1 },
    { "^", 0, "", 0, 1 },
    { "^a*", 0, "", 0, 1 },
    { "^a", 0, "", 0, 0 },
};

/* test_filter - the same answer in every JIT mode, and the right one */
static void test_filter(void)
{
    static const struct {
        int flags;
        const char *how;
    } modes[] = { { RX_NO_JIT, "interpreted" }, { RX_JIT_NOW, "JIT at once" }, { 0, "JIT once hot" } };
    struct buf err = BUF_INIT;
    size_t i, m;
    int n;

    for (i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
        const struct filter_case *c = &filter_cases[i];

        for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            struct rx *rx = rx_compile(c->pat, strlen(c->pat), c->flags | modes[m].flags, &err);
            struct rx_span span[1];
            int rc = -2, bad = 0;

            if (rx == NULL) {
                ok(0, "compile %s: %s", c->pat, err.data);
                buf_reset(&err);
                continue;
            }
            /* Past RX_JIT_AFTER: both sides of the switch to JIT code. */
            for (n = 0; n < 2 * RX_JIT_AFTER + 2; n++) {
                rc = rx_exec(rx, c->subject, strlen(c->subject), c->start, 0, span, 1, &err);
                if (rc != c->want)
                    bad++;
            }
            is_int(bad, 0, "%s /%s/ against \"%s\" at %zu: %d every time (last %d)", modes[m].how, c->pat,
                   c->subject, c->start, c->want, rc);
            rx_free(rx);
        }
    }
    buf_free(&err);
}

/* test_jit_on_demand - JIT code after RX_JIT_AFTER calls that reach PCRE2 */
static void test_jit_on_demand(void)
{
    struct buf err = BUF_INIT;
    struct rx *rx = rx_compile("^Subject:.*\\bfree\\b", 19, RX_CASELESS, &err);
    struct rx *off = rx_compile("^Subject:.*\\bfree\\b", 19, RX_CASELESS | RX_NO_JIT, &err);
    struct rx *now = rx_compile("^Subject:.*\\bfree\\b", 19, RX_CASELESS | RX_JIT_NOW, &err);
    struct rx_span span[1];
    int i, bad = 0;

    ok(rx != NULL && off != NULL && now != NULL, "compiled (%s)", err.data);
    is_int(rx_jit_enabled(rx), 0, "not JIT code after compiling");
    is_int(rx_jit_enabled(now), 1, "RX_JIT_NOW: JIT code at once");
    for (i = 0; i < 10 * RX_JIT_AFTER; i++)
        if (rx_exec(rx, "From: x", 7, 0, 0, span, 1, &err) != 0)
            bad++;
    is_int(bad, 0, "lines that cannot match do not match");
    is_int(rx_jit_enabled(rx), 0, "and calls the filter rejects do not make it JIT code");
    for (i = 0; i < RX_JIT_AFTER - 1; i++)
        if (rx_exec(rx, "Subject: not", 12, 0, 0, span, 1, &err) != 0)
            bad++;
    is_int(rx_jit_enabled(rx), 0, "%d calls into PCRE2: still interpreted", RX_JIT_AFTER - 1);
    is_int(rx_exec(rx, "subject: FREE stuff", 19, 0, 0, span, 1, &err), 1, "call %d matches", RX_JIT_AFTER);
    is_int(rx_jit_enabled(rx), 1, "and makes it JIT code");
    is_int(rx_exec(rx, "subject: FREE stuff", 19, 0, 0, span, 1, &err), 1, "which matches the same");
    is_int((int) span[0].end, 13, "the same span (up to FREE)");
    for (i = 0; i < 10 * RX_JIT_AFTER; i++)
        if (rx_exec(off, "Subject: free", 13, 0, 0, span, 1, &err) != 1)
            bad++;
    is_int(rx_jit_enabled(off), 0, "RX_NO_JIT: never JIT code");
    is_int(bad, 0, "all answers right");
    rx_free(rx);
    rx_free(off);
    rx_free(now);
    buf_free(&err);
}

/* Threads: each matches the shared patterns many times and checks spans. */
#define THREADS 8
#define ROUNDS 2000

static struct rx *shared[3];

static void *thread_main(void *arg)
{
    long id = (long) arg;
    long bad = 0;
    char subject[64];
    struct buf err = BUF_INIT;
    struct rx_span span[4];
    int i;

    for (i = 0; i < ROUNDS; i++) {
        int n = snprintf(subject, sizeof(subject), "user%ld-%d@example.com", id, i);
        struct rx *rx = shared[i % 3];

        if (rx_exec(rx, subject, (size_t) n, 0, 0, span, 4, &err) != 1)
            bad++;
        else if (span[1].start != 0 || span[1].end != (size_t) (strchr(subject, '@') - subject))
            bad++;
    }
    buf_free(&err);
    rx_thread_cleanup();
    return (void *) bad;
}

static void test_threads(void)
{
    struct buf err = BUF_INIT;
    pthread_t tid[THREADS];
    long total = 0;
    long i;

    shared[0] = rx_compile("^([^@]+)@(.+)$", 14, 0, &err);
    shared[1] = rx_compile("^([a-z0-9-]+)@(example)\\.(com)$", 31, RX_NO_JIT, &err);
    shared[2] = rx_compile("^(\\S+?)@(?:(ex\\w+)|(other))\\.com", 32, RX_CASELESS, &err);
    ok(shared[0] && shared[1] && shared[2], "shared patterns compile (%s)", err.data);
    for (i = 0; i < THREADS; i++)
        pthread_create(&tid[i], NULL, thread_main, (void *) i);
    for (i = 0; i < THREADS; i++) {
        void *bad;

        pthread_join(tid[i], &bad);
        total += (long) bad;
    }
    is_int(total, 0, "%d threads x %d matches on shared patterns, all right", THREADS, ROUNDS);
    for (i = 0; i < 3; i++)
        rx_free(shared[i]);
    buf_free(&err);
}

int main(void)
{
    ok(rx_version()[0] >= '1', "rx_version: %s", rx_version());
    test_flags();
    test_captures();
    test_subjects();
    test_errors();
    test_limits(RX_JIT_NOW, "JIT");
    test_filter();
    test_jit_on_demand();
    test_limits(RX_NO_JIT, "interpreter");
    test_threads();
    rx_thread_cleanup();
    return done_testing();
}
