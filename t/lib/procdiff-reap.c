/*
 * procdiff-reap.c - run a command and wait for every process it leaves
 * behind, for the differential harness:
 *
 *   procdiff-reap MAXWAIT COMMAND [ARG]...
 *
 * procmail does not wait for a program started without `w' (nor for a
 * forward), so "procmail exited" does not mean "procmail's work is done".
 * As a child subreaper (prctl PR_SET_CHILD_SUBREAPER), we inherit every
 * orphaned descendant and wait until none is left, or MAXWAIT seconds.
 * Exits with COMMAND's status (128 + the signal when it was killed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void) sig;
    timed_out = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    int status, result = 127;
    pid_t pid, w;

    if (argc < 3) {
        fprintf(stderr, "usage: procdiff-reap MAXWAIT COMMAND [ARG]...\n");
        return 64;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        perror("prctl");
        return 70;
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 70;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned) atoi(argv[1]));
    while (!timed_out) {
        w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nobody left */
        }
        if (w == pid)
            result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (timed_out)
        fprintf(stderr, "procdiff-reap: processes still running after %s seconds\n", argv[1]);
    return result;
}
