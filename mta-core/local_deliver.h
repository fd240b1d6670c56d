/*
 * local_deliver.h - local delivery of one target (a mailbox, a |command or
 * a /file), as Postfix's local(8) does it.
 *
 * local_deliver() runs in a process of its own that the queue manager
 * forked for this one delivery: it may change its uid, set resource limits
 * and block, and it never returns to the event loop.  It says what became
 * of the target in res: "sent", "deferred" or "bounced", with an enhanced
 * status code and a text for the log and the queue file.
 */
#ifndef MAILSIFT_LOCAL_DELIVER_H
#define MAILSIFT_LOCAL_DELIVER_H

#include <sys/types.h>

#include "libmatch/buf.h"

struct config;
struct queue_msg;

/* The parameters local delivery reads (mta-core.conf(5)). */
struct local_conf {
    char *mailbox_command;
    char *home_mailbox;
    char *home_base;
    char *mail_spool_directory;
    char *recipient_delimiter;
    char *myhostname;
    long mailbox_size_limit;    /* bytes, 0: none */
    long command_time_limit;    /* seconds */
    int privileged;             /* root and no home_base: deliver as the recipient */
    uid_t default_uid;          /* default_privs: commands never run as root */
    gid_t default_gid;
};

/* One delivery. */
struct local_request {
    const char *queue_id;
    int fd;                     /* the queue file, read only by offset */
    const struct queue_msg *msg;
    const char *kind;           /* "mailbox", "command", "file" */
    const char *target;         /* address, command or file name */
    const char *alias;          /* the address that produced a command or file */
    const char *orig_rcpt;      /* the envelope recipient it all came from */
    uid_t uid;                  /* privileges for command and file */
    gid_t gid;
};

struct local_result {
    char status[16];            /* "sent", "deferred", "bounced" */
    struct buf dsn;
    struct buf text;
};

int local_conf_init(struct local_conf *lc, struct config *cfg, struct buf *err);
void local_conf_free(struct local_conf *lc);
void local_deliver(const struct local_conf *lc, const struct local_request *req, struct local_result *res);
void local_result_set(struct local_result *res, const char *status, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
