/*
 * sendmail.c - mta-sendmail(8), the sendmail-compatible submission command:
 * options, configuration, then the maildrop (maildrop_submit.c) or
 * mtaq(8) for -bp and -q.  Installed as mta-sendmail; it may be installed
 * or linked as /usr/sbin/sendmail (and as mailq and newaliases, which
 * behave as "-bp" and "-bi").
 *
 *   mta-sendmail [-t] [-i|-oi] [-f sender] [-F name] [-N dsn] [-R ret]
 *                [-V envid] [-B type] [-C file] [address ...]
 *   mta-sendmail -bs | -bp | -q | -bi
 *
 * The configuration is -C FILE, else $MTA_CORE_CONFIG, else
 * /etc/mta-core/mta-core.conf (queue_directory, myhostname, myorigin,
 * message_size_limit).  Exit codes are sendmail's (sysexits.h): 0 queued,
 * 64 usage, 65 bad input, 75 try again later, ...
 *
 * Trusts: the configuration file; the command line and standard input
 * are the user's.
 */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/maildrop.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"

#define SENDMAIL_CONFIG "/etc/mta-core/mta-core.conf"

/* sendmail_die - a message on stderr and the exit code the caller acts on */
static void __attribute__((noreturn, format(printf, 2, 3))) sendmail_die(int status, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "mta-sendmail: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

/* sendmail_notify - -N: "never" or a list of success, failure, delay */
static int sendmail_notify(const char *v)
{
    int flags = 0;

    while (*v) {
        size_t n = strcspn(v, ", ");

        if (n == 5 && strncasecmp(v, "never", 5) == 0)
            flags |= QUEUE_NOTIFY_NEVER;
        else if (n == 7 && strncasecmp(v, "success", 7) == 0)
            flags |= QUEUE_NOTIFY_SUCCESS;
        else if (n == 7 && strncasecmp(v, "failure", 7) == 0)
            flags |= QUEUE_NOTIFY_FAILURE;
        else if (n == 5 && strncasecmp(v, "delay", 5) == 0)
            flags |= QUEUE_NOTIFY_DELAY;
        else if (n > 0)
            sendmail_die(EX_USAGE, "-N: bad DSN notification \"%.*s\" (never, success, failure, delay)", (int) n, v);
        v += n;
        v += strspn(v, ", ");
    }
    if (flags == 0 || ((flags & QUEUE_NOTIFY_NEVER) && flags != QUEUE_NOTIFY_NEVER))
        sendmail_die(EX_USAGE, "-N: \"never\" stands alone; otherwise success, failure or delay");
    return flags;
}

/* sendmail_mtaq - -bp and -q: run mtaq(8) with the same configuration */
static void __attribute__((noreturn)) sendmail_mtaq(const char *config, const char *action)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    struct buf path = BUF_INIT;
    const char *argv[5];

    argv[0] = "mtaq";
    argv[1] = "-c";
    argv[2] = config;
    argv[3] = action;
    argv[4] = NULL;
    fflush(stdout);
    /* mtaq from the same directory first (an installed pair, or the build tree), then $PATH. */
    if (n > 0) {
        self[n] = 0;
        buf_printf(&path, "%s/mtaq", dirname(self));
        execv(path.data, (char *const *) argv);
    }
    execvp("mtaq", (char *const *) argv);
    sendmail_die(EX_UNAVAILABLE, "cannot run mtaq for -%s: %s", strcmp(action, "list") == 0 ? "bp" : "q",
                 strerror(errno));
}

static void __attribute__((noreturn)) sendmail_usage(void)
{
    sendmail_die(EX_USAGE, "usage: mta-sendmail [-t] [-i] [-f sender] [-F name] [-N dsn] [-R ret] [-V envid] "
                           "[-B type] [-C config] [address ...] | -bs | -bp | -q | -bi");
}

