/*
 * cmdline.c - parse procsort's command line (see cmdline.h), in the order
 * and with the tolerance of procmail's main().
 *
 * Trusts nothing in argv; every problem is logged and counted.
 */
#include <string.h>

#include "libmatch/mem.h"
#include "procsort/cmdline.h"
#include "procsort/plog.h"

static void cmdline_push(char ***list, int *n, char *value)
{
    *list = mem_realloc_array(*list, (size_t) *n + 2, sizeof(**list));
    (*list)[(*n)++] = value;
    (*list)[*n] = 0;
}

/* cmdline_parse - 0 when we should go on, 1 when we should stop (usage) */
int cmdline_parse(int argc, char **argv, struct cmdline *cl)
{
    int i;

    memset(cl, 0, sizeof(*cl));
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        char *p = argv[i] + 1;

        if (strcmp(argv[i], "--lint") == 0) {
            cl->lint = 1;
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        for (; *p; p++) {
            switch (*p) {
            case 'v':
                cl->version = 1;
                continue;
            case 'h':
            case '?':
                cl->help = 1;
                continue;
            case 'p':
                cl->preserve = 1;
                continue;
            case 'm':
                cl->mailfilter = 1;
                continue;
            case 'o':
                cl->override = 1;
                continue;
            case 'Y':
            case 'y':
                cl->berkeley = 1;
                continue;
            case 't':
                cl->tempfail = 1;
                continue;
            case 'n':
                cl->dry_run = 1;
                continue;
            case 'z':
                cl->lmtp = 1;
                continue;
            case 'f':
            case 'r':
                if (p[1])
                    cl->from = p + 1;
                else if (i + 1 < argc)
                    cl->from = argv[++i];
                else {
                    plog_error("Missing name");
                    cl->errors++;
                }
                break;
            case 'a':
                if (p[1])
                    cmdline_push(&cl->args, &cl->nargs, p + 1);
                else if (i + 1 < argc)
                    cmdline_push(&cl->args, &cl->nargs, argv[++i]);
                else {
                    plog_error("Missing argument");
                    cl->errors++;
                }
                break;
            case 'd':
                if (p[1])
                    cmdline_push(&cl->recipients, &cl->nrecipients, p + 1);
                else if (i + 1 < argc)
                    cmdline_push(&cl->recipients, &cl->nrecipients, argv[++i]);
                else {
                    plog_error("Missing recipient");
                    cl->errors++;
                    break;
                }
                for (i++; i < argc; i++)
                    cmdline_push(&cl->recipients, &cl->nrecipients, argv[i]);
                goto done;
            default:
                plog_error("Unrecognised options: \"%s\"", p);
                plog_error("Processing continued");
                cl->errors++;
                break;
            }
            break;
        }
    }
    for (; i < argc; i++)
        cmdline_push(&cl->rest, &cl->nrest, argv[i]);
done:
    if (cl->nrecipients > 0 && (cl->preserve || cl->mailfilter)) {
        cl->preserve = cl->mailfilter = 0;
        plog_error("Conflicting options");
        cl->errors++;
    }
    if (cl->mailfilter && cl->nargs > 0) {
        cl->nargs = 0;
        plog_error("Conflicting options");
        cl->errors++;
    }
    return cl->help || cl->version;
}

/* cmdline_free - release the lists */
void cmdline_free(struct cmdline *cl)
{
    mem_free(cl->args);
    mem_free(cl->recipients);
    mem_free(cl->rest);
}
