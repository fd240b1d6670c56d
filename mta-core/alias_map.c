/*
 * alias_map.c - alias_maps and virtual_alias_maps, indexed in memory.
 *
 * Each text file becomes a sorted array of (key, value) searched by
 * bisection; keys are folded to lower case as postalias/postmap do.  A
 * file is read again when its inode, size or mtime change (checked by
 * alias_map_refresh(), which the queue manager calls before it expands a
 * message) or when a refresh is forced (SIGHUP).  A reload that fails
 * keeps the old contents and says why; a file that was never readable
 * makes lookups fail temporarily, so mail waits instead of bouncing.
 *
 * Trust: the files are the administrator's, but a bad line is still only
 * a warning ("file, line N: problem"), skipped as postalias skips it, and
 * the first of two entries for one key wins, with a warning, as in Postfix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libmatch/lline.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "libmatch/table.h"
#include "mta-core/alias_map.h"

#define ALIAS_MAP_SOURCES_MAX 64 /* specs in one map */

struct alias_entry {
    char *key;
    char *value;
    int line;
};

struct alias_source {
    char *spec;             /* as written */
    char *path;             /* the file */
    int use_table;          /* read by libmatch's tables (table_open) */
    struct table *table;    /* ... once it could be read */
    int full_only;          /* regexp:/pcre:: full-address queries only */
    struct alias_entry *entries;
    size_t count;
    int loaded;             /* read successfully at least once */
    struct stat st;         /* of the file when it was read */
};

struct alias_map {
    int format;
    struct alias_source *src;
    size_t nsrc;
    struct table_match match; /* holds the last regexp/pcre result */
};

static int alias_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct alias_entry *) a)->key, ((const struct alias_entry *) b)->key);
}

static int alias_entry_order(const void *a, const void *b)
{
    const struct alias_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void alias_entries_free(struct alias_entry *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        mem_free(e[i].key);
        mem_free(e[i].value);
    }
    mem_free(e);
}

static void alias_lower(char *s)
{
    for (; *s; s++)
        *s = (char) tolower((unsigned char) *s);
}

/*
 * alias_parse_line - split one aliases(5) line, "name: value" (a quoted
 * "name" may hold anything), into key and value; 0, or -1 with a warning.
 */
static int alias_parse_line(char *line, const char *path, int lineno, struct buf *key, const char **value)
{
    char *p = line;

    buf_reset(key);
    {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                buf_addch(key, *p);
            }
            if (*p != '"') {
                msg_warn("%s, line %d: unbalanced '\"' in alias name: skipping this entry", path, lineno);
                return -1;
            }
            p++;
            while (isspace((unsigned char) *p))
                p++;
        } else {
            while (*p && *p != ':')
                buf_addch(key, *p++);
            buf_trim(key);
        }
        if (*p != ':' || key->len == 0) {
            msg_warn("%s, line %d: need name:value pair: skipping this entry", path, lineno);
            return -1;
        }
        p++;
    }
    while (isspace((unsigned char) *p))
        p++;
    /* Trailing white space is not part of the value. */
    {
        char *end = p + strlen(p);

        while (end > p && isspace((unsigned char) end[-1]))
            *--end = 0;
    }
    if (*p == 0) {
        msg_warn("%s, line %d: empty alias value: skipping this entry", path, lineno);
        return -1;
    }
    *value = p;
    return 0;
}

