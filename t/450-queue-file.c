/*
 * 450-queue-file.c - the queue file: what is written comes back byte for
 * byte (CRLF and LF line ends, long lines, no final newline), the envelope
 * survives, a commit lands in incoming/ or hold/ under a unique sortable
 * id, a failed write never leaves a committed file, torn and damaged files
 * are told apart, and uncommitted files of dead writers are cleaned up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmatch/buf.h"
#include "libmatch/mem.h"
#include "mta-core/queue.h"
#include "t/lib/tap.h"

static char qdir[256];

/* content_of - the content of a committed message, LF line ends */
static void content_of(const char *path, struct buf *out)
{
    struct queue_msg *msg;
    struct queue_content *qc;
    struct buf err = BUF_INIT, line = BUF_INIT;
    int fd, eol, rc;

    buf_reset(out);
    if (queue_read(path, &msg, &err) < 0) {
        diag("queue_read: %s", err.data);
        buf_free(&err);
        return;
    }
    fd = open(path, O_RDONLY);
    qc = queue_content_open(fd, msg->content_start, msg->content_end);
    while ((rc = queue_content_next(qc, &line, &eol, &err)) > 0) {
        buf_add(out, line.data, line.len);
        if (eol)
            buf_addch(out, '\n');
    }
    if (rc < 0)
        diag("queue_content_next: %s", err.data);
    queue_content_close(qc);
    close(fd);
    queue_msg_free(msg);
    buf_free(&err);
    buf_free(&line);
}

static int exists(const char *queue, const char *id)
{
    struct buf p = BUF_INIT;
    struct stat st;
    int rc;

    queue_path(&p, qdir, queue, id);
    rc = stat(p.data, &st) == 0;
    buf_free(&p);
    return rc;
}

static int count_files(const char *queue)
{
    char cmd[512];
    FILE *fp;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -A %s/%s | wc -l", qdir, queue);
    fp = popen(cmd, "r");
    if (fp && fscanf(fp, "%d", &n) != 1)
        n = -1;
    if (fp)
        pclose(fp);
    return n;
}