int main(int argc, char **argv)
{
    const char *config = getenv("MTA_CORE_CONFIG");
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    struct maildrop_sub sub;
    struct config *cfg;
    struct buf err = BUF_INIT;
    char mode = 'm', id[QUEUE_ID_SIZE];
    int ch, explicit = 0, flush = 0, rc, i;

    msg_open("mta-sendmail", MSG_STDERR, LOG_MAIL);
    msg_set_fatal_status(EX_TEMPFAIL);
    if (config && *config)
        explicit = 1;
    else
        config = SENDMAIL_CONFIG;
    if (strcmp(prog, "mailq") == 0)
        mode = 'p';
    else if (strcmp(prog, "newaliases") == 0)
        mode = 'i';
    maildrop_sub_init(&sub, NULL);
    opterr = 0;
    while ((ch = getopt(argc, argv, "+B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:q::r:tvx")) != -1) {
        switch (ch) {
        case 'B':
            if (strcasecmp(optarg, "8BITMIME") != 0 && strcasecmp(optarg, "7BIT") != 0)
                sendmail_die(EX_USAGE, "-B: the body type is 7BIT or 8BITMIME");
            mem_free(sub.body);
            sub.body = mem_strdup(optarg);
            break;
        case 'C':
            config = optarg;
            explicit = 1;
            break;
        case 'F':
            mem_free(sub.full_name);
            sub.full_name = mem_strdup(optarg);
            break;
        case 'N':
            sub.notify = sendmail_notify(optarg);
            break;
        case 'R':
            if (strcasecmp(optarg, "full") != 0 && strcasecmp(optarg, "hdrs") != 0)
                sendmail_die(EX_USAGE, "-R: what to return is full or hdrs");
            mem_free(sub.ret);
            sub.ret = mem_strdup(strcasecmp(optarg, "full") == 0 ? "FULL" : "HDRS");
            break;
        case 'V':
            mem_free(sub.envid);
            sub.envid = mem_strdup(optarg);
            break;
        case 'b':
            if (strchr("mspid", optarg[0]) == NULL || optarg[1] != 0)
                sendmail_die(EX_USAGE, "-b%s: unsupported mode (-bm, -bs, -bp, -bi)", optarg);
            if (optarg[0] == 'd')
                sendmail_die(EX_USAGE, "-bd: start the daemon with mta-core(8)");
            mode = optarg[0];
            break;
        case 'f':
        case 'r':
            mem_free(sub.sender);
            sub.sender = mem_strdup(optarg);
            break;
        case 'i':
            sub.dot_ends = 0;
            break;
        case 'o':
            /* -oi as -i; every other sendmail option is accepted and ignored, as Postfix does. */
            if (strcmp(optarg, "i") == 0)
                sub.dot_ends = 0;
            break;
        case 'q':
            if (optarg && *optarg && (*optarg == 'R' || *optarg == 'I' || *optarg == 'S'))
                sendmail_die(EX_USAGE, "-q%c is not implemented", *optarg);
            /* -q30m (a daemon's queue interval) is ignored; plain -q runs the queue now. */
            if (optarg == NULL || *optarg == 0)
                flush = 1;
            break;
        case 't':
            sub.extract = 1;
            break;
        case 'v':
            msg_verbose++;
            break;
        case 'G': case 'I': case 'L': case 'O': case 'U': case 'X': case 'c': case 'e': case 'h': case 'm':
        case 'n': case 'p': case 'x':
            break; /* accepted for compatibility, no effect */
        default:
            sendmail_usage();
        }
    }
    /* A configuration that does not load is the operator's to fix (EX_CONFIG). */
    msg_set_fatal_status(EX_CONFIG);
    cfg = params_load(config, NULL, 0, explicit);
    msg_set_fatal_status(EX_TEMPFAIL);
    sub.cfg = cfg;
    if (flush) {
        if (optind < argc)
            sendmail_die(EX_USAGE, "-q takes no recipients");
        sendmail_mtaq(config, "flush");
    }
    switch (mode) {
    case 'p':
        if (optind < argc)
            sendmail_die(EX_USAGE, "-bp takes no recipients");
        sendmail_mtaq(config, "list");
    case 'i':
        /* aliases(5) files are read as text by the daemon, reloaded when they change. */
        printf("mta-sendmail: nothing to do: mta-core reads alias_maps as text and notices changes\n");
        maildrop_sub_free(&sub);
        config_free(cfg);
        return EX_OK;
    case 's':
        if (optind < argc)
            sendmail_die(EX_USAGE, "-bs takes no recipients");
        rc = maildrop_smtp(cfg, getuid(), stdin, stdout);
        maildrop_sub_free(&sub);
        config_free(cfg);
        return rc;
    default:
        break;
    }
    for (i = optind; i < argc; i++)
        maildrop_sub_rcpt(&sub, argv[i]);
    rc = maildrop_submit(&sub, stdin, id, &err);
    if (rc != EX_OK)
        sendmail_die(rc, "%s", err.data);
    if (msg_verbose)
        fprintf(stderr, "mta-sendmail: queued as %s (maildrop)\n", id);
    maildrop_sub_free(&sub);
    config_free(cfg);
    buf_free(&err);
    return EX_OK;
}
