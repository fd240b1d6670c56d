/*
 * procregex.h - procmail's regular expressions, run on PCRE2 (through rx.h).
 *
 * procmail(1)'s egrep dialect differs from every other: ^ and $ are not
 * assertions but match a newline character, with a newline imagined
 * before the search area and after it; ^^ anchors at the very start (or,
 * last in the expression, the very end); \< and \> match one character
 * that is not a word character (a newline included); \/ splits off the
 * part whose match goes to $MATCH; [^...] never matches a newline;
 * braces, \d and the like are plain characters; the only case folding is
 * of ASCII letters.  procregex translates such an expression to PCRE2
 * syntax once and matches it against a "framed" subject: the text with a
 * newline added at each end (procregex_frame), which makes the imagined
 * newlines real.
 *
 * Where procmail's own matcher picks a match PCRE2 would not: it reports
 * the match that ends first (used for weighted scoring) and, with \/,
 * makes the left part short and the right part long.  The translation
 * makes quantifiers lazy left of \/ (everywhere when there is none) and
 * greedy right of it, which gives the same matches for the expressions
 * people write (procmailrc(5) itself warns that MATCH is unreliable for
 * some others).
 *
 * Trusts nothing: any byte string compiles to something (procmail accepts
 * anything too, e.g. an unclosed [ or a stray ')'); errors come back in err.
 */
#ifndef MAILSIFT_PROCREGEX_H
#define MAILSIFT_PROCREGEX_H

#include <stddef.h>

#include "libmatch/buf.h"

#define PROCREGEX_CASELESS 1 /* the default in procmail; recipes with D turn it off */

struct procregex;

int procregex_specials(struct buf *re);
int procregex_translate(const char *pattern, size_t len, struct buf *out, int *has_split, struct buf *err);
struct procregex *procregex_compile(const char *pattern, size_t len, int flags, struct buf *err);
void procregex_free(struct procregex *re);
int procregex_has_split(const struct procregex *re);
void procregex_frame(struct buf *framed, const char *text, size_t len);
int procregex_exec(const struct procregex *re, const char *framed, size_t framed_len, size_t from,
                   size_t *end, size_t *match_start, size_t *match_end, struct buf *err);

/*
 * procregex_specials expands ^TO_, ^TO, ^FROM_DAEMON and ^FROM_MAILER in
 * place, as procmail does before compiling a condition (each keyword not
 * preceded by a backslash, until none is left); it returns 1 when
 * ^FROM_DAEMON was among them, which makes procmail ignore case even with D.
 *
 * procregex_exec searches the framed subject (from procregex_frame, of a
 * text of framed_len - 2 bytes) from text offset from.  Returns 1 on a
 * match (*end: text offset just past it; with \/, [*match_start,
 * *match_end) is what goes to MATCH), 0 when there is none, -1 when PCRE2
 * could not finish (a match limit; err says so).
 */

#endif