/* alias_load_file - read one text file into a fresh sorted array */
static int alias_load_file(struct alias_source *src, struct buf *err)
{
    struct buf line = BUF_INIT;
    struct buf key = BUF_INIT;
    struct alias_entry *e = NULL;
    size_t n = 0, alloc = 0, i, j;
    struct stat st;
    int lineno = 0, first = 0;
    FILE *fp;

    fp = fopen(src->path, "r");
    if (fp == NULL) {
        buf_printf(err, "open %s: %s", src->path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) < 0) {
        buf_printf(err, "fstat %s: %s", src->path, strerror(errno));
        fclose(fp);
        return -1;
    }
    while (lline_read(fp, src->path, &line, &lineno, &first, NULL, NULL) > 0) {
        const char *value;

        if (alias_parse_line(line.data, src->path, first, &key, &value) < 0)
            continue;
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 64;
            e = mem_realloc_array(e, alloc, sizeof(*e));
        }
        e[n].key = mem_strdup(key.data);
        alias_lower(e[n].key);
        e[n].value = mem_strdup(value);
        e[n].line = first;
        n++;
    }
    if (ferror(fp)) {
        buf_printf(err, "read %s: %s", src->path, strerror(errno));
        fclose(fp);
        alias_entries_free(e, n);
        buf_free(&line);
        buf_free(&key);
        return -1;
    }
    fclose(fp);
    buf_free(&line);
    buf_free(&key);
    /* By key, then by line: the first entry of a duplicate key wins. */
    if (n > 1)
        qsort(e, n, sizeof(*e), alias_entry_order);
    for (i = j = 0; i < n; i++) {
        if (j > 0 && strcmp(e[j - 1].key, e[i].key) == 0) {
            msg_warn("%s, line %d: duplicate entry: \"%s\" (first at line %d): ignoring it",
                     src->path, e[i].line, e[i].key, e[j - 1].line);
            mem_free(e[i].key);
            mem_free(e[i].value);
            continue;
        }
        e[j++] = e[i];
    }
    alias_entries_free(src->entries, src->count);
    src->entries = e;
    src->count = j;
    src->st = st;
    src->loaded = 1;
    return 0;
}

/* alias_load_table - (re)open a regexp:/pcre: source */
static int alias_load_table(struct alias_source *src, struct buf *err)
{
    struct table *t;
    struct stat st;

    if (stat(src->path, &st) < 0) {
        buf_printf(err, "%s: %s", src->spec, strerror(errno));
        return -1;
    }
    struct buf why = BUF_INIT;

    t = table_open(src->spec, TABLE_LENIENT, &why);
    if (t == NULL) {
        buf_addstr(err, why.data);
        buf_free(&why);
        return -1;
    }
    if (why.len) {
        /* Lenient: bad lines were skipped, as postmap skips them; say which. */
        char *save = NULL;

        for (char *l = strtok_r(why.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            msg_warn("%s", l);
    }
    buf_free(&why);
    if (src->table)
        table_free(src->table);
    src->table = t;
    src->st = st;
    src->loaded = 1;
    return 0;
}

/* alias_map_open - a map from a list of specs; the files are read now */
struct alias_map *alias_map_open(const char *specs, int format, struct buf *err)
{
    struct alias_map *map = mem_zalloc(sizeof(*map));
    const char *p = specs;

    map->format = format;
    table_match_init(&map->match);
    while (*p) {
        const char *start;
        size_t len;
        struct alias_source *src;
        const char *colon;

        while (*p == ',' || isspace((unsigned char) *p))
            p++;
        if (*p == 0)
            break;
        start = p;
        while (*p && *p != ',' && !isspace((unsigned char) *p))
            p++;
        len = (size_t) (p - start);
        if (map->nsrc == ALIAS_MAP_SOURCES_MAX) {
            buf_printf(err, "more than %d tables in \"%s\"", ALIAS_MAP_SOURCES_MAX, specs);
            alias_map_free(map);
            return NULL;
        }
        map->src = mem_realloc_array(map->src, map->nsrc + 1, sizeof(*map->src));
        src = &map->src[map->nsrc++];
        memset(src, 0, sizeof(*src));
        src->spec = mem_strndup(start, len);
        colon = strchr(src->spec, ':');
        src->path = mem_strdup(colon && src->spec[0] != '/' ? colon + 1 : src->spec);
        src->full_only = strncmp(src->spec, "regexp:", 7) == 0 || strncmp(src->spec, "pcre:", 5) == 0;
        if (format == ALIAS_FORMAT_VIRTUAL || src->full_only) {
            /* libmatch reads these; a bare path is a texthash: table. */
            if (src->spec[0] == '/') {
                char *spec = mem_alloc(strlen(src->spec) + sizeof("texthash:"));

                sprintf(spec, "texthash:%s", src->spec);
                mem_free(src->spec);
                src->spec = spec;
            }
            src->use_table = 1;
        }
        if (src->path[0] != '/') {
            buf_printf(err, "table \"%s\": expected an absolute path", src->spec);
            alias_map_free(map);
            return NULL;
        }
    }
    /* Files that cannot be read yet are not fatal: lookups wait for them. */
    alias_map_refresh(map, 1, err);
    return map;
}

/*
 * alias_map_refresh - read again every source that changed (all of them
 * with force); 0, or -1 with err naming what could not be read (the old
 * contents stay in use).
 */
int alias_map_refresh(struct alias_map *map, int force, struct buf *err)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < map->nsrc; i++) {
        struct alias_source *src = &map->src[i];
        struct stat st;
        int changed;

        if (stat(src->path, &st) < 0) {
            if (!src->loaded || force) {
                if (err->len)
                    buf_addch(err, '\n');
                buf_printf(err, "%s: %s", src->spec, strerror(errno));
                rc = -1;
            }
            continue;
        }
        changed = !src->loaded || force || st.st_ino != src->st.st_ino || st.st_dev != src->st.st_dev ||
                  st.st_size != src->st.st_size || st.st_mtim.tv_sec != src->st.st_mtim.tv_sec ||
                  st.st_mtim.tv_nsec != src->st.st_mtim.tv_nsec;
        if (!changed)
            continue;
        {
            struct buf why = BUF_INIT;
            int r = src->use_table ? alias_load_table(src, &why) : alias_load_file(src, &why);

            if (r < 0) {
                if (err->len)
                    buf_addch(err, '\n');
                buf_addstr(err, why.data);
                rc = -1;
            } else if (!force) {
                msg_info("reloaded %s", src->spec);
            }
            buf_free(&why);
        }
    }
    return rc;
}

