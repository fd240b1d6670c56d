/*
 * qmgr_job.c - deliveries: one child process per target, at most
 * default_process_limit at once and local_destination_concurrency_limit
 * per target, each started only while its message is still in active/
 * (an administrator may have held or deleted it meanwhile: nothing in
 * hold/ is ever delivered), its result read back over a pipe, written to
 * the queue file (fsynced) and logged the Postfix way:
 *
 *   ID: to=<a@b>, orig_to=<c@d>, relay=local, delay=0.12,
 *       delays=0.01/0/0/0.11, dsn=2.0.0, status=sent (delivered to mailbox)
 *
 * delays: before the queue manager / in the queue manager / connection
 * set-up (0 here) / delivery, as in Postfix.
 *
 * A delivery process dies with the daemon (PR_SET_PDEATHSIG): a delivery
 * that was cut short is tried again after a restart, it does not finish
 * behind our back unrecorded.
 *
 * Trust: the result line comes from our own child; it is still parsed
 * with its length bounded, and a child that dies without one defers.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/qmgr_spawn.h"
#include "mta-core/qmgr_state.h"
#include "mta-core/qmgr_transport.h"
#include "mta-core/queue.h"

#define QMGR_RESULT_MAX 8192 /* bytes of result a delivery process may send, per target */

/*
 * qmgr_job_add - a target waits for a delivery slot: in a waiting job of
 * the same message that its transport lets it share (same kind, same
 * batch key, room left), or in a job of its own
 */
void qmgr_job_add(struct qmgr_msg *m, size_t target)
{
    const struct queue_target *t = &m->env->targets[target];
    const struct qmgr_transport *tr = qmgr_transport_find(t->kind);
    struct qmgr_job *j;
    struct buf key = BUF_INIT;
    size_t limit = 1;

    if (tr && tr->batch) {
        limit = tr->batch(t, &key);
        if (limit > QMGR_BATCH_MAX)
            limit = QMGR_BATCH_MAX;
        for (j = qmgr.queue_head; limit > 1 && j; j = j->next) {
            if (j->msg == m && j->ntargets < j->batch_limit && strcmp(j->key.data, key.data) == 0 &&
                strcmp(m->env->targets[j->target].kind, t->kind) == 0) {
                j->targets = mem_realloc_array(j->targets, j->ntargets + 1, sizeof(*j->targets));
                j->targets[j->ntargets++] = target;
                buf_free(&key);
                return;
            }
        }
    }
    j = mem_zalloc(sizeof(*j));
    j->msg = m;
    j->target = target;
    j->targets = mem_array(1, sizeof(*j->targets));
    j->targets[0] = target;
    j->ntargets = 1;
    j->key = key;
    j->batch_limit = limit ? limit : 1;
    j->fd = -1;
    j->pipe = -1;
    buf_init(&j->result);
    if (qmgr.queue_tail)
        qmgr.queue_tail->next = j;
    else
        qmgr.queue_head = j;
    qmgr.queue_tail = j;
    m->pending++;
}

static void qmgr_job_free(struct qmgr_job *j)
{
    if (j->ev)
        event_free(j->ev);
    if (j->pipe >= 0)
        close(j->pipe);
    if (j->fd >= 0)
        close(j->fd);
    buf_free(&j->result);
    buf_free(&j->key);
    mem_free(j->targets);
    mem_free(j);
}

/* qmgr_job_drop_msg - forget the waiting jobs of a message */
void qmgr_job_drop_msg(struct qmgr_msg *m)
{
    struct qmgr_job **pp = &qmgr.queue_head, *j;

    qmgr.queue_tail = NULL;
    while ((j = *pp) != NULL) {
        if (j->msg == m) {
            *pp = j->next;
            m->pending--;
            qmgr_job_free(j);
        } else {
            qmgr.queue_tail = j;
            pp = &j->next;
        }
    }
    /* Running jobs keep a pointer: they find the message gone when they end. */
    for (j = qmgr.running; j; j = j->next)
        if (j->msg == m)
            j->msg = NULL;
}

/*
 * qmgr_secs - a duration as Postfix prints it: two significant digits, at
 * most two decimals, no trailing zeros (0.02, 0.13, 1.8, 12, 0)
 */
static void qmgr_secs(struct buf *out, double s)
{
    char tmp[64];
    int decimals = s < 1 ? 2 : s < 10 ? 1 : 0;
    size_t n;

    if (s < 0.005)
        s = 0;
    snprintf(tmp, sizeof(tmp), "%.*f", decimals, s);
    n = strlen(tmp);
    if (strchr(tmp, '.')) {
        while (n > 0 && tmp[n - 1] == '0')
            tmp[--n] = 0;
        if (n > 0 && tmp[n - 1] == '.')
            tmp[--n] = 0;
    }
    buf_addstr(out, tmp);
}

static double qmgr_tv_diff(const struct timeval *a, const struct timeval *b)
{
    return (double) (a->tv_sec - b->tv_sec) + (double) (a->tv_usec - b->tv_usec) / 1e6;
}

