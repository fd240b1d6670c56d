/*
 * queue_admin.h - what mtaq(8) does to the queue, as functions: list,
 * show, release, hold, delete, flush.
 *
 * Every change is a rename within the queue directory (or an unlink), so
 * it is safe while mta-core runs: the daemon scans incoming/ every second
 * and checks that a message is still in active/ before each delivery.
 */
#ifndef MAILSIFT_QUEUE_ADMIN_H
#define MAILSIFT_QUEUE_ADMIN_H

#include <stdio.h>

#include "libmatch/buf.h"

#define QUEUE_ADMIN_ALL 0      /* list every queue (mailq) */
#define QUEUE_ADMIN_HOLD 1     /* only hold/ */
#define QUEUE_ADMIN_DEFERRED 2 /* only deferred/ */

int queue_admin_list(const char *queue_dir, int which, int json, FILE *out, struct buf *err);
int queue_admin_show(const char *queue_dir, const char *id, int body, FILE *out, struct buf *err);
int queue_admin_release(const char *queue_dir, const char *id, struct buf *err);
int queue_admin_hold(const char *queue_dir, const char *id, const char *reason, struct buf *err);
int queue_admin_delete(const char *queue_dir, const char *id, struct buf *err);
int queue_admin_flush(const char *queue_dir, char ***idsp, size_t *countp, struct buf *err);

/*
 * Each returns 0 on success, -1 with err saying why ("ID: no such message
 * in the queue", "ID: not on hold", ...); queue_admin_hold() returns 1
 * when the message was on hold already.  queue_admin_flush() gives the
 * ids it moved (queue_ids_free() them).
 */

#endif
