/*
 * rx.c - PCRE2 behind one small interface (see rx.h).
 *
 * The only file in mailsift that includes pcre2.h.  A struct rx holds the
 * compiled code and its capture count, both fixed when rx_compile returns.
 *
 * Two things make tables of many patterns cheap (a 1000-rule pcre: table is
 * tried rule by rule against every header line):
 *
 * - A first-byte filter.  PCRE2 does no start-of-match optimisation for an
 *   anchored pattern ("^Subject:..."): each call goes into the matcher just
 *   to fail on the first byte.  rx_compile asks PCRE2 for the bytes a match
 *   can start with (compiling the pattern once more without its anchor, see
 *   rx_first_bytes) and the minimum length, and rx_exec answers "no match"
 *   without calling PCRE2 when the subject cannot match.  Both only reject
 *   what PCRE2 itself would reject.
 * - JIT compilation on demand.  JIT code costs ~13 us per pattern to make,
 *   and entering a thousand separate pieces of machine code per lookup
 *   costs more in instruction-cache misses than it saves when each fails
 *   at once.  So a pattern is interpreted until it has gone into PCRE2
 *   RX_JIT_AFTER times, then JIT-compiled (a copy, published atomically: a
 *   struct rx is shared by threads that match at the same time) and run
 *   as machine code from then on.  Only the rules that get past the filter
 *   often are compiled.
 *
 * What PCRE2
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

/* jit_state: whether and when matches run JIT code */
#define RX_JIT_OFF     0 /* RX_NO_JIT, or PCRE2 cannot JIT here */
#define RX_JIT_COUNT   1 /* interpreting, counting calls */
#define RX_JIT_MAKING  2 /* one thread is compiling */
#define RX_JIT_READY   3 /* jit_code is set */

