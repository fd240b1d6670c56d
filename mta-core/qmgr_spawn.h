/*
 * qmgr_spawn.h - starting delivery processes, directly or through the
 * privileged helper (internal to qmgr_*.c).
 */
#ifndef MAILSIFT_QMGR_SPAWN_H
#define MAILSIFT_QMGR_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct alias_ctx;

#define QMGR_BATCH_MAX 1000 /* targets in one delivery */

void qmgr_spawn_init(const char *queue_dir, int privileged, int helper, struct alias_ctx *alias);
int qmgr_spawn(const char *id, const size_t *targets, size_t n, int qfd, int *result, pid_t *pid);
pid_t qmgr_spawn_helper_pid(void);

#endif
