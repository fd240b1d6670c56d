/*
 * spool.h - a byte store that stays in memory while small and moves to an
 * unlinked temporary file when it grows, so that a message of any size
 * costs bounded memory.
 *
 * milterd keeps two of these per message when it needs them: the body it
 * will hand back with smfi_replacebody() when a rule edits MIME headers or
 * body lines, and the whole message for the attachment policy, which wants
 * a file descriptor.
 *
 * What it trusts: the directory it is given (temp_directory) is private
 * enough for message content; files are created mode 0600 and unlinked
 * at once.
 */
#ifndef MAILSIFT_MILTERD_SPOOL_H
#define MAILSIFT_MILTERD_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "libmatch/buf.h"

struct spool;

struct spool *spool_new(const char *tmpdir, size_t memory_limit);
void spool_free(struct spool *spool);
int spool_write(struct spool *spool, const void *data, size_t len, struct buf *err);
int spool_fd(struct spool *spool, struct buf *err);
int spool_rewind(struct spool *spool, struct buf *err);
ssize_t spool_read(struct spool *spool, void *data, size_t len, struct buf *err);
int spool_failed(const struct spool *spool);

#endif
