/*
 * rx.c - PCRE2 behind one small interface (see rx.h).
 *
 * The only file in mailsift that includes pcre2.h.  A struct rx holds the
 * compiled code (JIT-compiled when PCRE2 has JIT for this machine) and its
 * capture count; it is never written after rx_compile returns.  What PCRE2
 * writes while matching (the match data, the match context that carries
 * our limits, the JIT stack) lives in one struct rx_thread per thread,
 * reached through a pthread key whose destructor frees it when the thread
 * ends: libmilter runs a thread per connection, each matching at once.
 *
 * Trusts: nothing in patterns or subjects; every match is bounded by the
 * limits named in rx.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <string.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/rx.h"

struct rx {
    pcre2_code *code;
    int ncap; /* capture groups in the pattern */
    int jit;  /* 1 when JIT-compiled */
};

/* What one thread writes while matching. */
struct rx_thread {
    pcre2_match_data *md;
    uint32_t md_pairs; /* ovector pairs md has room for */
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
};

#define RX_MIN_PAIRS 16 /* first match data size: groups 0..15 */
#define RX_ERRTEXT 256  /* PCRE2 error messages are short */

static pthread_key_t rx_key;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

/* rx_thread_free - pthread key destructor: free one thread's state */
static void rx_thread_free(void *ptr)
{
    struct rx_thread *t = ptr;

    if (t == NULL)
        return;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    pcre2_jit_stack_free(t->jit_stack);
    mem_free(t);
}

static void rx_key_init(void)
{
    if (pthread_key_create(&rx_key, rx_thread_free) != 0)
        msg_fatal("rx: pthread_key_create failed");
}

/* rx_thread_get - this thread's match state, created on first use */
static struct rx_thread *rx_thread_get(uint32_t pairs)
{
    struct rx_thread *t;

    pthread_once(&rx_once, rx_key_init);
    t = pthread_getspecific(rx_key);
    if (t == NULL) {
        t = mem_zalloc(sizeof(*t));
        if ((t->mctx = pcre2_match_context_create(NULL)) == NULL)
            msg_fatal("rx: out of memory for a PCRE2 match context");
        pcre2_set_match_limit(t->mctx, RX_MATCH_LIMIT);
        pcre2_set_depth_limit(t->mctx, RX_DEPTH_LIMIT);
        pcre2_set_heap_limit(t->mctx, RX_HEAP_LIMIT_KB);
        /* No JIT support compiled in: NULL, and JIT is never used then. */
        t->jit_stack = pcre2_jit_stack_create(RX_JIT_STACK_MIN, RX_JIT_STACK_MAX, NULL);
        if (t->jit_stack != NULL)
            pcre2_jit_stack_assign(t->mctx, NULL, t->jit_stack);
        if (pthread_setspecific(rx_key, t) != 0)
            msg_fatal("rx: pthread_setspecific failed");
    }
    if (t->md_pairs < pairs) {
        uint32_t want = pairs < RX_MIN_PAIRS ? RX_MIN_PAIRS : pairs;

        pcre2_match_data_free(t->md);
        if ((t->md = pcre2_match_data_create(want, NULL)) == NULL)
            msg_fatal("rx: out of memory for PCRE2 match data");
        t->md_pairs = want;
    }
    return t;
}

/* rx_thread_cleanup - free the calling thread's match state now (at exit) */
void rx_thread_cleanup(void)
{
    struct rx_thread *t;

    pthread_once(&rx_once, rx_key_init);
    if ((t = pthread_getspecific(rx_key)) != NULL) {
        pthread_setspecific(rx_key, NULL);
        rx_thread_free(t);
    }
}

/* rx_error_text - PCRE2's message for an error code, appended to err */
static void rx_error_text(struct buf *err, int code)
{
    PCRE2_UCHAR text[RX_ERRTEXT];

    if (pcre2_get_error_message(code, text, sizeof(text)) > 0)
        buf_addstr(err, (const char *) text);
    else
        buf_printf(err, "unexpected PCRE2 error code %d", code);
}

