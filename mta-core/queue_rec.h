/*
 * queue_rec.h - the record layer of queue files (see queue.h for the
 * format): writing one record, reading one with every length checked.
 * Internal to the queue_*.c files.
 */
#ifndef MAILSIFT_QUEUE_REC_H
#define MAILSIFT_QUEUE_REC_H

#include <stdio.h>
#include <sys/types.h>

#include "libmatch/buf.h"

#define QUEUE_REC_MAX (1024 * 1024) /* the longest record a reader accepts */
#define QUEUE_REC_DIGITS 10         /* digits in a length field, at most */
#define QUEUE_LINE_PIECE 8192       /* content lines are cut into pieces of this size */
#define QUEUE_VERSION "1"

/* Fixed-width C record: "ENVOFF SIZE NRCPT", rewritten in place at commit. */
#define QUEUE_C_FORMAT "%015lld %015zu %08zu"
#define QUEUE_C_LEN 40

/* A buffered reader over a descriptor, by offset (pread): it never moves
 * the descriptor's own offset, so a writer may share the descriptor. */
struct queue_rd {
    int fd;
    off_t pos;        /* offset of the next unread byte */
    off_t limit;      /* stop here (-1: end of file) */
    struct buf buf;   /* bytes read ahead, from pos */
    size_t used;      /* of buf, already consumed */
    int torn;         /* the last read stopped inside a record */
};

void queue_rd_init(struct queue_rd *rd, int fd, off_t pos, off_t limit);
void queue_rd_free(struct queue_rd *rd);
int queue_rec_get(struct queue_rd *rd, int *type, struct buf *data, struct buf *err);
void queue_rec_format(struct buf *out, int type, const char *data, size_t len);
int queue_rec_put(FILE *fp, int type, const char *data, size_t len);

#endif
