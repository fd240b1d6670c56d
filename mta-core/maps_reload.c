/*
 * maps_reload.c - lookup tables that follow their files: opened leniently
 * (each bad line logged and skipped, as Postfix does), opened again when a
 * file changes or on SIGHUP, and kept as they were when that fails.
 *
 * The files of a spec list are the names after "type:" that start with
 * '/'; their size and modification time (nanoseconds) are remembered and
 * compared at most once a second, when the table is used.  A table is
 * immutable, so a reload builds a new one and the old one is freed: no
 * lookup is under way at that moment, the daemon has one thread.
 *
 * Trusts: the operator's files for their content only; every problem is
 * a log line, never an exit.
 */
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maps_lookup.h"

#define MAPS_CHECK_INTERVAL 1 /* seconds between looks at the files */

struct maps_file {
    char *path;
    struct stat st;
    int missing;
};

struct maps {
    char *param;
    char *specs;
    struct table *table;
    struct maps_file *files;
    size_t nfiles;
    time_t checked;
    struct maps *next; /* every open maps, for maps_reload_all */
};

static struct maps *maps_all;

/* maps_stat - remember what a file looks like now */
static void maps_stat(struct maps_file *f)
{
    f->missing = stat(f->path, &f->st) < 0;
    if (f->missing)
        memset(&f->st, 0, sizeof(f->st));
}

/* maps_changed - has a file changed since it was read? */
static int maps_changed(const struct maps_file *f)
{
    struct stat st;
    int missing = stat(f->path, &st) < 0;

    if (missing != f->missing)
        return 1;
    return !missing && (st.st_mtim.tv_sec != f->st.st_mtim.tv_sec
                        || st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec
                        || st.st_size != f->st.st_size || st.st_ino != f->st.st_ino);
}

/* maps_find_files - the file names in a spec list */
static void maps_find_files(struct maps *maps)
{
    const char *p = maps->specs;

    while (*p) {
        const char *start, *colon;
        size_t len;
        int depth = 0;

        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
            p++;
        start = p;
        while (*p && (depth > 0 || (*p != ' ' && *p != '\t' && *p != ',' && *p != '\n'))) {
            if (*p == '{')
                depth++;
            else if (*p == '}' && depth > 0)
                depth--;
            p++;
        }
        len = (size_t) (p - start);
        colon = memchr(start, ':', len);
        if (colon && colon[1] == '/') {
            maps->files = mem_realloc_array(maps->files, maps->nfiles + 1, sizeof(*maps->files));
            maps->files[maps->nfiles].path = mem_strndup(colon + 1, len - (size_t) (colon + 1 - start));
            maps->nfiles++;
        }
    }
}

/* maps_log_problems - each line of err as a warning about param */
static void maps_log_problems(const char *param, const struct buf *err)
{
    const char *line = err->data;

    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t) (nl - line) : strlen(line);

        if (len)
            msg_warn("%s: %.*s", param, (int) len, line);
        line += len + (nl != NULL);
    }
}

/*
 * maps_load - open the tables; NULL when they cannot be opened at all (a
 * missing file, an unknown type), with err set.  Bad lines are skipped
 * and logged.
 */
static struct table *maps_load(struct maps *maps, struct buf *err)
{
    struct buf problems = BUF_INIT;
    struct table *table;
    size_t i;

    for (i = 0; i < maps->nfiles; i++)
        maps_stat(&maps->files[i]);
    table = table_open(maps->specs, TABLE_LENIENT, &problems);
    if (table == NULL)
        buf_addstr(err, problems.data);
    else
        maps_log_problems(maps->param, &problems);
    buf_free(&problems);
    return table;
}

/* maps_open - the tables of a parameter's value; NULL with err when they do not open */
struct maps *maps_open(const char *param, const char *specs, struct buf *err)
{
    struct maps *maps = mem_zalloc(sizeof(*maps));

    maps->param = mem_strdup(param);
    maps->specs = mem_strdup(specs);
    maps_find_files(maps);
    if ((maps->table = maps_load(maps, err)) == NULL) {
        maps_free(maps);
        return NULL;
    }
    maps->checked = time(NULL);
    maps->next = maps_all;
    maps_all = maps;
    return maps;
}

/*
 * maps_reload - open the tables again when a file changed (or always,
 * with force).  Returns 1 when a new table is in use, 0 when nothing
 * changed, -1 when the reload failed (the old table stays; logged).
 */
int maps_reload(struct maps *maps, int force)
{
    struct buf err = BUF_INIT;
    struct table *table;
    size_t i;
    int changed = force;

    for (i = 0; i < maps->nfiles && !changed; i++)
        changed = maps_changed(&maps->files[i]);
    maps->checked = time(NULL);
    if (!changed)
        return 0;
    if ((table = maps_load(maps, &err)) == NULL) {
        msg_warn("%s: cannot reload %s: %s; keeping the tables loaded before",
                 maps->param, maps->specs, err.data);
        buf_free(&err);
        return -1;
    }
    table_free(maps->table);
    maps->table = table;
    msg_info("%s: reloaded %s", maps->param, maps->specs);
    buf_free(&err);
    return 1;
}

/* maps_table - the current table, reloaded first if a file changed */
const struct table *maps_table(struct maps *maps)
{
    if (time(NULL) - maps->checked >= MAPS_CHECK_INTERVAL)
        maps_reload(maps, 0);
    return maps->table;
}

/* maps_param - the parameter the tables came from, for log lines */
const char *maps_param(const struct maps *maps)
{
    return maps->param;
}

/* maps_reload_all - SIGHUP: open every table again */
void maps_reload_all(void)
{
    struct maps *maps;

    for (maps = maps_all; maps; maps = maps->next)
        maps_reload(maps, 1);
}

/* maps_free - close the tables and forget them */
void maps_free(struct maps *maps)
{
    struct maps **pp;
    size_t i;

    if (maps == NULL)
        return;
    for (pp = &maps_all; *pp; pp = &(*pp)->next)
        if (*pp == maps) {
            *pp = maps->next;
            break;
        }
    table_free(maps->table);
    for (i = 0; i < maps->nfiles; i++)
        mem_free(maps->files[i].path);
    mem_free(maps->files);
    mem_free(maps->param);
    mem_free(maps->specs);
    mem_free(maps);
}
