/*
 * queue_id.h - making queue ids (internal to queue_*.c; queue_id_ok() is
 * in queue.h).
 */
#ifndef MAILSIFT_QUEUE_ID_H
#define MAILSIFT_QUEUE_ID_H

#include <sys/time.h>
#include <sys/types.h>

void queue_id_make(char *id, const struct timeval *tv, ino_t inode);

#endif
