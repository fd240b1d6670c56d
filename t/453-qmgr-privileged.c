/*
 * 453-qmgr-privileged.c - delivery as the recipient when mta-core runs as
 * root, both ways it can: the queue manager in the SMTP process
 * (qmgr_init() while root starts the privileged helper, then root is given
 * up as smtpd_privs_drop() does) and in a root process of its own.  Each
 * mailbox is delivered as its user, never a command as root (default_privs
 * instead), alias commands as the alias file's owner; a |command target
 * that the aliases do not produce (a forged queue file) is refused; the
 * queues belong to the queue directory's owner whoever created them.
 * Needs root (skipped otherwise); uses the system users daemon and nobody.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"
#include "t/lib/tap.h"

static char dir[256];
static char qdir[300];
static struct event_base *base;

static int count(const char *sub)
{
    char path[512];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if ((d = opendir(path)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int queue_empty(void)
{
    return count("q/incoming") == 0 && count("q/active") == 0 && count("q/deferred") == 0;
}

static int run_until(int (*cond)(void), int seconds)
{
    struct timeval slice = {0, 100000};
    int i;

    for (i = 0; i < seconds * 10; i++) {
        event_base_loopexit(base, &slice);
        event_base_dispatch(base);
        if (cond())
            return 1;
    }
    return 0;
}

/* first_line - the first line of dir/name, without its newline, or "" */
static const char *first_line(const char *name)
{
    static char line[256];
    char path[512];
    FILE *fp;

    line[0] = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "r")) != NULL) {
        if (fgets(line, sizeof(line), fp))
            line[strcspn(line, "\n")] = 0;
        fclose(fp);
    }
    return line;
}

static int grep_count(const char *name, const char *text)
{
    char path[512], line[4096];
    FILE *fp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (strstr(line, text))
            n++;
    fclose(fp);
    return n;
}

static void submit(const char *rcpt, char *id)
{
    struct buf err = BUF_INIT;
    struct queue_file *qf = queue_create(qdir, &err);

    if (qf == NULL)
        bail("queue_create: %s", err.data);
    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    queue_set_sender(qf, "sender@remote.example");
    queue_add_rcpt(qf, rcpt, 0, NULL);
    queue_write(qf, "Subject: x\n\nbody\n", 17);
    if (queue_commit(qf, &err) < 0)
        bail("queue_commit: %s", err.data);
    qmgr_kick();
    buf_free(&err);
}

#define TESTS_PER_RUN 12 /* results each run_test() prints */

static int run_test(int split);

