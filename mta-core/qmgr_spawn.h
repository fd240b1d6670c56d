/*
 * qmgr_spawn.h - starting delivery processes, directly or through the
 * privileged helper (internal to qmgr_*.c).
 */
#ifndef MAILSIFT_QMGR_SPAWN_H
#define MAILSIFT_QMGR_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct alias_ctx;

void qmgr_spawn_init(const char *queue_dir, int privileged, int helper, struct alias_ctx *alias);
int qmgr_spawn(const char *id, size_t target, int qfd, int *result, pid_t *pid);
pid_t qmgr_spawn_helper_pid(void);

#endif
