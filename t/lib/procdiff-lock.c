/*
 * procdiff-lock.c - take and hold one of procsort's locks, for the lock
 * tests (t/352-lock.t):
 *
 *   procdiff-lock [-t LOCKTIMEOUT] [-s LOCKSLEEP] [-S SUSPEND] [-w MAXWAIT]
 *                 [-H HOLD] [-u UMASK] [-k] PATH
 *
 * Without -k: the dotlock PATH (lock_acquire), held HOLD seconds, then
 * released.  With -k: the fcntl lock on the file PATH from its end
 * (lock_kernel), as an mbox append holds it.  Prints "locked SECONDS"
 * (how long the wait was) and "released"; the log goes to stderr with
 * procsort's prefix.  -w stops waiting after MAXWAIT seconds (the stop
 * flag a signal handler sets).  Exit 0 when the lock was had, 1 if not.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "procsort/lock.h"

static volatile sig_atomic_t stop;

static void on_alarm(int sig)
{
    (void) sig;
    stop = 1;
}

static void log_line(void *arg, int level, const char *line)
{
    (void) arg;
    (void) level;
    fprintf(stderr, "procsort: %s\n", line);
}

static double now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double) tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    struct lock_opts lo;
    struct buf err = BUF_INIT;
    struct sigaction sa;
    int ch, kernel = 0, fd = -1, ret;
    long hold = 0, maxwait = 0;
    double t0;

    lock_opts_init(&lo);
    lo.log.fn = log_line;
    lo.stop = &stop;
    while ((ch = getopt(argc, argv, "t:s:S:w:H:u:kv")) != -1) {
        switch (ch) {
        case 't': lo.timeout = atol(optarg); break;
        case 's': lo.sleep = atol(optarg); break;
        case 'S': lo.suspend = atol(optarg); break;
        case 'w': maxwait = atol(optarg); break;
        case 'H': hold = atol(optarg); break;
        case 'u': lo.umask = (mode_t) strtoul(optarg, NULL, 8); break;
        case 'k': kernel = 1; break;
        default:
            fprintf(stderr, "usage: procdiff-lock [-t timeout] [-s sleep] [-S suspend] "
                            "[-w maxwait] [-H hold] [-u umask] [-k] path\n");
            return 64;
        }
    }
    if (optind != argc - 1)
        return 64;
    umask(lo.umask);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    if (maxwait > 0)
        alarm((unsigned) maxwait);
    t0 = now();
    if (kernel) {
        fd = open(argv[optind], O_WRONLY | O_APPEND | O_CREAT, 0666);
        if (fd < 0) {
            perror(argv[optind]);
            return 1;
        }
        lseek(fd, 0, SEEK_END);
        ret = lock_kernel(fd, 0, &lo);
    } else {
        ret = lock_acquire(argv[optind], &lo, &err);
    }
    alarm(0);
    if (ret < 0) {
        fprintf(stderr, "procdiff-lock: %s\n", err.len ? err.data : "kernel lock failed");
        printf("failed %.1f\n", now() - t0);
        return 1;
    }
    printf("locked %.1f\n", now() - t0);
    fflush(stdout);
    if (hold > 0)
        sleep((unsigned) hold);
    if (kernel) {
        lock_kernel_release(fd);
        close(fd);
    } else {
        lock_release(argv[optind], &lo);
    }
    printf("released\n");
    buf_free(&err);
    return 0;
}
