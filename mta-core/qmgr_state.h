/*
 * qmgr_state.h - the queue manager's state in the daemon (internal to qmgr_*.c).
 *
 * A message is in memory while it is in active/: its envelope and targets
 * as read back from the file, how many of its deliveries wait and run.
 * A job is one target of one message (or several relay targets of one
 * message and one next hop, when the transport batches them); it waits in
 * a FIFO until a process slot is free, then runs in a child process.
 */
#ifndef MAILSIFT_QMGR_STATE_H
#define MAILSIFT_QMGR_STATE_H

#include <sys/time.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "mta-core/queue.h"

struct event;
struct alias_ctx;

struct qmgr_msg {
    char id[QUEUE_ID_SIZE];
    struct queue_msg *env;      /* read back from the file, statuses kept up to date */
    ino_t ino;                  /* of the file we own in active/ */
    struct timeval activated;
    int from_deferred;          /* activated from deferred/ (a retry) */
    size_t pending;             /* jobs waiting */
    size_t running;             /* jobs running */
    int gone;                   /* an administrator moved it out of active/ */
    struct qmgr_msg *prev, *next;
};

struct qmgr_job {
    struct qmgr_msg *msg;
    size_t target;              /* index into msg->env->targets (the first one) */
    size_t *targets;            /* every target of the job, targets[0] == target */
    size_t ntargets;
    struct buf key;             /* the transport's batch key ("" without batching) */
    size_t batch_limit;         /* targets the job may carry */
    pid_t pid;
    int fd;                     /* the queue file, O_APPEND, while the job runs */
    int pipe;                   /* the child's result */
    struct event *ev;
    struct buf result;
    int eof;
    int reaped;
    int wstatus;
    struct timeval start;
    struct qmgr_job *next;
};

struct qmgr_conf {
    char *queue_dir;
    long queue_run_delay;
    long min_backoff;
    long max_backoff;
    long max_lifetime;
    long bounce_lifetime;
    long process_limit;         /* default_process_limit: deliveries at once */
    long dest_limit;            /* local_destination_concurrency_limit: per target */
    long active_limit;          /* qmgr_message_active_limit */
};

struct qmgr {
    struct event_base *base;
    struct config *cfg;
    struct qmgr_conf conf;
    struct alias_ctx *alias;
    struct qmgr_msg *msgs;      /* in active/ */
    size_t nmsgs;
    struct qmgr_job *queue_head, *queue_tail; /* waiting */
    struct qmgr_job *running;   /* running */
    size_t nrunning;
    int stopping;
    time_t next_deferred_scan;
    struct event *tick;         /* once a second */
    struct event *kick;         /* qmgr_kick() */
    struct event *sigchld;
    struct event *sighup;
    qmgr_bounce_fn bounce;
    qmgr_delay_fn delay_warning;
};

extern struct qmgr qmgr;

/* qmgr_msg.c */
void qmgr_msg_activate(const char *id, const char *from);
void qmgr_msg_done_job(struct qmgr_msg *m);
int qmgr_msg_present(struct qmgr_msg *m);
void qmgr_msg_forget(struct qmgr_msg *m);

/* qmgr_job.c */
void qmgr_job_add(struct qmgr_msg *m, size_t target);
void qmgr_job_schedule(void);
void qmgr_job_reap(void);
void qmgr_job_drop_msg(struct qmgr_msg *m);
void qmgr_job_wait_all(int seconds);
void qmgr_job_abandon(void);
void qmgr_log_status(const struct qmgr_msg *m, size_t target, const char *relay, const struct timeval *start,
                     const struct timeval *end, const char *status, const char *dsn, const char *text);

#endif