/* qmgr_log_status - the to= line of one target */
void qmgr_log_status(const struct qmgr_msg *m, size_t target, const char *relay, const struct timeval *start,
                     const struct timeval *end, const char *status, const char *dsn, const char *text)
{
    const struct queue_target *t = &m->env->targets[target];
    const char *orig = m->env->rcpts[t->parent].address;
    const char *to = strcmp(t->kind, "mailbox") == 0 || strcmp(t->kind, "relay") == 0 ? t->target : t->alias;
    struct timeval arrival = m->env->arrival;
    struct buf line = BUF_INIT;

    buf_printf(&line, "%s: to=<%s>, ", m->id, to);
    if (strcasecmp(orig, to) != 0)
        buf_printf(&line, "orig_to=<%s>, ", orig);
    buf_printf(&line, "relay=%s, delay=", relay);
    qmgr_secs(&line, qmgr_tv_diff(end, &arrival));
    buf_addstr(&line, ", delays=");
    qmgr_secs(&line, qmgr_tv_diff(&m->activated, &arrival));
    buf_addch(&line, '/');
    qmgr_secs(&line, qmgr_tv_diff(start, &m->activated));
    buf_addstr(&line, "/0/");
    qmgr_secs(&line, qmgr_tv_diff(end, start));
    buf_printf(&line, ", dsn=%s, status=%s (%s)", dsn ? dsn : "4.0.0", status, text ? text : "");
    msg_info("%s", line.data);
    buf_free(&line);
}

/* qmgr_running_to - how many running jobs deliver to this target */
static long qmgr_running_to(const struct queue_target *t)
{
    struct qmgr_job *j;
    long n = 0;

    for (j = qmgr.running; j; j = j->next)
        if (j->msg && strcmp(j->msg->env->targets[j->target].target, t->target) == 0)
            n++;
    return n;
}

static void qmgr_job_readable(evutil_socket_t fd, short what, void *ctx);

/* qmgr_job_start - start the delivery process of j; 0, -1 (j was dealt with), -2 (not now) */
static int qmgr_job_start(struct qmgr_job *j)
{
    struct qmgr_msg *m = j->msg;

    if (!qmgr_msg_present(m)) {
        /* Held or deleted by an administrator: deliver nothing more of it. */
        m->gone = 1;
        qmgr_job_free(j);
        m->pending--;
        return -1;
    }
    j->fd = open(m->env->path, O_RDWR | O_APPEND | O_CLOEXEC);
    gettimeofday(&j->start, NULL);
    if (j->fd < 0 || qmgr_spawn(m->id, j->targets, j->ntargets, j->fd, &j->pipe, &j->pid) < 0) {
        msg_warn("%s: cannot start a delivery: %m", m->id);
        if (j->fd >= 0)
            close(j->fd);
        j->fd = -1;
        return -2;
    }
    evutil_make_socket_nonblocking(j->pipe);
    j->ev = event_new(qmgr.base, j->pipe, EV_READ | EV_PERSIST, qmgr_job_readable, j);
    event_add(j->ev, NULL);
    m->pending--;
    m->running++;
    j->next = qmgr.running;
    qmgr.running = j;
    qmgr.nrunning++;
    return 0;
}

