/*
 * mta-core.c - the MTA daemon: options, configuration, then the server.
 *
 *   mta-core [-c FILE] [-o name=value]... [-v]
 *
 * Runs in the foreground until SIGTERM; logs to stderr and syslog (when
 * a syslog daemon listens at start).  The
 * default configuration file is /etc/mta-core/mta-core.conf; without -c a
 * missing default file is fine (everything can come from -o).  See
 * mta-core(8) and mta-core.conf(5).
 */
#include <errno.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/params.h"
#include "mta-core/smtpd_server.h"

#define MTA_CORE_CONFIG "/etc/mta-core/mta-core.conf"

static void usage(void)
{
    fprintf(stderr, "usage: mta-core [-c config_file] [-o name=value]... [-v]\n");
    exit(2);
}

/*
 * mta_core_syslog_ok - is there a syslog daemon to talk to?  Without one,
 * the C library tries to connect again for every log line (several per
 * message); then mta-core logs to stderr only.
 */
static int mta_core_syslog_ok(void)
{
    struct sockaddr_un sun;
    int fd, ok;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0;
    if (!ok && errno == EPROTOTYPE) {
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ok = fd >= 0 && connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0;
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

/* mta_core_facility - syslog_facility by name */
static int mta_core_facility(const char *name)
{
    static const struct {
        const char *name;
        int facility;
    } names[] = {
        { "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
        { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
        { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
        { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].facility;
    msg_fatal("syslog_facility: unknown facility \"%s\"", name);
}

int main(int argc, char **argv)
{
    const char *path = MTA_CORE_CONFIG;
    char **overrides = mem_array((size_t) argc + 1, sizeof(char *));
    int noverride = 0, explicit = 0, ch;
    struct config *cfg;
    int syslog_ok;

    msg_open("mta-core", MSG_STDERR, LOG_MAIL);
    while ((ch = getopt(argc, argv, "c:o:v")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            explicit = 1;
            break;
        case 'o':
            overrides[noverride++] = optarg;
            break;
        case 'v':
            msg_verbose++;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    cfg = params_load(path, overrides, noverride, explicit);
    syslog_ok = mta_core_syslog_ok();
    msg_open(mem_strdup(config_get(cfg, "syslog_name")), MSG_STDERR | (syslog_ok ? MSG_SYSLOG : 0),
             mta_core_facility(config_get(cfg, "syslog_facility")));
    if (!syslog_ok)
        msg_info("no syslog socket at %s: logging to stderr only", _PATH_LOG);
    smtpd_server_run(cfg);
    config_free(cfg);
    mem_free(overrides);
    return 0;
}
