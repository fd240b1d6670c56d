/*
 * milterd.c - main(): options, configuration, policy, then test mode or
 * the daemon.  See milterd(8).
 *
 *   milterd [-c FILE] [-o name=value]... [-v]
 *   milterd -t [-c FILE] [-o name=value]... [-v] [-f sender] [-r rcpt]... < message
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "milterd/conf.h"
#include "milterd/daemon.h"
#include "milterd/policy.h"
#include "milterd/testmode.h"

static void usage(void)
{
    fprintf(stderr, "usage: milterd [-c FILE] [-o name=value]... [-v]\n"
                    "       milterd -t [-c FILE] [-o name=value]... [-v] [-f sender] [-r rcpt]... < message\n");
    exit(2);
}

/* facility - a syslog facility by name */
static int facility(const char *name)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {
        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
        {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].value;
    msg_fatal("syslog_facility = %s: unknown facility", name);
}

/* fatal_lines - report every problem, one per line, then exit 1 */
static void fatal_lines(const char *what, struct buf *err)
{
    char *line, *save = NULL;

    for (line = strtok_r(err->data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        msg_warn("%s", line);
    msg_fatal("%s", what);
}

int main(int argc, char **argv)
{
    struct conf_source src = {CONF_DEFAULT_PATH, 0, NULL, 0};
    const char **overrides = mem_array((size_t) argc + 1, sizeof(*overrides));
    const char **rcpts = mem_array((size_t) argc + 1, sizeof(*rcpts));
    struct testmode_env env = {NULL, rcpts, 0};
    struct buf err = BUF_INIT;
    struct config *cfg;
    struct policy *policy;
    int ch, test = 0, verbose = 0, status;

    msg_open("milterd", MSG_STDERR, LOG_MAIL);
    while ((ch = getopt(argc, argv, "c:o:tvf:r:")) != -1) {
        switch (ch) {
        case 'c':
            src.path = optarg;
            src.path_given = 1;
            break;
        case 'o':
            overrides[src.noverrides++] = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            verbose++;
            break;
        case 'f':
            env.sender = optarg;
            break;
        case 'r':
            rcpts[env.nrcpts++] = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || (!test && (env.sender || env.nrcpts)))
        usage();
    src.overrides = overrides;
    msg_verbose = verbose > 1;

    if ((cfg = conf_load(&src, &err)) == NULL)
        fatal_lines("bad configuration; exiting", &err);
    if ((policy = policy_load(cfg, &err)) == NULL)
        fatal_lines("cannot load the policy; exiting", &err);

    if (test) {
        status = testmode_run(policy, &env, stdin, stdout) < 0 ? 1 : 0;
        policy_release(policy);
    } else {
        msg_open(mem_strdup(config_get(cfg, "syslog_name")), MSG_SYSLOG | (verbose ? MSG_STDERR : 0),
                 facility(config_get(cfg, "syslog_facility")));
        policy_install(policy);
        status = daemon_run(&src, cfg);
    }
    config_free(cfg);
    mem_free(overrides);
    mem_free(rcpts);
    buf_free(&err);
    return status;
}
