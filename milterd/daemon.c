/*
 * daemon.c - run milterd: open the socket, drop privileges, serve until
 * SIGTERM, reload on SIGHUP.
 *
 * Order of events: the socket is opened while milterd still has the
 * privileges it started with (a stale unix socket is removed first), its
 * mode and group are set, then the process becomes "user" (setgroups,
 * setresgid, setresuid; any failure is fatal) before any mail is read.
 *
 * Signals: libmilter runs a thread of its own that sigwait()s for SIGHUP,
 * SIGTERM and SIGINT and stops the milter on any of them, which is wrong
 * for SIGHUP.  So smfi_main() runs in a thread of ours that has those
 * signals blocked (libmilter's threads inherit the mask), while the main
 * thread keeps them unblocked with handlers: Linux delivers a signal sent
 * to the process to its main thread when that thread does not block it,
 * so libmilter's signal thread never sees them.  The handlers only write
 * one byte to a pipe; the main thread reads the pipe and acts:
 *   SIGHUP          re-read milterd.conf and every table into a new policy;
 *                   install it when all is well, else keep the running one
 *                   and log each problem ("FILE, line N: reason")
 *   SIGTERM/SIGINT  remove the unix socket (no new connections), answer
 *                   new messages with a temporary failure, let the
 *                   messages under way finish (up to DAEMON_STOP_WAIT
 *                   seconds), exit 0
 * smfi_stop() is of no use here: libmilter's listener thread also serves
 * the open connections, so once it stops, messages under way hang; and it
 * only notices the stop when its poll(2) times out.  When smfi_main()
 * returns on its own, milterd exits with status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "milterd/daemon.h"
#include "milterd/milter.h"
#include "milterd/policy.h"

#define DAEMON_STOP_WAIT 30 /* seconds messages under way get to finish at SIGTERM */

static int daemon_pipe[2] = {-1, -1};
/*
 * The socket as libmilter has it: libmilter keeps the pointer, so it must
 * stay reachable (and not static: a static that is only written may be
 * optimized away, and then the leak checker calls the string lost).
 */
char *daemon_socket_spec;
static const char *daemon_unix_path; /* the socket file to remove at exit */

/* Settings a reload cannot change: the running values, to warn about changes. */
static const char *const daemon_fixed[] = {"socket", "socket_mode", "socket_group", "user", "listen_backlog",
                                           "milter_timeout", "syslog_name", "syslog_facility", NULL};
static char *daemon_fixed_values[sizeof(daemon_fixed) / sizeof(daemon_fixed[0])];

/* daemon_remember_fixed - note the settings a reload cannot change */
static void daemon_remember_fixed(struct config *cfg)
{
    int i;

    for (i = 0; daemon_fixed[i]; i++) {
        mem_free(daemon_fixed_values[i]);
        daemon_fixed_values[i] = mem_strdup(config_get(cfg, daemon_fixed[i]));
    }
}

static void daemon_on_signal(int sig)
{
    int saved_errno = errno;
    char c = sig == SIGHUP ? 'H' : 'T';

    if (write(daemon_pipe[1], &c, 1) < 0) {
        /* Nothing to do: the pipe is full, a wake-up is pending anyway. */
    }
    errno = saved_errno;
}

static void *daemon_milter_thread(void *arg)
{
    char c = 'X';
    int *status = arg;

    *status = smfi_main();
    if (write(daemon_pipe[1], &c, 1) < 0)
        msg_warn("cannot wake the main thread: %m");
    return NULL;
}

/* daemon_socket_path - the file of a unix socket spec, or NULL */
static const char *daemon_socket_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* daemon_drop_privileges - become user, for good; fatal on any failure */
static void daemon_drop_privileges(const char *user)
{
    struct passwd *pw;
    gid_t gid;

    if (user == NULL || *user == 0) {
        if (geteuid() == 0)
            msg_warn("running as root: set \"user\" in milterd.conf");
        return;
    }
    if ((pw = getpwnam(user)) == NULL)
        msg_fatal("user %s: no such user", user);
    if (pw->pw_uid == 0)
        msg_fatal("user %s: refusing to run with uid 0", user);
    gid = pw->pw_gid;
    if (setgroups(1, &gid) < 0)
        msg_fatal("setgroups(%ld): %m", (long) gid);
    if (setresgid(gid, gid, gid) < 0)
        msg_fatal("setresgid(%ld): %m", (long) gid);
    if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
        msg_fatal("setresuid(%ld): %m", (long) pw->pw_uid);
    if (setuid(0) == 0)
        msg_fatal("privileges could be regained after dropping them to %s", user);
}

