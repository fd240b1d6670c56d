/*
 * lock_kernel.c - the kernel lock on an open folder: fcntl(), as Debian's
 * procmail is built ("Locking strategies: dotlocking, fcntl()").
 *
 * procmail write-locks from the current offset (the end of the mbox, after
 * an lseek) to infinity; any reader that locks the whole file (Dovecot,
 * mutt) conflicts with that range, so the effect is a whole-file lock for
 * everybody who appends or reads.  procmail waits in F_SETLKW under its
 * TIMEOUT alarm; we poll F_SETLK so that TIMEOUT and the stop flag bound
 * the wait without a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procsort/lock.h"

/* lock_kernel - write-lock fd from its offset on; 0, or -1 (timeout, error, stop) */
int lock_kernel(int fd, long timeout, const struct lock_opts *opts)
{
    struct flock fl;
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    time_t deadline = timeout > 0 ? time(NULL) + timeout : 0;
    off_t here;

    folder_logf(&opts->log, FOLDER_LOG_VERBOSE, "Acquiring kernel-lock");
    if ((here = lseek(fd, 0, SEEK_CUR)) < 0)
        here = 0;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = here;
    fl.l_len = 0;
    for (;;) {
        if (fcntl(fd, F_SETLK, &fl) == 0)
            return 0;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR)
            return -1;
        if ((opts->stop && *opts->stop) || (deadline && time(NULL) >= deadline)) {
            errno = EAGAIN;
            return -1;
        }
        nanosleep(&ts, NULL);
        if (ts.tv_nsec < 200 * 1000 * 1000)
            ts.tv_nsec *= 2;
    }
}

/* lock_kernel_release - drop every fcntl lock we hold on fd */
int lock_kernel_release(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
    return fcntl(fd, F_SETLK, &fl);
}
