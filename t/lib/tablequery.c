/*
 * tablequery - query libmatch tables the way postmap -q does, for tests.
 *
 *   tablequery [-l] [-w] SPECS KEY    print the result of KEY; exit 0 when
 *                                     found, 1 when not (postmap -q KEY)
 *   tablequery [-l] [-w] SPECS < keys one key per input line; print
 *                                     "key<TAB>result" for each key found,
 *                                     exit 0 when any was (postmap -q -)
 *
 * SPECS is a table_open() spec list ("pcre:/a, regexp:/b").  -l opens it
 * with TABLE_LENIENT; every problem table_open() reports goes to stderr as
 * "tablequery: warning: ..." (so a test can compare it with postmap's
 * warnings).  -w appends "<TAB>file:line" of the rule that matched.
 * -J opens with TABLE_NO_JIT.  -t N times instead of printing: the keys
 * from stdin are looked up N times over, and the load time and lookups
 * per second go to stdout.
 * A table that does not open: exit 2; a lookup that fails: exit 3.
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/rx.h"
#include "libmatch/table.h"

static void print_problems(struct buf *err)
{
    char *line = err->data;

    while (err->len > 0 && *line) {
        char *nl = strchr(line, '\n');

        fprintf(stderr, "tablequery: warning: %.*s\n", nl ? (int) (nl - line) : (int) strlen(line), line);
        if (nl == NULL)
            break;
        line = nl + 1;
    }
    buf_reset(err);
}

/* query - one key; 1 found (printed), 0 not, exits on a failed lookup */
static int query(const struct table *table, const char *key, size_t len, int echo_key, int where)
{
    struct table_match match;
    struct buf err = BUF_INIT;
    int rc;

    table_match_init(&match);
    rc = table_lookup(table, key, len, &match, &err);
    if (rc < 0) {
        print_problems(&err);
        fprintf(stderr, "tablequery: fatal: table %s: query error\n", table_specs(table));
        exit(3);
    }
    if (rc > 0) {
        if (echo_key) {
            fwrite(key, 1, len, stdout);
            putchar('\t');
        }
        fwrite(match.result.data, 1, match.result.len, stdout);
        if (where)
            printf("\t%s:%d", match.file, match.line);
        putchar('\n');
    }
    table_match_free(&match);
    buf_free(&err);
    return rc;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* timing - -t N: look the keys of stdin up N times over */
static int timing(const struct table *table, long rounds, double load)
{
    struct buf keys = BUF_INIT;
    struct buf err = BUF_INIT;
    struct table_match m;
    size_t *off = NULL;
    size_t nkeys = 0;
    long found = 0;
    double start;
    long r;
    int ch;

    while ((ch = getchar()) != EOF) {
        if (keys.len == 0 || keys.data[keys.len - 1] == 0) {
            off = realloc(off, (nkeys + 1) * sizeof(*off));
            off[nkeys++] = keys.len;
        }
        buf_addch(&keys, ch == '\n' ? 0 : ch);
    }
    buf_addch(&keys, 0);
    table_match_init(&m);
    start = now();
    for (r = 0; r < rounds; r++) {
        size_t i;

        for (i = 0; i < nkeys; i++) {
            const char *key = keys.data + off[i];

            if (table_lookup(table, key, strlen(key), &m, &err) < 0) {
                fprintf(stderr, "tablequery: fatal: %s\n", err.data);
                exit(3);
            }
            found += m.line > 0;
            m.line = 0;
        }
    }
    printf("load %.1f ms, %ld lookups in %.3f s: %.0f lookups/s (%ld found)\n", load * 1000,
           rounds * (long) nkeys, now() - start, (double) rounds * (double) nkeys / (now() - start), found);
    table_match_free(&m);
    buf_free(&keys);
    buf_free(&err);
    free(off);
    return 0;
}

int main(int argc, char **argv)
{
    struct buf err = BUF_INIT;
    struct table *table;
    int flags = 0;
    int where = 0;
    long rounds = 0;
    double load;
    int found = 0;
    int ch;

    while ((ch = getopt(argc, argv, "Jlt:w")) != -1) {
        switch (ch) {
        case 'l':
            flags |= TABLE_LENIENT;
            break;
        case 'w':
            where = 1;
            break;
        case 'J':
            flags |= TABLE_NO_JIT;
            break;
        case 't':
            rounds = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: tablequery [-lwJ] [-t N] SPECS [KEY]\n");
            return 2;
        }
    }
    if (optind != argc - 1 && optind != argc - 2) {
        fprintf(stderr, "usage: tablequery [-l] [-w] SPECS [KEY]\n");
        return 2;
    }
    load = now();
    table = table_open(argv[optind], flags, &err);
    load = now() - load;
    print_problems(&err);
    if (table == NULL) {
        fprintf(stderr, "tablequery: fatal: table %s: not loaded\n", argv[optind]);
        buf_free(&err);
        return 2;
    }
    if (rounds > 0) {
        timing(table, rounds, load);
        found = 1;
    } else if (optind == argc - 2) {
        found = query(table, argv[optind + 1], strlen(argv[optind + 1]), 0, where);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;

        while ((len = getline(&line, &cap, stdin)) >= 0) {
            if (len > 0 && line[len - 1] == '\n')
                len--;
            found |= query(table, line, (size_t) len, 1, where);
        }
        free(line);
    }
    fflush(stdout);
    table_free(table);
    buf_free(&err);
    rx_thread_cleanup();
    return found ? 0 : 1;
}
