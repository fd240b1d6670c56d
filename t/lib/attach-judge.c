/*
 * attach-judge.c - a test driver for milterd's attachment policy.
 *
 *   attach-judge POLICY MESSAGE...   judge each message: the verdict on the
 *                                    first line, then one "hit:" line per hit
 *   attach-judge -l POLICY           load only: "ok", or the errors
 *   attach-judge -w MESSAGE...       print what mime_walk sees, part by part
 *   attach-judge -s POLICY MESSAGE   judge, then "seconds=S cpu=C maxrss_kb=K" on stderr:
 *                                    the wall and CPU time attach_judge took, the
 *                                    process's peak memory
 *
 * "-" reads a message from standard input (a pipe is spooled by the walk).
 * Exit 0 when everything could be done, 1 when a policy failed to load,
 * 2 when a message could not be judged (temporary failure).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mime_walk.h"
#include "milterd/attach.h"

/* count - a content sink that counts bytes */
static int count(const char *data, size_t len, void *ctx)
{
    (void) data;
    *(size_t *) ctx += len;
    return 0;
}

/* walk_print - one line per part */
static int walk_print(const struct mime_part *part, void *ctx)
{
    static const char *const kinds[] = { "leaf", "multipart", "message" };
    unsigned bit, bad = part->bad;
    struct buf err = BUF_INIT;
    size_t i, *total = ctx;

    *total = 0;
    if (mime_walk_content(part, count, total, &bad, &err) < 0)
        printf("# error: %s\n", err.data);
    printf("%s %s depth=%d type=%s disposition=%s filename=\"%s\"", part->section,
           kinds[part->kind], part->depth, part->type, part->disposition, part->filename);
    for (i = 0; i < part->nnames; i++)
        printf(" name=\"%s\"", part->names[i]);
    if (part->kind == MIME_LEAF)
        printf(" size=%zu", *total);
    for (bit = 1; bit & MIME_BAD_ALL; bit <<= 1)
        if (bad & bit)
            printf(" bad=%s", mime_bad_name(bit));
    putchar('\n');
    buf_free(&err);
    return 0;
}

static int open_message(const char *path)
{
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY);

    if (fd < 0)
        perror(path);
    return fd;
}

int main(int argc, char **argv)
{
    struct attach_policy *policy;
    struct attach_verdict v;
    struct buf err = BUF_INIT, line = BUF_INIT;
    size_t i, total;
    int a, fd, status = 0, r, stats = 0;
    struct timespec t0, t1, c0, c1;
    struct rusage ru;

    if (argc >= 2 && strcmp(argv[1], "-w") == 0) {
        for (a = 2; a < argc; a++) {
            if ((fd = open_message(argv[a])) < 0)
                return 2;
            if (mime_walk_fd(fd, NULL, walk_print, &total, &err) < 0) {
                printf("error: %s\n", err.data);
                status = 2;
            }
            close(fd);
        }
        return status;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: attach-judge [-l] POLICY MESSAGE... | -w MESSAGE...\n");
        return 64;
    }
    if (strcmp(argv[1], "-s") == 0) {
        stats = 1;
        argv++;
        argc--;
    }
    if (strcmp(argv[1], "-l") == 0) {
        policy = attach_policy_load(argv[2], &err);
        puts(policy ? "ok" : err.data);
        attach_policy_free(policy);
        buf_free(&err);
        return policy ? 0 : 1;
    }
    if ((policy = attach_policy_load(argv[1], &err)) == NULL) {
        puts(err.data);
        return 1;
    }
    attach_verdict_init(&v);
    for (a = 2; a < argc; a++) {
        if ((fd = open_message(argv[a])) < 0)
            return 2;
        buf_reset(&err);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        r = attach_judge(policy, fd, &v, &err);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        close(fd);
        if (stats) {
            getrusage(RUSAGE_SELF, &ru);
            fprintf(stderr, "seconds=%.3f cpu=%.3f maxrss_kb=%ld\n",
                    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
                    (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9, ru.ru_maxrss);
        }
        if (r < 0) {
            printf("TEMPFAIL %s\n", err.data);
            status = 2;
            continue;
        }
        if (v.hit) {
            printf("%s%s%s\n", attach_action_name(v.action), v.hit->text.len ? " " : "",
                   v.hit->text.data);
        } else {
            puts("NONE");
        }
        for (i = 0; i < v.nhits; i++) {
            buf_reset(&line);
            attach_hit_format(&v.hits[i], &line);
            printf("hit: %s %s\n", attach_action_name(v.hits[i].action), line.data);
        }
        printf("parts=%zu members=%zu\n", v.parts, v.members);
    }
    attach_verdict_free(&v);
    attach_policy_free(policy);
    buf_free(&err);
    buf_free(&line);
    return status;
}
