/*
 * maildrop_milter.h - non_smtpd_milters: mail from the maildrop
 * (mta-sendmail) through milters before it enters the queue, as Postfix's
 * cleanup does for the mail its pickup hands over.
 *
 *   if (maildrop_milter_enabled() && !maildrop_milter_busy(id) ...)
 *       maildrop_milter_start(&job_args);   the file stays until the milters decide
 *
 * The pickup converts the maildrop file into a new queue file as usual and,
 * instead of committing it, hands it here: the milters see the emulated
 * SMTP events Postfix sends for local mail (CONNECT from localhost
 * [127.0.0.1], port 0; EHLO localhost; MAIL; each RCPT; DATA) and the
 * message (the pickup's own Received: header hidden, as for SMTP mail),
 * with the queue id as "i" from the first event.  Then, as in Postfix:
 *   continue, hold  the edited message is committed (on hold with the
 *                   reason) and the maildrop file removed;
 *   discard         the maildrop file is removed, nothing is queued;
 *   reject (5xx)    the message is queued with every recipient already
 *                   failed with the milter's reply, so that the queue
 *                   manager bounces it to the sender; the file is removed;
 *   tempfail (4xx, 421, a reject at RCPT - "milter configuration error:
 *                   can't reject recipient in non-smtpd(8) submission" -,
 *                   a milter that is not there under milter_default_action
 *                   = tempfail) nothing is queued, the file stays in the
 *                   maildrop and is tried again MAILDROP_MILTER_RETRY
 *                   seconds later.
 * Everything runs in the event loop; nothing here waits.  One log line per
 * decision, with the queue id (the milter chain writes it).
 * Trusts: the pickup's checks of the maildrop file; the milters' replies
 * are checked by the milter client.
 */
#ifndef MAILSIFT_MAILDROP_MILTER_H
#define MAILSIFT_MAILDROP_MILTER_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"

#define MAILDROP_MILTER_RETRY 60 /* seconds before a tempfailed submission is tried again */

struct config;
struct event_base;
struct queue_file;

/* What the pickup hands over: the queue file holds the converted content. */
struct maildrop_milter_args {
    const char *queue_dir;
    const char *maildrop_id;   /* the file's name in the maildrop */
    const char *maildrop_path;
    struct queue_file *qf;     /* taken over: committed or aborted here */
    const char *sender;        /* completed with @$myorigin */
    char **rcpts;              /* completed, with their NOTIFY flags */
    const int *notify;
    size_t nrcpt;
};

int maildrop_milter_init(struct event_base *base, struct config *cfg, struct buf *err);
int maildrop_milter_reload(struct config *cfg, struct buf *err);
int maildrop_milter_enabled(void);
int maildrop_milter_busy(const char *maildrop_id);
void maildrop_milter_start(const struct maildrop_milter_args *a);
void maildrop_milter_stop(void);

/*
 * maildrop_milter_init() reads non_smtpd_milters (and the milter_*
 * settings); -1 with err on a bad value.  maildrop_milter_reload() does
 * the same at SIGHUP for the submissions picked up afterwards (-1 keeps
 * the running list).  maildrop_milter_busy() says that a maildrop file is
 * with the milters now or waits for its retry time: the pickup leaves it
 * alone.  maildrop_milter_stop() drops the jobs under way (their files
 * stay in the maildrop for the next start).
 */

#endif