/* qmgr_job_schedule - start waiting jobs while there are free slots */
void qmgr_job_schedule(void)
{
    struct qmgr_job **pp = &qmgr.queue_head, *j;

    if (qmgr.stopping)
        return;
    qmgr.queue_tail = NULL;
    while ((j = *pp) != NULL && qmgr.nrunning < (size_t) qmgr.conf.process_limit) {
        struct qmgr_msg *m = j->msg;
        int rc;

        if (qmgr.conf.dest_limit > 0 && qmgr_running_to(&m->env->targets[j->target]) >= qmgr.conf.dest_limit) {
            qmgr.queue_tail = j;
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        j->next = NULL;
        rc = qmgr_job_start(j);
        if (rc == -2) {
            /* Could not start now: back in the queue, try at the next tick. */
            j->next = *pp;
            *pp = j;
            break;
        }
        /* A message that left active/ and has nothing more under way is let go
         * (it has no job left in this queue, so the walk is not disturbed). */
        if (rc == -1 && m->pending == 0 && m->running == 0)
            qmgr_msg_done_job(m);
    }
    /* Fix the tail after the walk. */
    for (qmgr.queue_tail = qmgr.queue_head; qmgr.queue_tail && qmgr.queue_tail->next;)
        qmgr.queue_tail = qmgr.queue_tail->next;
}

/* qmgr_job_record - write, log and remember the result of one target */
static void qmgr_job_record(struct qmgr_job *j, size_t target, const struct timeval *end, const char *status,
                            const char *dsn, const char *relay, const char *text)
{
    struct qmgr_msg *m = j->msg;
    struct queue_target *t = &m->env->targets[target];
    struct buf err = BUF_INIT;

    if (queue_append_status(j->fd, target, status, dsn, (long) end->tv_sec, text, &err) < 0)
        msg_warn("%s: cannot record the delivery status (it may be delivered again): %s", m->id, err.data);
    qmgr_log_status(m, target, relay, &j->start, end, status, dsn, text);
    mem_free(t->status);
    mem_free(t->dsn);
    mem_free(t->text);
    t->status = mem_strdup(status);
    t->dsn = mem_strdup(dsn);
    t->text = mem_strdup(text);
    buf_free(&err);
}

/*
 * qmgr_job_finish - record and log the results of a job whose process is
 * gone: one line "status\tdsn\trelay\ttext\n" per target, in order; a
 * target without a well-formed line is deferred
 */
static void qmgr_job_finish(struct qmgr_job *j)
{
    struct qmgr_msg *m = j->msg;
    struct qmgr_job **pp;
    struct timeval end;
    struct buf why = BUF_INIT;
    char *p = j->result.data, *nl;
    size_t i;

    for (pp = &qmgr.running; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    qmgr.nrunning--;
    gettimeofday(&end, NULL);
    if (j->reaped && WIFSIGNALED(j->wstatus))
        buf_printf(&why, "delivery process killed by signal %d", WTERMSIG(j->wstatus));
    else if (j->reaped)
        buf_printf(&why, "delivery process exited with status %d and no result", WEXITSTATUS(j->wstatus));
    else
        buf_addstr(&why, "delivery process ended without a result");
    for (i = 0; i < j->ntargets; i++) {
        char *status = NULL, *dsn = NULL, *relay = NULL, *text = NULL, *rest;

        if (p != NULL && (nl = memchr(p, '\n', j->result.len - (size_t) (p - j->result.data))) != NULL) {
            *nl = 0;
            rest = p;
            p = nl + 1;
            status = strsep(&rest, "\t");
            dsn = strsep(&rest, "\t");
            relay = strsep(&rest, "\t");
            text = rest;
        } else {
            p = NULL;
        }
        if (text == NULL || (strcmp(status, "sent") && strcmp(status, "bounced") && strcmp(status, "deferred"))) {
            status = "deferred";
            dsn = "4.3.0";
            relay = "none";
            text = why.data;
        }
        if (m != NULL)
            qmgr_job_record(j, j->targets[i], &end, status, dsn, relay, text);
        else
            msg_warn("pid %ld: delivery of a message that left the queue ended: status=%s (%s)", (long) j->pid,
                     status, text);
    }
    if (m != NULL)
        m->running--;
    buf_free(&why);
    qmgr_job_free(j);
    if (m != NULL)
        qmgr_msg_done_job(m);
}

/* qmgr_job_readable - the child's result arrives */
static void qmgr_job_readable(evutil_socket_t fd, short what, void *ctx)
{
    struct qmgr_job *j = ctx;
    char chunk[1024];
    ssize_t n;

    (void) what;
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (j->result.len + (size_t) n <= QMGR_RESULT_MAX * j->ntargets)
                buf_add(&j->result, chunk, (size_t) n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        break;
    }
    j->eof = 1;
    event_del(j->ev);
    qmgr_job_reap();
}

/*
 * qmgr_job_reap - finish the jobs whose pipe reached end of file.  The
 * write end belongs to the delivery process alone (close-on-exec keeps it
 * from what that process runs), so end of file means it exited: waiting
 * for it does not block.
 */
void qmgr_job_reap(void)
{
    struct qmgr_job *j, *next;

    for (j = qmgr.running; j; j = next) {
        next = j->next;
        if (!j->eof)
            continue;
        if (j->pid > 0 && !j->reaped && waitpid(j->pid, &j->wstatus, 0) == j->pid)
            j->reaped = 1;
        /* Finishing never frees another running job: next stays valid. */
        qmgr_job_finish(j);
    }
    qmgr_job_schedule();
}

/* qmgr_job_wait_all - at shutdown: wait up to seconds for running deliveries, record them */
void qmgr_job_wait_all(int seconds)
{
    time_t deadline = time(NULL) + seconds;

    while (qmgr.running && time(NULL) < deadline) {
        struct qmgr_job *j;

        for (j = qmgr.running; j; j = j->next) {
            if (!j->eof) {
                char chunk[1024];
                ssize_t n = read(j->pipe, chunk, sizeof(chunk));

                if (n > 0 && j->result.len + (size_t) n <= QMGR_RESULT_MAX * j->ntargets)
                    buf_add(&j->result, chunk, (size_t) n);
                else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                    j->eof = 1;
            }
        }
        qmgr_job_reap();
        if (qmgr.running)
            usleep(20000);
    }
    if (qmgr.running)
        msg_warn("%zu deliveries still running at shutdown: they will be tried again", qmgr.nrunning);
}

/* qmgr_job_abandon - at shutdown, after the wait: forget deliveries still running */
void qmgr_job_abandon(void)
{
    struct qmgr_job *j;

    while ((j = qmgr.running) != NULL) {
        qmgr.running = j->next;
        if (j->msg)
            j->msg->running--;
        qmgr_job_free(j);
    }
    qmgr.nrunning = 0;
}
