/*
 * bounce_dsn.h - delivery status notifications (RFC 3464) to the sender:
 * a non-delivery notification when recipients failed for good (or their
 * message expired, maximal_queue_lifetime), and one delay warning when a
 * message has waited delay_warning_time.
 *
 * Each notification is a new message in the queue: from the null sender
 * (so that it is never bounced in turn: the queue manager drops the
 * failures of a null-sender message), to the original sender, as
 * multipart/report with a text part, a message/delivery-status part
 * (one block per recipient: Final-Recipient, Original-Recipient, Action,
 * Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date) and the
 * original message (message/rfc822), or only its header
 * (text/rfc822-headers) for RET=HDRS, for messages larger than
 * bounce_size_limit, and for delay warnings, as Postfix does.  A recipient
 * whose NOTIFY excludes failures (or delays) is left out; with nobody
 * left, nothing is sent.
 *
 * Runs in the daemon (the queue manager's hooks): it writes one queue
 * file and returns, no network, no waiting.
 * Trusts: the queue file (read with queue_read()'s checks); the original
 * message is copied line by line, never interpreted beyond its header.
 */
#ifndef MAILSIFT_BOUNCE_DSN_H
#define MAILSIFT_BOUNCE_DSN_H

#include "libmatch/buf.h"

struct config;
struct queue_msg;

int bounce_notify(const struct queue_msg *msg, int fd, struct config *cfg);
void bounce_delay_warning(const struct queue_msg *msg, int fd, struct config *cfg);
void bounce_register(void);

/*
 * bounce_notify() is the queue manager's qmgr_bounce_fn: 0 when the
 * notification is queued (or none was due), -1 when it could not be
 * written (the message waits and the hook is called again).
 * bounce_delay_warning() is its qmgr_delay_fn.  bounce_register() sets
 * both hooks (the daemon calls it before it starts the queue manager).
 */

#endif
