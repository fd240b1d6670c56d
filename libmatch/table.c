/*
 * table.c - lookup tables by spec: "pcre:/etc/x, regexp:/etc/y" searched in
 * order, the first table with an answer wins (Postfix's maps).
 *
 * This file knows specs, files and types, nothing about any table format:
 * it splits the spec list (commas and/or white space; braces group, as in
 * Postfix), finds each type, reads the file of a file-based type (or turns
 * Postfix 3.7's inline "type:{ {rule}, {rule} }" into the same text, one
 * rule per line) and hands the bytes to the type's open().  A finished
 * table is immutable; lookups take no lock.
 *
 * Adding a type (texthash:, cidr:, static:, ...):
 *   1. write DIR/table_NAME.c defining a "const struct table_type" (see
 *      table_type.h: name, file_based, open, lookup, free);
 *   2a. if it lives in libmatch/, add it to table_builtin[] below (one line)
 *       and declare it in table_type.h;
 *   2b. if it lives in a program's directory (mta-core/), call
 *       table_type_register(&table_type_NAME) from that program's main()
 *       before it opens any table; libmatch then knows it in that program
 *       only.  Nothing in libmatch has to change.
 *
 * Trusts: nothing in specs or files.  A file larger than TABLE_FILE_MAX is
 * refused before it is read whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/table.h"
#include "libmatch/table_type.h"

#define TABLE_FILE_MAX (64 * 1024 * 1024) /* bytes in one table file */
#define TABLE_TYPES_MAX 32                /* types registered at run time */

/* The types every program has. */
static const struct table_type *const table_builtin[] = {
    &table_type_regexp,
    &table_type_pcre,
    &table_type_texthash,
    &table_type_hash,
    &table_type_lmdb,
    &table_type_cidr,
};

/* Types a program added (table_type_register); appended under the lock. */
static const struct table_type *table_registered[TABLE_TYPES_MAX];
static size_t table_nregistered;
static pthread_mutex_t table_types_lock = PTHREAD_MUTEX_INITIALIZER;

/* One table of the list. */
struct table_sub {
    const struct table_type *type;
    void *table;
};

struct table {
    char *specs;           /* as given, for messages */
    struct table_sub *sub; /* searched in order */
    size_t nsub;
};

/* table_type_register - make a type known to table_open in this program */
void table_type_register(const struct table_type *type)
{
    pthread_mutex_lock(&table_types_lock);
    if (table_nregistered >= TABLE_TYPES_MAX)
        msg_panic("table_type_register: more than %d types", TABLE_TYPES_MAX);
    table_registered[table_nregistered++] = type;
    pthread_mutex_unlock(&table_types_lock);
}

/* table_type_find - the type called name[0..len), or NULL */
static const struct table_type *table_type_find(const char *name, size_t len)
{
    const struct table_type *found = NULL;
    size_t i;

    for (i = 0; i < sizeof(table_builtin) / sizeof(table_builtin[0]); i++)
        if (strlen(table_builtin[i]->name) == len && memcmp(table_builtin[i]->name, name, len) == 0)
            return table_builtin[i];
    pthread_mutex_lock(&table_types_lock);
    for (i = 0; i < table_nregistered && found == NULL; i++)
        if (strlen(table_registered[i]->name) == len && memcmp(table_registered[i]->name, name, len) == 0)
            found = table_registered[i];
    pthread_mutex_unlock(&table_types_lock);
    return found;
}

