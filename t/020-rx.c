/*
 * 020-rx.c - the PCRE2 wrapper: every compile flag, captures (set, unset,
 * beyond the pattern), capture counts, named groups, start offsets and
 * match flags, NUL bytes, compile errors with offsets, the match limit
 * (a catastrophic pattern returns -1 instead of hanging) with and without
 * JIT, and several threads matching the same patterns at once.
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
    test_limits(0, "JIT");
    test_limits(RX_NO_JIT, "interpreter");
    test_threads();
    rx_thread_cleanup();
    return done_testing();
}
