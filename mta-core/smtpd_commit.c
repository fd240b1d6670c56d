/*
 * smtpd_commit.c - queue commits (fsync, rename, directory fsync) off the
 * event loop.
 *
 * queue_commit() waits for the disk twice (the file, then incoming/).  Run
 * in the event loop, every session would stall during each other's
 * fsyncs; so a few worker threads run it, several at once (the file
 * system journals their directory updates together), and hand the result
 * back through a pipe that the event loop watches, as smtpd_resolve.c
 * does.  The session reads nothing meanwhile and says 250 only when the
 * result says the commit is complete: the guarantee of queue.h (no 250
 * before the file and its directory entry are fsynced) is unchanged.
 * A session that ends first cancels its job: the result is then only
 * logged (and a committed message delivered: the client saw no 250, so it
 * may send it again, a duplicate, never a loss).
 *
 * Trusts: the queue file is complete (smtpd_data.c wrote it); the worker
 * touches nothing but the queue file and its job.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "libmatch/msg.h"
#include "mta-core/queue.h"
#include "mta-core/smtpd_server.h"

#define SMTPD_COMMIT_THREADS 4

struct smtpd_commit_job {
    struct queue_file *qf;
    char id[QUEUE_ID_SIZE];
    int rc;                  /* queue_commit()'s result */
    struct buf err;          /* and its reason */
    smtpd_commit_fn done;
    void *ctx;
    int cancelled;
    struct smtpd_commit_job *next;
};

static pthread_mutex_t smtpd_commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t smtpd_commit_cond = PTHREAD_COND_INITIALIZER;
static struct smtpd_commit_job *smtpd_commit_head, *smtpd_commit_tail;
static int smtpd_commit_pipe[2] = { -1, -1 };
static struct event *smtpd_commit_ev;

static void *smtpd_commit_worker(void *arg)
{
    (void) arg;
    for (;;) {
        struct smtpd_commit_job *job;

        pthread_mutex_lock(&smtpd_commit_lock);
        while (smtpd_commit_head == NULL)
            pthread_cond_wait(&smtpd_commit_cond, &smtpd_commit_lock);
        job = smtpd_commit_head;
        smtpd_commit_head = job->next;
        if (smtpd_commit_head == NULL)
            smtpd_commit_tail = NULL;
        pthread_mutex_unlock(&smtpd_commit_lock);
        /* Even for a cancelled job: queue_commit() also frees the file. */
        job->rc = queue_commit(job->qf, &job->err);
        job->qf = NULL;
        while (write(smtpd_commit_pipe[1], &job, sizeof(job)) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

/* smtpd_commit_results - commits completed: hand them to their sessions */
static void smtpd_commit_results(evutil_socket_t fd, short what, void *arg)
{
    struct smtpd_commit_job *job;

    (void) what;
    (void) arg;
    while (read(fd, &job, sizeof(job)) == (ssize_t) sizeof(job)) {
        int cancelled;

        pthread_mutex_lock(&smtpd_commit_lock);
        cancelled = job->cancelled;
        pthread_mutex_unlock(&smtpd_commit_lock);
        if (!cancelled) {
            job->done(job->ctx, job->rc, job->err.data);
        } else if (job->rc < 0) {
            msg_warn("%s: queue file write error: %s", job->id, job->err.data);
        } else {
            msg_info("%s: committed after the client left", job->id);
            smtpd_queue_committed(job->id);
        }
        buf_free(&job->err);
        mem_free(job);
    }
}

/* smtpd_commit_init - the worker threads and the result pipe (once, at start) */
void smtpd_commit_init(struct event_base *base)
{
    pthread_t tid;
    int i;

    if (pipe2(smtpd_commit_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        msg_fatal("pipe: %s", strerror(errno));
    smtpd_commit_ev = event_new(base, smtpd_commit_pipe[0], EV_READ | EV_PERSIST,
                                smtpd_commit_results, NULL);
    event_add(smtpd_commit_ev, NULL);
    for (i = 0; i < SMTPD_COMMIT_THREADS; i++) {
        if (pthread_create(&tid, NULL, smtpd_commit_worker, NULL) != 0)
            msg_fatal("cannot start a queue commit thread");
        pthread_detach(tid);
    }
}

/*
 * smtpd_commit_start - commit qf (queue_commit(), which takes it over);
 * done(ctx, rc, err) later from the event loop, rc 0 when the message is
 * on disk and may be acknowledged.
 */
struct smtpd_commit_job *smtpd_commit_start(struct queue_file *qf, smtpd_commit_fn done, void *ctx)
{
    struct smtpd_commit_job *job = mem_zalloc(sizeof(*job));

    job->qf = qf;
    snprintf(job->id, sizeof(job->id), "%s", queue_file_id(qf));
    buf_init(&job->err);
    job->done = done;
    job->ctx = ctx;
    pthread_mutex_lock(&smtpd_commit_lock);
    if (smtpd_commit_tail)
        smtpd_commit_tail->next = job;
    else
        smtpd_commit_head = job;
    smtpd_commit_tail = job;
    pthread_cond_signal(&smtpd_commit_cond);
    pthread_mutex_unlock(&smtpd_commit_lock);
    return job;
}

/* smtpd_commit_cancel - the session is gone: only log the result when it comes */
void smtpd_commit_cancel(struct smtpd_commit_job *job)
{
    pthread_mutex_lock(&smtpd_commit_lock);
    job->cancelled = 1;
    pthread_mutex_unlock(&smtpd_commit_lock);
}
