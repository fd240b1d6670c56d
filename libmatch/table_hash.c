/*
 * table_hash.c - Postfix's indexed tables, read from their source text:
 * texthash: (as Postfix has it), and hash: and lmdb: for the files
 * operators already point main.cf at.
 *
 * Postfix's hash:/etc/postfix/access opens access.db, which postmap(1)
 * built from the text file access.  We read the text file itself and
 * index it in memory, so there is no postmap step and nothing to get out
 * of step: the name in the spec is the source file (access, not
 * access.db).  The format is postmap's input format:
 *
 *   key whitespace value
 *
 * logical lines as Postfix reads them (comments, continuation lines that
 * start with white space); the key ends at the first white space outside
 * double quotes (a backslash escapes the next character); both key and
 * value are trimmed.  Keys are case-folded, at load and at lookup, as
 * postmap(1) does by default.  A line without a value is an error
 * ("expected format: key whitespace value"); a duplicate key is an error
 * too, and, with TABLE_LENIENT, the first entry wins as in postmap.
 *
 * Trusts: nothing in the text.  Memory is one copy of the keys and values
 * plus an index of twice as many slots as entries.
 */
#include <stdio.h>
#include <string.h>

#include "libmatch/lline.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/table_type.h"

struct hash_entry {
    char *key;   /* case-folded */
    size_t klen;
    char *value;
    int line;
};

struct hash_table {
    char *name;                /* the file name, for table_match.file */
    struct hash_entry *entries;
    size_t count;
    size_t *slots;             /* open addressing: entry index + 1, 0 for empty */
    size_t nslots;             /* a power of two */
};

static unsigned char hash_fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char) (c + 'a' - 'A') : c;
}

/* hash_key - FNV-1a over the case-folded bytes */
static size_t hash_key(const char *key, size_t len)
{
    size_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= hash_fold((unsigned char) key[i]);
        h *= 16777619u;
    }
    return h;
}

static int hash_same(const struct hash_entry *e, const char *key, size_t len)
{
    size_t i;

    if (e->klen != len)
        return 0;
    for (i = 0; i < len; i++)
        if ((unsigned char) e->key[i] != hash_fold((unsigned char) key[i]))
            return 0;
    return 1;
}

/* hash_find - the entry for key, or NULL */
static const struct hash_entry *hash_find(const struct hash_table *t, const char *key, size_t len)
{
    size_t i;

    if (t->nslots == 0)
        return NULL;
    for (i = hash_key(key, len) & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1))
        if (hash_same(&t->entries[t->slots[i] - 1], key, len))
            return &t->entries[t->slots[i] - 1];
    return NULL;
}

/* hash_insert - index entry i (the caller made sure its key is new) */
static void hash_insert(struct hash_table *t, size_t i)
{
    size_t j;

    for (j = hash_key(t->entries[i].key, t->entries[i].klen) & (t->nslots - 1); t->slots[j];
         j = (j + 1) & (t->nslots - 1))
        ;
    t->slots[j] = i + 1;
}

/* hash_grow - keep the index at most half full */
static void hash_grow(struct hash_table *t)
{
    size_t i;

    if (t->nslots >= 2 * (t->count + 1))
        return;
    mem_free(t->slots);
    t->nslots = t->nslots ? 2 * t->nslots : 64;
    t->slots = mem_array(t->nslots, sizeof(*t->slots));
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    for (i = 0; i < t->count; i++)
        hash_insert(t, i);
}

static void hash_free(void *table)
{
    struct hash_table *t = table;
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->count; i++) {
        mem_free(t->entries[i].key);
        mem_free(t->entries[i].value);
    }
    mem_free(t->entries);
    mem_free(t->slots);
    mem_free(t->name);
    mem_free(t);
}

static void hash_error(struct buf *err, const char *name, int line, const char *fmt, const char *arg)
{
    if (err->len > 0 && err->data[err->len - 1] != '\n')
        buf_addch(err, '\n');
    buf_printf(err, "%s, line %d: ", name, line);
    buf_printf(err, fmt, arg);
}

/*
 * hash_split - split a logical line into key and value in place; returns
 * the value, or NULL when the quotes do not balance.
 */
static char *hash_split(char *line)
{
    char *p;
    int quoted = 0;

    for (p = line; *p; p++) {
        if (*p == '\\') {
            if (*++p == 0)
                break;
        } else if (*p == '"') {
            quoted = !quoted;
        } else if ((*p == ' ' || *p == '\t') && !quoted) {
            break;
        }
    }
    if (quoted)
        return NULL;
    if (*p)
        *p++ = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static void *hash_open(const char *name, const char *text, size_t len, int flags, struct buf *err)
{
    struct hash_table *t = mem_zalloc(sizeof(*t));
    struct buf line = BUF_INIT;
    size_t alloc = 0;
    int lineno = 0, first = 0, bad = 0;
    FILE *fp = NULL;

    t->name = mem_strdup(name);
    if (len > 0 && (fp = fmemopen((void *) text, len, "r")) == NULL)
        msg_fatal("fmemopen: %m");
    /* First pass: the entries in file order, duplicates refused. */
    while (fp && lline_read(fp, name, &line, &lineno, &first, NULL, NULL)) {
        char *value;
        size_t vlen, klen, i;

        buf_trim(&line);
        if ((value = hash_split(line.data)) == NULL) {
            hash_error(err, name, first, "unbalanced '\"' in '%s'", line.data);
            bad = 1;
            continue;
        }
        vlen = strlen(value);
        while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            value[--vlen] = 0;
        klen = strlen(line.data);
        if (klen == 0 || vlen == 0) {
            hash_error(err, name, first, "expected format: key whitespace value%s", "");
            bad = 1;
            continue;
        }
        if (line.data[klen - 1] == ':')
            msg_warn("%s, line %d: record is in \"key: value\" format; is this an alias file?",
                     name, first);
        if (hash_find(t, line.data, klen) != NULL) {
            /* As postmap: the first entry stays. */
            hash_error(err, name, first, "duplicate entry: \"%s\"", line.data);
            bad = 1;
            continue;
        }
        for (i = 0; i < klen; i++)
            line.data[i] = (char) hash_fold((unsigned char) line.data[i]);
        hash_grow(t);
        if (t->count == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            t->entries = mem_realloc_array(t->entries, alloc, sizeof(*t->entries));
        }
        t->entries[t->count].key = mem_strndup(line.data, klen);
        t->entries[t->count].klen = klen;
        t->entries[t->count].value = mem_strdup(value);
        t->entries[t->count].line = first;
        hash_insert(t, t->count);
        t->count++;
    }
    if (fp)
        fclose(fp);
    buf_free(&line);
    if (bad && !(flags & TABLE_LENIENT)) {
        hash_free(t);
        return NULL;
    }
    return t;
}

static int hash_lookup(const void *table, const char *key, size_t keylen, struct table_match *match,
                       struct buf *err)
{
    const struct hash_table *t = table;
    const struct hash_entry *e = hash_find(t, key, keylen);

    (void) err;
    if (e == NULL)
        return 0;
    buf_setstr(&match->result, e->value);
    match->file = t->name;
    match->line = e->line;
    return 1;
}

const struct table_type table_type_texthash = { "texthash", 1, hash_open, hash_lookup, hash_free };
const struct table_type table_type_hash = { "hash", 1, hash_open, hash_lookup, hash_free };
const struct table_type table_type_lmdb = { "lmdb", 1, hash_open, hash_lookup, hash_free };
