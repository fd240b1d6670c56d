/*
 * 206-attach-threads.c - one attachment policy, many threads: libmilter runs
 * one thread per connection, so attach_judge must give every thread the same
 * verdicts it gives one thread alone (GMime initialized once, one libmagic
 * cookie per thread, nothing written to the policy).  Eight threads judge four
 * messages (an RFC 2231 exe, a forwarded exe, broken base64, clean text) fifty
 * times each, from their own file descriptors.  Also: a policy reloaded while
 * others judge (a new one loaded, the old one freed after) changes nothing.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/lib/tap.h"
#include "libmatch/buf.h"
#include "milterd/attach.h"

#define THREADS 8
#define ROUNDS 50

static const char *const messages[] = {
    "From: a@example.org\nSubject: 2231\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nhi\n"
    "--b\nContent-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename*0=\"inv\"; filename*1=\"oice.exe\"\n"
    "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\n--b--\n",

    "From: a@example.org\nSubject: fwd\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: text/plain\n\nfwd\n"
    "--o\nContent-Type: message/rfc822\n\nFrom: c@example.org\nSubject: inner\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"i\"\n\n--i\nContent-Type: text/plain\n\nx\n"
    "--i\nContent-Type: application/octet-stream; name=run.js\n\nWScript.Echo(1)\n--i--\n\n--o--\n",

    "From: a@example.org\nSubject: b64\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nhi\n"
    "--b\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
    "JVBERi0xLjQK!!!\n--b--\n",

    "From: a@example.org\nSubject: clean\n\nplease run setup.exe and report\n",
};

static const char *const expected[] = {
    "REJECT exe|part 2 \"invoice.exe\" rule %s:2 (ext exe)",
    "REJECT exe|part 2.2 \"run.js\" rule %s:2 (ext js)",
    "HOLD broken|part 2 \"a.pdf\" rule %s:3 (malformed base64)",
    "NONE|",
};

static char paths[4][64];
static struct attach_policy *shared;
static char policy_path[64];
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* judge_one - "ACTION text|hit line" for one message, or an error text */
static void judge_one(const struct attach_policy *policy, const char *path, struct buf *out)
{
    struct attach_verdict v;
    struct buf err = BUF_INIT;
    int fd = open(path, O_RDONLY);

    buf_reset(out);
    attach_verdict_init(&v);
    if (fd < 0 || attach_judge(policy, fd, &v, &err) < 0) {
        buf_printf(out, "error: %s", err.data);
    } else {
        buf_printf(out, "%s%s%s|", attach_action_name(v.action), v.hit && v.hit->text.len ? " " : "",
                   v.hit ? v.hit->text.data : "");
        if (v.hit)
            attach_hit_format(v.hit, out);
    }
    if (fd >= 0)
        close(fd);
    attach_verdict_free(&v);
    buf_free(&err);
}

static void *worker(void *arg)
{
    struct buf got = BUF_INIT, want = BUF_INIT;
    int r, m, id = (int) (long) arg;

    for (r = 0; r < ROUNDS; r++) {
        m = (r + id) % 4;
        judge_one(shared, paths[m], &got);
        buf_reset(&want);
        buf_printf(&want, expected[m], policy_path);
        if (strcmp(got.data, want.data) != 0) {
            pthread_mutex_lock(&lock);
            if (failures++ < 5)
                diag("thread %d round %d message %d: got '%s', want '%s'", id, r, m, got.data, want.data);
            pthread_mutex_unlock(&lock);
        }
    }
    buf_free(&got);
    buf_free(&want);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/attach-threads.XXXXXX";
    pthread_t threads[THREADS];
    struct buf err = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
    struct attach_policy *old;
    FILE *fp;
    int i;

    if (mkdtemp(dir) == NULL)
        bail("mkdtemp: cannot make a directory");
    snprintf(policy_path, sizeof(policy_path), "%s/policy", dir);
    fp = fopen(policy_path, "w");
    fputs("# threads\next=exe,js REJECT exe\nmalformed=base64 HOLD broken\n", fp);
    fclose(fp);
    for (i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/m%d", dir, i);
        fp = fopen(paths[i], "w");
        fputs(messages[i], fp);
        fclose(fp);
    }
    shared = attach_policy_load(policy_path, &err);
    if (!ok(shared != NULL, "the policy loads"))
        bail("%s", err.data);

    for (i = 0; i < 4; i++) {
        judge_one(shared, paths[i], &got);
        buf_reset(&want);
        buf_printf(&want, expected[i], policy_path);
        is_string(got.data, want.data, "message %d alone", i);
    }

    for (i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, worker, (void *) (long) i);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    is_int(failures, 0, "%d threads x %d judgements: the same verdicts as alone", THREADS, ROUNDS);

    /* A reload: a new policy, the old one freed once nobody uses it. */
    old = shared;
    shared = attach_policy_load(policy_path, &err);
    attach_policy_free(old);
    failures = 0;
    for (i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, worker, (void *) (long) i);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    is_int(failures, 0, "and again with a reloaded policy");
    attach_policy_free(shared);

    for (i = 0; i < 4; i++)
        unlink(paths[i]);
    unlink(policy_path);
    rmdir(dir);
    buf_free(&err);
    buf_free(&got);
    buf_free(&want);
    return done_testing();
}