int main(void)
{
    struct buf err = BUF_INIT, path = BUF_INIT, got = BUF_INIT, want = BUF_INIT;
    struct queue_file *qf;
    struct queue_msg *msg;
    char id[QUEUE_ID_SIZE], id2[QUEUE_ID_SIZE];
    char **ids;
    size_t nids, i;
    const char *tmp = getenv("TMPDIR");
    off_t good_size;
    int fd;

    snprintf(qdir, sizeof(qdir), "%s/mailsift-450-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(qdir) == NULL)
        bail("mkdtemp: %s", strerror(errno));
    ok(queue_init_dirs(qdir, &err) == 0, "queue directories created: %s", err.data);
    ok(queue_init_dirs(qdir, &err) == 0, "and creating them again is harmless");

    /* A message written in awkward pieces. */
    qf = queue_create(qdir, &err);
    ok(qf != NULL, "queue_create: %s", err.data);
    snprintf(id, sizeof(id), "%s", queue_file_id(qf));
    ok(queue_id_ok(id), "the id \"%s\" is well-formed", id);
    queue_set_sender(qf, "alice@example.org");
    queue_add_sender_param(qf, "BODY", "8BITMIME");
    queue_add_attr(qf, "client_address", "127.0.0.1");
    queue_add_rcpt(qf, "bob@example.org", QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE, "rfc822;bob@example.org");
    queue_add_rcpt(qf, "gone@example.org", 0, NULL);
    queue_add_rcpt(qf, "carol@example.org", 0, NULL);
    is_int(queue_del_rcpt(qf, "GONE@example.org"), 1, "a recipient can be deleted before commit");
    is_int(queue_rcpt_count(qf), 2, "two recipients left");
    buf_addstr(&want, "Subject: test\nX-CR: a\rb\n\nbody line\n");
    queue_write(qf, "Subject: te", 11);
    queue_write(qf, "st\r", 3);
    queue_write(qf, "\nX-CR: a\rb\n\r\nbody", 17);
    queue_write(qf, " line\r\n", 7);
    /* A 20000-byte line and a last line without a newline. */
    for (i = 0; i < 20000; i++) {
        buf_addch(&want, (char) ('a' + i % 26));
        queue_write(qf, &"abcdefghijklmnopqrstuvwxyz"[i % 26], 1);
    }
    buf_addstr(&want, "\r\nno newline at the end");
    queue_write(qf, "\r", 1);
    queue_write(qf, "\r\nno newline at the end", 23);
    is_int(queue_content_size(qf), want.len, "content size counts LF line ends");
    err.len = 0;
    ok(queue_commit(qf, &err) == 0, "commit: %s", err.data);
    ok(exists(QUEUE_INCOMING, id), "the message is in incoming/ under its id");
    is_int(count_files(QUEUE_INCOMING), 1, "and nothing else is (no temp file left)");

    queue_path(&path, qdir, QUEUE_INCOMING, id);
    ok(queue_read(path.data, &msg, &err) == 0, "read back: %s", err.data);
    if (msg == NULL)
        bail("cannot go on");
    is_string(msg->sender, "alice@example.org", "sender");
    is_string(queue_msg_param(msg, "body"), "8BITMIME", "MAIL FROM parameter");
    is_string(queue_msg_attr(msg, "client_address"), "127.0.0.1", "attribute");
    is_int(msg->nrcpt, 2, "two recipients");
    is_string(msg->rcpts[0].address, "bob@example.org", "first recipient");
    is_string(msg->rcpts[0].orcpt, "rfc822;bob@example.org", "its ORCPT");
    is_int(msg->rcpts[0].notify, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE, "its NOTIFY");
    is_string(msg->rcpts[1].address, "carol@example.org", "second recipient");
    is_int(msg->size, want.len, "size recorded");
    ok(msg->hold_reason == NULL, "no hold reason");
    ok(!msg->expanded && msg->ntargets == 0, "not expanded yet");
    queue_msg_free(msg);
    content_of(path.data, &got);
    is_int(got.len, want.len, "content length comes back");
    ok(got.len == want.len && memcmp(got.data, want.data, got.len) == 0, "content comes back byte for byte");

    /* Targets and statuses appended after the commit. */
    fd = open(path.data, O_WRONLY | O_APPEND);
    ok(queue_append(fd, 'H', "just testing", 12, &err) == 0, "append a hold reason");
    ok(queue_append_target(fd, 0, "mailbox", 0, 0, "bob@example.org", "bob@example.org", &err) == 0,
       "append a target");
    ok(queue_append_target(fd, 1, "command", 1000, 1000, "carol@example.org", "|cat >/dev/null", &err) == 0,
       "append a second target");
    ok(queue_append(fd, 'K', "2", 1, &err) == 0, "close the expansion");
    ok(queue_append_status(fd, 0, "deferred", "4.2.0", 100, "try\nlater", &err) == 0, "a deferral");
    ok(queue_append_status(fd, 0, "sent", "2.0.0", 200, "delivered to mailbox", &err) == 0, "then success");
    ok(queue_append_status(fd, 0, "deferred", "4.2.0", 300, "late duplicate", &err) == 0,
       "a later deferral of a done target");
    ok(queue_append_status(fd, 1, "deferred", "4.3.0", 400, "busy", &err) == 0, "second target deferred");
    /* A torn record at the end, as a crash in the middle of an append leaves. */
    good_size = lseek(fd, 0, SEEK_END);
    ok(write(fd, "D30:1\tsent\t2.0", 14) == 14, "append a torn record");
    close(fd);
    ok(queue_read(path.data, &msg, &err) == 0, "a torn last record is not an error: %s", err.data);
    if (msg == NULL)
        bail("cannot go on");
    is_string(msg->hold_reason, "just testing", "hold reason read");
    is_int(msg->ntargets, 2, "two targets");
    ok(msg->expanded, "expansion closed");
    is_string(msg->targets[1].target, "|cat >/dev/null", "command target");
    is_int(msg->targets[1].uid, 1000, "its uid");
    is_string(msg->targets[0].status, "sent", "a final status stays final");
    is_string(msg->targets[0].text, "delivered to mailbox", "with its text");
    is_string(msg->targets[1].status, "deferred", "the torn record did not count");
    is_string(msg->targets[1].text, "busy", "last deferral text");
    queue_msg_free(msg);

    /* Damage in the middle is corruption, not a tear. */
    fd = open(path.data, O_WRONLY | O_APPEND);
    ok(ftruncate(fd, good_size) == 0 && write(fd, "Q1:x\nD3:abc\n", 12) == 12,
       "replace the torn record by a bad one and a good one");
    close(fd);
    err.len = 0;
    ok(queue_read(path.data, &msg, &err) < 0, "a malformed record in the middle is an error");
    ok(strstr(err.data, "offset") != NULL, "the error says where: %s", err.data);

    /* Hold at commit time. */
    qf = queue_create(qdir, &err);
    snprintf(id2, sizeof(id2), "%s", queue_file_id(qf));
    queue_add_rcpt(qf, "x@example.org", 0, NULL);
    queue_write(qf, "Subject: held\n\nx\n", 17);
    queue_set_hold(qf, "milter said HOLD: nasty attachment");
    ok(queue_commit(qf, &err) == 0, "commit into hold");
    ok(exists(QUEUE_HOLD, id2) && !exists(QUEUE_INCOMING, id2), "the message went straight to hold/");
    queue_path(&path, qdir, QUEUE_HOLD, id2);
    ok(queue_read(path.data, &msg, &err) == 0, "read the held message");
    is_string(msg ? msg->hold_reason : NULL, "milter said HOLD: nasty attachment", "with its reason");
    queue_msg_free(msg);
    ok(strcmp(id, id2) != 0, "two messages, two ids");

    /* Directory operations. */
    is_string(queue_find(qdir, id2), QUEUE_HOLD, "queue_find finds it in hold");
    ok(queue_find(qdir, "../etc") == NULL && !queue_id_ok("../etc") && !queue_id_ok("") &&
       !queue_id_ok("a.b"), "ids with path characters are refused");
    ok(queue_move(qdir, id2, QUEUE_HOLD, QUEUE_INCOMING, &err) == 0, "move hold -> incoming");
    is_string(queue_find(qdir, id2), QUEUE_INCOMING, "now in incoming");
    ok(queue_scan(qdir, QUEUE_INCOMING, &ids, &nids, &err) == 0, "scan incoming");
    is_int(nids, 2, "two messages in incoming");
    if (nids == 2) {
        is_string(ids[0], id, "the older first");
        is_string(ids[1], id2, "the newer second");
    }
    queue_ids_free(ids, nids);
    /* A move never replaces: make a same-named file in active. */
    queue_path(&path, qdir, QUEUE_ACTIVE, id2);
    fd = open(path.data, O_WRONLY | O_CREAT, 0600);
    close(fd);
    err.len = 0;
    ok(queue_move(qdir, id2, QUEUE_INCOMING, QUEUE_ACTIVE, &err) < 0 && errno == EEXIST,
       "a move refuses to replace a file: %s", err.data);
    ok(exists(QUEUE_INCOMING, id2), "and the message stays where it was");
    ok(queue_remove(qdir, QUEUE_ACTIVE, id2, &err) == 0, "remove");
    ok(queue_remove(qdir, QUEUE_ACTIVE, id2, &err) < 0 && errno == ENOENT, "remove twice fails with ENOENT");

    /* Abort leaves nothing. */
    qf = queue_create(qdir, &err);
    queue_write(qf, "x\n", 2);
    queue_abort(qf);
    is_int(count_files(QUEUE_INCOMING), 2, "abort removes the file");

    /* A writer that dies before commit: its file is never read and is cleaned up. */
    {
        pid_t pid = fork();
        int st;

        if (pid == 0) {
            struct buf e = BUF_INIT;
            struct queue_file *q = queue_create(qdir, &e);

            queue_write(q, "partial\n", 8);
            queue_content_fd(q, &(off_t){0}, &(off_t){0});
            _exit(0); /* no commit, no abort: a crash */
        }
        waitpid(pid, &st, 0);
        is_int(count_files(QUEUE_INCOMING), 3, "the dead writer left a temp file");
        ok(queue_scan(qdir, QUEUE_INCOMING, &ids, &nids, &err) == 0 && nids == 2,
           "which scanning does not see");
        queue_ids_free(ids, nids);
        ok(queue_recover(qdir, &err) == 0, "recover");
        is_int(count_files(QUEUE_INCOMING), 2, "the temp file of the dead writer is gone");
    }

    /* An uncommitted file read by name is refused. */
    qf = queue_create(qdir, &err);
    queue_write(qf, "x\n", 2);
    {
        off_t s, e;
        char p[512];

        fd = queue_content_fd(qf, &s, &e);
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        err.len = 0;
        ok(queue_read(p, &msg, &err) < 0 && strstr(err.data, "never committed"),
           "an uncommitted file is refused: %s", err.data);
    }
    /* The content can be read back and replaced before commit (milter body edits). */
    {
        off_t s, e;
        struct queue_content *qc;
        struct buf line = BUF_INIT;
        int eol;

        queue_write(qf, "second\r", 7);
        fd = queue_content_fd(qf, &s, &e);
        qc = queue_content_open(fd, s, e);
        ok(queue_content_next(qc, &line, &eol, &err) == 1 && eol && strcmp(line.data, "x") == 0,
           "uncommitted content reads back");
        ok(queue_content_next(qc, &line, &eol, &err) == 1 && !eol && strcmp(line.data, "second") == 0,
           "including the unended line (its CR held back)");
        queue_content_close(qc);
        ok(queue_content_reset(qf) == 0, "content reset");
        queue_write(qf, "replaced\n", 9);
        queue_add_rcpt(qf, "r@example.org", 0, NULL);
        snprintf(id2, sizeof(id2), "%s", queue_file_id(qf));
        ok(queue_commit(qf, &err) == 0, "commit after reset");
        queue_path(&path, qdir, QUEUE_INCOMING, id2);
        content_of(path.data, &got);
        is_string(got.data, "replaced\n", "only the new content is there");
        buf_free(&line);
    }

    /* A write error (file size limit, as a full disk) fails the commit and leaves nothing. */
    {
        pid_t pid = fork();
        int st;

        if (pid == 0) {
            struct rlimit rl = {4096, 4096};
            struct buf e = BUF_INIT;
            struct queue_file *q;
            int failed;

            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
            q = queue_create(qdir, &e);
            queue_add_rcpt(q, "big@example.org", 0, NULL);
            for (i = 0; i < 2000; i++)
                queue_write(q, "0123456789012345678901234567890123456789\n", 41);
            failed = queue_commit(q, &e) < 0;
            printf("# child: %s\n", e.data);
            _exit(failed && strstr(e.data, "File too large") ? 0 : 1);
        }
        waitpid(pid, &st, 0);
        ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a write error makes the commit fail with the reason");
        is_int(count_files(QUEUE_INCOMING), 3, "and no file is left behind");
    }

    /* A queue directory that is not there: create fails with a reason. */
    err.len = 0;
    ok(queue_create("/nonexistent/queue", &err) == NULL && strstr(err.data, "No such file"),
       "no queue directory: %s", err.data);

    buf_free(&err);
    buf_free(&path);
    buf_free(&got);
    buf_free(&want);
    {
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
        if (system(cmd) != 0)
            diag("could not remove %s", qdir);
    }
    return done_testing();
}
