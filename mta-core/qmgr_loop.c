/*
 * qmgr_loop.c - the queue manager inside mta-core's event loop: start-up
 * recovery, the once-a-second look at incoming/, the deferred queue run
 * every queue_run_delay, SIGCHLD for finished deliveries, SIGHUP for the
 * alias maps and an immediate run of the whole deferred queue (as mtaq
 * flush), qmgr_kick() after each commit.
 *
 * What mtaq does shows up here within a second: released and flushed
 * messages are renamed into incoming/, which is scanned every second;
 * held and deleted messages leave active/, which each delivery checks
 * before it starts.
 *
 * Trust: the queue directory is ours (and mtaq's); everything in it is
 * still read with queue_read()'s checks.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmatch/config.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/alias_expand.h"
#include "mta-core/qmgr_spawn.h"
#include "mta-core/qmgr_state.h"
#include "mta-core/qmgr_transport.h"
#include "mta-core/queue.h"

struct qmgr qmgr;

/* qmgr_scan - activate what waits in a queue (deferred: only what is due, unless all) */
static void qmgr_scan_queue(const char *queue, int all)
{
    struct buf err = BUF_INIT, path = BUF_INIT;
    char **ids;
    size_t n, i;
    time_t now = time(NULL);

    if (queue_scan(qmgr.conf.queue_dir, queue, &ids, &n, &err) < 0) {
        msg_warn("%s", err.data);
        buf_free(&err);
        return;
    }
    for (i = 0; i < n && !qmgr.stopping && qmgr.nmsgs < (size_t) qmgr.conf.active_limit; i++) {
        if (strcmp(queue, QUEUE_DEFERRED) == 0 && !all) {
            struct stat st;

            queue_path(&path, qmgr.conf.queue_dir, queue, ids[i]);
            if (stat(path.data, &st) < 0 || st.st_mtime > now)
                continue;
        }
        qmgr_msg_activate(ids[i], queue);
    }
    queue_ids_free(ids, n);
    buf_free(&err);
    buf_free(&path);
    qmgr_job_schedule();
}

static void qmgr_scan(const char *queue)
{
    qmgr_scan_queue(queue, 0);
}

/* qmgr_tick - once a second: incoming, and the deferred queue when its time has come */
static void qmgr_tick(evutil_socket_t fd, short what, void *ctx)
{
    (void) fd;
    (void) what;
    (void) ctx;
    if (qmgr.stopping)
        return;
    qmgr_job_reap();
    qmgr_scan(QUEUE_INCOMING);
    if (time(NULL) >= qmgr.next_deferred_scan) {
        qmgr.next_deferred_scan = time(NULL) + qmgr.conf.queue_run_delay;
        qmgr_scan(QUEUE_DEFERRED);
    }
}

/* qmgr_kicked - qmgr_kick() from the event loop */
static void qmgr_kicked(evutil_socket_t fd, short what, void *ctx)
{
    (void) fd;
    (void) what;
    (void) ctx;
    if (!qmgr.stopping)
        qmgr_scan(QUEUE_INCOMING);
}

/* qmgr_on_sigchld - reap finished deliveries; the helper must not die */
static void qmgr_on_sigchld(evutil_socket_t fd, short what, void *ctx)
{
    pid_t helper = qmgr_spawn_helper_pid();

    (void) fd;
    (void) what;
    (void) ctx;
    if (helper > 0 && waitpid(helper, NULL, WNOHANG) == helper)
        msg_fatal("the privileged delivery helper (pid %ld) died", (long) helper);
    qmgr_job_reap();
}