/* daemon_open_socket - libmilter's socket, with the mode and group asked for */
static void daemon_open_socket(struct config *cfg)
{
    /* libmilter keeps this string: it lives as long as the process. */
    char *spec = daemon_socket_spec = mem_strdup(config_get(cfg, "socket"));
    const char *path;
    struct buf err = BUF_INIT;
    long mode, backlog, timeout;

    if (config_get_int(cfg, "listen_backlog", 1, 65535, &backlog, &err) < 0
        || config_get_time(cfg, "milter_timeout", 's', &timeout, &err) < 0)
        msg_fatal("%s", err.data);
    if (smfi_setconn(spec) != MI_SUCCESS)
        msg_fatal("socket = %s: not a socket libmilter understands (unix:/path or inet:port@host)", spec);
    smfi_setbacklog((int) backlog);
    smfi_settimeout((int) timeout);
    if (smfi_register(mfilter_desc) != MI_SUCCESS)
        msg_fatal("smfi_register failed");
    if (smfi_opensocket(1) != MI_SUCCESS)
        msg_fatal("socket = %s: cannot open it (is the directory there and writable, the port free?)", spec);

    if ((path = daemon_socket_path(spec)) != NULL) {
        daemon_unix_path = path;
        /* config_get's result lasts until the next call: copy. */
        char *group = mem_strdup(config_get(cfg, "socket_group"));
        const char *mode_text = config_get(cfg, "socket_mode");
        char *end;

        mode = strtol(mode_text, &end, 8);
        if (*mode_text == 0 || *end || mode < 0 || mode > 07777)
            msg_fatal("bad socket_mode = %s (want an octal mode like 0660)", mode_text);
        if (*group) {
            struct group *gr = getgrnam(group);

            if (gr == NULL)
                msg_fatal("socket_group = %s: no such group", group);
            if (chown(path, (uid_t) -1, gr->gr_gid) < 0)
                msg_fatal("chown %s: %m", path);
        }
        if (chmod(path, (mode_t) mode) < 0)
            msg_fatal("chmod %s: %m", path);
        mem_free(group);
    }
    msg_info("listening on %s", spec);
    buf_free(&err);
}

/* daemon_reload - SIGHUP: a new policy, or the old one and the reasons */
static void daemon_reload(const struct conf_source *src)
{
    struct buf err = BUF_INIT;
    struct config *cfg = conf_load(src, &err);
    struct policy *policy = cfg ? policy_load(cfg, &err) : NULL;

    if (policy == NULL) {
        char *line, *save = NULL;

        msg_warn("reload failed; keeping the running policy:");
        for (line = strtok_r(err.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            msg_warn("%s", line);
    } else {
        int i;

        policy_install(policy);
        msg_info("reloaded: policy generation %lu", policy->generation);
        for (i = 0; daemon_fixed[i]; i++)
            if (strcmp(config_get(cfg, daemon_fixed[i]), daemon_fixed_values[i]) != 0)
                msg_warn("%s changed; the new value takes effect at the next start", daemon_fixed[i]);
    }
    if (cfg)
        config_free(cfg);
    buf_free(&err);
}

/*
 * daemon_run - serve until SIGTERM.  The caller has installed the first
 * policy.  Returns the exit status.
 */
int daemon_run(const struct conf_source *src, struct config *cfg)
{
    struct sigaction sa;
    sigset_t sigs;
    pthread_t thread;
    int milter_status = MI_FAILURE;
    int stopping = 0, waited;
    char c;

    if (pipe2(daemon_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        msg_fatal("pipe: %m");
    /* Reads block; only the signal handlers' writes must not. */
    fcntl(daemon_pipe[0], F_SETFL, 0);

    daemon_remember_fixed(cfg);
    daemon_open_socket(cfg);
    daemon_drop_privileges(config_get(cfg, "user"));

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (pthread_create(&thread, NULL, daemon_milter_thread, &milter_status) != 0)
        msg_fatal("cannot start the milter thread");

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = daemon_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    msg_info("started (pid %ld)", (long) getpid());

    for (;;) {
        ssize_t n = read(daemon_pipe[0], &c, 1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            msg_fatal("signal pipe: %m");
        if (c == 'H' && !stopping) {
            daemon_reload(src);
        } else if (c == 'T' && !stopping) {
            stopping = 1;
            break;
        } else if (c == 'X') {
            break;
        }
    }
    if (!stopping) {
        pthread_join(thread, NULL);
        msg_warn("libmilter stopped on its own (status %d)", milter_status);
        return 1;
    }
    msg_info("stopping on signal");
    if (daemon_unix_path && unlink(daemon_unix_path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", daemon_unix_path);
    mfilter_stop_new();
    for (waited = 0; mfilter_busy() > 0 && waited < DAEMON_STOP_WAIT * 20; waited++)
        usleep(50000);
    if (mfilter_busy() > 0)
        msg_warn("stopping with %d message(s) still under way", mfilter_busy());
    msg_info("stopped");
    return 0;
}
