/*
 * lock.h - dotlocks and kernel locks, as procmail 3.22 takes them.
 *
 * A dotlock (a lockfile: `:0:`, LOCKFILE, $DEFAULT$LOCKEXT) is made the
 * NFS-safe way procmail makes it: a uniquely named file is created next to
 * the lockfile (mode 0444 less the umask, holding "0"), hard-linked to the
 * lockfile name and unlinked.  While the lockfile exists:
 *
 *   - when LOCKTIMEOUT is not 0, the lockfile is at most 16 bytes and its
 *     mtime is more than LOCKTIMEOUT seconds older than the filesystem's
 *     clock (read from the mtime of our fresh unique file, so clock skew
 *     between an NFS client and server does not matter), it is removed
 *     ("Forcing lock on \"x\""), we pause SUSPEND seconds and try again at
 *     once; if it cannot be removed, "Forced unlock denied on \"x\"" and we
 *     keep waiting; a second stale sighting after a failed force gives up;
 *   - otherwise we sleep LOCKSLEEP seconds and try again.
 *
 * ENOENT, ENOTDIR, EIO, ENOSPC and EDQUOT are retried 7 times (LOCKSLEEP
 * apart) before "Lock failure on \"x\""; any other error fails at once.
 * A stop flag set by a signal handler ends the wait (the caller then logs
 * procmail's "Terminating prematurely whilst waiting for lockfile").
 *
 * The kernel lock is fcntl(F_SETLKW) on the open folder from its current
 * end, the one method Debian's procmail is built with ("Locking
 * strategies: dotlocking, fcntl()").  It is bounded by the stop flag and
 * the caller's timeout; a failure is logged ("Kernel-lock failed") and the
 * write goes on, as in procmail.
 *
 * After a delivery as root has screened the system mailbox in a spool
 * directory only its group may write (Debian: /var/mail, root:mail 2775),
 * lock_sysbox() names that mailbox's lockfile and the group: locking and
 * unlocking exactly that path switch the effective group to it (our saved
 * group id) and back, as procmail's lockit() and unlock() do with sgid.
 *
 * Trusts: the path names it is given (the evaluator expanded them).
 */
#ifndef PROCSORT_LOCK_H
#define PROCSORT_LOCK_H

#include <signal.h>
#include <sys/types.h>

#include "libmatch/buf.h"
#include "procsort/folder_log.h"

#define LOCK_MAX_SIZE 16         /* a bigger "lockfile" is never forced */
#define LOCK_NFS_TRIES 8         /* 1 + retries of transient errors */
#define LOCK_DEFAULT_TIMEOUT 1024 /* LOCKTIMEOUT */
#define LOCK_DEFAULT_SLEEP 8     /* LOCKSLEEP */
#define LOCK_DEFAULT_SUSPEND 16  /* SUSPEND */

struct lock_opts {
    long timeout;                  /* LOCKTIMEOUT, seconds; 0: never force */
    long sleep;                    /* LOCKSLEEP, seconds between tries */
    long suspend;                  /* SUSPEND, seconds to pause after forcing */
    mode_t umask;                  /* UMASK, for the lockfile's mode */
    struct folder_log log;         /* where the diagnostics go */
    volatile sig_atomic_t *stop;   /* non-zero: stop waiting (may be NULL) */
};

void lock_opts_init(struct lock_opts *opts);
void lock_sysbox(const char *path, gid_t gid);
int lock_acquire(const char *path, const struct lock_opts *opts, struct buf *err);
int lock_release(const char *path, const struct lock_opts *opts);
int lock_kernel(int fd, long timeout, const struct lock_opts *opts);
int lock_kernel_release(int fd);

#endif