/* qmgr_on_sighup - read the alias maps again, and try the deferred queue now (as mtaq flush) */
static void qmgr_on_sighup(evutil_socket_t fd, short what, void *ctx)
{
    struct buf err = BUF_INIT;

    (void) fd;
    (void) what;
    (void) ctx;
    if (alias_refresh(qmgr.alias, 1, &err) < 0)
        msg_warn("reload of alias maps: %s (keeping what was loaded)", err.data);
    else
        msg_info("alias maps reloaded");
    buf_free(&err);
    if (!qmgr.stopping) {
        msg_info("queue run: every deferred message, now");
        qmgr.next_deferred_scan = time(NULL) + qmgr.conf.queue_run_delay;
        qmgr_scan_queue(QUEUE_DEFERRED, 1);
    }
}

/* qmgr_conf_time - a time parameter, fatal when malformed */
static long qmgr_conf_time(struct config *cfg, const char *name)
{
    struct buf err = BUF_INIT;
    long v;

    if (config_get_time(cfg, name, 's', &v, &err) < 0)
        msg_fatal("%s", err.data);
    return v;
}

static long qmgr_conf_int(struct config *cfg, const char *name, long min)
{
    struct buf err = BUF_INIT;
    long v;

    if (config_get_int(cfg, name, min, 1000000000L, &v, &err) < 0)
        msg_fatal("%s", err.data);
    return v;
}

/* qmgr_recover - put everything back to work after a stop or a crash */
static void qmgr_recover(void)
{
    struct buf err = BUF_INIT;
    char **ids;
    size_t n, i;

    if (queue_recover(qmgr.conf.queue_dir, &err) < 0)
        msg_fatal("%s", err.data);
    /* Unfinished business from before: active/ goes back to incoming/. */
    if (queue_scan(qmgr.conf.queue_dir, QUEUE_ACTIVE, &ids, &n, &err) < 0)
        msg_fatal("%s", err.data);
    for (i = 0; i < n; i++) {
        buf_reset(&err);
        if (queue_move_nosync(qmgr.conf.queue_dir, ids[i], QUEUE_ACTIVE, QUEUE_INCOMING, &err) < 0)
            msg_warn("%s", err.data);
    }
    if (n)
        msg_info("%zu unfinished message%s from the active queue taken up again", n, n == 1 ? "" : "s");
    queue_ids_free(ids, n);
    buf_free(&err);
}

static int qmgr_initialized;

/*
 * qmgr_setup - the maps and local delivery's settings (who may be
 * delivered as whom); with helper, the privileged helper when deliveries
 * will need to change users and this process is about to give up root.
 */
static void qmgr_setup(struct config *cfg, int helper)
{
    struct buf err = BUF_INIT;
    char *qd, *hb;

    if (qmgr_initialized)
        return;
    qd = mem_strdup(config_get(cfg, "queue_directory") ? config_get(cfg, "queue_directory") : "");
    hb = mem_strdup(config_get(cfg, "home_base") ? config_get(cfg, "home_base") : "");
    if (*qd == 0)
        msg_fatal("queue_directory is not set");
    qmgr.alias = alias_init(cfg, &err);
    if (qmgr.alias == NULL)
        msg_fatal("%s", err.data);
    if (err.len)
        msg_warn("%s (deliveries that need it will wait)", err.data);
    buf_reset(&err);
    if (qmgr_transport_init_all(cfg, &err) < 0)
        msg_fatal("%s", err.data);
    qmgr_spawn_init(qd, geteuid() == 0 && *hb == 0, helper && geteuid() == 0 && *hb == 0, qmgr.alias);
    qmgr_initialized = 1;
    mem_free(qd);
    mem_free(hb);
    buf_free(&err);
}

/* qmgr_init - see queue.h: called while still root, before giving it up */
void qmgr_init(struct config *cfg)
{
    qmgr_setup(cfg, 1);
}

