/*
 * mtaq.c - the queue tool for administrators (mtaq(8)).
 *
 *   mtaq [-c FILE] [-o name=value]... list [--hold|--deferred|--all] [--json]
 *   mtaq ... show [--body] ID
 *   mtaq ... release ID...|ALL|-
 *   mtaq ... hold [--reason TEXT] ID...|-
 *   mtaq ... delete ID...|-
 *   mtaq ... flush
 *
 * Reads the same configuration as mta-core (queue_directory).  Each change
 * is logged, one line per message and action, to stderr and syslog.  Exit
 * status: 0 done, 1 when any id was unknown or an action failed (the
 * others are still done), 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"
#include "mta-core/queue_admin.h"

#define MTAQ_CONFIG "/etc/mta-core/mta-core.conf"
#define MTAQ_HOLD_REASON "held by the administrator"

static void usage(void)
{
    fprintf(stderr, "usage: mtaq [-c config_file] [-o name=value]... command\n"
                    "  list [--hold|--deferred|--all] [--json]\n"
                    "  show [--body] ID\n"
                    "  release ID...|ALL|-\n"
                    "  hold [--reason TEXT] ID...|-\n"
                    "  delete ID...|-\n"
                    "  flush\n");
    exit(2);
}

/* mtaq_ids - the ids of a command: its arguments, or stdin for "-" */
static char **mtaq_ids(int argc, char **argv, size_t *np)
{
    char **ids = NULL;
    size_t n = 0;
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            char *line = NULL;
            size_t cap = 0;
            ssize_t len;

            while ((len = getline(&line, &cap, stdin)) > 0) {
                line[strcspn(line, " \t\r\n")] = 0;
                if (*line == 0)
                    continue;
                ids = mem_realloc_array(ids, n + 1, sizeof(*ids));
                ids[n++] = mem_strdup(line);
            }
            free(line);
        } else {
            ids = mem_realloc_array(ids, n + 1, sizeof(*ids));
            ids[n++] = mem_strdup(argv[i]);
        }
    }
    *np = n;
    return ids;
}

/* mtaq_each - run one action over ids; the exit status */
static int mtaq_each(const char *qdir, const char *action, char **ids, size_t n, const char *reason)
{
    struct buf err = BUF_INIT;
    size_t i;
    int status = 0;

    for (i = 0; i < n; i++) {
        int rc;

        buf_reset(&err);
        if (strcmp(action, "release") == 0)
            rc = queue_admin_release(qdir, ids[i], &err);
        else if (strcmp(action, "hold") == 0)
            rc = queue_admin_hold(qdir, ids[i], reason, &err);
        else
            rc = queue_admin_delete(qdir, ids[i], &err);
        if (rc < 0) {
            msg_warn("%s", err.data);
            status = 1;
        } else if (rc == 1) {
            msg_info("%s: already on hold", ids[i]);
        } else if (strcmp(action, "release") == 0) {
            msg_info("%s: released from hold by uid %ld", ids[i], (long) getuid());
        } else if (strcmp(action, "hold") == 0) {
            msg_info("%s: placed on hold by uid %ld: %s", ids[i], (long) getuid(), reason);
        } else {
            msg_info("%s: deleted by uid %ld", ids[i], (long) getuid());
        }
    }
    buf_free(&err);
    return status;
}

int main(int argc, char **argv)
{
    const char *path = MTAQ_CONFIG;
    char **overrides = mem_array((size_t) argc + 1, sizeof(char *));
    int noverride = 0, explicit = 0, ch, status = 0;
    struct buf err = BUF_INIT;
    struct config *cfg;
    const char *cmd;
    char *qdir;

    msg_open("mtaq", MSG_STDERR, LOG_MAIL);
    while ((ch = getopt(argc, argv, "+c:o:")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            explicit = 1;
            break;
        case 'o':
            overrides[noverride++] = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();
    cmd = argv[optind];
    argc -= optind;
    argv += optind;
    cfg = params_load(path, overrides, noverride, explicit);
    qdir = mem_strdup(config_get(cfg, "queue_directory"));
    msg_open("mtaq", MSG_STDERR | MSG_SYSLOG, LOG_MAIL);

    if (strcmp(cmd, "list") == 0) {
        int which = QUEUE_ADMIN_ALL, json = 0, i;

        for (i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--hold") == 0)
                which = QUEUE_ADMIN_HOLD;
            else if (strcmp(argv[i], "--deferred") == 0)
                which = QUEUE_ADMIN_DEFERRED;
            else if (strcmp(argv[i], "--all") == 0)
                which = QUEUE_ADMIN_ALL;
            else if (strcmp(argv[i], "--json") == 0)
                json = 1;
            else
                usage();
        }
        if (queue_admin_list(qdir, which, json, stdout, &err) < 0)
            msg_fatal("%s", err.data);
    } else if (strcmp(cmd, "show") == 0) {
        int body = 0, i;
        const char *id = NULL;

        for (i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--body") == 0)
                body = 1;
            else if (id == NULL && argv[i][0] != '-')
                id = argv[i];
            else
                usage();
        }
        if (id == NULL)
            usage();
        if (queue_admin_show(qdir, id, body, stdout, &err) < 0) {
            msg_warn("%s", err.data);
            status = 1;
        }
    } else if (strcmp(cmd, "release") == 0 || strcmp(cmd, "hold") == 0 || strcmp(cmd, "delete") == 0) {
        const char *reason = MTAQ_HOLD_REASON;
        char **ids;
        size_t n, i;
        int first = 1;

        if (strcmp(cmd, "hold") == 0 && argc > 2 && strcmp(argv[1], "--reason") == 0) {
            reason = argv[2];
            first = 3;
        }
        if (argc <= first)
            usage();
        if (strcmp(cmd, "release") == 0 && argc == 2 && strcmp(argv[1], "ALL") == 0) {
            if (queue_scan(qdir, QUEUE_HOLD, &ids, &n, &err) < 0)
                msg_fatal("%s", err.data);
            if (n == 0)
                msg_info("release ALL: nothing is on hold");
        } else {
            ids = mtaq_ids(argc - first, argv + first, &n);
        }
        status = mtaq_each(qdir, cmd, ids, n, reason);
        for (i = 0; i < n; i++)
            mem_free(ids[i]);
        mem_free(ids);
    } else if (strcmp(cmd, "flush") == 0) {
        char **ids;
        size_t n, i;

        if (argc != 1)
            usage();
        if (queue_admin_flush(qdir, &ids, &n, &err) < 0)
            msg_fatal("%s", err.data);
        for (i = 0; i < n; i++)
            msg_info("%s: flushed: deferred -> incoming by uid %ld", ids[i], (long) getuid());
        if (n == 0)
            msg_info("flush: no deferred messages");
        queue_ids_free(ids, n);
    } else {
        usage();
    }
    mem_free(qdir);
    config_free(cfg);
    mem_free(overrides);
    buf_free(&err);
    return status;
}