int main(void)
{
    pid_t pid;
    int status = 1;

    if (geteuid() != 0)
        skip_all("needs root (delivery as other users)");
    if (getpwnam("nobody") == NULL || getpwnam("daemon") == NULL)
        skip_all("needs the system users nobody and daemon");
    snprintf(dir, sizeof(dir), "%s/mailsift-453-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    /* The test gives up root half-way; its parent stays root to clean up. */
    /* Two ways mta-core runs as root: the queue manager in the SMTP process
     * (qmgr_init, then root is given up: the helper delivers), or in a
     * process of its own that stays root (qmgr_start only). */
    plan(2 * TESTS_PER_RUN);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        exit(run_test(0));
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        char sub[300];

        snprintf(sub, sizeof(sub), "%s/split", dir);
        mkdir(sub, 01777);
        chmod(sub, 01777);
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/split");
        tap_run = TESTS_PER_RUN; /* the first child's results, for the numbering */
        fflush(stdout);
        pid = fork();
        if (pid == 0)
            exit(run_test(1));
        waitpid(pid, &status, 0);
        *strrchr(dir, '/') = 0;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_test(int split)
{
    struct buf err = BUF_INIT, set = BUF_INIT;
    struct config *cfg;
    struct passwd *nobody, *daemon_pw;
    char id[QUEUE_ID_SIZE];
    char path[1024];
    FILE *fp;

    /* getpwnam() results live in static storage: keep copies. */
    nobody = mem_dup(getpwnam("nobody"), sizeof(struct passwd));
    daemon_pw = mem_dup(getpwnam("daemon"), sizeof(struct passwd));
    chmod(dir, 01777);
    snprintf(qdir, sizeof(qdir), "%s/q", dir);
    snprintf(path, sizeof(path), "%s/log", dir);
    if (freopen(path, "w", stderr) == NULL)
        bail("freopen: %s", strerror(errno));
    setvbuf(stderr, NULL, _IOLBF, 0);

    /* An aliases file owned by daemon: its commands run as daemon. */
    snprintf(path, sizeof(path), "%s/aliases", dir);
    fp = fopen(path, "w");
    fprintf(fp, "runas: \"|id -un > %s/alias.out\"\n", dir);
    fclose(fp);
    if (chown(path, daemon_pw->pw_uid, daemon_pw->pw_gid) < 0)
        bail("chown %s: %s", path, strerror(errno));

    cfg = config_new(mta_params);
#define SET(...)                                                                                             \
    do {                                                                                                     \
        buf_reset(&set);                                                                                     \
        buf_printf(&set, __VA_ARGS__);                                                                       \
        if (config_set(cfg, set.data, &err) < 0)                                                             \
            bail("config: %s", err.data);                                                                    \
    } while (0)
    SET("queue_directory = %s", qdir);
    SET("alias_maps = %s/aliases", dir);
    SET("myhostname = mx.example.org");
    SET("mydestination = example.org");
    SET("myorigin = example.org");
    SET("mailbox_command = id -un > %s/mbox.$USER", dir);
    SET("default_privs = nobody");

    mkdir(qdir, 0700);
    if (chown(qdir, nobody->pw_uid, nobody->pw_gid) < 0)
        bail("chown %s: %s", qdir, strerror(errno));
    if (!split) {
        /* The queue manager in the SMTP process: qmgr_init(), then give up root. */
        qmgr_init(cfg);
        ok(grep_count("log", "privileged delivery helper started") == 1, "the privileged helper started");
        if (setgroups(1, &nobody->pw_gid) < 0 || setresgid(nobody->pw_gid, nobody->pw_gid, nobody->pw_gid) < 0 ||
            setresuid(nobody->pw_uid, nobody->pw_uid, nobody->pw_uid) < 0)
            bail("cannot become nobody: %s", strerror(errno));
        ok(geteuid() == nobody->pw_uid, "the daemon side runs as nobody now");
    } else {
        /* The queue manager in a root process of its own: no helper needed. */
        ok(1, "split mode: the queue manager stays root");
        ok(geteuid() == 0, "still root");
    }
    base = event_base_new();
    qmgr_start(base, cfg);

    submit("daemon@example.org", id);
    ok(run_until(queue_empty, 10), "mail for daemon delivered");
    is_string(first_line("mbox.daemon"), "daemon", "mailbox_command ran as the recipient (daemon)");
    submit("root@example.org", id);
    ok(run_until(queue_empty, 10), "mail for root delivered");
    is_string(first_line("mbox.root"), "nobody", "mailbox_command for root ran as default_privs, not root");
    submit("runas@example.org", id);
    ok(run_until(queue_empty, 10), "mail for the alias delivered");
    is_string(first_line("alias.out"), "daemon", "an alias command ran as the aliases file's owner");

    /* A forged target: a command no alias produces. */
    submit("nobody@example.org", id);
    {
        int fd;

        /* It may already be on its way; forge a second message, kept out of sight first. */
        run_until(queue_empty, 10);
        qmgr_stop();
        submit("nobody@example.org", id);
        snprintf(path, sizeof(path), "%s/incoming/%s", qdir, id);
        fd = open(path, O_WRONLY | O_APPEND);
        buf_reset(&set);
        buf_printf(&set, "id -un > %s/forged.out", dir);
        queue_append_target(fd, 0, "command", daemon_pw->pw_uid, daemon_pw->pw_gid, "nobody@example.org",
                            set.data, &err);
        queue_append(fd, 'K', "1", 1, &err);
        close(fd);
        qmgr_start(base, cfg);
        ok(run_until(queue_empty, 10), "the forged message left the queue");
        ok(access((snprintf(path, sizeof(path), "%s/forged.out", dir), path), F_OK) < 0,
           "the forged command did not run");
        is_int(grep_count("log", "dsn=5.3.0, status=bounced (command \"id -un > "), 1,
               "the helper bounced it: not in the aliases");
    }
    qmgr_stop();
    event_base_free(base);
    config_free(cfg);
    buf_free(&err);
    buf_free(&set);
    if (!split) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/incoming", qdir);
        ok(stat(path, &st) == 0 && st.st_uid == nobody->pw_uid, "queues belong to the queue directory's owner");
    } else {
        struct stat st;

        snprintf(path, sizeof(path), "%s/incoming", qdir);
        ok(stat(path, &st) == 0 && st.st_uid == nobody->pw_uid,
           "queues created by a root queue manager still belong to the queue directory's owner");
    }
    if (tap_failed)
        diag("kept %s (log in %s/log)", dir, dir);
    mem_free(nobody);
    mem_free(daemon_pw);
    fflush(stdout);
    return tap_failed ? 1 : 0;
}