/* table_error - start a new line of err (problems are one per line) */
static void table_error(struct buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_error(struct buf *err, const char *fmt, ...)
{
    va_list ap;

    if (err->len > 0 && err->data[err->len - 1] != '\n')
        buf_addch(err, '\n');
    va_start(ap, fmt);
    buf_vprintf(err, fmt, ap);
    va_end(ap);
}

/* table_read_file - the whole file in text; -1 with err set */
static int table_read_file(const char *path, struct buf *text, struct buf *err)
{
    struct stat st;
    ssize_t got;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        table_error(err, "open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > TABLE_FILE_MAX) {
        table_error(err, "%s: file is larger than %d bytes", path, TABLE_FILE_MAX);
        close(fd);
        return -1;
    }
    for (;;) {
        buf_grow(text, 65536);
        got = read(fd, text->data + text->len, text->cap - text->len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        text->len += (size_t) got;
        text->data[text->len] = 0;
        if (text->len > TABLE_FILE_MAX) {
            table_error(err, "%s: file is larger than %d bytes", path, TABLE_FILE_MAX);
            close(fd);
            return -1;
        }
    }
    if (got < 0) {
        table_error(err, "read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* table_balpar - length of the balanced "{...}" at s, 0 when unbalanced */
static size_t table_balpar(const char *s)
{
    size_t i;
    int level = 1;

    if (s[0] != '{')
        return 0;
    for (i = 1; s[i]; i++) {
        if (s[i] == '{')
            level++;
        else if (s[i] == '}' && --level == 0)
            return i + 1;
    }
    return 0;
}

static int table_is_sep(int ch)
{
    return ch == ',' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int table_is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/*
 * table_token - the next token of s[*pos..] separated by commas and white
 * space, with {} grouping (Postfix's mystrtokq); 0 at the end.
 */
static int table_token(const char *s, size_t *pos, size_t *start, size_t *len)
{
    size_t i = *pos;
    int level = 0;

    while (s[i] && table_is_sep((unsigned char) s[i]))
        i++;
    if (s[i] == 0)
        return 0;
    *start = i;
    for (; s[i]; i++) {
        if (s[i] == '{')
            level++;
        else if (s[i] == '}' && level > 0)
            level--;
        else if (level == 0 && table_is_sep((unsigned char) s[i]))
            break;
    }
    *len = i - *start;
    *pos = i;
    return 1;
}

/*
 * table_inline_text - Postfix 3.7's inline table "{ {rule}, {rule} }" as
 * the text of a file, one rule per line, white space after '{' and before
 * '}' dropped.  -1 with err set for unbalanced or stray text.
 */
static int table_inline_text(const char *spec, const char *name, struct buf *text, struct buf *err)
{
    size_t outer = table_balpar(name);
    size_t pos = 0;
    size_t start;
    size_t len;
    char *inner;

    if (outer == 0) {
        table_error(err, "%s: missing '}' in \"%s\"", spec, name);
        return -1;
    }
    if (name[outer] != 0) {
        table_error(err, "%s: syntax error after '}' in \"%s\"", spec, name);
        return -1;
    }
    inner = mem_strndup(name + 1, outer - 2);
    while (table_token(inner, &pos, &start, &len)) {
        const char *rule = inner + start;
        size_t rlen = table_balpar(rule);

        if (rule[0] != '{') {
            table_error(err, "%s: no '{' at start of text in \"%.*s\"", spec, (int) len, rule);
            mem_free(inner);
            return -1;
        }
        if (rlen == 0 || rlen != len) {
            table_error(err, "%s: %s '}' in \"%.*s\"", spec, rlen == 0 ? "missing" : "syntax error after",
                        (int) len, rule);
            mem_free(inner);
            return -1;
        }
        rule++;
        rlen -= 2;
        while (rlen > 0 && table_is_space((unsigned char) *rule))
            rule++, rlen--;
        while (rlen > 0 && table_is_space((unsigned char) rule[rlen - 1]))
            rlen--;
        buf_add(text, rule, rlen);
        buf_addch(text, '\n');
    }
    mem_free(inner);
    return 0;
}

/* table_add - open one "type:name" spec and append it to table */
static int table_add(struct table *table, const char *spec, int flags, struct buf *err)
{
    const char *colon = strchr(spec, ':');
    const struct table_type *type;
    const char *name;
    struct buf text = BUF_INIT;
    void *sub;

    if (colon == NULL || colon == spec) {
        table_error(err, "table \"%s\": expected type:name (pcre:/path, regexp:/path)", spec);
        return -1;
    }
    name = colon + 1;
    if ((type = table_type_find(spec, (size_t) (colon - spec))) == NULL) {
        table_error(err, "table \"%s\": unsupported table type \"%.*s\"", spec, (int) (colon - spec), spec);
        return -1;
    }
    if (*name == 0) {
        table_error(err, "table \"%s\": no table name after the type", spec);
        return -1;
    }
    if (type->file_based) {
        int rc = name[0] == '{' ? table_inline_text(spec, name, &text, err)
                                : table_read_file(name, &text, err);

        if (rc < 0) {
            buf_free(&text);
            return -1;
        }
    }
    sub = type->open(name, type->file_based ? text.data : NULL, text.len, flags, err);
    buf_free(&text);
    if (sub == NULL)
        return -1;
    table->sub = mem_realloc_array(table->sub, table->nsub + 1, sizeof(*table->sub));
    table->sub[table->nsub].type = type;
    table->sub[table->nsub].table = sub;
    table->nsub++;
    return 0;
}

/*
 * table_open - open every table of a spec list.  NULL when one cannot be
 * opened, or (without TABLE_LENIENT) when any has a bad line; err lists
 * every problem, one per line.
 */
struct table *table_open(const char *specs, int flags, struct buf *err)
{
    struct table *table = mem_zalloc(sizeof(*table));
    size_t pos = 0;
    size_t start;
    size_t len;
    int failed = 0;

    table->specs = mem_strdup(specs);
    while (table_token(specs, &pos, &start, &len)) {
        char *spec = mem_strndup(specs + start, len);

        if (table_add(table, spec, flags, err) < 0)
            failed = 1;
        mem_free(spec);
    }
    if (table->nsub == 0 && !failed) {
        table_error(err, "no table in \"%s\"", specs);
        failed = 1;
    }
    if (failed) {
        table_free(table);
        return NULL;
    }
    return table;
}

/*
 * table_open_text - one file-based table from memory: type "pcre", name
 * for messages and table_match.file, the file's bytes in text[0..len).
 */
struct table *table_open_text(const char *type_name, const char *name, const char *text,
                              size_t len, int flags, struct buf *err)
{
    const struct table_type *type = table_type_find(type_name, strlen(type_name));
    struct table *table;
    struct buf copy = BUF_INIT;
    void *sub;

    if (type == NULL || !type->file_based) {
        table_error(err, "table type \"%s\" %s", type_name, type ? "does not read files" : "is not supported");
        return NULL;
    }
    buf_set(&copy, text, len); /* the type may rely on the terminator */
    sub = type->open(name, copy.data, copy.len, flags, err);
    buf_free(&copy);
    if (sub == NULL)
        return NULL;
    table = mem_zalloc(sizeof(*table));
    table->specs = mem_alloc(strlen(type_name) + strlen(name) + 2);
    sprintf(table->specs, "%s:%s", type_name, name);
    table->sub = mem_alloc(sizeof(*table->sub));
    table->sub[0].type = type;
    table->sub[0].table = sub;
    table->nsub = 1;
    return table;
}

/* table_free - free a table (NULL is fine) */
void table_free(struct table *table)
{
    size_t i;

    if (table == NULL)
        return;
    for (i = 0; i < table->nsub; i++)
        table->sub[i].type->free(table->sub[i].table);
    mem_free(table->sub);
    mem_free(table->specs);
    mem_free(table);
}

/*
 * table_lookup - search the tables in order for key[0..keylen).  1 when a
 * table answered (match filled in), 0 when none did, -1 when one could not
 * complete the lookup (err says where and why): a temporary failure.
 */
int table_lookup(const struct table *table, const char *key, size_t keylen,
                 struct table_match *match, struct buf *err)
{
    size_t i;
    int rc;

    for (i = 0; i < table->nsub; i++)
        if ((rc = table->sub[i].type->lookup(table->sub[i].table, key, keylen, match, err)) != 0)
            return rc;
    return 0;
}

/* table_match_init - an empty match, ready for table_lookup */
void table_match_init(struct table_match *match)
{
    buf_init(&match->result);
    match->file = NULL;
    match->line = 0;
}

/* table_match_free - free what a match holds */
void table_match_free(struct table_match *match)
{
    buf_free(&match->result);
    match->file = NULL;
    match->line = 0;
}

/* table_specs - the spec list the table was opened with */
const char *table_specs(const struct table *table)
{
    return table->specs;
}
