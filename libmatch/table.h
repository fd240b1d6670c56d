/*
 * table.h - Postfix lookup tables: regexp: and pcre: (and, for mta-core's
 * maps, the types it adds), with Postfix's exact syntax and semantics.
 *
 * A table is opened from a Postfix-style list of specs, "pcre:/a, regexp:/b"
 * (commas and/or white space between them), and searched in that order:
 * the first table with a match answers, as Postfix's maps do.
 *
 * Tables load once and are immutable afterwards; lookups are safe from
 * several threads at once (libmilter runs one thread per connection), so a
 * reload builds a new table and swaps a pointer.
 *
 * Errors: a malformed line is reported as "FILE, line N: reason" (one line
 * of err per problem).  Without TABLE_LENIENT, any malformed line makes
 * table_open() fail; with it, bad lines are skipped as postmap(1) skips
 * them and the table opens (err still lists them).  A file that cannot be
 * read or an unknown type always fails.
 *
 * Specs: "type:/path" for a file, and Postfix 3.7's inline form
 * "type:{ {rule}, {rule} }", whose rules are read as the lines of a file.
 * table_open_text() reads a file-based type from memory (tests, fuzzing):
 * name is what error messages and table_match.file call it.
 *
 * Where types live and how to add one: libmatch/table.c and table_type.h.
 */
#ifndef MAILSIFT_TABLE_H
#define MAILSIFT_TABLE_H

#include <stddef.h>

#include "libmatch/buf.h"

#define TABLE_LENIENT 1 /* skip bad lines (as postmap) instead of failing */
#define TABLE_NO_JIT 2  /* pcre: interpret, do not JIT-compile (benchmarks, tests) */

struct table;

/* What a lookup found. */
struct table_match {
    struct buf result; /* the expanded result text ($1, ${2}, $$ done) */
    const char *file;  /* the table file of the rule that matched */
    int line;          /* the line the rule starts on */
};

struct table *table_open(const char *specs, int flags, struct buf *err);
struct table *table_open_text(const char *type, const char *name, const char *text,
                              size_t len, int flags, struct buf *err);
void table_free(struct table *table);
int table_lookup(const struct table *table, const char *key, size_t keylen,
                 struct table_match *match, struct buf *err);
void table_match_init(struct table_match *match);
void table_match_free(struct table_match *match);
const char *table_specs(const struct table *table);

/*
 * table_lookup returns 1 when a rule matched (match filled in), 0 when none
 * did, -1 when a lookup could not be completed (a PCRE2 match or depth
 * limit was hit; err says which rule): callers treat that as a temporary
 * failure, as Postfix does with DICT_ERR_RETRY.
 */

#endif