struct rx {
    pcre2_code *code;     /* interpreted; never changes */
    pcre2_code *jit_code; /* JIT-compiled copy once hot (atomic) */
    int ncap;             /* capture groups in the pattern */
    int utf;              /* RX_UTF: subjects are checked (pcre2_match) */
    int jit_state;        /* RX_JIT_* (atomic) */
    unsigned calls;       /* calls into PCRE2 while RX_JIT_COUNT (atomic) */
    uint32_t min_len;     /* no match in fewer code units */
    int has_first;        /* first[] applies: the pattern is anchored */
    uint8_t first[32];    /* bit b: a match can start with byte b */
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
static __thread struct rx_thread *rx_self; /* this thread's, without a key lookup */

/* rx_thread_free - pthread key destructor: free one thread's state */
static void rx_thread_free(void *ptr)
{
    struct rx_thread *t = ptr;

    if (t == NULL)
        return;
    rx_self = NULL; /* destructors run in the thread that ends */
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

    if ((t = rx_self) == NULL) {
        pthread_once(&rx_once, rx_key_init);
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
        rx_self = t;
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

/* rx_jit_available - whether this PCRE2 can JIT-compile on this machine */
static int rx_jit_available(void)
{
    uint32_t jit = 0;

    return pcre2_config(PCRE2_CONFIG_JIT, &jit) >= 0 && jit == 1;
}

/*
 * rx_jit_make - JIT-compile a copy of the pattern and publish it; 0 when
 * PCRE2 cannot (out of executable memory): the pattern stays interpreted.
 * The interpreted code is never touched, other threads may be running it.
 */
static int rx_jit_make(struct rx *rx)
{
    pcre2_code *copy = pcre2_code_copy(rx->code);

    if (copy == NULL)
        msg_fatal("rx: out of memory copying a compiled pattern");
    if (pcre2_jit_compile(copy, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(copy);
        return 0;
    }
    __atomic_store_n(&rx->jit_code, copy, __ATOMIC_RELEASE);
    return 1;
}

/* rx_jit_count - one more call into PCRE2: JIT-compile at RX_JIT_AFTER */
static void rx_jit_count(struct rx *rx)
{
    int state = RX_JIT_COUNT;

    if (__atomic_add_fetch(&rx->calls, 1, __ATOMIC_RELAXED) < RX_JIT_AFTER)
        return;
    /* Exactly one thread compiles; the others go on interpreting. */
    if (!__atomic_compare_exchange_n(&rx->jit_state, &state, RX_JIT_MAKING, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&rx->jit_state, rx_jit_make(rx) ? RX_JIT_READY : RX_JIT_OFF, __ATOMIC_RELEASE);
}

/* rx_bit - whether byte b is in a 256-bit set */
static int rx_bit(const uint8_t *set, unsigned char b)
{
    return (set[b >> 3] >> (b & 7)) & 1;
}

/*
 * rx_first_bytes - the minimum match length, and for an anchored pattern
 * the bytes a match can start with (rx_exec's filter).
 *
 * PCRE2 computes a start set (one first code unit, or a bitmap) only for
 * patterns that are not anchored, because it only uses it to skip ahead.
 * So we compile the pattern again unanchored (without PCRE2_ANCHORED, or
 * without the leading '^') and take that one's start set: a match of the
 * anchored pattern at the start offset is a match of the unanchored one
 * there, so it starts with a byte of the set.  The '^' is dropped only
 * when what follows cannot bind to it (not a quantifier, not white space
 * of /x, not an option setting): a letter or digit, '\\', '[', '.', or '('
 * that opens a plain group.  Anything else: no filter, just PCRE2.
 */
static void rx_first_bytes(struct rx *rx, const char *pattern, size_t len, uint32_t options)
{
    uint32_t all, type, unit, min_len;
    const uint8_t *bitmap = NULL;
    const char *text = pattern;
    size_t text_len = len;
    pcre2_code *probe;
    int errcode;
    PCRE2_SIZE erroff;
    unsigned char next;

    if (pcre2_pattern_info(rx->code, PCRE2_INFO_MINLENGTH, &min_len) == 0)
        rx->min_len = min_len;
    if (pcre2_pattern_info(rx->code, PCRE2_INFO_ALLOPTIONS, &all) != 0 || !(all & PCRE2_ANCHORED))
        return;
    if (options & PCRE2_ANCHORED) {
        options &= ~PCRE2_ANCHORED;
    } else {
        if (options & PCRE2_LITERAL || len < 3 || pattern[0] != '^')
            return;
        next = (unsigned char) pattern[1];
        if (!((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9')
              || next == '\\' || next == '[' || next == '.' || (next == '(' && pattern[2] != '?' && pattern[2] != '*')))
            return;
        text = pattern + 1;
        text_len = len - 1;
    }
    if ((probe = pcre2_compile((PCRE2_SPTR) text, text_len, options, &errcode, &erroff, NULL)) == NULL)
        return;
    if (pcre2_pattern_info(probe, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 && type == 1
        && pcre2_pattern_info(probe, PCRE2_INFO_FIRSTCODEUNIT, &unit) == 0 && unit < 128) {
        /* Caseless or not (PCRE2 does not say), both ASCII cases may start. */
        rx->first[unit >> 3] |= (uint8_t) (1u << (unit & 7));
        if ((unit | 0x20) >= 'a' && (unit | 0x20) <= 'z') {
            unit ^= 0x20;
            rx->first[unit >> 3] |= (uint8_t) (1u << (unit & 7));
        }
        rx->has_first = 1;
    } else if (type == 0 && pcre2_pattern_info(probe, PCRE2_INFO_FIRSTBITMAP, &bitmap) == 0 && bitmap != NULL) {
        memcpy(rx->first, bitmap, sizeof(rx->first));
        rx->has_first = 1;
    }
    pcre2_code_free(probe);
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
    rx->utf = (flags & RX_UTF) != 0;
    rx_first_bytes(rx, pattern, len, options);
    /* JIT is an optimisation: without it (no support here) we interpret. */
    if (!(flags & RX_NO_JIT) && rx_jit_available())
        rx->jit_state = (flags & RX_JIT_NOW) && rx_jit_make(rx) ? RX_JIT_READY : RX_JIT_COUNT;
    return rx;
}

/* rx_free - free a compiled pattern (NULL is fine) */
void rx_free(struct rx *rx)
{
    if (rx == NULL)
        return;
    pcre2_code_free(rx->jit_code);
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

/* rx_jit_enabled - whether matches of this pattern run JIT code now */
int rx_jit_enabled(const struct rx *rx)
{
    return __atomic_load_n(&rx->jit_state, __ATOMIC_ACQUIRE) == RX_JIT_READY;
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
    struct rx_thread *t;
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
    /* What PCRE2 would reject before matching, without calling it. */
    if (len - start < rx->min_len || (rx->has_first && (start == len || !rx_bit(rx->first, (unsigned char) subject[start]))))
        return 0;
    t = rx_thread_get((uint32_t) rx->ncap + 1);
    switch (__atomic_load_n(&rx->jit_state, __ATOMIC_ACQUIRE)) {
    case RX_JIT_READY:
        /* pcre2_jit_match skips pcre2_match's checks: UTF needs them. */
        if (rx->utf)
            rc = pcre2_match(rx->jit_code, (PCRE2_SPTR) subject, len, start, options, t->md, t->mctx);
        else
            rc = pcre2_jit_match(rx->jit_code, (PCRE2_SPTR) subject, len, start, options, t->md, t->mctx);
        break;
    case RX_JIT_COUNT:
        rx_jit_count((struct rx *) rx);
        /* FALLTHROUGH */
    default:
        rc = pcre2_match(rx->code, (PCRE2_SPTR) subject, len, start, options, t->md, t->mctx);
        break;
    }
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