/*
 * alias_map_lookup - 1 with hit filled in, 0 when no source has key, -1
 * when a source that would be asked was never readable or a regexp lookup
 * failed (err says which): a temporary failure.
 */
int alias_map_lookup(struct alias_map *map, const char *key, int flags, struct alias_hit *hit,
                     struct buf *err)
{
    struct buf folded = BUF_INIT;
    size_t i;
    int rc = 0;

    buf_setstr(&folded, key);
    alias_lower(folded.data);
    for (i = 0; i < map->nsrc && rc == 0; i++) {
        struct alias_source *src = &map->src[i];

        if (src->full_only && flags == ALIAS_MAP_PARTIAL)
            continue;
        if (!src->loaded) {
            buf_printf(err, "%s is unavailable", src->spec);
            rc = -1;
            break;
        }
        if (src->use_table) {
            rc = table_lookup(src->table, folded.data, folded.len, &map->match, err);
            if (rc > 0) {
                hit->value = map->match.result.data;
                hit->file = map->match.file;
                hit->line = map->match.line;
            }
        } else {
            struct alias_entry probe = {folded.data, NULL, 0};
            struct alias_entry *e = src->count == 0 ? NULL :
                                    bsearch(&probe, src->entries, src->count, sizeof(*src->entries),
                                            alias_entry_cmp);

            if (e) {
                hit->value = e->value;
                hit->file = src->path;
                hit->line = e->line;
                rc = 1;
            }
        }
        if (rc > 0) {
            hit->owner = src->st.st_uid;
            hit->owner_gid = src->st.st_gid;
        }
    }
    buf_free(&folded);
    return rc;
}

/* alias_map_free - release everything */
void alias_map_free(struct alias_map *map)
{
    size_t i;

    if (map == NULL)
        return;
    for (i = 0; i < map->nsrc; i++) {
        mem_free(map->src[i].spec);
        mem_free(map->src[i].path);
        if (map->src[i].table)
            table_free(map->src[i].table);
        alias_entries_free(map->src[i].entries, map->src[i].count);
    }
    mem_free(map->src);
    table_match_free(&map->match);
    mem_free(map);
}
