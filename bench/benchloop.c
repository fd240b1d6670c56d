/*
 * benchloop - run one command many times, each on a message from a list,
 * and say how fast it went and how much memory it took; for bench/:
 *
 *   benchloop [-n RUNS] [-t SECONDS] [-e ERRLOG] -i FILE [-i FILE]... -- COMMAND [ARG]...
 *
 * Run k (0 .. RUNS-1) gets FILE number k modulo the number of files on its
 * standard input, /dev/null for its output, and ERRLOG (appended to; default
 * /dev/null) for its errors.  The runs go one after the other, so the
 * figure is that of one delivery agent doing one message at a time, as
 * procmail does under an MTA.  fork and exec are done here, not by a
 * shell, so that the loop itself costs as little as it can.  A run that
 * takes longer than SECONDS (default 60) is killed and counts as failed.
 *
 * Prints one line of NAME=VALUE fields:
 *
 *   runs=N failed=F wall=SECONDS rate=RUNS/S cpu=SECONDS maxrss_kb=KB
 *
 * cpu is user + system time of all the runs (wait4's rusage), maxrss_kb
 * the largest peak resident set of any one run.  A run that exits other
 * than 0 counts in "failed" and makes the exit status 1 (the first such
 * exit status goes to stderr): a benchmark whose deliveries fail measures
 * nothing.  What it trusts: its command line (the bench scripts').
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The most input files one command line may name. */
#define BENCHLOOP_MAX_INPUTS 256

/* The run under way, for the timeout. */
static volatile pid_t current_pid;

static void on_alarm(int sig)
{
    (void) sig;
    if (current_pid > 0)
        kill(current_pid, SIGKILL);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv_seconds(const struct timeval *tv)
{
    return tv->tv_sec + tv->tv_usec / 1e6;
}

/* run_one - start the command on one input; returns its pid */
static pid_t run_one(const char *input, const char *errlog, char **argv)
{
    pid_t pid = fork();

    if (pid < 0) {
        perror("benchloop: fork");
        exit(2);
    }
    if (pid == 0) {
        int in = open(input, O_RDONLY);
        int out = open("/dev/null", O_WRONLY);
        int err = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (in < 0 || out < 0 || err < 0) {
            fprintf(stderr, "benchloop: %s: %s\n", in < 0 ? input : errlog, strerror(errno));
            _exit(126);
        }
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        close(in);
        close(out);
        close(err);
        execvp(argv[0], argv);
        fprintf(stderr, "benchloop: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    const char *inputs[BENCHLOOP_MAX_INPUTS];
    const char *errlog = "/dev/null";
    int ninputs = 0, failed = 0, first_status = 0;
    long runs = 1, maxrss = 0, timeout = 60;
    struct sigaction sa;
    double cpu = 0, start, wall;
    int c;

    while ((c = getopt(argc, argv, "+n:t:e:i:")) != -1) {
        switch (c) {
        case 'n':
            runs = strtol(optarg, NULL, 10);
            break;
        case 't':
            timeout = strtol(optarg, NULL, 10);
            break;
        case 'e':
            errlog = optarg;
            break;
        case 'i':
            if (ninputs == BENCHLOOP_MAX_INPUTS) {
                fprintf(stderr, "benchloop: more than %d input files\n", BENCHLOOP_MAX_INPUTS);
                return 2;
            }
            inputs[ninputs++] = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (optind >= argc || ninputs == 0 || runs < 1 || timeout < 1)
        goto usage;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    start = now();
    for (long k = 0; k < runs; k++) {
        struct rusage ru;
        int status;
        pid_t pid = run_one(inputs[k % ninputs], errlog, argv + optind);

        current_pid = pid;
        alarm(timeout);
        while (wait4(pid, &status, 0, &ru) < 0) {
            if (errno != EINTR) {
                perror("benchloop: wait4");
                return 2;
            }
        }
        alarm(0);
        current_pid = 0;
        cpu += tv_seconds(&ru.ru_utime) + tv_seconds(&ru.ru_stime);
        if (ru.ru_maxrss > maxrss)
            maxrss = ru.ru_maxrss;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (failed++ == 0)
                first_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    wall = now() - start;
    printf("runs=%ld failed=%d wall=%.3f rate=%.1f cpu=%.3f maxrss_kb=%ld\n",
           runs, failed, wall, runs / wall, cpu, maxrss);
    if (failed) {
        fprintf(stderr, "benchloop: %d of %ld runs failed; the first exited %d\n", failed, runs, first_status);
        return 1;
    }
    return 0;

usage:
    fprintf(stderr, "usage: benchloop [-n RUNS] [-t SECONDS] [-e ERRLOG] -i FILE [-i FILE]... -- COMMAND [ARG]...\n");
    return 2;
}