/* rx_compile - compile a pattern; NULL with the reason appended to err */
struct rx *rx_compile(const char *pattern, size_t len, int flags, struct buf *err)
{
    static const struct {
        int ours;
        uint32_t pcre;
    } map[] = {
        { RX_CASELESS, PCRE2_CASELESS },
        { RX_MULTILINE, PCRE2_MULTILINE },
        { RX_DOTALL, PCRE2_DOTALL },
        { RX_EXTENDED, PCRE2_EXTENDED },
        { RX_ANCHORED, PCRE2_ANCHORED },
        { RX_DOLLAR_ENDONLY, PCRE2_DOLLAR_ENDONLY },
        { RX_UNGREEDY, PCRE2_UNGREEDY },
        { RX_UTF, PCRE2_UTF },
        { RX_NO_AUTO_CAPTURE, PCRE2_NO_AUTO_CAPTURE },
        { RX_LITERAL, PCRE2_LITERAL },
    };
    uint32_t options = 0;
    uint32_t ncap;
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code;
    struct rx *rx;
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i].ours)
            options |= map[i].pcre;
    code = pcre2_compile((PCRE2_SPTR) pattern, len, options, &errcode, &erroff, NULL);
    if (code == NULL) {
        buf_printf(err, "error in regex at offset %lu: ", (unsigned long) erroff);
        rx_error_text(err, errcode);
        return NULL;
    }
    if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap) != 0)
        msg_panic("rx_compile: pcre2_pattern_info(CAPTURECOUNT) failed");
    rx = mem_zalloc(sizeof(*rx));
    rx->code = code;
    rx->ncap = (int) ncap;
    /* JIT is an optimisation: without it (no support here) we interpret. */
    if (!(flags & RX_NO_JIT) && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0)
        rx->jit = 1;
    return rx;
}

/* rx_free - free a compiled pattern (NULL is fine) */
void rx_free(struct rx *rx)
{
    if (rx == NULL)
        return;
    pcre2_code_free(rx->code);
    mem_free(rx);
}

/* rx_capture_count - the number of capture groups ($1..$n a rule may use) */
int rx_capture_count(const struct rx *rx)
{
    return rx->ncap;
}

/* rx_group_number - the number of a named group, -1 when there is none */
int rx_group_number(const struct rx *rx, const char *name)
{
    int n = pcre2_substring_number_from_name(rx->code, (PCRE2_SPTR) name);

    return n > 0 ? n : -1;
}

/* rx_jit_enabled - whether matches of this pattern run JIT code */
int rx_jit_enabled(const struct rx *rx)
{
    return rx->jit;
}

/*
 * rx_exec - match subject[0..len) from offset start.  Returns 1 with
 * span[0..nspan) filled (span[0] the whole match, unset groups and groups
 * beyond the pattern's RX_UNSET), 0 for no match, -1 when the match could
 * not be completed (a limit, bad UTF-8 with RX_UTF): err says why.
 */
int rx_exec(const struct rx *rx, const char *subject, size_t len, size_t start,
            int mflags, struct rx_span *span, size_t nspan, struct buf *err)
{
    struct rx_thread *t = rx_thread_get((uint32_t) rx->ncap + 1);
    uint32_t options = 0;
    PCRE2_SIZE *ov;
    size_t i;
    int rc;

    if (start > len)
        msg_panic("rx_exec: start offset %zu beyond subject length %zu", start, len);
    if (mflags & RX_NOTBOL)
        options |= PCRE2_NOTBOL;
    if (mflags & RX_NOTEOL)
        options |= PCRE2_NOTEOL;
    if (mflags & RX_NOTEMPTY)
        options |= PCRE2_NOTEMPTY;
    if (mflags & RX_NOTEMPTY_ATSTART)
        options |= PCRE2_NOTEMPTY_ATSTART;
    rc = pcre2_match(rx->code, (PCRE2_SPTR) subject, len, start, options, t->md, t->mctx);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        rx_error_text(err, rc);
        return -1;
    }
    /* rc is 1 + the highest group that matched; the rest are unset. */
    ov = pcre2_get_ovector_pointer(t->md);
    for (i = 0; i < nspan; i++) {
        if (i < (size_t) rc && ov[2 * i] != PCRE2_UNSET) {
            span[i].start = ov[2 * i];
            span[i].end = ov[2 * i + 1];
        } else {
            span[i].start = RX_UNSET;
            span[i].end = RX_UNSET;
        }
    }
    return 1;
}

static char rx_version_text[64];
static pthread_once_t rx_version_once = PTHREAD_ONCE_INIT;

static void rx_version_init(void)
{
    pcre2_config(PCRE2_CONFIG_VERSION, rx_version_text);
}

/* rx_version - the PCRE2 library version, for -v output and reports */
const char *rx_version(void)
{
    pthread_once(&rx_version_once, rx_version_init);
    return rx_version_text;
}
