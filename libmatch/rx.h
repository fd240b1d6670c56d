/*
 * rx.h - the one door to PCRE2: compile once, match from any thread.
 *
 * Every regular expression in mailsift that is not POSIX regcomp(3)
 * (Postfix's regexp: tables) goes through here: pcre: tables, procsort's
 * procmail dialect (translated to PCRE2 syntax by its caller), and whatever
 * comes later.  Only rx.c includes pcre2.h.
 *
 *   struct rx *rx = rx_compile(pat, patlen, RX_CASELESS, err);
 *   struct rx_span span[10];
 *   int n = rx_exec(rx, subject, len, 0, 0, span, 10, err);
 *     n == 1: matched; span[0] is the whole match, span[i] group i
 *             (RX_UNSET in both fields for a group that did not take part)
 *     n == 0: no match
 *     n < 0:  could not finish (a limit below was hit): err says which
 *
 * A compiled pattern can be shared between threads freely (the only thing
 * that changes in it is when it becomes JIT code, atomically).  Match
 * data and the JIT stack are per thread (kept in thread-specific storage
 * and freed when the thread ends), so rx_exec needs no lock.
 *
 * Patterns and subjects are byte strings with a length (NUL bytes allowed);
 * no UTF-8 checking unless RX_UTF is given, as in Postfix.
 *
 * What rx trusts: nothing about patterns or subjects.  Every match runs
 * under RX_MATCH_LIMIT, RX_DEPTH_LIMIT, RX_HEAP_LIMIT_KB and (with JIT)
 * RX_JIT_STACK_MAX, so a hostile pattern or subject costs bounded time
 * and memory and is reported as a failed match (return -1), never a hang.
 */
#ifndef MAILSIFT_RX_H
#define MAILSIFT_RX_H

#include <stddef.h>

#include "libmatch/buf.h"

/* Compile flags (rx_compile): Perl's names in comments. */
#define RX_CASELESS       0x0001 /* /i */
#define RX_MULTILINE      0x0002 /* /m: ^ and $ at internal newlines */
#define RX_DOTALL         0x0004 /* /s: . matches newline */
#define RX_EXTENDED       0x0008 /* /x: white space and # comments ignored */
#define RX_ANCHORED       0x0010 /* match only at the start offset */
#define RX_DOLLAR_ENDONLY 0x0020 /* $ only at the very end, not before a final \n */
#define RX_UNGREEDY       0x0040 /* quantifiers lazy by default, ? makes them greedy */
#define RX_EXTRA          0x0080 /* PCRE1's X: PCRE2 always behaves so (unknown escapes are errors): no-op */
#define RX_UTF            0x0100 /* pattern and subjects are UTF-8 (checked) */
#define RX_NO_AUTO_CAPTURE 0x0200 /* plain (...) does not capture; (?<name>...) does */
#define RX_LITERAL        0x0400 /* the pattern is a literal string */
#define RX_NO_JIT         0x1000 /* do not JIT-compile (tests, benchmarks) */
#define RX_JIT_NOW        0x2000 /* JIT-compile now, not once the pattern is hot */

/*
 * Without RX_NO_JIT or RX_JIT_NOW a pattern is interpreted until it has
 * gone into PCRE2 this many times (rejects by rx's first-byte filter do
 * not count), then JIT-compiled: what JIT code saves per match pays for
 * its compilation only on patterns that are used.
 */
#define RX_JIT_AFTER      64

/* Match flags (rx_exec). */
#define RX_NOTBOL         0x0001 /* the subject start is not a line start for ^ */
#define RX_NOTEOL         0x0002 /* the subject end is not a line end for $ */
#define RX_NOTEMPTY       0x0004 /* an empty match is not a match */
#define RX_NOTEMPTY_ATSTART 0x0008 /* no empty match at the start offset */

/*
 * Limits applied to every match.  PCRE2's own defaults for the match and
 * depth limits (as Postfix uses them) but a smaller heap, so one thread
 * cannot take a lot of memory for a pathological pattern.
 */
#define RX_MATCH_LIMIT    10000000 /* calls of PCRE2's internal match() */
#define RX_DEPTH_LIMIT    10000000 /* backtracking depth (interpreter only) */
#define RX_HEAP_LIMIT_KB  65536    /* backtracking heap per match, KiB (interpreter) */
#define RX_JIT_STACK_MIN  (32 * 1024)
#define RX_JIT_STACK_MAX  (1024 * 1024) /* per thread */
#define RX_MAX_CAPTURE    65535    /* PCRE2's own limit on groups */

#define RX_UNSET ((size_t) -1) /* a group that did not participate */

struct rx;

/* Where one group matched: subject[start .. end). */
struct rx_span {
    size_t start;
    size_t end;
};

struct rx *rx_compile(const char *pattern, size_t len, int flags, struct buf *err);
void rx_free(struct rx *rx);
int rx_capture_count(const struct rx *rx);
int rx_group_number(const struct rx *rx, const char *name);
int rx_jit_enabled(const struct rx *rx);
int rx_exec(const struct rx *rx, const char *subject, size_t len, size_t start,
            int mflags, struct rx_span *span, size_t nspan, struct buf *err);
void rx_thread_cleanup(void);
const char *rx_version(void);

#endif
