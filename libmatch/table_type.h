/*
 * table_type.h - what a lookup table type provides, for table.c to
 * dispatch to (see table.c's header for how to add a type).
 *
 * A type is a name ("pcre", the part of a spec before the colon) and
 * three functions.  table.c splits the spec list, finds the type, reads
 * the file for file-based types (or turns an inline "{ {rule}, ... }" spec
 * into the same text) and hands it to open(); the type never touches the
 * file system itself.  What open() returns is the type's own table: it must
 * be immutable afterwards, because lookup() is called from many threads at
 * once.
 */
#ifndef MAILSIFT_TABLE_TYPE_H
#define MAILSIFT_TABLE_TYPE_H

#include <stddef.h>

#include "libmatch/buf.h"
#include "libmatch/table.h"

struct table_type {
    const char *name; /* "pcre" */
    int file_based;   /* 1: open() gets the file's text; 0: only the name */

    /*
     * open - build a table.  name: the spec after "type:" (a path, or
     * "{...}" for inline rules); text/len: the file's bytes (file-based
     * types; NULL/0 otherwise); flags: TABLE_LENIENT or not.  Problems are
     * appended to err as "NAME, line N: reason", one per line.  Returns
     * NULL on failure; with TABLE_LENIENT, bad lines are skipped instead.
     */
    void *(*open)(const char *name, const char *text, size_t len, int flags, struct buf *err);

    /*
     * lookup - 1 and match filled in (result replaced, file pointing at a
     * string the table owns, line) when found; 0 when not; -1 with err
     * appended when the lookup could not be completed.
     */
    int (*lookup)(const void *table, const char *key, size_t keylen,
                  struct table_match *match, struct buf *err);

    void (*free)(void *table);
};

/* The types libmatch itself provides (table_regexp.c, table_pcre.c). */
extern const struct table_type table_type_regexp;
extern const struct table_type table_type_pcre;

/* Indexed and network tables (table_hash.c, table_cidr.c). */
extern const struct table_type table_type_texthash;
extern const struct table_type table_type_hash;
extern const struct table_type table_type_lmdb;
extern const struct table_type table_type_cidr;

void table_type_register(const struct table_type *type);

#endif
