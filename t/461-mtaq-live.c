/*
 * 461-mtaq-live.c - mtaq(8) while the queue manager runs: a held message
 * is not delivered until "mtaq release", then within a couple of seconds
 * without any kick; "mtaq flush" gets a deferred message tried at once;
 * "mtaq hold" in the middle of a delivery lets the running delivery finish
 * (and records it) but starts nothing more, and after "mtaq release" only
 * the rest is delivered (exactly once each); "mtaq delete" of a deferred
 * message means it is never tried again.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/config.h"
#include "mta-core/params.h"
#include "mta-core/queue.h"
#include "t/lib/tap.h"

static char dir[256], qdir[300], mtaq[1200];
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

/* copies - how many copies of the message a file holds (its Subject: lines) */
static int copies(const char *name)
{
    char path[512], line[1024];
    FILE *fp;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (strcmp(line, "Subject: live\n") == 0)
            n++;
    fclose(fp);
    return n;
}

static int exists(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* spin - run the event loop for about seconds */
static void spin(double seconds)
{
    struct timeval slice = {0, 100000};
    int i;

    for (i = 0; i < (int) (seconds * 10); i++) {
        event_base_loopexit(base, &slice);
        event_base_dispatch(base);
    }
}

/* spin_until - run the loop until cond() holds, at most seconds; the seconds it took, or -1 */
static double spin_until(int (*cond)(void), double seconds)
{
    struct timeval slice = {0, 50000};
    int i;

    for (i = 0; i < (int) (seconds * 20); i++) {
        if (cond())
            return i / 20.0;
        event_base_loopexit(base, &slice);
        event_base_dispatch(base);
    }
    return cond() ? seconds : -1;
}

static int mtaq_run(const char *args)
{
    char cmd[2048];
    int st;

    snprintf(cmd, sizeof(cmd), "%s -o queue_directory=%s %s >>%s/mtaq.out 2>&1", mtaq, qdir, args, dir);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void submit(const char *rcpts, const char *hold, char *id)
{
    struct buf err = BUF_INIT;
    struct queue_file *qf = queue_create(qdir, &err);
    char *copy = strdup(rcpts), *save = NULL, *r;

    if (qf == NULL)
        bail("queue_create: %s", err.data);
    snprintf(id, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    queue_set_sender(qf, "sender@remote.example");
    for (r = strtok_r(copy, " ", &save); r; r = strtok_r(NULL, " ", &save))
        queue_add_rcpt(qf, r, 0, NULL);
    free(copy);
    queue_write(qf, "Subject: live\n\nbody\n", 20);
    if (hold)
        queue_set_hold(qf, hold);
    if (queue_commit(qf, &err) < 0)
        bail("queue_commit: %s", err.data);
    qmgr_kick();
    buf_free(&err);
}

static int carol_got_it(void) { return count("home/carol/Maildir/new") == 1; }
static int flaky_deferred(void) { return count("q/deferred") == 1; }
static int flaky_done(void) { return copies("flaky.out") > 0; }
static int slow_started(void) { return exists("slow.started"); }
static int slow_recorded(void) { return count("q/hold") == 1 && copies("slow.out") == 1 && count("q/active") == 0; }
static int alice_got_it(void) { return count("home/alice/Maildir/new") == 1; }
static int queue_idle(void) { return count("q/incoming") == 0 && count("q/active") == 0; }

int main(int argc, char **argv)
{
    struct buf err = BUF_INIT, set = BUF_INIT;
    struct config *cfg;
    char id[QUEUE_ID_SIZE];
    char path[2048];
    double took;
    FILE *fp;

    (void) argc;
    snprintf(path, sizeof(path), "%s", argv[0]);
    snprintf(mtaq, sizeof(mtaq), "%s/../../mta-core/mtaq", dirname(path));
    if (access(mtaq, X_OK) < 0)
        bail("%s: %s (run make first)", mtaq, strerror(errno));
    snprintf(dir, sizeof(dir), "%s/mailsift-461-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    snprintf(qdir, sizeof(qdir), "%s/q", dir);
    snprintf(path, sizeof(path), "%s/log", dir);
    if (freopen(path, "w", stderr) == NULL)
        bail("freopen: %s", strerror(errno));
    setvbuf(stderr, NULL, _IOLBF, 0);

    snprintf(path, sizeof(path), "%s/aliases", dir);
    fp = fopen(path, "w");
    fprintf(fp,
            "flaky: \"|if [ -e %s/flaky.once ]; then cat >> %s/flaky.out; else : > %s/flaky.once; exit 75; fi\"\n"
            "slowpair: \"|: > %s/slow.started; while [ ! -e %s/go ]; do sleep 0.05; done; cat >> %s/slow.out\","
            " alice\n",
            dir, dir, dir, dir, dir, dir);
    fclose(fp);

    cfg = config_new(mta_params);
#define SET(...)                                                                                             \
    do {                                                                                                     \
        buf_reset(&set);                                                                                     \
        buf_printf(&set, __VA_ARGS__);                                                                       \
        if (config_set(cfg, set.data, &err) < 0)                                                             \
            bail("config: %s", err.data);                                                                    \
    } while (0)
    SET("queue_directory = %s", qdir);
    SET("home_base = %s/home", dir);
    SET("alias_maps = %s/aliases", dir);
    SET("myhostname = mx.example.org");
    SET("mydestination = example.org");
    SET("myorigin = example.org");
    SET("home_mailbox = Maildir/");
    /* Retries only when someone flushes: an hour of backoff. */
    SET("minimal_backoff_time = 1h");
    SET("maximal_backoff_time = 1h");
    SET("queue_run_delay = 1h");
    SET("default_process_limit = 1");
    base = event_base_new();
    qmgr_start(base, cfg);

    /* Held until released; then delivered without a kick. */
    submit("carol@example.org", "quarantine test", id);
    spin(2);
    is_int(count("q/hold"), 1, "a held message stays in hold while the queue manager runs");
    is_int(count("home/carol/Maildir/new"), 0, "and is not delivered");
    snprintf(path, sizeof(path), "release %s", id);
    is_int(mtaq_run(path), 0, "mtaq release");
    took = spin_until(carol_got_it, 5);
    ok(took >= 0 && took <= 2, "delivered within a second or so of the release (%.2fs)", took);

    /* Deferred, then flushed. */
    submit("flaky@example.org", NULL, id);
    ok(spin_until(flaky_deferred, 5) >= 0, "the flaky delivery was deferred");
    spin(1.5);
    is_int(copies("flaky.out"), 0, "and with an hour of backoff it is not retried");
    is_int(mtaq_run("flush"), 0, "mtaq flush");
    took = spin_until(flaky_done, 5);
    ok(took >= 0 && took <= 2, "tried again at once after the flush (%.2fs)", took);
    is_int(copies("flaky.out"), 1, "and delivered once");

    /* Hold in the middle of a delivery. */
    submit("slowpair@example.org", NULL, id);
    ok(spin_until(slow_started, 5) >= 0, "the slow command is running");
    snprintf(path, sizeof(path), "hold %s", id);
    is_int(mtaq_run(path), 0, "mtaq hold while it runs");
    snprintf(path, sizeof(path), "%s/go", dir);
    fclose(fopen(path, "w"));
    ok(spin_until(slow_recorded, 5) >= 0, "the running delivery finished and the message stayed in hold");
    spin(1.5);
    is_int(count("home/alice/Maildir/new"), 0, "nothing more was started after the hold");
    snprintf(path, sizeof(path), "release %s", id);
    is_int(mtaq_run(path), 0, "mtaq release");
    ok(spin_until(alice_got_it, 5) >= 0, "the rest is delivered after the release");
    spin_until(queue_idle, 5);
    is_int(copies("slow.out"), 1, "and the command that ran before the hold did not run again");
    is_int(count("q/hold") + count("q/deferred") + count("q/active") + count("q/incoming"), 0, "the queue is empty");

    /* Delete a deferred message: never tried again. */
    unlink((snprintf(path, sizeof(path), "%s/flaky.once", dir), path));
    submit("flaky@example.org", NULL, id);
    ok(spin_until(flaky_deferred, 5) >= 0, "deferred again");
    snprintf(path, sizeof(path), "delete %s", id);
    is_int(mtaq_run(path), 0, "mtaq delete");
    is_int(mtaq_run("flush"), 0, "mtaq flush");
    spin(2);
    is_int(copies("flaky.out"), 1, "the deleted message was never delivered");

    qmgr_stop();
    event_base_free(base);
    config_free(cfg);
    buf_free(&err);
    buf_free(&set);
    if (tap_failed == 0) {
        snprintf(path, sizeof(path), "rm -rf %s", dir);
        if (system(path) != 0)
            diag("could not remove %s", dir);
    } else {
        diag("kept %s", dir);
    }
    return done_testing();
}