/* qmgr_start - see queue.h */
void qmgr_start(struct event_base *base, struct config *cfg)
{
    struct buf err = BUF_INIT;
    struct timeval second = {1, 0};

    qmgr_setup(cfg, 0);
    memset(&qmgr.conf, 0, sizeof(qmgr.conf));
    qmgr.base = base;
    qmgr.cfg = cfg;
    qmgr.stopping = 0;
    qmgr.conf.queue_dir = mem_strdup(config_get(cfg, "queue_directory"));
    qmgr.conf.queue_run_delay = qmgr_conf_time(cfg, "queue_run_delay");
    qmgr.conf.min_backoff = qmgr_conf_time(cfg, "minimal_backoff_time");
    qmgr.conf.max_backoff = qmgr_conf_time(cfg, "maximal_backoff_time");
    qmgr.conf.max_lifetime = qmgr_conf_time(cfg, "maximal_queue_lifetime");
    qmgr.conf.bounce_lifetime = qmgr_conf_time(cfg, "bounce_queue_lifetime");
    qmgr.conf.process_limit = qmgr_conf_int(cfg, "default_process_limit", 1);
    qmgr.conf.dest_limit = qmgr_conf_int(cfg, "local_destination_concurrency_limit", 0);
    qmgr.conf.active_limit = qmgr_conf_int(cfg, "qmgr_message_active_limit", 1);
    if (qmgr.conf.max_backoff < qmgr.conf.min_backoff)
        qmgr.conf.max_backoff = qmgr.conf.min_backoff;

    if (queue_init_dirs(qmgr.conf.queue_dir, &err) < 0)
        msg_fatal("%s", err.data);
    /* Deliveries write to mailboxes whose size limit may be reached. */
    signal(SIGXFSZ, SIG_IGN);
    qmgr_recover();

    qmgr.tick = event_new(base, -1, EV_PERSIST, qmgr_tick, NULL);
    qmgr.kick = event_new(base, -1, 0, qmgr_kicked, NULL);
    qmgr.sigchld = evsignal_new(base, SIGCHLD, qmgr_on_sigchld, NULL);
    qmgr.sighup = evsignal_new(base, SIGHUP, qmgr_on_sighup, NULL);
    if (!qmgr.tick || !qmgr.kick || !qmgr.sigchld || !qmgr.sighup || event_add(qmgr.tick, &second) < 0 ||
        event_add(qmgr.sigchld, NULL) < 0 || event_add(qmgr.sighup, NULL) < 0)
        msg_fatal("queue manager: cannot set up its events");
    qmgr.next_deferred_scan = 0;
    /* First round at once: what recovery put back, and the deferred queue. */
    event_active(qmgr.tick, EV_TIMEOUT, 0);
    buf_free(&err);
}

/* qmgr_kick - something new in incoming/: look now, from the event loop */
void qmgr_kick(void)
{
    if (qmgr.kick && !qmgr.stopping)
        event_active(qmgr.kick, EV_TIMEOUT, 0);
}

/* qmgr_set_bounce - who builds non-delivery notifications */
void qmgr_set_bounce(qmgr_bounce_fn fn)
{
    qmgr.bounce = fn;
}

/* qmgr_set_delay_warning - who builds delay warnings */
void qmgr_set_delay_warning(qmgr_delay_fn fn)
{
    qmgr.delay_warning = fn;
}

/* qmgr_stop - no new deliveries; wait a while for those under way */
void qmgr_stop(void)
{
    if (qmgr.base == NULL)
        return;
    qmgr.stopping = 1;
    qmgr_job_wait_all(10);
    if (qmgr.tick)
        event_free(qmgr.tick);
    if (qmgr.kick)
        event_free(qmgr.kick);
    if (qmgr.sigchld)
        event_free(qmgr.sigchld);
    if (qmgr.sighup)
        event_free(qmgr.sighup);
    qmgr.tick = qmgr.kick = qmgr.sigchld = qmgr.sighup = NULL;
    qmgr_job_abandon();
    while (qmgr.msgs)
        qmgr_msg_forget(qmgr.msgs);
    alias_free(qmgr.alias);
    qmgr.alias = NULL;
    qmgr_initialized = 0;
    mem_free(qmgr.conf.queue_dir);
    qmgr.conf.queue_dir = NULL;
    qmgr.base = NULL;
}
