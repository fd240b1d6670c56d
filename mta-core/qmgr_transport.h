/*
 * qmgr_transport.h - how the queue manager hands delivery targets to a
 * transport: "local" for mailbox, command and file targets (local_*.c),
 * "smtp" for relay targets (smtp_transport.c).
 *
 * Every delivery runs in a process of its own, forked from the daemon
 * for that one target: deliver() may block, change privileges and run
 * programs; it must fill in res and return (the queue manager's child
 * code writes the result back to the daemon and exits).  The daemon then
 * records the result in the queue file before anything else happens to
 * the message: sent and bounced are final, deferred is tried again later.
 * A target kind without a transport is deferred ("mail transport
 * unavailable"), never lost.
 */
#ifndef MAILSIFT_QMGR_TRANSPORT_H
#define MAILSIFT_QMGR_TRANSPORT_H

#include "libmatch/buf.h"

struct config;
struct queue_msg;
struct queue_target;

/* One delivery, as the transport sees it (in the delivery process). */
struct qmgr_delivery {
    const char *queue_id;
    int fd;                          /* the queue file, read only by offset */
    const struct queue_msg *msg;     /* envelope, targets, content offsets */
    const struct queue_target *target;
    size_t target_index;
    const size_t *targets;           /* every target of this delivery, targets[0] == target_index */
    size_t ntargets;                 /* more than one only for a transport with batch() */
};

/* What became of it. */
struct qmgr_result {
    char status[16];                 /* "sent", "deferred", "bounced" */
    struct buf dsn;                  /* enhanced status code, "2.0.0" */
    struct buf text;                 /* for the log and the queue file */
    struct buf relay;                /* for the log: "local", "host[addr]:port" */
};

struct qmgr_transport {
    const char *name;                /* "local", "smtp": the log's relay= when res->relay is empty */
    /* In the daemon, from qmgr_start(): read the configuration; -1 with err is fatal. */
    int (*init)(struct config *cfg, struct buf *err);
    /* In the delivery process; res is an array of d->ntargets results, in order. */
    void (*deliver)(const struct qmgr_delivery *d, struct qmgr_result *res);
    /*
     * Optional, in the daemon: targets of one message with equal keys may
     * go to one deliver() call (one SMTP session), at most the number it
     * returns.  NULL: one target per delivery.
     */
    size_t (*batch)(const struct queue_target *t, struct buf *key);
};

void qmgr_transport_register(const char *kind, const struct qmgr_transport *transport);
const struct qmgr_transport *qmgr_transport_find(const char *kind);
int qmgr_transport_init_all(struct config *cfg, struct buf *err);

extern const struct qmgr_transport qmgr_transport_local;
extern const struct qmgr_transport qmgr_transport_smtp;

#endif
